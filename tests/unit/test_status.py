"""Bag and cart status transitions: the ones the lifecycle needs are allowed, the rest are not.

Each case is written out, not read from the tables under test, so a change to a table shows
up here as a failing line.
"""

from datetime import timedelta

import pytest

from adapters import PLATFORMS
from adapters.bigcommerce import BIGCOMMERCE
from adapters.elastic_path import ELASTIC_PATH
from adapters.shopify import SHOPIFY
from bags.status import (
    CART_LIFETIMES,
    BagStatus,
    CartStatus,
    IllegalTransition,
    Platform,
    check_bag_transition,
    check_cart_transition,
)

B, C = BagStatus, CartStatus


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (B.PENDING, B.IN_PROGRESS),  # the platform created the external cart
        (B.PENDING, B.FAILED),  # it did not
        (B.PENDING, B.DELETED),
        (B.IN_PROGRESS, B.DELETED),
        (B.FAILED, B.PENDING),  # a failed bag may be tried again
        (B.FAILED, B.DELETED),
        (B.PENDING, B.UNKNOWN),  # no answer after sending: the cart may exist
        (B.UNKNOWN, B.IN_PROGRESS),  # the reconciler found it
        (B.UNKNOWN, B.FAILED),  # the reconciler proved it absent, or cannot tell
        (B.UNKNOWN, B.DELETED),
        (B.IN_PROGRESS, B.EXPIRED),  # the platform's own lifetime has passed
        (B.EXPIRED, B.PENDING),  # its external cart may be made again
        (B.EXPIRED, B.DELETED),  # deleted with its cart (the platform answers 404)
    ],
)
def test_allowed_bag_transitions(current: BagStatus, new: BagStatus) -> None:
    check_bag_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (B.PENDING, B.PENDING),
        (B.IN_PROGRESS, B.PENDING),  # an external cart, once made, is not made again
        (B.IN_PROGRESS, B.FAILED),
        (B.IN_PROGRESS, B.IN_PROGRESS),
        (B.FAILED, B.IN_PROGRESS),  # only through PENDING, i.e. another attempt
        (B.DELETED, B.PENDING),
        (B.DELETED, B.IN_PROGRESS),
        (B.DELETED, B.FAILED),
        (B.DELETED, B.DELETED),
        (B.UNKNOWN, B.PENDING),  # never re-created blindly
        (B.UNKNOWN, B.UNKNOWN),
        (B.IN_PROGRESS, B.UNKNOWN),
        (B.FAILED, B.UNKNOWN),
        (B.EXPIRED, B.IN_PROGRESS),  # only through PENDING, i.e. another create
        (B.EXPIRED, B.EXPIRED),
        (B.EXPIRED, B.FAILED),
        (B.EXPIRED, B.UNKNOWN),
        (B.PENDING, B.EXPIRED),  # only a cart that exists can expire
        (B.UNKNOWN, B.EXPIRED),
        (B.FAILED, B.EXPIRED),
        (B.DELETED, B.EXPIRED),
    ],
)
def test_forbidden_bag_transitions(current: BagStatus, new: BagStatus) -> None:
    with pytest.raises(IllegalTransition):
        check_bag_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (C.IN_PROGRESS, C.EXPIRED),
        (C.IN_PROGRESS, C.DELETED),
        (C.EXPIRED, C.DELETED),  # an expired cart can still be deleted
    ],
)
def test_allowed_cart_transitions(current: CartStatus, new: CartStatus) -> None:
    check_cart_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [
        (C.IN_PROGRESS, C.IN_PROGRESS),
        (C.EXPIRED, C.IN_PROGRESS),  # expiry is not undone
        (C.EXPIRED, C.EXPIRED),
        (C.DELETED, C.IN_PROGRESS),
        (C.DELETED, C.EXPIRED),
        (C.DELETED, C.DELETED),
    ],
)
def test_forbidden_cart_transitions(current: CartStatus, new: CartStatus) -> None:
    with pytest.raises(IllegalTransition):
        check_cart_transition(current, new)


def test_deleted_is_final() -> None:
    with pytest.raises(IllegalTransition):
        check_bag_transition(BagStatus.DELETED, BagStatus.IN_PROGRESS)
    with pytest.raises(IllegalTransition):
        check_cart_transition(CartStatus.DELETED, CartStatus.IN_PROGRESS)


def test_platform_cart_lifetimes() -> None:
    # Shopify about 10 days, BigCommerce 30 after the last change, Elastic Path 7 (its default).
    expected = {
        SHOPIFY: timedelta(days=10),
        BIGCOMMERCE: timedelta(days=30),
        ELASTIC_PATH: timedelta(days=7),
    }
    assert {name: spec.cart_lifetime for name, spec in PLATFORMS.items()} == expected
    assert expected == CART_LIFETIMES  # declared by the rows, read by the domain


def test_a_platform_is_a_name_the_domain_carries_without_knowing_which() -> None:
    stub = Platform("STUB_PLATFORM")
    assert stub == "STUB_PLATFORM" and str(stub) == "STUB_PLATFORM"
    assert SHOPIFY == "SHOPIFY" and BIGCOMMERCE == "BIGCOMMERCE" and ELASTIC_PATH == "ELASTIC_PATH"
    assert stub not in PLATFORMS  # which names exist is the adapters' table's to say
