"""Bad data from sources: the run must not turn it into wrong numbers, and must say so.

The sandboxes answer in their real wire format, rewritten on the way out (see
`reliability_kit.Rewriter`): a negative count and a NaN, a row sent twice, a metric missing
from an answer, a field nobody has seen before. Each case runs the later days on a copy of the
base warehouse and checks the key results against the clean data.
"""

from __future__ import annotations

import math
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from reliability_kit import (
    LATER_END,
    LATER_START,
    SOURCE_KRS,
    SOURCE_STEP,
    Request,
    checksums,
    copy_warehouse,
    query,
    service_account_key,
    statuses,
)

from connectors.base import MetricRequest
from connectors.ga4 import GA4Settings, fetch_ga4
from okr_definitions.sources.ga4 import GA4Query
from sandbox.base import Fault
from sandbox.ga4.server import DEMO_PROPERTY_ID


def _reports(payload: Any) -> list[dict[str, Any]]:
    """The report(s) of a runReport or batchRunReports answer."""
    return payload.get("reports", []) if "reports" in payload else [payload]


def _ga4_cell(day: str, metric: str, value: str) -> Any:
    """A rewrite that sets one metric's value on one day (YYYYMMDD) in every report."""

    def rewrite(request: Request, payload: Any) -> Any:
        for report in _reports(payload):
            names = [h["name"] for h in report.get("metricHeaders", [])]
            if metric not in names:
                continue
            for row in report.get("rows", []):
                if row["dimensionValues"][0]["value"] == day:
                    row["metricValues"][names.index(metric)]["value"] = value
        return payload

    return rewrite


def _both(*rewrites: Any) -> Any:
    def rewrite(request: Request, payload: Any) -> Any:
        for one in rewrites:
            payload = one(request, payload)
        return payload

    return rewrite


def _staged(warehouse: Path, metric: str) -> dict[date, float | None]:
    return dict(
        query(
            warehouse, "SELECT date, value FROM staging.metric_daily WHERE metric_id = ?", [metric]
        )
    )


def _flags(warehouse: Path, flag: str) -> set[tuple[str, date]]:
    return set(
        query(warehouse, "SELECT metric_id, date FROM raw.metric_flags WHERE flag = ?", [flag])
    )


def _kr(warehouse: Path, kr: str, day: date) -> tuple[float | None, list[str]]:
    ((value, flags),) = query(
        warehouse,
        "SELECT value, flags FROM okr.kr_progress_daily WHERE kr_id = ? AND as_of_date = ?",
        [kr, day],
    )
    return value, flags


def test_negative_and_nan_values_are_not_counted_and_are_flagged(
    suite, reference, tmp_path: Path
) -> None:
    # The CSV export says -3 and NaN signups (a CSV's NaN is an empty cell: the day has no
    # value); GA4 says -12 and NaN product sessions.
    project = shutil.copytree(suite.project, tmp_path / "okr_definitions")
    export = project / "data" / "signups.csv"
    export.write_text(
        export.read_text()
        .replace("2026-10-06,12", "2026-10-06,-3")
        .replace("2026-10-07,12", "2026-10-07,NaN")
    )
    suite.sandboxes.rewriters["ga4"].rewrite = _both(
        _ga4_cell("20261007", "sessions", "-12"), _ga4_cell("20261008", "sessions", "NaN")
    )
    warehouse = copy_warehouse(suite.base, tmp_path / "bad.duckdb")
    try:
        outcome = suite.run(warehouse, env={"OKR_DEFINITIONS": str(project)})
    finally:
        suite.sandboxes.clear()
    assert outcome.succeeded, outcome.errors

    # raw keeps what the sources said; staging does not count it; the flag says why.
    raw = dict(
        query(
            warehouse,
            "SELECT date, value FROM raw.metric_rows "
            "WHERE metric_id = 'signups' AND date IN ('2026-10-06', "
            "'2026-10-07')",
        )
    )
    assert raw == {date(2026, 10, 6): -3, date(2026, 10, 7): None}
    ((nan,),) = query(
        warehouse,
        "SELECT value FROM raw.metric_rows "
        "WHERE metric_id = 'product_sessions' AND date = '2026-10-08'",
    )
    assert math.isnan(nan)
    signups, sessions = _staged(warehouse, "signups"), _staged(warehouse, "product_sessions")
    assert signups[date(2026, 10, 6)] is None and signups[date(2026, 10, 7)] is None
    assert sessions[date(2026, 10, 7)] is None and sessions[date(2026, 10, 8)] is None
    assert _flags(warehouse, "invalid_value") == {
        ("signups", date(2026, 10, 6)),
        ("product_sessions", date(2026, 10, 7)),
        ("product_sessions", date(2026, 10, 8)),
    }
    reasons = {
        r
        for (r,) in query(
            warehouse, "SELECT reason FROM raw.metric_flags WHERE flag = 'invalid_value'"
        )
    }
    assert any("-12" in r for r in reasons) and any("nan" in r for r in reasons), reasons

    # No wrong number: the total counts the seven valid days (10-01..10-05, 10-08, 10-09).
    value, flags = _kr(warehouse, "signups-total", LATER_END)
    assert value == 5 * 12 + 2 * 12 and "invalid_value" in flags
    # The conversion rate of 10-09 reads 10-07..10-09; two of those days are not measured,
    # so it is purchases / sessions of the one valid day — taken from the clean run.
    clean = reference.warehouse
    ((purchases, sessions_0909),) = query(
        clean,
        "SELECT max(value) FILTER (WHERE metric_id = 'product_purchases'), "
        "max(value) FILTER (WHERE metric_id = 'product_sessions') FROM staging.metric_daily "
        "WHERE date = '2026-10-09'",
    )
    value, flags = _kr(warehouse, "conversion-up", LATER_END)
    assert value == pytest.approx(purchases / sessions_0909)
    assert "invalid_value" in flags
    # The key results of other sources are untouched.
    assert _kr(warehouse, "homepage-fast", LATER_END) == _kr(clean, "homepage-fast", LATER_END)


