"""The merge after the fan-out: created bags take the platform's truth, failures become errors."""

from datetime import UTC, datetime
from itertools import count

import pytest

from adapters.base import ExternalCart, ExternalLine, LineProblem
from adapters.bigcommerce import BIGCOMMERCE
from bags.models import Bag, Cart, OrderSku
from bags.status import BagStatus
from errors import (
    Cause,
    PlatformAddressRefused,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
    PlatformTimeout,
)
from orchestrator.service.merge import apply_created, apply_failed, creation_failure, error_factory

NOW = datetime(2026, 11, 24, tzinfo=UTC)


def make_bag(bag_id: str = "bag_1") -> Bag:
    return Bag(
        id=bag_id,
        merchant_id="m1",
        merchant_name="Outdoors",
        platform=BIGCOMMERCE,
        currency="USD",
        skus=[
            OrderSku("o1", "tent", "Tent", 2, 12999, 25998, {"product_id": 1}),
            OrderSku("o2", "lamp", "Lamp", 5, 2999, 14995, {"product_id": 2, "variant_id": 5}),
        ],
    )


def make_cart(*bags: Bag) -> Cart:
    return Cart(
        id="cart_1",
        app_id="app_1",
        currency="USD",
        date_created=NOW,
        date_last_modified=NOW,
        expires_at=NOW,
        bags=list(bags),
    )


def ids() -> object:
    counter = count()
    return lambda prefix: f"{prefix}_{next(counter)}"


def test_created_bag_takes_the_platform_lines_and_prices() -> None:
    bag = make_bag()
    cart = make_cart(bag)
    external = ExternalCart(
        external_id="ext-1",
        currency="USD",
        sub_total=37990,
        checkout_url="https://c/1",
        lines=(
            ExternalLine("l1", {"product_id": 1, "variant_id": 3}, 2, 12500, 25000),
            ExternalLine("l2", {"product_id": 2, "variant_id": 5}, 3, 2999, 8997),
        ),
        problems=(
            LineProblem(
                {"product_id": 2, "variant_id": 5}, Cause.OUT_OF_STOCK, "only 3 left", 5, 3
            ),
        ),
    )
    apply_created(bag, external, cart, error_factory(cart, NOW, ids()))  # type: ignore[arg-type]
    assert bag.status is BagStatus.IN_PROGRESS
    assert (bag.external_id, bag.checkout_url, bag.sub_total) == ("ext-1", "https://c/1", 37990)
    tent, lamp = bag.skus
    assert (tent.external_id, tent.price, tent.line_price) == ("l1", 12500, 25000)
    assert (lamp.quantity, lamp.line_price) == (3, 8997)  # what the platform really holds
    assert [(e.entity_id, e.type, e.cause) for e in cart.errors] == [
        ("lamp", "EXTERNAL_ADD_ITEM", "OUT_OF_STOCK")
    ]


def test_failed_bag_gets_one_error_per_sku() -> None:
    bag = make_bag()
    cart = make_cart(bag)
    error = PlatformServerError("boom", platform="BIGCOMMERCE", status=500)
    apply_failed(bag, error, cart, error_factory(cart, NOW, ids()))  # type: ignore[arg-type]
    assert bag.status is BagStatus.FAILED and bag.sub_total == 0
    assert [
        (e.entity_id, e.bag_id, e.type, e.cause, e.retryable, e.platform) for e in cart.errors
    ] == [
        ("tent", "bag_1", "EXTERNAL_CREATE_CART", "PLATFORM_ERROR", True, BIGCOMMERCE),
        ("lamp", "bag_1", "EXTERNAL_CREATE_CART", "PLATFORM_ERROR", True, BIGCOMMERCE),
    ]
    assert all(e.entity_type == "SKU" and e.order_id == "cart_1" for e in cart.errors)


@pytest.mark.parametrize(
    ("error", "status", "retry_after"),
    [
        (PlatformServerError("x", platform="BIGCOMMERCE", status=500), 502, None),
        (PlatformTimeout("x", platform="BIGCOMMERCE"), 502, None),
        (PlatformRejected("x", platform="BIGCOMMERCE", cause=Cause.OUT_OF_STOCK), 422, None),
        (PlatformRateLimited("x", platform="BIGCOMMERCE", retry_after=2.2), 503, "3"),
        # unavailable for good (its host resolves to a refused address): no Retry-After
        (PlatformAddressRefused("x", platform="BIGCOMMERCE"), 502, None),
    ],
)
def test_single_bag_failure_status(error: object, status: int, retry_after: str | None) -> None:
    failure = creation_failure([(make_bag(), error)])  # type: ignore[list-item]
    assert failure.status == status
    assert failure.headers.get("Retry-After") == retry_after
    body = failure.envelope()
    assert (body["error"], body["code"]) == ("external_cart_creation_failure", 2503)
    assert body["data"]["platform"] == "BIGCOMMERCE"
    assert [s["sku_id"] for s in body["data"]["skus"]] == ["tent", "lamp"]
    permanent = status == 422 or isinstance(error, PlatformAddressRefused)
    assert body["data"]["retryable"] is not permanent


def test_a_refused_host_is_not_retryable_and_says_so() -> None:
    # The answer said PLATFORM_UNAVAILABLE, "retryable": true, "Please retry".
    refused = PlatformAddressRefused("x", platform="BIGCOMMERCE")
    server_error = PlatformServerError("y", platform="BIGCOMMERCE", status=500)
    for failed in ([(make_bag(), refused)], [(make_bag(), server_error), (make_bag(), refused)]):
        failure = creation_failure(failed)  # type: ignore[arg-type]
        data = failure.envelope()["data"]
        assert data["retryable"] is False
        assert "retry" not in failure.message.lower()
        assert "cart creation failure" not in data["skus"][0]["message"]
    only = creation_failure([(make_bag(), refused)])
    assert only.envelope()["data"]["cause"] == "PLATFORM_HOST_REFUSED"
    assert only.message == (
        "BIGCOMMERCE is at a host multicart is not allowed to call, preventing the creation of "
        "the external cart."
    )


def test_server_error_message_matches_the_contract() -> None:
    failure = creation_failure(
        [(make_bag(), PlatformServerError("x", platform="BIGCOMMERCE", status=500))]
    )
    assert failure.message == (
        "BIGCOMMERCE returned a Server Error, preventing the creation of the external cart. "
        "Please retry your request."
    )
    assert failure.envelope()["data"]["skus"][0]["message"] == (
        "Unable to add item to cart due to cart creation failure."
    )


def test_a_line_dropped_with_a_warning_gets_that_warning_once() -> None:
    bag = make_bag()
    cart = make_cart(bag)
    external = ExternalCart(
        external_id="ext-1",
        currency="USD",
        sub_total=0,
        lines=(),  # neither line is held
        problems=(LineProblem({"product_id": 1}, Cause.OUT_OF_STOCK, "sold out", 2, 0),),
    )
    apply_created(bag, external, cart, error_factory(cart, NOW, ids()))  # type: ignore[arg-type]
    assert [(e.entity_id, e.cause, e.message) for e in cart.errors] == [
        (
            "lamp",
            "PLATFORM_REJECTED",
            "BIGCOMMERCE created the cart without this item (5 requested, none held)",
        ),
        ("tent", "OUT_OF_STOCK", "sold out"),
    ]
    assert [(s.quantity, s.available) for s in bag.skus] == [(0, False), (0, False)]
