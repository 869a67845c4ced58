"""Saved references, bag retries and previews over real HTTP, against the sandbox, on every
platform (docs/api.md, Saved references).

External carts "made elsewhere" are made on the sandbox through the platform's own API, with
multicart's adapter for that store, as a storefront would make them.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from cryptography.fernet import Fernet

from adapters.base import LineRequest
from adapters.registry import AdapterRegistry
from bags.status import Platform
from config import Settings
from examples.client import Multicart
from tests.e2e.conftest import PLATFORMS, Stack

pytestmark = pytest.mark.e2e


def store_of(e2e: Stack, platform: str) -> dict[str, Any]:
    """The first sandbox store of ``platform``, as ``/__sandbox/stores`` lists it."""
    return next(s for s in e2e.sandbox.stores() if s["platform"] == platform)


def ordinary(store: dict[str, Any], n: int = 0) -> dict[str, Any]:
    """Its n-th product without a trigger (registered as SKU ``p<n>``)."""
    return [p for p in store["products"] if not p.get("trigger")][n]


def make_external_cart(store: dict[str, Any], quantity: int = 2) -> str:
    """A cart made on the platform directly (not through multicart), holding p0."""
    settings = Settings(
        encryption_key=Fernet.generate_key().decode(), allow_private_platform_urls=True
    )

    async def make() -> str:
        registry = AdapterRegistry(settings)
        try:
            adapter = registry.for_merchant(
                "storefront", Platform(store["platform"]), store["connection"]
            )
            line = LineRequest(platform_ref=ordinary(store)["platform_ref"], quantity=quantity)
            made = await adapter.create_cart(
                [line], currency=ordinary(store)["currency"], deadline=time.monotonic() + 10
            )
            return made.external_id
        finally:
            await registry.aclose()

    return asyncio.run(make())


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_saved_reference_then_a_duplicate_then_an_unknown_cart(e2e: Stack, platform: str) -> None:
    store = store_of(e2e, platform)
    registered = e2e.stores[store["store"]]
    external_id = make_external_cart(store)
    api, other = e2e.new_app("saver"), e2e.new_app("other")

    cart = api.save_reference(external_id, registered["merchant_id"], customer_id="c-1")
    [bag] = cart["bags"]
    assert (bag["status"], bag["external_id"], bag["platform"]) == (
        "IN_PROGRESS",
        external_id,
        platform,
    )
    [line] = bag["skus"]
    assert (line["sku_id"], line["quantity"]) == (registered["skus"]["p0"], 2)
    assert line["price"] == ordinary(store)["price"] and cart["errors"] == []
    assert bag["sub_total"] == 2 * ordinary(store)["price"]
    assert api.get_cart(cart["id"]) == cart

    for saver in (api, other):
        again = saver.save_reference_response(external_id, registered["merchant_id"])
        assert again.status_code == 409 and again.json()["error"] == "duplicate_cart"

    unknown = {
        "SHOPIFY": "gid://shopify/Cart/c1-0123456789abcdef0123456789abcdef?key=nope",
        "BIGCOMMERCE": "3f1c0a52-1d5e-4b35-9d1e-000000000000",
        "ELASTIC_PATH": "no-such-cart-reference",
    }[platform]
    missing = api.save_reference_response(unknown, registered["merchant_id"])
    assert missing.status_code == 404, missing.text
    assert missing.json()["error"] == "external_cart_not_found"


def test_a_cart_multicart_made_is_already_referenced(e2e: Stack) -> None:
    maker, saver = e2e.new_app("maker"), e2e.new_app("saver")
    names = [store_of(e2e, p)["store"] for p in PLATFORMS]
    cart = maker.create_cart([(e2e.stores[n]["skus"]["p0"], 1) for n in names])
    assert len(cart["bags"]) == len(PLATFORMS)
    for bag in cart["bags"]:
        response = saver.save_reference_response(bag["external_id"], bag["merchant_id"])
        assert response.status_code == 409, bag["platform"]


@pytest.mark.parametrize("platform", PLATFORMS)
def test_concurrent_saves_of_one_external_cart_give_one_201(e2e: Stack, platform: str) -> None:
    store = store_of(e2e, platform)
    merchant_id = e2e.stores[store["store"]]["merchant_id"]
    external_id = make_external_cart(store, quantity=1)
    apps = [e2e.new_app(f"racer-{n}") for n in range(6)]

    def save(app: Multicart) -> int:
        return app.save_reference_response(external_id, merchant_id).status_code

    with ThreadPoolExecutor(len(apps)) as pool:
        statuses = sorted(pool.map(save, apps))
    assert statuses == [201] + [409] * (len(apps) - 1)


def test_preview_calls_no_platform_and_writes_nothing(e2e: Stack) -> None:
    api = e2e.new_app("previewer")
    names = [store_of(e2e, p)["store"] for p in PLATFORMS]
    skus = [(e2e.stores[n]["skus"]["p0"], 2) for n in names] + [("no-such-sku", 1)]
    before = e2e.sandbox.requests()
    preview = api.preview(skus)
    assert e2e.sandbox.requests() == before  # not one platform call
    assert api.list_carts()["data"] == []  # and no cart written
    assert [b["platform"] for b in preview["bags"]] == list(PLATFORMS)
    assert [b["sub_total"] for b in preview["bags"]] == [
        2 * e2e.stores[n]["prices"]["p0"] for n in names
    ]
    assert [(p["sku_id"], p["reason"]) for p in preview["problems"]] == [("no-such-sku", "UNKNOWN")]


# How each platform fails a create, so the bag is FAILED (nothing made, safe to retry):
# BigCommerce and Elastic Path refuse an out-of-stock line; Shopify keeps an out-of-stock line
# out of a cart it still makes (a stock warning), so its store refuses the create instead.
def fail_creates(e2e: Stack, store: dict[str, Any]) -> None:
    if store["platform"] == "SHOPIFY":
        e2e.sandbox.fault(store["store"], "error", status=401)
    else:
        e2e.sandbox.set_stock(store["store"], ordinary(store)["platform_ref"], 0)


def restore(e2e: Stack, store: dict[str, Any]) -> None:
    if store["platform"] == "SHOPIFY":
        e2e.sandbox.clear_faults()
    else:
        e2e.sandbox.set_stock(store["store"], ordinary(store)["platform_ref"], 100)


@pytest.mark.parametrize("platform", PLATFORMS)
def test_a_failed_bag_is_retried_into_in_progress(e2e: Stack, platform: str) -> None:
    api = e2e.new_app("retrier")
    failing = store_of(e2e, platform)
    healthy = store_of(e2e, next(p for p in PLATFORMS if p != platform))
    fail_creates(e2e, failing)
    cart = api.create_cart(
        [
            (e2e.stores[healthy["store"]]["skus"]["p0"], 1),
            (e2e.stores[failing["store"]]["skus"]["p0"], 1),
        ]
    )
    ok, failed = cart["bags"]
    assert (ok["status"], failed["status"]) == ("IN_PROGRESS", "FAILED"), cart["errors"]
    assert {e["bag_id"] for e in cart["errors"]} == {failed["id"]}

    refused = api.retry_bag_response(cart["id"], ok["id"])
    assert refused.status_code == 409
    assert refused.json()["error"] == "bag_not_retryable"

    restore(e2e, failing)
    retried = api.retry_bag(cart["id"], failed["id"])
    bag = retried["bags"][1]
    assert (bag["id"], bag["status"]) == (failed["id"], "IN_PROGRESS")
    assert bag["external_id"] in {c["id"] for c in e2e.sandbox.carts(failing["store"])}
    assert retried["errors"] == []  # the failed bag's errors replaced by the new outcome's
    assert retried["bags"][0] == ok
    assert api.get_cart(cart["id"]) == retried
    assert api.retry_bag_response(cart["id"], failed["id"]).status_code == 409