def test_a_metric_day_sent_twice_is_stored_once_and_flagged(
    suite, reference, tmp_path: Path
) -> None:
    """A row repeated in GA4's answer (as when GA4's data moves while pages are read)."""

    def repeat_a_row(request: Request, payload: Any) -> Any:
        for report in _reports(payload):
            rows = report.get("rows", [])
            if rows:
                rows.insert(1, rows[0])  # the first day's row, once more
        return payload

    suite.sandboxes.rewriters["ga4"].rewrite = repeat_a_row
    warehouse = copy_warehouse(suite.base, tmp_path / "twice.duckdb")
    try:
        outcome = suite.run(warehouse)
    finally:
        suite.sandboxes.clear()
    assert outcome.succeeded, outcome.errors
    # Counted once: every value equals the clean run's.
    for metric in ("product_sessions", "product_purchases"):
        assert _staged(warehouse, metric) == _staged(reference.warehouse, metric), metric
    flagged = {(m, d) for m, d in _flags(warehouse, "duplicate_rows") if m.startswith("product")}
    assert flagged == {("product_sessions", LATER_START), ("product_purchases", LATER_START)}
    assert "duplicate_rows" in _kr(warehouse, "conversion-up", LATER_START)[1]


def test_a_row_repeated_across_pages_is_counted_once(suite, tmp_path: Path) -> None:
    """GA4 pages by offset: a row that moves between two page requests comes twice."""
    sb = suite.sandboxes
    key, _ = service_account_key(tmp_path / "key.json")
    settings = GA4Settings(
        property_id=DEMO_PROPERTY_ID,
        endpoint=sb.ga4.base_url,
        credentials_path=str(key),
        page_size=3,
    )
    metrics = [MetricRequest("sessions", GA4Query(metric="sessions"))]
    window = (date(2026, 9, 1), date(2026, 9, 10))
    clean = fetch_ga4(settings, metrics, *window)
    last_of_page: dict[str, Any] = {}

    def overlap(request: Request, payload: Any) -> Any:
        body = request.json()
        for request_body, report in zip(
            body.get("requests", [body]), _reports(payload), strict=True
        ):
            rows = report.get("rows", [])
            offset = int(request_body.get("offset", 0) or 0)
            if offset and "row" in last_of_page:
                rows.insert(0, last_of_page["row"])
            if rows:
                last_of_page["row"] = rows[-1]
        return payload

    sb.rewriters["ga4"].rewrite = overlap
    try:
        paged = fetch_ga4(settings, metrics, *window)
    finally:
        sb.clear()
    assert paged.daily.select(["date", "value"]).to_pylist() == (
        clean.daily.select(["date", "value"]).to_pylist()
    )
    assert "duplicate_rows" in paged.flags["flag"].to_pylist()


