"""Which display units name a currency (okr_definitions/currency.py)."""

from __future__ import annotations

import pytest

from okr_definitions.currency import unit_currency


@pytest.mark.parametrize(
    ("unit", "code"),
    [
        ("€", "EUR"),
        (" EUR ", "EUR"),
        ("$", "USD"),
        ("USD", "USD"),
        ("US$", "USD"),
        ("£", "GBP"),
        ("CHF", "CHF"),
        ("CA$", "CAD"),
        ("¥", "JPY"),
        ("SEK", "SEK"),
    ],
)
def test_symbols_and_iso_codes_name_a_currency(unit: str, code: str) -> None:
    assert unit_currency(unit) == code


@pytest.mark.parametrize("unit", [None, "%", "s", "sessions", "eur", "k€", "€/visit", "kr", "ABC"])
def test_other_units_name_none(unit: str | None) -> None:
    assert unit_currency(unit) is None
