"""The second half of `make demo`: a cart's life after its creation, and what an operator sees.

5. an empty cart for a customer, filled later: an add that makes a new bag (and its external
   cart), an add on another platform, an update, and a removal that empties a bag, whose
   external cart is then deleted;
6. a shopper's cart made on the merchant's own storefront, resumed by reference (201), then
   saved again (409 ``duplicate_cart``);
7. ``/metrics`` after these flows.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx

from examples.client import ApiFailure, Multicart, Sandbox

Show = Callable[..., None]
Check = Callable[[bool, str], None]
METRICS = (
    "multicart_http_requests_total",
    "multicart_http_request_duration_seconds_count",
    "multicart_platform_calls_total",
    "multicart_platform_retries_total",
    "multicart_circuits",
    "multicart_bags",
    "multicart_outbox_depth",
)


def lines_of(cart: dict[str, Any], platform: str) -> list[str]:
    bag = next(b for b in cart["bags"] if b["platform"] == platform)
    return [f"{s['quantity']} x {s['name']}" for s in bag["skus"]] + [f"({bag['status']})"]


def fill_a_cart(api: Multicart, sandbox: Sandbox, stores: dict[str, Any], show: Show,
                check: Check, bc: str, shopify: str) -> None:  # fmt: skip
    cart = api.create_cart([], customer_id="shopper-2")
    cart = api.add_sku(cart["id"], stores[shopify]["skus"]["p0"], 1)
    check(len(cart["bags"]) == 1 and cart["bags"][0]["external_id"], "an add made a new bag")
    cart = api.add_sku(cart["id"], stores[bc]["skus"]["p0"], 2)
    bc_bag = next(b for b in cart["bags"] if b["platform"] == "BIGCOMMERCE")
    tee = next(b for b in cart["bags"] if b["platform"] == "SHOPIFY")["skus"][0]
    cart = api.update_sku(cart["id"], tee["id"], 3)
    cart = api.remove_sku(cart["id"], bc_bag["skus"][0]["id"])
    show(
        "5. an empty cart filled later: add (new bag), add, update to 3, remove",
        {"Shopify": lines_of(cart, "SHOPIFY"), "BigCommerce": lines_of(cart, "BIGCOMMERCE")},
    )
    check(lines_of(cart, "SHOPIFY")[0].startswith("3 x"), "the update holds 3 on Shopify")
    gone = bc_bag["external_id"] not in {c["id"] for c in sandbox.carts(bc)}
    check(gone, "the emptied BigCommerce bag's external cart is deleted")


def resume_by_reference(api: Multicart, sandbox: Sandbox, stores: dict[str, Any], show: Show,
                        check: Check, store: str) -> None:  # fmt: skip
    found = next(s for s in sandbox.stores() if s["store"] == store)
    connection, product = found["connection"], found["products"][0]
    made = httpx.post(  # the shopper's cart, made on the merchant's own storefront
        f"{connection['api_url']}/carts",
        headers={"X-Auth-Token": connection["access_token"], "Accept": "application/json"},
        json={"line_items": [{**product["platform_ref"], "quantity": 2}]},
        timeout=10,
    )
    external_id = made.json()["data"]["id"]
    merchant_id = stores[store]["merchant_id"]
    saved = api.save_reference(external_id, merchant_id, customer_id="shopper-3")
    try:
        api.save_reference(external_id, merchant_id)
        again = "201"
    except ApiFailure as exc:
        again = f"{exc.response.status_code} {exc.response.json()['error']}"
    show(
        "6. a storefront cart resumed by reference, then saved again",
        {"resumed": lines_of(saved, "BIGCOMMERCE"), "saved again": again},
    )
    check(saved["bags"][0]["external_id"] == external_id, "the bag is linked to that cart")
    check(again == "409 duplicate_cart", "the second save is 409 duplicate_cart")


def show_metrics(api: Multicart, sandbox: Sandbox, stores: dict[str, Any], show: Show,
                 check: Check, store: str) -> None:  # fmt: skip
    cart = api.create_cart([(stores[store]["skus"]["p1"], 1)])
    sandbox.fault(store, "error", status=500, method="DELETE")  # its delete waits in the outbox
    api.delete_cart(cart["id"])
    text = api.http.get("/metrics").text
    sandbox.clear_faults()
    found = {name: _total(text, name) for name in METRICS}
    show("7. /metrics after these flows (sums of each family)", found)
    check(all(value > 0 for value in found.values()), "every metric has a non-zero value")


def _total(text: str, name: str) -> float:
    pattern = re.compile(rf"^{name}(\{{[^}}]*\}})? ([0-9.e+-]+)$", re.MULTILINE)
    return sum(float(m.group(2)) for m in pattern.finditer(text))
