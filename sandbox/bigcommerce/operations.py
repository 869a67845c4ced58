"""BigCommerce's cart endpoints: create, read, update, delete a cart; add, update, remove items.

Why this module exists: the endpoint table in one place, between the HTTP plumbing of
``sandbox.bigcommerce.server`` (store, auth, rate limits, headers) and the rules of
``sandbox.bigcommerce.rules``. Each operation follows
https://developer.bigcommerce.com/docs/rest-management/carts (OpenAPI
``bigcommerce/docs:reference/carts.v3.yml``) and returns an ``Answer``; a ``BcError`` it raises is
answered in BigCommerce's error shape.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from aiohttp import web

from sandbox.bigcommerce.render import redirect_urls, render_cart
from sandbox.bigcommerce.rules import (
    CONFLICT_TITLE,
    MISSING_FIELDS_TITLE,
    MISSING_LINE_ITEMS_TITLE,
    BcError,
    ItemRequest,
    add_items,
    check_quantity,
    check_stock,
    integer,
    invalid,
    parse_custom_items,
    parse_item,
)
from sandbox.platform_requests import JSON, Answer
from sandbox.state import Cart, SandboxState, Store


def _include(request: web.Request) -> set[str]:
    """``include`` is a comma-separated list (style form, explode false)."""
    return {part.strip() for part in request.query.get("include", "").split(",") if part.strip()}


def _storefront(request: web.Request, store: Store) -> str:
    return f"{request.url.origin()}/bigcommerce/stores/{store.name}"


async def _body(request: web.Request, *, optional: bool = False) -> dict[str, Any]:
    """A JSON object body: 415 without ``Content-Type: application/json``, 400 if not JSON."""
    if optional and not request.body_exists:
        return {}
    if "Content-Type" not in request.headers or request.content_type != JSON:
        raise BcError(415, "The request payload must be sent as Content-Type: application/json")
    try:
        data = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        # carts.v3.yml's 400 example: {"status":400,"title":"Input is invalid",...,"detail":...}
        raise BcError(400, "Input is invalid", detail="Syntax error") from None
    if not isinstance(data, dict):
        raise invalid("body", "jsobject")
    return data


def _check_version(body: dict[str, Any], cart: Cart) -> None:
    """Optimistic concurrency: a ``version`` that is not the cart's answers 409 (carts.v3.yml)."""
    version = body.get("version")
    if version is None:
        return
    if isinstance(version, bool) or not isinstance(version, int):
        raise invalid("version", "jsnumber")
    if version != cart.version:
        raise BcError(409, CONFLICT_TITLE)


def _items(store: Store, body: dict[str, Any]) -> tuple[list[ItemRequest], list[dict[str, Any]]]:
    raw = body.get("line_items")
    if raw is not None and not isinstance(raw, list):
        raise invalid("line_items", "jsarray")
    items = [parse_item(store, entry, f"line_items[{i}]") for i, entry in enumerate(raw or [])]
    customs = parse_custom_items(body.get("custom_items"))
    if body.get("gift_certificates"):
        raise BcError(422, "Gift certificates are not simulated by the sandbox.")
    if not items and not customs:
        raise BcError(422, MISSING_LINE_ITEMS_TITLE)
    return items, customs


