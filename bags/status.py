"""Status values of carts and bags and the transitions allowed between them, as tables; the
platform name a bag and a merchant carry, and the lifetimes the platforms declare for their
carts (what a bag's ``EXPIRED`` is reckoned from)."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import NewType


class BagStatus(StrEnum):
    PENDING = "PENDING"  # external creation under way
    IN_PROGRESS = "IN_PROGRESS"  # the external cart exists
    # The create may have been applied (no answer, or a 5xx, after the request was sent): the
    # external cart may exist. Never retried blindly; the reconciler resolves it.
    UNKNOWN = "UNKNOWN"
    FAILED = "FAILED"  # no external cart
    # Its external cart has outlived the platform's own cart lifetime (CART_LIFETIMES after
    # the last change the platform confirmed): the platform has dropped it. Reckoned
    # when a cart is read, without a platform call (orchestrator/service/expiry.py).
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"


class CartStatus(StrEnum):
    IN_PROGRESS = "IN_PROGRESS"
    EXPIRED = "EXPIRED"
    DELETED = "DELETED"


# A platform's name, as stored and as the API writes it. The set is open: the members are the
# names of the platforms this service ships with, and any other name is a value too (a platform
# a test or a new package declares); which names are supported, and what each platform is, is
# the adapters' table's to say. (A comment, not a docstring: the API document would show it.)
# A platform's name ("SHOPIFY", "BIGCOMMERCE", ...), as stored and as the API writes it. Which
# names exist is the adapters' table's to say (``adapters.registry``), not the domain's: the
# domain only carries the name.
Platform = NewType("Platform", str)


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


# How long each platform keeps a cart after its last change: each platform's row declares its
# own (``adapters.registry``), so the domain reckons a bag's expiry without knowing platforms.
CART_LIFETIMES: dict[Platform, timedelta] = {}


class IllegalTransition(ValueError):
    """A status change the tables above do not allow: a bug in the caller, never user input."""


def check_bag_transition(current: BagStatus, new: BagStatus) -> None:
    if new not in BAG_TRANSITIONS[current]:
        raise IllegalTransition(f"bag cannot go from {current} to {new}")


def check_cart_transition(current: CartStatus, new: CartStatus) -> None:
    if new not in CART_TRANSITIONS[current]:
        raise IllegalTransition(f"cart cannot go from {current} to {new}")
