"""What the Elastic Path adapter's tests send and answer: a store's ids and lines, answers shaped
as Elastic Path's docs and OpenAPI examples show them, and ``FakeStore``, which holds carts
across calls.

Why a module of its own: the Elastic Path tests are split by subject (create, refusals, the
other operations, connection, token, specs) and all of them speak these.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import respx

from adapters.base import LineRequest

API = "https://api.elasticpath.test"
CLIENT_ID = "ep-client-id-0123456789"
SECRET = "ep-client-secret-s3cr3t-9876543210"
TOKEN_URL = f"{API}/oauth/access_token"
REF = "bag_0123456789abcdef0123"
CART = f"{API}/v2/carts/{REF}"
ITEMS = f"{CART}/items"
TENT = "5a4662d2-9a2b-4f6e-a215-2970db914b0c"
MUG = "9eda5ba0-4f4a-4074-8547-ccb05d1b5981"
ITEM_ID = "98de010d-dd10-4fa5-a070-0b9bcdc72974"
ITEM_2 = "c58760f4-8889-4719-b34d-be1f1d11ae59"
CONN = {"api_url": API, "client_id": CLIENT_ID, "client_secret": SECRET}
TENT_LINE = LineRequest(platform_ref={"product_id": TENT}, quantity=2, sku_id="sku_tent")
MUG_LINE = LineRequest(platform_ref={"sku": "MUG-1"}, quantity=1, sku_id="sku_mug")


# --- answers, shaped as Elastic Path's docs and OpenAPI examples show them ----------------------


def token_body(token: str = "tok1", expires_in: int = 3600) -> dict[str, Any]:  # noqa: S107
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "expires": int(time.time()) + expires_in,
        "identifier": "client_credentials",
    }


def price(amount: int, currency: str = "USD") -> dict[str, Any]:
    return {"amount": amount, "currency": currency, "formatted": f"${amount / 100:.2f}"}


def ep_item(
    item_id: str = ITEM_ID,
    product_id: str = TENT,
    sku: str = "TENT-2P",
    quantity: int = 2,
    unit: int = 47500,
    kind: str = "cart_item",
    currency: str = "USD",
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": item_id,
        "type": kind,
        "name": "Trail Tent",
        "description": "A tent",
        "sku": sku,
        "slug": sku.lower(),
        "image": {"mime_type": "", "file_name": "", "href": ""},
        "quantity": quantity,
        "manage_stock": True,
        "unit_price": {"amount": unit, "currency": currency, "includes_tax": True},
        "value": {"amount": unit * quantity, "currency": currency, "includes_tax": True},
        "links": {},
        "meta": {
            "display_price": {
                "with_tax": {"unit": price(unit, currency), "value": price(unit * quantity)},
                "without_tax": {"unit": price(unit, currency), "value": price(unit * quantity)},
            },
            "timestamps": {
                "created_at": "2024-05-24T18:00:58Z",
                "updated_at": "2024-05-24T18:00:58Z",
            },
        },
    }
    if kind == "cart_item":
        item["product_id"] = product_id
        item["catalog_source"] = "pim"
    return item


def items_body(
    *items: dict[str, Any], total: int | None = None, currency: str = "USD"
) -> dict[str, Any]:
    amount = sum(i["value"]["amount"] for i in items) if total is None else total
    shown = price(amount, currency) if items else {"amount": 0, "currency": "", "formatted": "0"}
    return {
        "data": list(items),
        "meta": {
            "display_price": {"with_tax": shown, "without_tax": shown, "tax": price(0, currency)},
            "timestamps": {
                "created_at": "2024-05-24T18:00:58Z",
                "updated_at": "2024-05-24T18:00:58Z",
                "expires_at": "2024-05-31T18:00:58Z",
            },
        },
    }


def cart_body(
    ref: str = REF,
    *,
    name: str = "Cart",
    description: str = "",
    attributes: dict[str, Any] | None = None,
    item_ids: tuple[str, ...] = (),
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": ref,
        "type": "cart",
        "name": name,
        "description": description,
        "discount_settings": {"custom_discounts_enabled": False, "use_rule_promotions": False},
        "links": {"self": f"{API}/v2/carts/{ref}"},
        "meta": {
            "display_price": {"with_tax": {"amount": 0, "currency": "", "formatted": "0"}},
            "timestamps": {
                "created_at": "2023-01-06T20:12:23Z",
                "updated_at": "2023-01-12T16:09:59Z",
            },
        },
        "relationships": {
            "items": {"data": [{"type": "cart_item", "id": i} for i in item_ids] or None}
        },
    }
    if attributes is not None:
        data["custom_attributes"] = attributes
    return {"data": data}


def errors(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"errors": list(entries)}


OUT_OF_STOCK = {
    "status": 400,
    "title": "Insufficient stock",
    "detail": "There is not enough stock to add Trail Tent to your cart",
    "meta": {"id": TENT, "sku": "TENT-2P"},
}
NO_MUG = {
    "status": 404,
    "title": "Product not found",
    "detail": "The requested product could not be found",
    "meta": {"sku": "MUG-1"},
}


def sent(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


class FakeStore:
    """Just enough Elastic Path to hold state across calls: carts by id, made on first GET."""

    def __init__(self) -> None:
        self.carts: dict[str, dict[str, Any]] = {}
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.posts = 0
        self.lose_next_add_answer = False
        self.refuse_next_add: httpx.Response | None = None

    def route(self, mock: respx.MockRouter) -> None:
        mock.route(path__regex=r"^/v2/carts/(?P<ref>[^/]+)$").mock(side_effect=self.cart)
        items = r"^/v2/carts/(?P<ref>[^/]+)/items$"
        mock.route(path__regex=items).mock(side_effect=self.lines)
        # Reached only when ``lines`` applied an add and declined to answer it (returned None).
        # (An exception raised inside a side effect gets a cyclic __cause__ chain from respx.)
        mock.post(path__regex=items).mock(side_effect=httpx.ReadTimeout("the answer was lost"))

    def cart(self, request: httpx.Request, ref: str) -> httpx.Response:
        if request.method == "DELETE":
            self.carts.pop(ref, None)
            self.items.pop(ref, None)
            return httpx.Response(204)
        cart = self.carts.setdefault(ref, {"name": "Cart", "description": ""})
        self.items.setdefault(ref, [])
        if request.method == "PUT":
            cart.update(json.loads(request.content)["data"])
        ids = tuple(i["id"] for i in self.items[ref])
        body = cart_body(ref, name=cart["name"], description=cart["description"], item_ids=ids)
        body["data"]["custom_attributes"] = cart.get("custom_attributes", {})
        return httpx.Response(200, json=body)

    def lines(self, request: httpx.Request, ref: str) -> httpx.Response | None:
        held = self.items.setdefault(ref, [])
        if request.method == "POST":
            self.posts += 1
            if self.refuse_next_add is not None:
                refused, self.refuse_next_add = self.refuse_next_add, None
                return refused
            for wanted in json.loads(request.content)["data"]:
                product = wanted.get("id") or MUG
                same = next((i for i in held if i["product_id"] == product), None)
                if same is not None:
                    same["quantity"] += wanted["quantity"]
                else:
                    item_id = f"00000000-0000-4000-8000-{len(held):012d}"
                    held.append(
                        {"id": item_id, "product_id": product, "quantity": wanted["quantity"]}
                    )
            if self.lose_next_add_answer:
                self.lose_next_add_answer = False
                return None
        shown = [ep_item(i["id"], i["product_id"], quantity=i["quantity"]) for i in held]
        return httpx.Response(201 if request.method == "POST" else 200, json=items_body(*shown))