@pytest.mark.parametrize("source", ["ga4", "matomo"])
def test_a_metric_missing_from_the_answer_fails_its_source_instead_of_reading_zero(
    source: str, suite, tmp_path: Path
) -> None:
    def drop_ga4_sessions(request: Request, payload: Any) -> Any:
        for report in _reports(payload):
            names = [h["name"] for h in report.get("metricHeaders", [])]
            if "sessions" in names:
                i = names.index("sessions")
                del report["metricHeaders"][i]
                for row in report.get("rows", []):
                    del row["metricValues"][i]
        return payload

    def drop_matomo_load_time(request: Request, payload: Any) -> Any:
        for answer in payload if isinstance(payload, list) else []:
            for day in answer.values() if isinstance(answer, dict) else []:
                if isinstance(day, dict):
                    day.pop("avg_page_load_time", None)
        return payload

    sb = suite.sandboxes
    sb.rewriters[source].rewrite = drop_ga4_sessions if source == "ga4" else drop_matomo_load_time
    warehouse = copy_warehouse(suite.base, tmp_path / "missing.duckdb")
    try:
        outcome = suite.run(warehouse)
    finally:
        sb.clear()
    assert outcome.failed_steps == [SOURCE_STEP[source]], outcome.errors
    (message,) = outcome.errors
    missing = "sessions" if source == "ga4" else "avg_page_load_time"
    assert missing in message, message
    # Nothing of the later days was written for that source, least of all zeros.
    assert query(
        warehouse,
        "SELECT count(*) FROM raw.metric_rows WHERE source = ? AND date >= ?",
        [source, LATER_START],
    ) == [(0,)]
    today = statuses(warehouse, LATER_END)
    assert {today[kr] for kr in SOURCE_KRS[source]} == {"stale"}


def test_exported_events_without_a_time_fail_mixpanel_instead_of_counting(
    suite, tmp_path: Path
) -> None:
    """A Mixpanel export whose events have no `time` cannot be put on a day: the source fails
    naming it, nothing of its days is loaded (never zeros), its key results turn stale."""
    lines = b'{"event": "Editor Opened", "properties": {"distinct_id": "user-001"}}\n' * 3
    sb = suite.sandboxes
    sb.mixpanel.inject(Fault("status", status=200, body=lines, path_contains="/export", times=50))
    warehouse = copy_warehouse(suite.base, tmp_path / "no-time.duckdb")
    try:
        outcome = suite.run(warehouse)
    finally:
        sb.clear()
    assert outcome.failed_steps == [SOURCE_STEP["mixpanel"]], outcome.errors
    (message,) = outcome.errors
    assert "have no event name or time" in message, message
    assert query(
        warehouse,
        "SELECT count(*) FROM raw.metric_rows WHERE source = 'mixpanel' AND date >= ?",
        [LATER_START],
    ) == [(0,)]
    today = statuses(warehouse, LATER_END)
    assert {today[kr] for kr in SOURCE_KRS["mixpanel"]} == {"stale"}


def test_new_fields_in_answers_change_nothing(suite, reference, tmp_path: Path) -> None:
    """Schema drift: every API adds fields at every level; the numbers stay the clean ones."""

    def grow(value: Any) -> Any:
        if isinstance(value, dict):
            grown = {k: grow(v) for k, v in value.items()}
            # A map keyed by day (Matomo's multi-day answers) gets no new key: a key there is a
            # day, and a day that is not a date is an error, not a new field.
            if not any(re.fullmatch(r"\d{4}-\d{2}-\d{2}", k) for k in value):
                grown["addedByTheVendor"] = {"since": "v2", "note": "unknown to okr-sync"}
            return grown
        if isinstance(value, list):
            return [grow(v) for v in value]
        return value

    def drift(request: Request, payload: Any) -> Any:
        return grow(payload)

    sb = suite.sandboxes
    for rewriter in sb.rewriters.values():
        rewriter.rewrite = drift
    warehouse = copy_warehouse(suite.base, tmp_path / "drift.duckdb")
    try:
        outcome = suite.run(warehouse)
    finally:
        sb.clear()
    assert outcome.succeeded, outcome.errors
    assert checksums(warehouse) == reference.checksums
