"""Migration 0010 (currencies) upgrades a warehouse written before it, and its flags view
finds each kind of currency mismatch, on a real DuckDB file."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from warehouse.db import connect, migration_files, transaction

DAY = date(2026, 10, 1)
FETCHED = datetime(2026, 10, 2, tzinfo=UTC)


def _warehouse_before_0010(path: Path) -> None:
    """A warehouse as the previous release left it: migrations up to 0009 and some rows."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA meta")
    con.execute(
        "CREATE TABLE meta.schema_migrations "
        "(version INTEGER NOT NULL, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    for version, file in migration_files():
        if version >= 10:
            break
        with transaction(con):
            con.execute(file.read_text())
            con.execute(
                "INSERT INTO meta.schema_migrations VALUES (?, ?, ?)",
                [version, file.name, FETCHED],
            )
    con.execute(
        "INSERT INTO raw.metric_rows VALUES ('ga4', 'revenue', ?, 120.5, NULL, NULL, 'h', ?, ?)",
        [DAY, FETCHED, DAY],
    )
    con.execute(
        "INSERT INTO staging.metric_daily VALUES ('revenue', ?, 120.5, NULL, NULL, 'ga4', 'h', ?)",
        [DAY, FETCHED],
    )
    con.close()


def test_an_existing_warehouse_upgrades_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    _warehouse_before_0010(path)

    con = connect(path)
    try:
        assert con.execute("SELECT max(version) FROM meta.schema_migrations").fetchall() == [
            (max(v for v, _ in migration_files()),)
        ]
        # Rows loaded before the upgrade stay, in no known currency (NULL: never flagged).
        assert con.execute("SELECT value, currency FROM raw.metric_rows").fetchall() == [
            (120.5, None)
        ]
        assert con.execute("SELECT value, currency FROM staging.metric_daily").fetchall() == [
            (120.5, None)
        ]
        assert con.execute("SELECT count(*) FROM staging.metric_flags").fetchall() == [(0,)]
        for table in ("raw.metric_ranges", "okr.key_results", "staging.metric_range"):
            columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
            assert "currency" in columns, table
    finally:
        con.close()


def _metric(con: duckdb.DuckDBPyConnection, metric_id: str, num: str = "", den: str = "") -> None:
    con.execute(
        "INSERT INTO okr.metrics (metric_id, kind, numerator_metric_id, denominator_metric_id, "
        "additive, allowed_lag_days, definition_hash) VALUES (?, ?, ?, ?, true, 2, 'x')",
        [metric_id, "ratio" if num else "source", num or None, den or None],
    )


def _day(con: duckdb.DuckDBPyConnection, metric_id: str, source: str, currency: str | None):
    con.execute(
        "INSERT INTO staging.metric_daily (metric_id, date, value, source, request_hash, "
        "fetched_at, currency) VALUES (?, ?, 10, ?, 'h', ?, ?)",
        [metric_id, DAY, source, FETCHED, currency],
    )


def test_the_flags_view_finds_every_kind_of_mismatch(tmp_path: Path) -> None:
    con = connect(tmp_path / "flags.duckdb")
    try:
        for metric_id in ("shop", "crm", "visits", "mixed"):
            _metric(con, metric_id)
        _metric(con, "per_visit", "shop", "visits")
        _metric(con, "shop_to_crm", "shop", "crm")
        _day(con, "shop", "ga4", "USD")
        _day(con, "crm", "hubspot", "EUR")
        _day(con, "visits", "matomo", None)
        _day(con, "mixed", "hubspot", "EUR+USD")
        con.execute(
            "INSERT INTO okr.key_results (kr_id, objective_id, team, title, metric_id, measure, "
            "period_start, period_end, baseline_kind, target_kind, target_value, commitment, "
            "weight, definition_hash, source_file, currency) "
            "SELECT kr, 'o', 't', kr, metric, 'total', ?, ?, 'zero', 'absolute', 1, "
            "'committed', 1, 'x', 'f.yaml', currency FROM (VALUES "
            "('per-visit-eur', 'per_visit', 'EUR'), ('crm-eur', 'crm', 'EUR'), "
            "('shop-no-unit', 'shop', NULL)) AS k(kr, metric, currency)",
            [DAY, DAY],
        )
        flags = con.execute(
            "SELECT metric_id, reason FROM staging.metric_flags "
            "WHERE flag = 'currency_mismatch' ORDER BY metric_id"
        ).fetchall()
    finally:
        con.close()
    # crm-eur reads EUR amounts and shop-no-unit names no currency: neither is flagged.
    assert flags == [
        ("mixed", "amounts in EUR and USD were added unconverted (hubspot)"),
        (
            "per_visit",
            "amounts of shop are in USD (ga4), but key result per-visit-eur is in EUR: "
            "shown unconverted",
        ),
        (
            "shop_to_crm",
            "numerator shop is in USD (ga4), denominator crm in EUR (hubspot): the ratio "
            "divides amounts in different currencies",
        ),
    ]
