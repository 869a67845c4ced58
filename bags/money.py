"""Money as integer minor units, and exact conversion from the platforms' decimal forms.

Shopify sends decimal strings ("29.99"), BigCommerce JSON numbers (27.95, floats on the wire),
Elastic Path integer minor units. Every amount enters multicart through ``to_minor_units`` and
is an ``int`` from then on.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

# ISO 4217 currencies whose minor unit is not 1/100. Everything else has 2 decimals.
# fmt: off
_ZERO_DECIMALS = frozenset({
    "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
    "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
})
_THREE_DECIMALS = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
# fmt: on


def currency_exponent(currency: str) -> int:
    code = currency.upper()
    if code in _ZERO_DECIMALS:
        return 0
    return 3 if code in _THREE_DECIMALS else 2


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
