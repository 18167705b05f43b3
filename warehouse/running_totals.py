"""The window sums of the daily key-result rows, from running totals kept in arrays.

For every key result active in [from_date, to_date] and every as-of day of its period in that
range: the newest measured day (`data_through`), the window [w_start, w_end] its value reads
(okr_definitions/README.md, "How the numbers are computed") and the exact sums over it —
the columns window_values.sql reads (window_sums.sql gives the same columns for the baseline
windows from the SQL running totals in metric_cumulative.sql).

Why arrays: the sums are differences of running totals, and the running totals of a metric
on a dense calendar are a cumulative sum along one row of a (metric × day) array; the totals
at an as-of day and on the day before a window's start are then two array look-ups, not a
partitioned sort and two joins of 365,000 rows each (benchmarks/RESULTS.md, figure 2).

Exact decimals: each daily value enters as the decimal it was delivered as (its shortest text
as DECIMAL(38,15), converted by DuckDB when the day was staged: staging.metric_daily's
`*_exact`, as metric_cumulative.sql reads them), read from Arrow as the
128-bit integer value × 10^15 and split into its whole part and its fifteen decimals, two
64-bit integers whose sums are exact. Each window's sum is then rounded once to the nearest
double, as CAST(DECIMAL(38,15) AS DOUBLE) rounds it (`_to_double`), and window_values.sql takes
it from there. A metric whose whole parts could overflow 64 bits (sums beyond about 4.6e18)
raises `ExactSumOverflow`, and the caller falls back to the SQL running totals.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from fractions import Fraction

import duckdb
import numpy as np
import pyarrow as pa

from warehouse.db import read_model

_SCALE = 10**15
# A whole part whose running total stays below this cannot overflow int64 (2**63 ≈ 9.2e18).
_SAFE_TOTAL = float(2**62)
# The 52 stored bits of a double's significand: all 0 for a power of two.
_MANTISSA = (1 << 52) - 1
# The flag metric_flag_days.sql gives a ratio's numerator day without a denominator.
_NO_DENOMINATOR = "no_denominator"
# Columns per key result, as fetchnumpy gives them (warehouse/daily_rows.py reads kr_facts.sql).
Facts = dict[str, np.ndarray]


class ArraysUnsuitable(Exception):
    """Data the arrays do not cover: the caller runs the SQL models instead."""


class ExactSumOverflow(ArraysUnsuitable):
    """A metric's whole parts would overflow the 64-bit running totals."""


@dataclass(frozen=True)
class DailyWindows:
    """One entry per (key result, as-of day) row, as numpy arrays; days are counted from the
    calendar's first day (`calendar_start`, day 0)."""

    calendar_start: date
    kr_ids: np.ndarray  # the key results, in kr_windows.sql's order (by kr_id)
    kr: np.ndarray  # each row's key result: its position in kr_ids
    rows_per_kr: np.ndarray  # the rows of each key result, which are consecutive
    as_of: np.ndarray
    data_through: np.ndarray  # the newest measured day of the period (valid where has_window)
    has_window: np.ndarray  # something measured since the period started
    w_start: np.ndarray  # the window's first day (valid where has_window)
    is_ratio: np.ndarray
    sum_value: np.ndarray  # the exact sums, rounded once to doubles
    sum_denominator: np.ndarray
    days: np.ndarray  # measured days in the window
    flagged_days: np.ndarray  # flagged days from w_start through the as-of day
    last_value: np.ndarray  # the newest measured day's value as delivered (NaN: none)
    flag_kinds: list[str]  # the flags' kinds, sorted: bit i of a mask below is kind i
    metric_flag_mask: np.ndarray  # each row's metric: the kinds flagged in the calendar
    window_flag_mask: np.ndarray  # the kinds flagged from w_start through the as-of day
    # (computed only for rows whose metric carries several kinds; 0 elsewhere)
    facts: Facts | None  # the key results' facts, where daily_window_sums was to read them