class CartOperations:
    """The Carts v3 endpoints of one sandbox, each ``(request, store) -> Answer``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def _cart(self, request: web.Request, store: Store) -> Cart:
        cart = store.cart(request.match_info["cart_id"], self.state.now())
        if cart is None:
            raise BcError(404, "Cart not found.")
        return cart

    def _cart_body(
        self, request: web.Request, store: Store, cart: Cart, *, redirects: bool = False
    ) -> dict[str, Any]:
        include, storefront = _include(request), _storefront(request, store)
        data = render_cart(store, cart, storefront, include)
        # Only createCart documents include=redirect_urls; Cart_Full does not list the field
        # (third-party typings such as Alokai's do), and extra fields are allowed by the schema.
        if redirects and "redirect_urls" in include:
            data["redirect_urls"] = redirect_urls(storefront, cart.id)
        return {"data": data, "meta": {}}

    # operations (the endpoints of https://developer.bigcommerce.com/docs/rest-management/carts)

    async def create_cart(self, request: web.Request, store: Store) -> Answer:
        body = await _body(request)
        items, customs = _items(store, body)
        customer_id = integer(body.get("customer_id"), "customer_id", required=False)
        channel_id = integer(body.get("channel_id"), "channel_id", required=False)
        currency = body.get("currency")
        if currency is not None:
            code = currency.get("code") if isinstance(currency, dict) else None
            if not isinstance(code, str):
                raise invalid("currency.code", "jsstring")
            if code.upper() != store.seed.currency:
                # "Passing a non-transactional display currency will result in a 400 error."
                raise BcError(400, f"{code} is not a transactional currency of this store.")
        locale = body.get("locale", "en-US")
        if not isinstance(locale, str):
            raise invalid("locale", "jsstring")
        check_stock(store, None, items)
        now = self.state.now()
        attrs = {
            "customer_id": customer_id or 0,
            "channel_id": 1 if channel_id is None else channel_id,
            "locale": locale,
        }
        cart = Cart(id=str(uuid.uuid4()), created=now, updated=now, lines=[], attrs=attrs)
        add_items(store, cart, items, customs)
        store.carts[cart.id] = cart
        return 201, self._cart_body(request, store, cart, redirects=True)

    async def get_cart(self, request: web.Request, store: Store) -> Answer:
        return 200, self._cart_body(request, store, self._cart(request, store))

    async def update_cart(self, request: web.Request, store: Store) -> Answer:
        cart = self._cart(request, store)
        body = await _body(request)
        _check_version(body, cart)
        customer_id = integer(body.get("customer_id"), "customer_id")
        cart.attrs["customer_id"] = customer_id
        cart.touch(self.state.now())
        return 201, self._cart_body(request, store, cart)  # 201 per the spec (sic)

    async def delete_cart(self, request: web.Request, store: Store) -> Answer:
        cart = self._cart(request, store)
        del store.carts[cart.id]
        return 204, None

    async def add_items(self, request: web.Request, store: Store) -> Answer:
        cart = self._cart(request, store)
        body = await _body(request)
        _check_version(body, cart)
        items, customs = _items(store, body)
        check_stock(store, cart, items)
        add_items(store, cart, items, customs)
        cart.touch(self.state.now())
        return 201, self._cart_body(request, store, cart)

    async def update_item(self, request: web.Request, store: Store) -> Answer:
        cart = self._cart(request, store)
        body = await _body(request)
        _check_version(body, cart)
        line = cart.line(request.match_info["item_id"])
        if line is None:
            raise BcError(404, "Line item not found.")
        if line.kind == "custom":
            raise BcError(422, "Custom items cannot be updated: add a new one, delete the old one.")
        # The spec's Cart_Line_Item_Update_Put has a singular `line_item`; BigCommerce's own
        # cart guide sends `line_items: [...]`. Both are accepted.
        raw = body.get("line_item")
        if raw is None and isinstance(body.get("line_items"), list) and body["line_items"]:
            raw = body["line_items"][0]
        if raw is None:
            raise BcError(422, MISSING_FIELDS_TITLE, errors={"line_item": "line_item is required"})
        item = parse_item(store, raw, "line_item")
        if item.key != line.key:
            message = "A line's product and variant cannot change: delete it and add a new one."
            raise BcError(422, MISSING_FIELDS_TITLE, errors={"variant_id": message})
        check_quantity(store, line.key, item.quantity)
        line.quantity = item.quantity
        if item.list_price is not None:
            line.list_price = item.list_price
        cart.touch(self.state.now())
        return 200, self._cart_body(request, store, cart)

    async def delete_item(self, request: web.Request, store: Store) -> Answer:
        cart = self._cart(request, store)
        _check_version(await _body(request, optional=True), cart)
        line = cart.line(request.match_info["item_id"])
        if line is None:
            raise BcError(404, "Line item not found.")
        cart.lines.remove(line)
        if not cart.lines:  # "Removing the last line_item in the Cart deletes the Cart."
            del store.carts[cart.id]
            return 204, None
        cart.touch(self.state.now())
        return 200, self._cart_body(request, store, cart)

    async def redirect_urls(self, request: web.Request, store: Store) -> Answer:
        cart = self._cart(request, store)
        await _body(request, optional=True)  # query_params are accepted and ignored
        return 201, {"data": redirect_urls(_storefront(request, store), cart.id), "meta": {}}
