"""Creating multi-merchant carts over real HTTP against the sandbox (docs/api.md)."""

from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import CREATE_DEADLINE_S, Stack

pytestmark = pytest.mark.e2e


def posts_to_carts(e2e: Stack, store: str) -> list[dict]:  # type: ignore[type-arg]
    return [
        r
        for r in e2e.sandbox.requests(store)
        if r["method"] == "POST" and r["path"].rstrip("/").endswith("/carts")
    ]


def test_all_bags_created_one_external_cart_each(e2e: Stack) -> None:
    api = e2e.new_app()
    a, b, c = e2e.store_names()[:3]
    cart = api.create_cart(
        [
            (e2e.stores[a]["skus"]["p0"], 2),
            (e2e.stores[b]["skus"]["p0"], 1),
            (e2e.stores[c]["skus"]["p0"], 3),
            (e2e.stores[a]["skus"]["p1"], 1),
        ],
        customer_id="c-1",
        name="gifts",
        metadata={"channel": "web"},
    )
    assert cart["status"] == "IN_PROGRESS" and cart["errors"] == []
    assert [bag["merchant_id"] for bag in cart["bags"]] == [
        e2e.stores[s]["merchant_id"] for s in (a, b, c)
    ]
    for bag, store in zip(cart["bags"], (a, b, c), strict=True):
        assert bag["status"] == "IN_PROGRESS" and bag["platform"] == "BIGCOMMERCE"
        assert bag["checkout_url"].startswith("http")
        held = {c_["id"]: c_ for c_ in e2e.sandbox.carts(store)}
        assert list(held) == [bag["external_id"]]  # exactly one external cart per bag
        lines = held[bag["external_id"]]["lines"]
        assert sorted(line["quantity"] for line in lines) == sorted(
            s["quantity"] for s in bag["skus"]
        )
        assert all(s["external_id"] for s in bag["skus"])
        assert bag["sub_total"] == sum(s["line_price"] for s in bag["skus"])
    first = cart["bags"][0]["skus"][0]
    price = e2e.stores[a]["prices"]["p0"]
    assert (first["price"], first["line_price"]) == (price, 2 * price)
    assert cart["sub_total"] == sum(bag["sub_total"] for bag in cart["bags"])
    assert api.get_cart(cart["id"]) == cart


def test_503_then_success_is_retried_into_one_external_cart(e2e: Stack) -> None:
    api = e2e.new_app()
    a, b = e2e.store_names()[:2]
    e2e.sandbox.fault(b, "error", status=503, count=1)
    cart = api.create_cart([(e2e.stores[a]["skus"]["p0"], 1), (e2e.stores[b]["skus"]["p0"], 1)])
    assert [bag["status"] for bag in cart["bags"]] == ["IN_PROGRESS", "IN_PROGRESS"]
    assert cart["errors"] == []
    assert [r["status"] for r in posts_to_carts(e2e, b)] == [503, 201]
    assert [c["id"] for c in e2e.sandbox.carts(b)] == [cart["bags"][1]["external_id"]]


def test_a_create_applied_then_answered_500_is_unknown_never_sent_twice(e2e: Stack) -> None:
    api = e2e.new_app()
    a, b = e2e.store_names()[:2]
    e2e.sandbox.fault(b, "apply_then_error", status=500, count=1)
    cart = api.create_cart([(e2e.stores[a]["skus"]["p0"], 1), (e2e.stores[b]["skus"]["p0"], 1)])
    assert [bag["status"] for bag in cart["bags"]] == ["IN_PROGRESS", "UNKNOWN"]
    assert {(e["cause"], e["retryable"]) for e in cart["errors"]} == {("PLATFORM_ERROR", False)}
    assert [r["status"] for r in posts_to_carts(e2e, b)] == [500]  # never re-sent
    assert len(e2e.sandbox.carts(b)) == 1  # the one the 500 hid: recorded, not duplicated


def test_429_with_reset_header_is_waited_out_then_created(e2e: Stack) -> None:
    api = e2e.new_app()
    a = e2e.store_names()[0]
    e2e.sandbox.fault(a, "rate_limit", reset_ms=400, count=1)
    started = time.monotonic()
    cart = api.create_cart([(e2e.stores[a]["skus"]["p0"], 1)])
    elapsed = time.monotonic() - started
    assert cart["bags"][0]["status"] == "IN_PROGRESS"
    assert elapsed >= 0.4  # it waited as told
    assert [r["status"] for r in posts_to_carts(e2e, a)] == [429, 201]
    assert len(e2e.sandbox.carts(a)) == 1


