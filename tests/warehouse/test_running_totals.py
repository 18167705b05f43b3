"""The exact arithmetic of warehouse/running_totals.py: DECIMAL(38,15) values split into two
64-bit parts, and sums rounded once to the nearest double (okr_definitions/README.md, "Exact
values"), checked against Python's exact fractions."""

from __future__ import annotations

import random
from decimal import Decimal
from fractions import Fraction

import duckdb
import numpy as np

from warehouse.running_totals import _dense_parts, _limbs, _to_double

SCALE = 10**15


def test_decimals_split_into_whole_part_and_fifteen_decimals() -> None:
    texts = ["0", "0.1", "1234567.89", "127.48949999999999", "999999999999.999999999999999"]
    texts += ["4000000000000000000.000000000000001", "18446.744073709551616"]
    column = duckdb.sql(
        "SELECT CAST(t AS DECIMAL(38, 15)) AS d FROM unnest($texts) AS u(t)",
        params={"texts": texts},
    ).to_arrow_table()
    rows = np.arange(len(texts))
    whole, decimals = _dense_parts((len(texts), 1), rows, _limbs(column["d"]))
    for i, text in enumerate(texts):
        exact = Decimal(text)
        assert whole[i, 0] == int(exact), text
        assert decimals[i, 0] == int((exact - int(exact)) * SCALE), text


def test_sums_round_once_to_the_nearest_double() -> None:
    rng = random.Random(7)
    wholes = [0, 1, 8, 9, 15, 36_500, 10**9, 2**52 - 1, 2**52 + 7, 10**18]
    cases = [(w, rng.randrange(SCALE)) for w in wholes for _ in range(2_000)]
    # Sums that whole + fraction in doubles rounds the wrong way (the fraction's own rounding
    # crosses a halfway point), and 2^53 + 1, halfway between two doubles: to even.
    cases += [(9, 423_326_448_972_575), (100, 588_029_293_409_555), (1000, 943_081_742_247_557)]
    cases += [(2**53 + 1, 0), (1, 0), (4, 999_999_999_999_999)]
    # Just below a power of two, where the gap to the next double halves downwards.
    cases += [(2**k - 1, SCALE - f) for k in (4, 20, 40, 50) for f in (1, 2, 3, 500, 10**6)]
    whole = np.array([w for w, _ in cases], dtype=np.int64)
    decimals = np.array([f for _, f in cases], dtype=np.int64)
    got = _to_double(whole, decimals)
    for (w, f), value in zip(cases, got, strict=True):
        assert value == float(Fraction(w * SCALE + f, SCALE)), (w, f)
