"""Changing a cart's lines over real HTTP, against the sandbox's three platforms (issue: lifecycle).

Every check reads the platforms' own cart listings (``/__sandbox/carts``): each bag's external
cart must hold exactly the bag's lines and quantities.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from examples.client import Multicart
from tests.e2e.conftest import Stack, wait_until

pytestmark = pytest.mark.e2e

BC, SHOPIFY, EP = "outdoors1", "threads4", "garden6"
ALL_STORES = ("outdoors1", "kitchen2", "books3", "threads4", "coffee5", "garden6", "games7")


def sku(e2e: Stack, store: str, name: str) -> str:
    return str(e2e.stores[store]["skus"][name])


def ordinary(e2e: Stack, store: str) -> list[str]:
    """The store's SKUs that are no trigger product, in catalog order."""
    named = e2e.stores[store]["skus"]
    return [named[n] for n in sorted(named) if n.startswith("p")]


def platform_lines(e2e: Stack) -> dict[str, list[tuple[str, int]]]:
    """Every sandbox cart holding lines: external id -> sorted (line id, quantity)."""
    return {
        cart["id"]: sorted((line["id"], line["quantity"]) for line in cart["lines"])
        for cart in e2e.sandbox.carts()
        if cart["lines"]
    }


def bag_lines(cart: dict[str, Any]) -> dict[str, list[tuple[str, int]]]:
    """The cart's live bags as the sandbox lists carts: external id -> (line id, quantity)."""
    return {
        bag["external_id"]: sorted((s["external_id"], s["quantity"]) for s in bag["skus"])
        for bag in cart["bags"]
        if bag["status"] == "IN_PROGRESS"
    }


def line_id(cart: dict[str, Any], sku_id: str) -> str:
    return str(next(s["id"] for b in cart["bags"] for s in b["skus"] if s["sku_id"] == sku_id))


def test_an_empty_cart_then_adds_across_three_platforms(e2e: Stack) -> None:
    api = e2e.new_app()
    cart = api.create_cart([], customer_id="cus_001")
    assert cart["bags"] == [] and e2e.sandbox.carts() == []
    for store, name, qty in ((BC, "p0", 2), (SHOPIFY, "p0", 1), (EP, "p0", 3), (BC, "p1", 1)):
        cart = api.add_sku(cart["id"], sku(e2e, store, name), qty)
    cart = api.add_sku(cart["id"], sku(e2e, SHOPIFY, "p0"), 1)  # raises the line to 2
    assert cart["errors"] == []
    assert {b["platform"] for b in cart["bags"]} == {"BIGCOMMERCE", "SHOPIFY", "ELASTIC_PATH"}
    assert all(b["status"] == "IN_PROGRESS" and b["external_id"] for b in cart["bags"])
    assert platform_lines(e2e) == bag_lines(cart)
    quantities = {b["platform"]: sorted(s["quantity"] for s in b["skus"]) for b in cart["bags"]}
    assert quantities == {"BIGCOMMERCE": [1, 2], "SHOPIFY": [2], "ELASTIC_PATH": [3]}
    assert cart["customer_id"] == "cus_001" and api.get_cart(cart["id"]) == cart


def test_twenty_concurrent_adds_all_land_once(e2e: Stack) -> None:
    api = e2e.new_app()
    cart = api.create_cart([])
    # Distinct SKUs spread over every store of every platform, a few per store.
    picks = [s for round_ in range(3) for st in ALL_STORES for s in ordinary(e2e, st)[round_:][:1]]
    picks = picks[:20]
    assert len(set(picks)) == 20
    key = api.http.headers["Authorization"].split()[1]

    def add(sku_id: str) -> httpx.Response:
        client = Multicart(api.base_url, api_key=key)
        for _ in range(3):  # a 409 cart_busy means the queue outlasted the deadline: as told
            response = client.add_sku_response(cart["id"], sku_id, 1)
            if response.status_code != 409 or response.json()["error"] != "cart_busy":
                break
            time.sleep(float(response.headers["Retry-After"]))
        return response

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(add, picks))
    assert [a.status_code for a in answers] == [200] * 20, [
        a.text for a in answers if a.status_code != 200
    ]
    final = api.get_cart(cart["id"])
    assert sorted(s["sku_id"] for b in final["bags"] for s in b["skus"]) == sorted(picks)
    assert all(s["quantity"] == 1 for b in final["bags"] for s in b["skus"])
    assert final["errors"] == [] and len(final["bags"]) == len(ALL_STORES)
    assert platform_lines(e2e) == bag_lines(final)  # once each, on the platforms too
    assert sorted(a.json()["version"] for a in answers)[-1] == final["version"]


