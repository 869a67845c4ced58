"""Status values of carts and bags, and the transitions allowed between them, as tables."""

from __future__ import annotations

from enum import StrEnum


class BagStatus(StrEnum):
    PENDING = "PENDING"  # external creation under way
    IN_PROGRESS = "IN_PROGRESS"  # the external cart exists
    # The create may have been applied (no answer, or a 5xx, after the request was sent): the
    # external cart may exist. Never retried blindly; the reconciler resolves it.
    UNKNOWN = "UNKNOWN"
    FAILED = "FAILED"  # no external cart
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
    BagStatus.IN_PROGRESS: frozenset({BagStatus.DELETED}),
    # Resolved by the reconciler: found (adopted), proved absent, or deleted with its cart.
    BagStatus.UNKNOWN: frozenset({BagStatus.IN_PROGRESS, BagStatus.FAILED, BagStatus.DELETED}),
    BagStatus.FAILED: frozenset({BagStatus.PENDING, BagStatus.DELETED}),
    BagStatus.DELETED: frozenset(),
}

CART_TRANSITIONS: dict[CartStatus, frozenset[CartStatus]] = {
    CartStatus.IN_PROGRESS: frozenset({CartStatus.EXPIRED, CartStatus.DELETED}),
    CartStatus.EXPIRED: frozenset({CartStatus.DELETED}),
    CartStatus.DELETED: frozenset(),
}


class IllegalTransition(ValueError):
    """A status change the tables above do not allow: a bug in the caller, never user input."""


def check_bag_transition(current: BagStatus, new: BagStatus) -> None:
    if new not in BAG_TRANSITIONS[current]:
        raise IllegalTransition(f"bag cannot go from {current} to {new}")


def check_cart_transition(current: CartStatus, new: CartStatus) -> None:
    if new not in CART_TRANSITIONS[current]:
        raise IllegalTransition(f"cart cannot go from {current} to {new}")
