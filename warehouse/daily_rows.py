"""The okr.kr_progress_daily rows of a range of days, computed in arrays and written at once.

The same rows as kr_progress_daily.sql over window_values.sql (the SQL chain, which stays for
what the arrays do not cover: warehouse.running_totals.ArraysUnsuitable), by the same rules
(okr_definitions/README.md, "How the numbers are computed"):

- what a key result's rows repeat — its facts, baseline, target and direction — is resolved
  once per key result in SQL (kr_facts.sql);
- each row's value (window_values.sql's rules), progress, score, expected progress, status and
  flags are numpy expressions over the window sums of warehouse.running_totals, in the same
  IEEE operations in the same order as the SQL, so the doubles are the same bit for bit;
- the few rows with a status reason get its words from kr_status_reason.sql (the SQL's text,
  numbers and dates formatted by DuckDB);
- the columns that repeat the key results' facts, and the flags, are built on a second thread
  beside those expressions (`_key_result_columns`);
- the rows reach the table as one Arrow table, the key results' strings and the flags as
  dictionaries, cut into one record batch per DuckDB thread (`_batch_per_thread`).

Why: the SQL projection of 365,000 rows (joins of the key-result facts, baselines, flag kinds
and range values to every row, then the CASE chains) cost a third as much as writing them
(benchmarks/RESULTS.md, figure 2).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from warehouse.db import read_model
from warehouse.running_totals import ArraysUnsuitable, DailyWindows, Facts
from warehouse.status import STATUS_ORDER

# Each row's status as its position in warehouse/status.py's order (the Arrow dictionary).
_ACHIEVED = STATUS_ORDER.index("achieved")
_ON_TRACK = STATUS_ORDER.index("on_track")
_AT_RISK = STATUS_ORDER.index("at_risk")
_OFF_TRACK = STATUS_ORDER.index("off_track")
_STALE = STATUS_ORDER.index("stale")
_NO_DATA = STATUS_ORDER.index("no_data")
_UNIX_EPOCH = date(1970, 1, 1)
# The rows of a DuckDB row group (its default row_group_size).
_ROW_GROUP_ROWS = 122_880


def write_daily_rows(
    con: duckdb.DuckDBPyConnection,
    windows: DailyWindows,
    on_track_margin: float,
    at_risk_margin: float,
    aspirational_pace: float,
) -> int:
    """Insert the rows of `windows` into okr.kr_progress_daily (the caller deleted the days
    and holds the transaction) and return how many. Raises ArraysUnsuitable, writing nothing,
    where the SQL chain must write them instead."""
    rows = _rows(con, windows, on_track_margin, at_risk_margin, aspirational_pace)
    con.register("kr_progress_rows", _batch_per_thread(con, rows))
    try:
        con.execute("INSERT INTO okr.kr_progress_daily BY NAME SELECT * FROM kr_progress_rows")
    finally:
        con.unregister("kr_progress_rows")
    return rows.num_rows


def _batch_per_thread(con: duckdb.DuckDBPyConnection, rows: pa.Table) -> pa.Table:
    """`rows` as one record batch for each of DuckDB's threads, each at least a row group.

    DuckDB's INSERT from an Arrow table gives each record batch to one thread, which converts
    it and writes its full row groups; the rows of a batch's last, partial row group are
    merged after, on one thread. So one batch is converted and written on one thread, and
    batches smaller than a row group are merged on one thread. Measured (the benchmark's
    365,000 rows, 2 threads, in one process, interleaved, eleven rounds): one batch 0.20 s,
    two halves 0.15 s, 40 and 60 % 0.18 s, three thirds 0.26 s, six sixths 0.30 s (the same
    CPU, 0.30 s, but the sixths' 0.36 s)."""
    [(threads,)] = con.execute("SELECT current_setting('threads')").fetchall()
    batches = max(1, min(int(threads), rows.num_rows // _ROW_GROUP_ROWS))
    size = -(-rows.num_rows // batches)
    return pa.Table.from_batches(rows.to_batches(max_chunksize=size), schema=rows.schema)


def key_result_facts(con: duckdb.DuckDBPyConnection, kr_ids: np.ndarray) -> Facts:
    """kr_facts.sql's row for each of `kr_ids`, in their order."""
    index = pa.table(
        {"idx": pa.array(np.arange(len(kr_ids), dtype=np.int32)), "kr_id": pa.array(kr_ids)}
    )
    con.register("kr_day_index", index)
    try:
        facts = con.execute(read_model("kr_facts")).fetchnumpy()
    finally:
        con.unregister("kr_day_index")
    if len(facts["idx"]) != len(kr_ids):
        raise ArraysUnsuitable("key results without their facts")
    return facts


def _arrow(column: Any) -> pa.Array:
    """A fetched column (numpy, masked where NULL) as Arrow; DATE columns as dates."""
    data, missing = np.ma.getdata(column), np.ma.getmaskarray(column)
    if data.dtype.kind == "M":
        data = data.astype("datetime64[D]")
    return pa.array(data, mask=missing if missing.any() else None)


def _filled(column: Any, fill: Any) -> tuple[np.ndarray, np.ndarray]:
    """A fetched column's values (NULLs replaced by `fill`) and where it is NULL."""
    missing = np.ma.getmaskarray(column)
    return np.ma.filled(column, fill), missing


def _rows(
    con: duckdb.DuckDBPyConnection,
    w: DailyWindows,
    on_track_margin: float,
    at_risk_margin: float,
    aspirational_pace: float,
) -> pa.Table:
    # Read with the window sums where the caller could let them be (daily_window_sums).
    facts = w.facts if w.facts is not None else key_result_facts(con, w.kr_ids)
    epoch = (w.calendar_start - _UNIX_EPOCH).days

    def per_row(values: np.ndarray) -> np.ndarray:
        return _per_row(w, values)

    def day_of(column: Any) -> np.ndarray:
        return _day_of(column, epoch)

    # The columns that repeat the facts, the as-of days and the flags are built on a second
    # thread while this one computes the values, progress and statuses: numpy releases the GIL
    # over large arrays, and after the second cursor is done a core is idle until the insert.
    # The worker reads no connection; a raise here leaves it to finish on its own.
    pool = ThreadPoolExecutor(max_workers=1)
    key_result_columns = pool.submit(_key_result_columns, w, facts)
    pool.shutdown(wait=False)

    measure = facts["measure"].astype(str)
    direction = _filled(facts["direction"], "")[0].astype(str)
    declared = np.ma.filled(facts["declared_direction"], "").astype(str)
    baseline_kr, no_baseline_kr = _filled(facts["baseline"], 0.0)
    target_kr, no_target_kr = _filled(facts["target"], 0.0)
    period_start_kr = day_of(facts["period_start"])
    period_end_kr = day_of(facts["period_end"])
    lag_kr = facts["allowed_lag_days"].astype(np.int64)

    has_window = w.has_window
    level = np.isin(direction, ["at_least", "at_most"])

    # window_values.sql: the value over [w_start, w_end].
    days = w.days
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(
            w.is_ratio,
            w.sum_value / w.sum_denominator,
            np.where(
                per_row(measure == "average"),
                w.sum_value / days,
                np.where(per_row(measure == "latest"), w.last_value, w.sum_value),
            ),
        )
    no_value = ~has_window | (days == 0)
    no_value |= np.where(
        w.is_ratio, w.sum_denominator == 0, np.isnan(w.last_value) & per_row(measure == "latest")
    )
    ranged = per_row(~facts["additive"] & np.isin(measure, ["total", "rolling"])) & has_window
    if ranged.any():
        value[ranged], no_value[ranged] = _range_values(con, w, facts, np.flatnonzero(ranged))
    window_denominator_zero = w.is_ratio & has_window & (w.sum_denominator == 0)

    # kr_progress_daily.sql's `resolved`: the expected progress, a level's 1.0 throughout.
    elapsed = (w.as_of - per_row(period_start_kr) + 1).astype(np.float64)
    length = per_row(period_end_kr - period_start_kr + 1).astype(np.float64)
    pace = np.where(facts["commitment"] == "aspirational", aspirational_pace, 1.0)
    expected = np.minimum(np.maximum(elapsed / length, 0.0), 1.0) * per_row(pace)
    expected = np.where(per_row(np.isin(declared, ["at_least", "at_most"])), 1.0, expected)

    # `scored`: progress, unclamped.
    baseline, target = per_row(baseline_kr), per_row(target_kr)
    no_baseline, no_target = per_row(no_baseline_kr), per_row(no_target_kr)
    # Compared once per key result, not per row.
    at_least, at_most, increase, decrease = (
        per_row(direction == name) for name in ("at_least", "at_most", "increase", "decrease")
    )
    level_row = per_row(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        progress = np.select(
            [
                at_least,
                at_most,
                target == baseline,
            ],
            [
                np.where(value >= target, 1.0, value / target),
                np.where((value <= target) | (value == 0), 1.0, target / value),
                np.where(increase & (value >= target) | decrease & (value <= target), 1.0, 0.0),
            ],
            (value - baseline) / (target - baseline),
        )
    no_progress = no_value | no_target
    no_progress |= ~level_row & (no_baseline | (target == baseline) & ~(increase | decrease))
    score = np.maximum(0.0, np.minimum(1.0, progress))

    # The status: the SQL's cases in its order (a later assignment is an earlier case).
    stale = has_window & (w.as_of - w.data_through > per_row(lag_kr))
    status = np.select(
        [
            progress >= 1.0 - 1e-9,
            level_row & (progress >= 1.0 - at_risk_margin - 1e-9),
            level_row,
            progress >= expected - on_track_margin - 1e-9,
            progress >= expected - at_risk_margin - 1e-9,
        ],
        [_ACHIEVED, _AT_RISK, _OFF_TRACK, _ON_TRACK, _AT_RISK],
        _OFF_TRACK,
    ).astype(np.int8)
    status[no_progress] = _NO_DATA
    status[~no_value & stale] = _STALE
    status[no_value] = _NO_DATA

    reason_rows = np.flatnonzero(
        no_value
        | stale
        | no_target
        | no_baseline & ~level_row
        | no_progress
        | (target == baseline) & (increase | decrease)
    )
    reasons = _reasons(
        con,
        w,
        facts,
        reason_rows,
        value=value,
        no_value=no_value,
        window_denominator_zero=window_denominator_zero,
        progress=progress,
        no_progress=no_progress,
    )

    columns = key_result_columns.result()
    computed = {
        "value": pa.array(value, mask=no_value),
        "baseline": pa.array(baseline, mask=no_baseline),
        "target": pa.array(target, mask=no_target),
        "progress": pa.array(progress, mask=no_progress),
        "score": pa.array(score, mask=no_progress),
        "expected_progress": pa.array(expected),
        "status": pa.DictionaryArray.from_arrays(pa.array(status), pa.array(STATUS_ORDER)),
        "status_reason": reasons,
        "data_through": _dates(w.data_through, epoch, ~has_window),
    }
    # in no particular order: the insert matches the table's columns by name
    return pa.table({**columns, **computed})


def _key_result_columns(w: DailyWindows, facts: Facts) -> dict[str, pa.Array]:
    """The columns that repeat a key result's facts, the as-of days and the flags."""
    epoch = (w.calendar_start - _UNIX_EPOCH).days

    def strings(column: Any) -> pa.Array:
        """A key-result string per row: Arrow's dictionary of the key results' values (a
        NULL one as a NULL index)."""
        values, missing = _filled(column, "")
        indices = pa.array(w.kr, mask=_per_row(w, missing) if missing.any() else None)
        return pa.DictionaryArray.from_arrays(indices, pa.array(values.tolist(), pa.string()))

    columns = {
        name: strings(facts[name])
        for name in (
            "kr_id",
            "objective_id",
            "team",
            "metric_id",
            "measure",
            "direction",
            "commitment",
            "unit",
            "definition_hash",
        )
    }
    columns["as_of_date"] = _dates(w.as_of, epoch)
    for name in ("period_start", "period_end"):
        columns[name] = _dates(_per_row(w, _day_of(facts[name], epoch)), epoch)
    columns["weight"] = pa.array(_per_row(w, facts["weight"].astype(np.float64)))
    columns["flags"] = _flags(w)
    return columns


def _per_row(w: DailyWindows, values: np.ndarray) -> np.ndarray:
    """A value per key result repeated for each of its rows, which are consecutive: ten times
    faster than a take with the rows' 32-bit key-result indices."""
    return np.repeat(values, w.rows_per_kr)


def _day_of(column: Any, epoch: int) -> np.ndarray:
    """Days since the calendar's first day (`epoch` days after 1970-01-01) of a DATE column of
    the facts."""
    return column.astype("datetime64[D]").astype(np.int64) - epoch


def _dates(day: np.ndarray, epoch: int, missing: np.ndarray | None = None) -> pa.Array:
    """Days since the calendar's first day (`epoch` days after 1970-01-01) as dates."""
    return pa.array((day + epoch).astype(np.int32), mask=missing).cast(pa.date32())


def _range_values(
    con: duckdb.DuckDBPyConnection,
    w: DailyWindows,
    facts: dict[str, np.ndarray],
    rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """A non-additive metric's value over a total or rolling window: the source's answer for
    exactly that range (staging.metric_range), as window_values.sql reads it."""
    epoch = np.datetime64(w.calendar_start, "D")
    asked = pa.table(
        {
            "row": pa.array(np.arange(len(rows), dtype=np.int64)),
            "metric_id": pa.array(facts["metric_id"].astype(str)[w.kr[rows]]),
            "w_start": pa.array(epoch + w.w_start[rows].astype("timedelta64[D]")),
            "w_end": pa.array(epoch + w.data_through[rows].astype("timedelta64[D]")),
        }
    )
    con.register("asked_ranges", asked)
    try:
        found = con.execute(
            """
            SELECT a.row, r.value
            FROM asked_ranges AS a
            JOIN staging.metric_range AS r
                ON r.metric_id = a.metric_id AND r.range_start = a.w_start
               AND r.range_end = a.w_end
            """
        ).fetchnumpy()
    finally:
        con.unregister("asked_ranges")
    if len(np.unique(found["row"])) != len(found["row"]):
        # A range delivered twice: the SQL join writes a row for each.
        raise ArraysUnsuitable("a range value delivered twice")
    value, missing = np.zeros(len(rows)), np.ones(len(rows), dtype=bool)
    got, got_missing = _filled(found["value"], 0.0)
    value[found["row"]] = got
    missing[found["row"]] = got_missing
    return value, missing


def _reasons(
    con: duckdb.DuckDBPyConnection,
    w: DailyWindows,
    facts: dict[str, np.ndarray],
    rows: np.ndarray,
    **computed: np.ndarray,
) -> pa.Array:
    """status_reason per row: kr_status_reason.sql's words for `rows`, NULL elsewhere."""
    n = len(w.kr)
    if not len(rows):
        return pa.nulls(n, type=pa.string())
    epoch = np.datetime64(w.calendar_start, "D")
    kr = w.kr[rows]

    def dates(days: np.ndarray, missing: np.ndarray) -> pa.Array:
        return pa.array(epoch + days.astype("timedelta64[D]"), mask=missing)

    def per_kr(name: str) -> pa.Array:
        return _arrow(facts[name]).take(pa.array(kr))

    no_window = ~w.has_window[rows]
    asked = pa.table(
        {
            "row": pa.array(rows.astype(np.int64)),
            "data_through": dates(w.data_through[rows], no_window),
            "w_start": dates(w.w_start[rows], no_window),
            "w_end": dates(w.data_through[rows], no_window),
            "as_of_date": dates(w.as_of[rows], np.zeros(len(rows), dtype=bool)),
            "value": pa.array(computed["value"][rows], mask=computed["no_value"][rows]),
            # The reason asks only whether a ratio's denominator summed to 0.
            "window_denominator": pa.array(
                np.where(computed["window_denominator_zero"][rows], 0.0, 1.0)
            ),
            "progress": pa.array(computed["progress"][rows], mask=computed["no_progress"][rows]),
            "metric_source": per_kr("metric_source"),
            "period_start": per_kr("period_start"),
            "allowed_lag_days": per_kr("allowed_lag_days"),
            "target": per_kr("target"),
            "baseline": per_kr("baseline"),
            "direction_used": per_kr("direction"),
            "measured_value": per_kr("measured_value"),
            "measured_from": per_kr("measured_from"),
            "measured_through": per_kr("measured_through"),
        }
    )
    con.register("reason_rows", asked)
    try:
        found = con.execute(read_model("kr_status_reason")).fetchnumpy()
    finally:
        con.unregister("reason_rows")
    texts = np.full(n, None, dtype=object)
    texts[found["row"]] = np.ma.filled(found["status_reason"], None)
    return pa.array(texts, type=pa.string())


def _flags(w: DailyWindows) -> pa.Array:
    """kr_progress_daily.sql's flags: none without a window or a flagged day in it; the
    metric's kinds when it carries one; else the kinds flagged within the window, sorted."""
    flagged = w.has_window & (w.flagged_days > 0)
    several = (w.metric_flag_mask & (w.metric_flag_mask - 1)) != 0
    mask = np.where(flagged, w.metric_flag_mask, 0)
    several &= flagged
    mask[several] = w.window_flag_mask[several]
    kinds = pa.array(w.flag_kinds, type=pa.string())
    if not several.any():
        # Each row lists at most one kind (the usual metric carries one): the lists are that
        # kind or empty, without the combinations' picks below (3 ms of 6 at full size).
        listed = mask != 0
        offsets = np.zeros(len(mask) + 1, dtype=np.int32)
        np.cumsum(listed, out=offsets[1:])
        # A mask of one bit is 2 ** its kind's position: log2 is exact.
        kind = np.log2(mask[listed]).astype(np.int32)
        values = pa.DictionaryArray.from_arrays(pa.array(kind), kinds)
        return pa.ListArray.from_arrays(pa.array(offsets), values)
    if len(w.flag_kinds) <= 16:
        # The masks are small numbers: the combinations in use by counting, not sorting.
        combos = np.flatnonzero(np.bincount(mask, minlength=1))
        combo_at = np.zeros(1 << len(w.flag_kinds), dtype=np.int64)
        combo_at[combos] = np.arange(len(combos))
        combo_of_row = combo_at[mask]
    else:
        combos, combo_of_row = np.unique(mask, return_inverse=True)
    # Each combination's kinds by their position in w.flag_kinds.
    lists = [[bit for bit in range(len(w.flag_kinds)) if int(c) >> bit & 1] for c in combos]
    lengths = np.array([len(x) for x in lists], dtype=np.int32)[combo_of_row]
    offsets = np.zeros(len(mask) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    flat = np.array([k for x in lists for k in x], dtype=np.int32)
    starts = np.zeros(len(lists), dtype=np.int32)
    np.cumsum([len(x) for x in lists[:-1]], out=starts[1:])
    picks = np.repeat(starts[combo_of_row] - offsets[:-1], lengths) + np.arange(offsets[-1])
    # The flags as indices into a dictionary of the kinds: no string copied per flag, and
    # DuckDB's insert reads them for less (0.30 s of CPU against 0.32 s for the strings).
    values = pa.DictionaryArray.from_arrays(pa.array(flat[picks]), kinds)
    return pa.ListArray.from_arrays(pa.array(offsets), values)