def daily_window_sums(
    con: duckdb.DuckDBPyConnection,
    from_date: date,
    to_date: date,
    calendar_start: date,
    calendar_end: date,
    read_facts: Callable[[duckdb.DuckDBPyConnection, np.ndarray], Facts] | None = None,
) -> DailyWindows:
    """The window sums of the key results active in [from_date, to_date], per as-of day.

    Reads staging.metric_daily and the flags (metric_flag_days.sql) and leaves the temp table
    `metric_index` (the metrics' rows in the arrays) for the caller to drop. `calendar_start`
    is the day before the first day any window of these key results reads. With `read_facts`,
    the key results' facts are read too, as `read_facts(connection, kr_ids)` returns them
    (`DailyWindows.facts`): only for what the caller has committed, since they are read on a
    second cursor (below).
    """
    calendar = {"calendar_start": calendar_start, "calendar_end": calendar_end}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE metric_index AS " + read_model("metric_index"),
        {**calendar, "from_date": from_date},
    )
    metrics = con.execute("SELECT metric_id, is_ratio FROM metric_index ORDER BY idx").fetchnumpy()
    krs = con.execute(
        read_model("kr_windows"),
        {"from_date": from_date, "to_date": to_date, "calendar_start": calendar_start},
    ).fetchnumpy()
    # The flags (and the facts) are read on a second cursor in a worker thread while this
    # thread sums the staged rows: DuckDB releases the GIL while a query runs, numpy while it
    # passes over large arrays, so those reads take a core this thread leaves idle instead of
    # time before the insert. Started after the staged rows' read, not beside it: that read
    # is the run's own wait, and the two statements beside each other slowed it (21-24
    # against 36 ms wall in process), while the arrays leave the second core idle. The
    # staged rows, flags and definitions were committed before a progress run's transaction
    # began, so the second cursor reads the same ones. The pool is left (the worker waited
    # for) before the cursor closes.
    with closing(con.cursor()) as side, ThreadPoolExecutor(max_workers=1) as pool:
        # As Arrow: its DECIMAL(38,15) columns are the 128-bit integers value × 10^15. One
        # scan of the staged rows for the source metrics' days and the ratios' parts' days
        # (staged_day_parts.sql), told apart by its `part` column rather than split into two
        # tables: two reads scanned them twice, and filtering the table copied every column.
        staged = con.sql(read_model("staged_day_parts"), params=calendar).to_arrow_table()
        side_reads = pool.submit(
            _side_reads, side, calendar, metrics["metric_id"], krs["kr_id"], read_facts
        )
        return _window_sums(
            side_reads,
            metrics,
            krs,
            _StagedRows.of(staged),
            from_date,
            to_date,
            calendar_start,
            (calendar_end - calendar_start).days + 1,
        )


@dataclass(frozen=True)
class _StagedRows:
    """staged_day_parts.sql's rows as numpy arrays (the decimals as `_limbs`)."""

    idx: np.ndarray
    day: np.ndarray
    part: np.ndarray  # 0: a source metric's day; 1, 2: a ratio's denominator's, numerator's
    value: np.ndarray
    added: np.ndarray
    denominator: np.ndarray

    @classmethod
    def of(cls, table: pa.Table) -> _StagedRows:
        return cls(
            idx=table.column("idx").to_numpy().astype(np.int64),
            day=table.column("day").to_numpy().astype(np.int64),
            part=table.column("part").to_numpy(),
            value=table.column("value").to_numpy(),
            added=_limbs(table.column("added")),
            denominator=_limbs(table.column("denominator")),
        )


@dataclass(frozen=True)
class _SideReads:
    """What the second cursor reads (`_side_reads`)."""

    flag_kinds: list[str]  # the kinds of flag in the calendar, sorted
    flagged: dict[str, np.ndarray]  # each flagged (metric's row, day, kind's position)
    facts: Facts | None


