"""What the Shopify adapter's tests build and answer: ids, lines, and carts and GraphQL answers
shaped as the adapter's documents select them.

Why a module of its own: the Shopify tests are split by subject (requests, userErrors, failures,
connection) and all of them speak these.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import respx

from adapters.base import LineRequest
from adapters.shopify import documents as docs

SHOP = "https://outdoors.myshopify.test"
ENDPOINT = f"{SHOP}/api/2026-04/graphql.json"
TOKEN = "shpss_0123456789abcdef0123456789abcdef"
CART_TOKEN = "c1-5f1d6d2c0e4b4c7e9a1b2c3d4e5f6a7b"
CART_ID = f"gid://shopify/Cart/{CART_TOKEN}?key=73de96370dea19c18996cebea3b31a1b"
CHECKOUT = (
    f"https://outdoors.myshopify.test/cart/c/{CART_TOKEN}?key=73de96370dea19c18996cebea3b31a1b"
)
VARIANT_A = "gid://shopify/ProductVariant/43162292814051"
VARIANT_B = "gid://shopify/ProductVariant/43162292814052"
LINE_A = f"gid://shopify/CartLine/a07f5410-ea7a-41ac-a794-839c1e0d599c?cart={CART_TOKEN}"
LINE_B = f"gid://shopify/CartLine/b17f5410-ea7a-41ac-a794-839c1e0d599d?cart={CART_TOKEN}"
A = LineRequest(platform_ref={"variant_id": VARIANT_A}, quantity=2, sku_id="sku_a")
B = LineRequest(platform_ref={"variant_id": VARIANT_B}, quantity=5, sku_id="sku_b")


def money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": amount, "currencyCode": currency}


def node(
    line_id: str = LINE_A,
    variant: str = VARIANT_A,
    quantity: int = 2,
    unit: str = "29.99",
    total: str = "59.98",
    currency: str = "USD",
    title: str = "Default Title",
    product: str = "Trail Tent",
) -> dict[str, Any]:
    return {
        "id": line_id,
        "quantity": quantity,
        "merchandise": {"id": variant, "title": title, "product": {"title": product}},
        "cost": {"amountPerQuantity": money(unit, currency), "totalAmount": money(total, currency)},
    }


def cart(
    lines: Sequence[dict[str, Any]] | None = None, subtotal: str = "59.98", currency: str = "USD"
) -> dict[str, Any]:
    """A ``Cart`` exactly as ``documents._CART_FIELDS`` selects it."""
    return {
        "id": CART_ID,
        "checkoutUrl": CHECKOUT,
        "cost": {"subtotalAmount": money(subtotal, currency)},
        "lines": {"edges": [{"node": n} for n in ([node()] if lines is None else lines)]},
    }


def answer(
    root: str,
    the_cart: dict[str, Any] | None = None,
    user_errors: Sequence[dict[str, Any]] = (),
    warnings: Sequence[dict[str, Any]] = (),
) -> httpx.Response:
    payload = {"cart": the_cart, "userErrors": list(user_errors), "warnings": list(warnings)}
    return httpx.Response(200, json={"data": {root: payload}})


def queried(the_cart: dict[str, Any] | None) -> httpx.Response:
    return httpx.Response(200, json={"data": {"cart": the_cart}})


def user_error(code: str | None, field: list[str] | None, message: str) -> dict[str, Any]:
    return {"code": code, "field": field, "message": message}


def sent(route: respx.Route, call: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls[call].request.content)
    return body


def by_document(**answers: Callable[[dict[str, Any]], httpx.Response]) -> Any:
    """A respx side effect answering each document (by its root field) with its own function."""

    def respond(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        root = next(r for r, d in docs.DOCUMENTS.items() if d == body["query"])
        return answers[root](body["variables"])

    return respond
