"""Which display units name a currency, so an amount in another currency is caught.

A unit names a currency when, without surrounding spaces, it is exactly an ISO 4217 code in
capitals (`EUR`, `USD`, `CHF`, …) or one of the symbols below. Everything else (`%`, `s`,
`sessions`, `eur`, `k€`, `€/visit`) is not a currency: such key results are never compared
with a source's currency. A bare `$` means US dollars; other dollars need their code or their
own symbol (`CA$`, `A$`); `kr` (Swedish, Norwegian, Danish, Icelandic) needs its code, and
`¥` means yen (Chinese yuan: `CNY`).
"""

from __future__ import annotations

from collections.abc import Mapping

from okr_definitions import model as m
from okr_definitions.problems import Problem
from okr_definitions.resolve import Definitions, format_loc

# Active ISO 4217 codes (the currencies a GA4 property, a Matomo site or a HubSpot account can
# be set to are among them).
_ISO_4217_TEXT = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN
    BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
    FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY
    KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP
    MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR
    RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT
    TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW
    ZWL
"""
ISO_4217 = frozenset(_ISO_4217_TEXT.split())

# Symbols that name one currency unambiguously enough for a display unit.
CURRENCY_SYMBOLS = {
    "€": "EUR",
    "$": "USD",
    "US$": "USD",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
    "₩": "KRW",
    "₽": "RUB",
    "₺": "TRY",
    "₪": "ILS",
    "zł": "PLN",
    "Fr.": "CHF",
    "CA$": "CAD",
    "C$": "CAD",
    "A$": "AUD",
    "AU$": "AUD",
    "NZ$": "NZD",
    "R$": "BRL",
}


def unit_currency(unit: str | None) -> str | None:
    """The ISO 4217 code a display unit names, or None when the unit is not a currency."""
    if unit is None:
        return None
    text = unit.strip()
    if text in ISO_4217:
        return text
    return CURRENCY_SYMBOLS.get(text)


def currency_problems(
    definitions: Definitions,
    currencies: Mapping[str, tuple[str, str]],
    where_set: Mapping[str, str],
) -> list[Problem]:
    """Errors for amounts that would be shown in the wrong currency.

    `currencies` maps a source metric's id to (ISO 4217 code, source) as the source reports
    it, for the metrics that are money; `where_set` names, per source, the setting that
    holds its currency (for the fix). A key result whose unit names a currency must read only
    amounts in it; a ratio's numerator and denominator must not be in two currencies.
    """
    problems: list[Problem] = []
    for kr_id, loc in definitions.key_results.items():
        kr = loc.item
        wanted = unit_currency(kr.unit)
        if wanted is None or kr.metric not in definitions.metrics:
            continue
        for part in _parts(definitions, kr.metric):
            found = currencies.get(part)
            if found is None or found[0] == wanted:
                continue
            code, source = found
            problems.append(
                Problem(
                    "error",
                    loc.file,
                    loc.line("unit"),
                    format_loc(loc.path, "unit"),
                    f"key result {kr_id!r} is in {wanted} (unit {kr.unit!r}), but metric "
                    f"{part!r} comes from {source} in {code}: its amounts would be shown "
                    "unconverted",
                    f"write the unit in the source's currency (`unit: {code}`), or set the "
                    f"{where_set.get(source, source + ' currency')} to {wanted}",
                )
            )
    for metric_id, loc in definitions.metrics.items():
        metric = loc.item
        if not isinstance(metric, m.RatioMetric):
            continue
        num = currencies.get(metric.ratio.numerator)
        den = currencies.get(metric.ratio.denominator)
        if num is None or den is None or num[0] == den[0]:
            continue
        problems.append(
            Problem(
                "error",
                loc.file,
                loc.line("ratio"),
                format_loc(loc.path, "ratio"),
                f"ratio {metric_id!r} divides {metric.ratio.numerator!r} ({num[1]}, {num[0]}) "
                f"by {metric.ratio.denominator!r} ({den[1]}, {den[0]}): amounts in two "
                "currencies",
                "take both parts from sources in the same currency (set the "
                f"{where_set.get(den[1], den[1] + ' currency')} to {num[0]}, or the other way "
                "round)",
            )
        )
    return problems


def _parts(definitions: Definitions, metric_id: str) -> list[str]:
    """The source metrics a metric's value is computed from (itself, or a ratio's parts)."""
    metric = definitions.metric(metric_id)
    if isinstance(metric, m.RatioMetric):
        return [metric.ratio.numerator, metric.ratio.denominator]
    return [metric_id]
