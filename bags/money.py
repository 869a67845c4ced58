"""Money as integer minor units, and exact conversion from the platforms' decimal forms.

Shopify sends decimal strings ("29.99"), BigCommerce JSON numbers (27.95, floats on the wire),
Elastic Path integer minor units. Every amount enters multicart through ``to_minor_units`` and
is an ``int`` from then on.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents that are not 2. Everything else has 2 decimals.
_EXPONENTS: dict[str, int] = {
    "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
    "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
}


def currency_exponent(currency: str) -> int:
    return _EXPONENTS.get(currency.upper(), 2)


def to_minor_units(amount: Decimal | str | int | float, currency: str) -> int:
    """Convert a major-unit amount to integer minor units, exactly.

    Floats are read through ``str()`` first so that 27.95 stays 27.95 and never becomes
    27.949999...; the result is rounded half-even to the currency's precision.
    """
    if isinstance(amount, bool):
        raise ValueError("a boolean is not an amount")
    try:
        value = Decimal(str(amount)) if isinstance(amount, float) else Decimal(amount)
    except InvalidOperation as exc:
        raise ValueError(f"not an amount: {amount!r}") from exc
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    scaled = value.scaleb(currency_exponent(currency))
    return int(scaled.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def from_minor_units(minor: int, currency: str) -> Decimal:
    """The major-unit Decimal of an integer minor-unit amount (for platforms that want it)."""
    return Decimal(minor).scaleb(-currency_exponent(currency))