def _side_reads(
    cursor: duckdb.DuckDBPyConnection,
    calendar: dict[str, date],
    metric_ids: np.ndarray,
    kr_ids: np.ndarray,
    read_facts: Callable[[duckdb.DuckDBPyConnection, np.ndarray], Facts] | None,
) -> _SideReads:
    """The flags of the calendar for the metrics `metric_ids` (the arrays' rows, in order)
    and, with `read_facts`, the key results' facts, on `cursor` (whose temp tables are its
    own: DuckDB keeps temp objects per connection)."""
    index = pa.table(
        {
            "idx": pa.array(np.arange(len(metric_ids), dtype=np.int32)),
            "metric_id": pa.array(metric_ids.astype(str)),
        }
    )
    cursor.register("metric_index", index)
    # One statement, nothing materialised, and no DISTINCT: a (metric, day, flag) listed
    # twice sets the same cell and bit in the arrays. The kinds are numbered from the Arrow
    # dictionary of the few distinct flags, in their sorted order, rather than compared as
    # strings in the arrays. Without the ratios' no_denominator days: `_ratio_days` composes
    # them from the staged rows (the branch that matches the parts' days was half of this
    # statement's CPU).
    read = cursor.sql(
        f"""
        WITH flag_days AS ({read_model("metric_flag_days")})
        SELECT
            i.idx,
            CAST(f.date - CAST($calendar_start AS DATE) AS INTEGER) AS day,
            f.flag
        FROM flag_days AS f
        JOIN metric_index AS i USING (metric_id)
        """,
        params={**calendar, "ratio_no_denominator": False},
    ).to_arrow_table()
    encoded = read.column("flag").combine_chunks().dictionary_encode()
    names = encoded.dictionary.to_pylist()
    order = np.argsort(np.array(names, dtype=object), kind="stable")
    kinds = [str(names[i]) for i in order]
    # The position of each dictionary entry among the sorted kinds.
    rank = np.empty(len(names), dtype=np.int64)
    rank[order] = np.arange(len(names))
    flagged = {
        "idx": read.column("idx").to_numpy(),
        "day": read.column("day").to_numpy(),
        "kind": rank[encoded.indices.to_numpy(zero_copy_only=False)],
    }
    facts = read_facts(cursor, kr_ids) if read_facts is not None else None
    return _SideReads(kinds, flagged, facts)


