"""What a platform's answer may be, checked before anything reads it: its size and its numbers.

Why a module of its own: every adapter trusts the same two things about an answer, and both
were crashes instead of platform errors. A body is read whole into memory, so its size is
capped (``MULTICART_PLATFORM_MAX_ANSWER_BYTES``; each transport reads under it, inside the
attempt's deadline, and refuses a longer one with ``adapters.calls.http.answer_too_large``).
Amounts and quantities end up in the store's BIGINT and INTEGER columns, so one the store
cannot hold (``decimal`` overflowing while rounding ``1e30``, 2**64 minor units) is a
``ValueError`` the adapters' parsers already turn into an unreadable-answer
``PlatformServerError``.
"""

from __future__ import annotations

from decimal import Decimal

from bags import to_minor_units

# The store's columns: amounts are BIGINT (signed 64-bit), quantities INTEGER (signed 32-bit).
MAX_AMOUNT = 2**63 - 1
MAX_QUANTITY = 2**31 - 1


def amount_in_range(value: int) -> int:
    """``value`` (minor units) when a BIGINT column holds it, else ``ValueError``."""
    if not -MAX_AMOUNT <= value <= MAX_AMOUNT:
        raise ValueError("an amount out of the storable range (64-bit minor units)")
    return value


def quantity_in_range(value: int) -> int:
    """``value`` when it is a count an INTEGER column holds, else ``ValueError``."""
    if not 0 <= value <= MAX_QUANTITY:
        raise ValueError("a quantity out of the storable range (0 to 2**31 - 1)")
    return value


def minor_units(amount: Decimal | str | int | float, currency: str) -> int:
    """``bags.money.to_minor_units`` for an amount a platform sent: ``ValueError`` for any that
    is not one multicart can store (``decimal`` raises ``InvalidOperation``, an
    ``ArithmeticError``, when rounding needs more than its 28 digits)."""
    try:
        value = to_minor_units(amount, currency)
    except ArithmeticError:
        raise ValueError("an amount out of the storable range (64-bit minor units)") from None
    return amount_in_range(value)
