"""Which display units name a currency, so an amount in another currency is caught.

A unit names a currency when, without surrounding spaces, it is exactly an ISO 4217 code in
capitals (`EUR`, `USD`, `CHF`, …) or one of the symbols below. Everything else (`%`, `s`,
`sessions`, `eur`, `k€`, `€/visit`) is not a currency: such key results are never compared
with a source's currency. A bare `$` means US dollars; other dollars need their code or their
own symbol (`CA$`, `A$`); `kr` (Swedish, Norwegian, Danish, Icelandic) needs its code, and
`¥` means yen (Chinese yuan: `CNY`).
"""

from __future__ import annotations

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