def _window_sums(
    side_reads: Future[_SideReads],
    metrics: dict[str, np.ndarray],
    krs: dict[str, np.ndarray],
    staged: _StagedRows,
    from_date: date,
    to_date: date,
    calendar_start: date,
    n_days: int,
) -> DailyWindows:
    """daily_window_sums' arrays from what it read; the second cursor's reads are waited for
    last, where the flags are needed."""
    # Each metric's running totals are one row of a (metric × day + 1) array whose first
    # column is 0: the total through day j is at column j + 1, so the sum over [a, b] is
    # column b + 1 minus column a, with no case for a window starting on the calendar's
    # first day. Rows are looked up by flat index (np.take), several times faster than
    # two-dimensional fancy indexing.
    n_metrics = len(metrics["is_ratio"])
    width = n_days + 1
    shape = (n_metrics, width)
    source = np.flatnonzero(staged.part == 0)
    m = staged.idx[source]
    cell = m * width + staged.day[source] + 1
    ratios = metrics["is_ratio"].astype(bool)
    # Only a ratio's rows add to the denominators (the others' are 0).
    ratio_rows = ratios[m]
    composed = _ratio_days(staged, n_metrics, width)
    cell, den_cell = (
        np.concatenate([cell, composed.cells]),
        np.concatenate([cell[ratio_rows], composed.cells]),
    )
    measured = np.zeros(shape, dtype=bool)
    measured.reshape(-1)[cell] = True
    # The limbs' rows gathered with np.take(axis=0): five times faster than a[rows] on a
    # two-column array.
    whole, decimals = _dense_parts(
        shape, cell, np.concatenate([staged.added.take(source, axis=0), composed.added])
    )
    den_whole, den_decimals = _dense_parts(
        shape,
        den_cell,
        np.concatenate([staged.denominator.take(source[ratio_rows], axis=0), composed.denominator]),
    )
    if np.abs(whole).sum(axis=1).max(initial=0) >= _SAFE_TOTAL or (
        np.abs(den_whole).sum(axis=1).max(initial=0) >= _SAFE_TOTAL
    ):
        raise ExactSumOverflow
    # `latest` reads the newest measured day that has a value as delivered.
    values = np.full(shape, np.nan)
    values.reshape(-1)[cell] = np.concatenate([staged.value[source], composed.values])

    # Column 0 is before the calendar: no data, the running totals 0.
    day_index = np.arange(-1, n_days, dtype=np.int64)
    last_data = np.maximum.accumulate(np.where(measured, day_index, -1), axis=1)
    last_valued = np.maximum.accumulate(np.where(~np.isnan(values), day_index, -1), axis=1)
    totals = {
        "whole": np.cumsum(whole, axis=1),
        "decimals": np.cumsum(decimals, axis=1),
        "den_whole": np.cumsum(den_whole, axis=1),
        "den_decimals": np.cumsum(den_decimals, axis=1),
        "days": np.cumsum(measured, axis=1),
    }

    # One row per (key result, as-of day): the as-of days in the period and in the range.
    first = np.maximum(krs["period_start_day"], (from_date - calendar_start).days)
    last = np.minimum(krs["period_end_day"], (to_date - calendar_start).days)
    counts = np.maximum(last - first + 1, 0).astype(np.int64)
    kr = np.repeat(np.arange(len(counts), dtype=np.int32), counts)
    starts = np.cumsum(counts) - counts
    as_of = np.arange(len(kr), dtype=np.int64) + np.repeat(first - starts, counts)
    metric_row = np.repeat(krs["metric_idx"].astype(np.int64) * width, counts)
    period_start = np.repeat(krs["period_start_day"].astype(np.int64), counts)

    # The period's own data only: nothing measured since the start means no value yet.
    newest = last_data.take(metric_row + as_of + 1)
    has_through = newest >= period_start
    # Compared once per key result, not per row.
    rolling = np.repeat(krs["measure"] == "rolling", counts)
    latest = np.repeat(krs["measure"] == "latest", counts)
    window_days = np.repeat(np.ma.filled(krs["window_days"], 0).astype(np.int64), counts)
    w_start = np.where(rolling, newest - window_days + 1, np.where(latest, newest, period_start))
    # The totals at the as-of day are those at data_through (later days add nothing), except
    # the flags: a flagged day after the newest measured one is part of why it is the newest.
    # A window without data (w_start before the calendar) reads column 0; its row is masked.
    end_cell = metric_row + as_of + 1
    start_cell = metric_row + np.maximum(w_start, 0)

    def window(total: np.ndarray) -> np.ndarray:
        return total.take(end_cell) - total.take(start_cell)

    sum_whole, sum_decimals = _carry(window(totals["whole"]), window(totals["decimals"]))
    kr_metric = krs["metric_idx"].astype(np.int64)
    is_ratio = np.repeat(ratios[kr_metric], counts)
    # Non-ratio metrics add 0 to the denominators: their sums are 0 without computing them.
    sum_denominator = np.zeros(len(kr))
    if is_ratio.any():
        den_sum_whole, den_sum_decimals = _carry(
            window(totals["den_whole"])[is_ratio], window(totals["den_decimals"])[is_ratio]
        )
        sum_denominator[is_ratio] = _to_double(den_sum_whole, den_sum_decimals)
    sum_value = _to_double(sum_whole, sum_decimals)
    valued = last_valued.take(end_cell)

    # The flags, last: the second cursor has read them meanwhile.
    side = side_reads.result()
    kinds, kind_of_row = side.flag_kinds, side.flagged["kind"]
    flag_cells = side.flagged["idx"].astype(np.int64) * width + side.flagged["day"] + 1
    if len(composed.no_denominator):
        # The ratios' no_denominator days, composed here, join the flags read (a day both
        # list is flagged once: the masks below are sets).
        if _NO_DENOMINATOR not in kinds:
            kinds = sorted([*kinds, _NO_DENOMINATOR])
            kind_of_row = kind_of_row + (kind_of_row >= kinds.index(_NO_DENOMINATOR))
        flag_cells = np.concatenate([flag_cells, composed.no_denominator])
        kind_of_row = np.concatenate(
            [kind_of_row, np.full(len(composed.no_denominator), kinds.index(_NO_DENOMINATOR))]
        )
    if len(kinds) > 62:
        raise ArraysUnsuitable("more kinds of flag than bits in a mask")
    flagged = np.zeros(shape, dtype=bool)
    flagged.reshape(-1)[flag_cells] = True
    kind_bits = np.left_shift(1, kind_of_row)
    metric_kinds = np.zeros(n_metrics, dtype=np.int64)
    np.bitwise_or.at(metric_kinds, flag_cells // width, kind_bits)
    metric_flag_mask = np.repeat(metric_kinds[kr_metric], counts)
    # Which kinds fall in the window: needed only where a metric carries several kinds.
    window_flag_mask = np.zeros(len(kr), dtype=np.int64)
    several = (metric_flag_mask & (metric_flag_mask - 1)) != 0
    if several.any():
        rows = np.flatnonzero(several)
        for bit in range(len(kinds)):
            kind_flagged = np.zeros(shape, dtype=np.int64)
            kind_flagged.reshape(-1)[flag_cells[kind_of_row == bit]] = 1
            running = np.cumsum(kind_flagged, axis=1)
            inside = running.take(end_cell[rows]) - running.take(start_cell[rows]) > 0
            window_flag_mask[rows[inside]] |= 1 << bit
    return DailyWindows(
        calendar_start=calendar_start,
        kr_ids=krs["kr_id"],
        kr=kr,
        rows_per_kr=counts,
        as_of=as_of,
        data_through=newest,
        has_window=has_through,
        w_start=w_start,
        is_ratio=is_ratio,
        sum_value=sum_value,
        sum_denominator=sum_denominator,
        days=window(totals["days"]),
        flagged_days=window(np.cumsum(flagged, axis=1)),
        last_value=values.take(metric_row + valued + 1),
        flag_kinds=kinds,
        metric_flag_mask=metric_flag_mask,
        window_flag_mask=window_flag_mask,
        facts=side.facts,
    )


@dataclass(frozen=True)
class _RatioDays:
    """The measured days of the ratios of two metrics: their cells in the (metric × day + 1)
    arrays, the day's value as delivered and the exact numerator and denominator (`_limbs`)."""

    cells: np.ndarray
    values: np.ndarray
    added: np.ndarray
    denominator: np.ndarray
    no_denominator: np.ndarray  # the cells of the days flagged no_denominator


def _ratio_days(staged: _StagedRows, n_metrics: int, width: int) -> _RatioDays:
    """The days of the ratios of two metrics composed from their parts' rows
    (staged_day_parts.sql, parts 1 and 2) by metric_series.sql's rules: a day of the
    denominator is measured when it has a value, its numerator has one or the numerator's
    source delivered a later day (sources omit days on which a count was zero: the numerator
    counts as 0), and not a numerator above 0 over a denominator of 0. Composed here rather
    than joined in SQL: the join of the parts' days cost a progress run more than the arrays
    (benchmarks/RESULTS.md, figure 2).

    Also the days metric_flag_days.sql flags no_denominator for such a ratio: a numerator
    day above 0 without a denominator other than 0, up to the denominator's newest day."""
    idx, day = staged.idx, staged.day
    numerators, denominators = np.flatnonzero(staged.part == 2), np.flatnonzero(staged.part == 1)
    # The newest day each numerator's and each denominator's source delivered (-1: none
    # since the calendar began).
    through = np.full(n_metrics, -1, dtype=np.int64)
    np.maximum.at(through, idx[numerators], day[numerators])
    denominator_through = np.full(n_metrics, -1, dtype=np.int64)
    np.maximum.at(denominator_through, idx[denominators], day[denominators])
    # Each denominator day's numerator row (-1: none).
    in_calendar = numerators[day[numerators] < width - 1]
    numerator_cells = idx[in_calendar] * width + day[in_calendar] + 1
    numerator_at = np.full(n_metrics * width, -1, dtype=np.int64)
    numerator_at[numerator_cells] = in_calendar
    denominators = denominators[day[denominators] < width - 1]
    cells = idx[denominators] * width + day[denominators] + 1
    row = numerator_at[cells]
    # Row -1 reads row 0 here and is discarded by `has_numerator`.
    numerator_row = np.maximum(row, 0)
    numerator = np.where(row >= 0, staged.value[numerator_row], np.nan)
    has_numerator = ~np.isnan(numerator)
    numerator = np.where(has_numerator, numerator, 0.0)
    denominator = staged.value[denominators]
    measured = (
        ~np.isnan(denominator)
        & (has_numerator | (day[denominators] <= through[idx[denominators]]))
        & ~((denominator == 0) & (numerator > 0))
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.where(denominator != 0, numerator / denominator, np.nan)
    added = staged.added.take(numerator_row, axis=0)
    added[~has_numerator] = 0
    # A denominator of NULL (NaN here) is none, as one of 0.
    counted = np.zeros(n_metrics * width, dtype=bool)
    counted[cells[~np.isnan(denominator) & (denominator != 0)]] = True
    no_denominator = (
        (staged.value[in_calendar] > 0)
        & ~counted[numerator_cells]
        & (day[in_calendar] <= denominator_through[idx[in_calendar]])
    )
    return _RatioDays(
        cells=cells[measured],
        values=value[measured],
        added=added.compress(measured, axis=0),
        denominator=staged.added.take(denominators[measured], axis=0),
        no_denominator=numerator_cells[no_denominator],
    )


def _limbs(column: pa.ChunkedArray) -> np.ndarray:
    """A DECIMAL(38,15) column (no NULLs) as Arrow holds it: each value's 128-bit integer
    value × 10^15 as two 64-bit limbs, low first (an (n, 2) uint64 array)."""
    array = column.combine_chunks()
    if len(array) == 0:
        return np.zeros((0, 2), dtype=np.uint64)
    limbs = np.frombuffer(array.buffers()[1], dtype=np.uint64)
    return limbs[2 * array.offset : 2 * (array.offset + len(array))].reshape(-1, 2)


def _dense_parts(
    shape: tuple[int, int], cells: np.ndarray, limbs: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(metric × day) int64 arrays of the whole parts and the fifteen decimals of the
    decimals `limbs` (`_limbs`) at their flat `cells`, 0 elsewhere.

    N = value × 10^15; N // 10^15 is first estimated in doubles, then the remainder, below
    2^63 in magnitude, is computed exactly in wrapping 64-bit arithmetic and corrects the
    estimate.
    """
    whole_out = np.zeros(shape, dtype=np.int64)
    decimals_out = np.zeros(shape, dtype=np.int64)
    if len(limbs) == 0:
        return whole_out, decimals_out
    low, high = limbs[:, 0], limbs[:, 1].view(np.int64)
    exact = low.view(np.int64)
    if np.array_equal(high, exact >> 63):
        # Every N fits in 64 bits (values below about 9,223 in magnitude, nearly all of them):
        # divided directly, without the estimate below.
        whole, decimals = _divmod_scale(exact)
        whole_out.reshape(-1)[cells] = whole
        decimals_out.reshape(-1)[cells] = decimals
        return whole_out, decimals_out
    # Only roughly: the remainder below corrects any estimate within 9,000 of N // 10^15.
    estimate = low.astype(np.float64)
    estimate *= 1e-15
    estimate += high * (2.0**64 / 1e15)
    if np.abs(estimate).max(initial=0) >= _SAFE_TOTAL:
        raise ExactSumOverflow
    whole = np.floor(estimate).astype(np.int64)
    with np.errstate(over="ignore"):
        remainder = (low - whole.view(np.uint64) * np.uint64(_SCALE)).view(np.int64)
    carry, decimals = _divmod_scale(remainder)
    whole_out.reshape(-1)[cells] = whole + carry
    decimals_out.reshape(-1)[cells] = decimals
    return whole_out, decimals_out


def _carry(whole: np.ndarray, decimals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whole part and decimals with the decimals in [0, 10^15): the same exact sum."""
    carry, decimals = _divmod_scale(decimals)
    return whole + carry, decimals


def _divmod_scale(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.divmod(x, 10^15) (floored), several times faster: numpy divides by a constant
    without a hardware division per element, its divmod does not."""
    quotient = x // _SCALE
    return quotient, x - quotient * _SCALE


def _to_double(whole: np.ndarray, decimals: np.ndarray) -> np.ndarray:
    """The double nearest to whole + decimals / 10^15 (0 <= decimals < 10^15), ties to even:
    the exact sum rounded once, as DuckDB's CAST(DECIMAL(38,15) AS DOUBLE) rounds it.

    Below 9 the sum is one exact integer over 10^15, divided once. Above, whole + fraction
    rounds twice (the fraction, then the sum), which can differ from rounding once only where
    the sum lies within the fraction's rounding error (half its spacing) of a halfway point
    between two doubles, where the double is a power of two (the gaps on its two sides
    differ), or where `whole` is not exact as a double: those few are rounded as fractions.
    """
    small = whole < 9
    fraction = decimals / 1e15
    out = whole.astype(np.float64)
    out += fraction
    # How far whole + fraction is from the halfway point on its side of `out`: the rounding
    # error out - whole - fraction (exact, since out and whole are within a factor of two of
    # each other) against half the gap to the next double.
    residual = out - whole
    residual -= fraction
    np.abs(residual, out=residual)
    half_gap = np.abs(np.spacing(out))
    half_gap *= 0.5
    residual -= half_gap
    np.abs(residual, out=residual)
    doubtful = residual <= np.spacing(fraction) * 0.5
    doubtful |= (out.view(np.int64) & _MANTISSA) == 0
    doubtful |= whole >= 2**52
    doubtful &= ~small
    out[small] = (whole[small] * _SCALE + decimals[small]) / 1e15
    for i in np.flatnonzero(doubtful):
        out[i] = float(Fraction(int(whole[i]) * _SCALE + int(decimals[i]), _SCALE))
    return out
