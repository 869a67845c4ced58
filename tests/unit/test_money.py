"""Money enters as platform decimals and leaves as exact integer minor units."""

from decimal import Decimal

import pytest

from bags.money import from_minor_units, to_minor_units


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        (27.95, "USD", 2795),  # a BigCommerce JSON number: float on the wire
        (139.75, "USD", 13975),
        (0.1 + 0.2, "USD", 30),  # 0.30000000000000004 must not leak
        ("29.99", "USD", 2999),  # a Shopify decimal string
        ("1000", "JPY", 1000),  # zero-decimal currency
        ("1.234", "KWD", 1234),  # three-decimal currency
        (Decimal("2.005"), "USD", 200),  # half-even at the boundary
        (Decimal("2.015"), "USD", 202),
        (0, "EUR", 0),
    ],
)
def test_to_minor_units_is_exact(amount: object, currency: str, minor: int) -> None:
    assert to_minor_units(amount, currency) == minor  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", True])
def test_to_minor_units_rejects_non_amounts(bad: object) -> None:
    with pytest.raises(ValueError):
        to_minor_units(bad, "USD")  # type: ignore[arg-type]


def test_from_minor_units_round_trips() -> None:
    assert from_minor_units(2795, "USD") == Decimal("27.95")
    assert to_minor_units(from_minor_units(12345, "KWD"), "KWD") == 12345