@pytest.mark.parametrize("how", ["patch_to_zero", "delete"])
def test_removing_a_bags_last_line_deletes_its_external_cart(e2e: Stack, how: str) -> None:
    api = e2e.new_app()
    skus = [sku(e2e, store, "p0") for store in (BC, SHOPIFY, EP)]
    cart = api.create_cart([(s, 1) for s in skus] + [(sku(e2e, BC, "p1"), 1)])
    external = {b["platform"]: b["external_id"] for b in cart["bags"]}
    cart = api.remove_sku(cart["id"], line_id(cart, sku(e2e, BC, "p1")))  # not its last line
    assert platform_lines(e2e) == bag_lines(cart)
    for sku_id in skus:
        line = line_id(cart, sku_id)
        cart = (
            api.update_sku(cart["id"], line, 0)
            if how == "patch_to_zero"
            else (api.remove_sku(cart["id"], line))
        )
    assert [b["status"] for b in cart["bags"]] == ["DELETED"] * 3 and cart["sub_total"] == 0
    # BigCommerce and Elastic Path delete the carts; Shopify has no delete: it is emptied.
    ids = lambda store: {c["id"] for c in e2e.sandbox.carts(store)}  # noqa: E731
    assert wait_until(lambda: external["BIGCOMMERCE"] not in ids(BC))
    assert wait_until(lambda: external["ELASTIC_PATH"] not in ids(EP))
    assert wait_until(lambda: platform_lines(e2e) == {})


def test_an_out_of_stock_add_is_an_order_error_and_touches_no_other_line(e2e: Stack) -> None:
    api = e2e.new_app()
    cart = api.create_cart([(sku(e2e, store, "p0"), 2) for store in (BC, SHOPIFY, EP)])
    before = platform_lines(e2e)
    for store in (BC, SHOPIFY, EP):
        cart = api.add_sku(cart["id"], sku(e2e, store, "out_of_stock"), 1)
    errors = {(e["platform"], e["type"], e["entity_id"]) for e in cart["errors"]}
    assert errors == {
        (platform, "EXTERNAL_ADD_ITEM", sku(e2e, store, "out_of_stock"))
        for platform, store in (("BIGCOMMERCE", BC), ("SHOPIFY", SHOPIFY), ("ELASTIC_PATH", EP))
    }
    assert {e["cause"] for e in cart["errors"]} == {"OUT_OF_STOCK"}
    assert platform_lines(e2e) == before == bag_lines(cart)
    assert all(s["quantity"] == 2 for b in cart["bags"] for s in b["skus"])


def test_a_stale_if_match_is_412_and_changes_nothing_anywhere(e2e: Stack) -> None:
    api = e2e.new_app()
    cart = api.create_cart([(sku(e2e, store, "p0"), 1) for store in (BC, SHOPIFY, EP)])
    current = api.http.get(f"/v1/carts/{cart['id']}")
    assert current.headers["ETag"] == f'"{cart["version"]}"'
    before, requests = platform_lines(e2e), len(e2e.sandbox.requests())
    stale = f'"{cart["version"] - 1}"'
    line = line_id(cart, sku(e2e, SHOPIFY, "p0"))
    for response in (
        api.add_sku_response(cart["id"], sku(e2e, EP, "p1"), 1, if_match=stale),
        api.http.patch(
            f"/v1/carts/{cart['id']}/skus/{line}", json={"quantity": 2}, headers={"If-Match": stale}
        ),
        api.http.delete(f"/v1/carts/{cart['id']}/skus/{line}", headers={"If-Match": stale}),
    ):
        assert response.status_code == 412
        assert response.json()["error"] == "precondition_failed"
    assert api.get_cart(cart["id"]) == cart
    assert platform_lines(e2e) == before and len(e2e.sandbox.requests()) == requests
    fresh = api.update_sku(cart["id"], line, 2, if_match=current.headers["ETag"])
    assert fresh["version"] > cart["version"] and platform_lines(e2e) == bag_lines(fresh)
