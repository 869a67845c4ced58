"""Pure domain of multicart: carts, bags, order SKUs, order errors, money, splitting.

No I/O lives here: no HTTP, no database, no logging. Everything is plain data and functions,
so the rules can be tested in microseconds and reused by every outer layer. This module is
the domain's public surface: the outer layers import these names from ``bags`` (import-linter
holds them to it).
"""

from bags.models import Bag, Cart, CatalogSku, Merchant, MerchantStatus, OrderError, OrderSku
from bags.money import from_minor_units, to_minor_units
from bags.split import (
    Limits,
    RequestedLine,
    check_catalog,
    check_lines,
    sku_problem,
    split_into_bags,
)
from bags.status import (
    CART_LIFETIMES,
    BagStatus,
    CartStatus,
    IllegalTransition,
    Platform,
    check_bag_transition,
    check_cart_transition,
)

__all__ = [
    "CART_LIFETIMES",
    "Bag",
    "BagStatus",
    "Cart",
    "CartStatus",
    "CatalogSku",
    "IllegalTransition",
    "Limits",
    "Merchant",
    "MerchantStatus",
    "OrderError",
    "OrderSku",
    "Platform",
    "RequestedLine",
    "check_bag_transition",
    "check_cart_transition",
    "check_catalog",
    "check_lines",
    "from_minor_units",
    "sku_problem",
    "split_into_bags",
    "to_minor_units",
]
