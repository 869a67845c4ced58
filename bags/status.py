"""Status values of carts and bags, the transitions allowed between them, as tables, and how
long each platform keeps an external cart (what a bag's ``EXPIRED`` is reckoned from)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class BagStatus(StrEnum):
    PENDING = "PENDING"  # external creation under way
    IN_PROGRESS = "IN_PROGRESS"  # the external cart exists
    # The create may have been applied (no answer, or a 5xx, after the request was sent): the
    # external cart may exist. Never retried blindly; the reconciler resolves it.
    UNKNOWN = "UNKNOWN"
    FAILED = "FAILED"  # no external cart
    # Its external cart has outlived the platform's own cart lifetime (PLATFORM_CART_LIFETIME
    # after the last change the platform confirmed): the platform has dropped it. Reckoned
    # when a cart is read, without a platform call (orchestrator/service/expiry.py).
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"


class CartStatus(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"


class Platform(StrEnum):
    SHOPIFY = "SHOPIFY"
    BIGCOMMERCE = "BIGCOMMERCE"
    ELASTIC_PATH = "ELASTIC_PATH"


BAG_TRANSITIONS: dict[BagStatus, frozenset[BagStatus]] = {
    BagStatus.PENDING: frozenset(
        {BagStatus.IN_PROGRESS, BagStatus.UNKNOWN, BagStatus.FAILED, BagStatus.DELETED}
    ),
    BagStatus.IN_PROGRESS: frozenset({BagStatus.EXPIRED, BagStatus.DELETED}),
    # Resolved by the reconciler: found (adopted), proved absent, or deleted with its cart.
    BagStatus.UNKNOWN: frozenset({BagStatus.IN_PROGRESS, BagStatus.FAILED, BagStatus.DELETED}),
    BagStatus.FAILED: frozenset({BagStatus.PENDING, BagStatus.DELETED}),
    # Made again from its lines (as a FAILED bag is), or deleted with its cart (a 404 there).
    BagStatus.EXPIRED: frozenset({BagStatus.PENDING, BagStatus.DELETED}),
    BagStatus.DELETED: frozenset(),
}

CART_TRANSITIONS: dict[CartStatus, frozenset[CartStatus]] = {
    CartStatus.IN_PROGRESS: frozenset({CartStatus.EXPIRED, CartStatus.DELETED}),
    CartStatus.EXPIRED: frozenset({CartStatus.DELETED}),
    CartStatus.DELETED: frozenset(),
}


# How long each platform keeps a cart after its last change: Shopify about 10 days (staff's
# word; others observed 30), BigCommerce 30 days, Elastic Path 7 days (the store's default; a
# store may configure another). README.md, Platforms, says how they meet multicart's own expiry.
PLATFORM_CART_LIFETIME: dict[Platform, timedelta] = {
    Platform.SHOPIFY: timedelta(days=10),
    Platform.BIGCOMMERCE: timedelta(days=30),
    Platform.ELASTIC_PATH: timedelta(days=7),
}


class IllegalTransition(ValueError):
    """A status change the tables above do not allow: a bug in the caller, never user input."""


def check_bag_transition(current: BagStatus, new: BagStatus) -> None:
    if new not in BAG_TRANSITIONS[current]:
        raise IllegalTransition(f"bag cannot go from {current} to {new}")


def check_cart_transition(current: CartStatus, new: CartStatus) -> None:
    if new not in CART_TRANSITIONS[current]:
        raise IllegalTransition(f"cart cannot go from {current} to {new}")
