"""The hot-path cart renderer says exactly what the documented CartOut model says."""

from datetime import UTC, datetime

import orjson

from adapters.bigcommerce import BIGCOMMERCE
from bags.models import Bag, Cart, OrderError, OrderSku
from bags.status import BagStatus
from orchestrator.http.schemas import CartOut, cart_json


def sample_cart() -> Cart:
    now = datetime(2026, 11, 24, 5, 18, 2, 805518, tzinfo=UTC)
    whole = datetime(2026, 11, 24, 5, 18, 2, tzinfo=UTC)
    created = Bag(
        "bag_1",
        "mer_1",
        "Outdoors",
        BIGCOMMERCE,
        "USD",
        BagStatus.IN_PROGRESS,
        [OrderSku("o1", "tent", "Tent", 2, 100, 200, {"product_id": 1}, "l1")],
        "ext-1",
        "https://c/1",
        200,
    )
    failed = Bag(
        "bag_2",
        "mer_2",
        "Kitchen",
        BIGCOMMERCE,
        "USD",
        BagStatus.FAILED,
        [OrderSku("o2", "pan", "Pan", 1, 50, 50, {"product_id": 2}, None, False)],
    )
    error = OrderError(
        "err_1",
        "cart_1",
        "bag_2",
        "pan",
        "EXTERNAL_CREATE_CART",
        "down",
        now,
        BIGCOMMERCE,
        "PLATFORM_ERROR",
        True,
    )
    return Cart(
        "cart_1",
        "app_1",
        "USD",
        whole,
        now,
        now,
        customer_id="c",
        name="n",
        metadata={"k": "v"},
        bags=[created, failed],
        errors=[error],
    )


def test_cart_json_is_exactly_the_documented_model() -> None:
    cart = sample_cart()
    fast = orjson.loads(orjson.dumps(cart_json(cart), option=orjson.OPT_UTC_Z))
    # Validation fails on a missing or mistyped field; the round trip differs on an extra one.
    assert CartOut.model_validate(fast).model_dump(mode="json") == fast
    assert fast["date_created"] == "2026-11-24T05:18:02Z"
    assert fast["errors"][0]["date_created"].endswith("Z")
    assert fast["sub_total"] == 200 and fast["bags"][1]["sub_total"] == 0