def test_hanging_store_fails_alone_within_the_deadline(e2e: Stack) -> None:
    api = e2e.new_app()
    a, b, c = e2e.store_names()[:3]
    e2e.sandbox.fault(c, "hang")
    started = time.monotonic()
    response = api.create_cart_response(
        [
            (e2e.stores[a]["skus"]["p0"], 1),
            (e2e.stores[b]["skus"]["p0"], 1),
            (e2e.stores[c]["skus"]["p0"], 1),
        ]
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert elapsed < CREATE_DEADLINE_S + 10.0  # generous: the hang holds 120 s
    cart = response.json()
    # The hung store got the request: whether it made the cart is unknown, not "failed".
    assert [bag["status"] for bag in cart["bags"]] == ["IN_PROGRESS", "IN_PROGRESS", "UNKNOWN"]
    hung = cart["bags"][2]
    assert [(e["entity_id"], e["bag_id"], e["cause"], e["retryable"]) for e in cart["errors"]] == [
        (hung["skus"][0]["sku_id"], hung["id"], "PLATFORM_TIMEOUT", False)
    ]
    assert cart["sub_total"] == cart["bags"][0]["sub_total"] + cart["bags"][1]["sub_total"]


def test_out_of_stock_in_a_multi_bag_cart_is_an_order_error(e2e: Stack) -> None:
    api = e2e.new_app()
    a, b = e2e.store_names()[:2]
    oos = e2e.stores[b]["skus"]["out_of_stock"]
    cart = api.create_cart([(e2e.stores[a]["skus"]["p0"], 1), (oos, 1)])
    good, failed = cart["bags"]
    assert (good["status"], failed["status"]) == ("IN_PROGRESS", "FAILED")
    assert failed["external_id"] is None and e2e.sandbox.carts(b) == []
    [error] = cart["errors"]
    assert error["entity_id"] == oos and error["entity_type"] == "SKU"
    assert error["bag_id"] == failed["id"] and error["order_id"] == cart["id"]
    assert (error["type"], error["platform"], error["cause"]) == (
        "EXTERNAL_CREATE_CART",
        "BIGCOMMERCE",
        "OUT_OF_STOCK",
    )
    assert error["retryable"] is False and error["message"]
    assert api.get_cart(cart["id"])["errors"] == cart["errors"]


@pytest.mark.parametrize(
    ("fault", "trigger", "status", "cause"),
    [
        ({"mode": "error", "status": 500}, "p0", 502, "PLATFORM_ERROR"),
        (None, "out_of_stock", 422, "OUT_OF_STOCK"),
        ({"mode": "rate_limit", "reset_ms": 60000}, "p0", 503, "RATE_LIMITED"),
    ],
)
def test_single_bag_failure_is_one_2503_exception(
    e2e: Stack,
    fault: dict | None,
    trigger: str,
    status: int,
    cause: str,  # type: ignore[type-arg]
) -> None:
    api = e2e.new_app()
    store = e2e.store_names()[0]
    if fault:
        e2e.sandbox.fault(store, **fault)
    sku = e2e.stores[store]["skus"][trigger]
    started = time.monotonic()
    response = api.create_cart_response([(sku, 2)])
    # Generous: a hang holds 120 s and the rate limit resets in 60 s.
    assert time.monotonic() - started < CREATE_DEADLINE_S + 10.0
    assert response.status_code == status
    body = response.json()
    assert (body["error"], body["code"]) == ("external_cart_creation_failure", 2503)
    assert body["data"]["cause"] == cause and body["data"]["platform"] == "BIGCOMMERCE"
    assert body["data"]["merchant_id"] == e2e.stores[store]["merchant_id"]
    assert [s["sku_id"] for s in body["data"]["skus"]] == [sku]
    assert body["data"]["skus"][0]["name"]
    if status == 503:
        assert int(response.headers["Retry-After"]) >= 1
    assert api.list_carts()["data"] == []  # no cart is kept
    assert e2e.sandbox.carts(store) == []
