"""Elastic Path's cart and cart-item operations: create, read, delete, add, update, remove.

Why this module exists: the endpoint table in one place, between the HTTP plumbing of
``sandbox.elastic_path.server`` and the rules of ``sandbox.elastic_path.rules``. Status codes follow
Elastic Path's OpenAPI (https://elasticpath.dev/docs/api/carts/manage-carts): create 201, add
items 201, update and delete one item 200 with every item, delete a cart or all items 204.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from aiohttp import web

from sandbox.elastic_path.render import render_cart, render_items
from sandbox.elastic_path.rules import (
    EpError,
    ItemRequest,
    add_item,
    cart_fields,
    check_currency,
    check_stock,
    invalid,
    parse_item,
    quantity,
)
from sandbox.platform_requests import Answer
from sandbox.state import Cart, SandboxState, Store


async def _json(request: web.Request, *, optional: bool = False) -> Any:
    raw = await request.read()
    if not raw and optional:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise EpError(400, "Bad Request", "The request body is not valid JSON") from None


def _base(request: web.Request, store: Store) -> str:
    return f"{request.url.origin()}/elasticpath/{store.name}"


class CartOperations:
    """The Carts v2 endpoints of one sandbox, each ``(request, store) -> Answer``."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def _cart(self, request: web.Request, store: Store) -> Cart:
        """The cart at this reference; an unknown (or expired) one is created empty
        (https://elasticpath.dev/docs/api/carts/get-a-cart: "If a cart ID does not exist, a new
        cart will be automatically created")."""
        ref, now = request.match_info["ref"], self.state.now()
        cart = store.cart(ref, now)
        if cart is None:
            cart = Cart(id=ref, created=now, updated=now, lines=[], attrs={})
            store.carts[ref] = cart
        return cart

    def _touch(self, cart: Cart) -> None:
        cart.touch(self.state.now())
        if not cart.lines:
            cart.attrs.pop("currency", None)  # an empty cart takes any currency again

    def _items(self, request: web.Request, store: Store, cart: Cart) -> dict[str, Any]:
        return render_items(store, cart, _base(request, store))

    async def create_cart(self, request: web.Request, store: Store) -> Answer:
        fields = cart_fields(store, await _json(request, optional=True), status=400)
        now = self.state.now()
        cart = Cart(id=str(uuid.uuid4()), created=now, updated=now, lines=[], attrs=fields)
        store.carts[cart.id] = cart
        return 201, {"data": render_cart(store, cart, _base(request, store))}

    async def get_cart(self, request: web.Request, store: Store) -> Answer:
        cart = self._cart(request, store)
        body: dict[str, Any] = {"data": render_cart(store, cart, _base(request, store))}
        if "items" in request.query.get("include", "").split(","):
            body["included"] = {"items": self._items(request, store, cart)["data"]}
        return 200, body

    async def update_cart(self, request: web.Request, store: Store) -> Answer:
        fields = cart_fields(store, await _json(request), status=422)
        cart = self._cart(request, store)
        cart.attrs.update(fields)  # custom_attributes are replaced as a whole, as documented
        self._touch(cart)
        return 200, {"data": render_cart(store, cart, _base(request, store))}

    async def delete_cart(self, request: web.Request, store: Store) -> Answer:
        store.carts.pop(request.match_info["ref"], None)
        return 204, None

    async def get_items(self, request: web.Request, store: Store) -> Answer:
        return 200, self._items(request, store, self._cart(request, store))

    async def delete_items(self, request: web.Request, store: Store) -> Answer:
        cart = self._cart(request, store)
        cart.lines.clear()
        self._touch(cart)
        return 204, None

    async def add_items(self, request: web.Request, store: Store) -> Answer:
        body = await _json(request)
        data = body.get("data") if isinstance(body, dict) else None
        cart = self._cart(request, store)
        currency = request.headers.get("X-MOLTIN-CURRENCY")
        if isinstance(data, list):
            return self._bulk_add(request, store, cart, data, body.get("options"), currency)
        item = parse_item(store, data)
        cart.attrs["currency"] = check_currency(store, cart, currency)
        check_stock(store, cart, item)
        add_item(cart, item, self.state.now())
        self._touch(cart)
        return 201, self._items(request, store, cart)

    def _bulk_add(
        self,
        request: web.Request,
        store: Store,
        cart: Cart,
        data: list[Any],
        options: object,
        currency: str | None,
    ) -> Answer:
        """Bulk add: with ``add_all_or_nothing`` (default false) valid items are added and the
        failed ones listed in ``errors`` next to the items
        (https://elasticpath.dev/docs/carts-orders/bulk-add-to-cart). UNCONFIRMED: Elastic Path
        does not document the status of a partial success; 201 here. Nothing added: the first
        error's status."""
        all_or_nothing = isinstance(options, dict) and options.get("add_all_or_nothing") is True
        accepted: list[ItemRequest] = []
        errors: list[dict[str, Any]] = []
        wanted = check_currency(store, cart, currency)
        for raw in data:
            try:
                item = parse_item(store, raw)
                extra = sum(x.quantity for x in accepted if x.unit and x.unit is item.unit)
                check_stock(store, cart, item, extra)
                accepted.append(item)
            except EpError as exc:
                if not exc.meta and isinstance(raw, dict):
                    exc.meta = {k: raw[k] for k in ("id", "sku") if k in raw}
                errors.append(exc.item())
        if errors and (all_or_nothing or not accepted):
            return int(errors[0]["status"]), {"errors": errors}
        cart.attrs["currency"] = wanted
        for item in accepted:
            add_item(cart, item, self.state.now())
        self._touch(cart)
        answer = self._items(request, store, cart)
        if errors:
            answer["errors"] = errors
        return 201, answer

    async def update_items(self, request: web.Request, store: Store) -> Answer:
        """Bulk quantity update; ``update_all_or_nothing`` defaults to true
        (https://elasticpath.dev/docs/api/carts/bulk-update-items-in-cart)."""
        body = await _json(request)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, list):
            raise invalid("data", "a list of cart items is required")
        cart = self._cart(request, store)
        plan = []
        for raw in data:
            line = cart.line(str(raw.get("id"))) if isinstance(raw, dict) else None
            if line is None:
                raise EpError(404, "Not Found", "The Item doesn't exist in the cart")
            plan.append((line, quantity(raw.get("quantity"), "data.quantity", minimum=0)))
        for line, count in plan:
            self._check_line(store, cart, line.key, line.id, count)
        for line, count in plan:
            self._set_quantity(cart, line.id, count)
        self._touch(cart)
        return 200, self._items(request, store, cart)

    async def update_item(self, request: web.Request, store: Store) -> Answer:
        body = await _json(request)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise invalid("data", "a data object is required")
        cart = self._cart(request, store)
        line = cart.line(request.match_info["item_id"])  # the path id is authoritative
        if line is None:
            raise EpError(404, "Not Found", "The Item doesn't exist in the cart")
        count = quantity(data.get("quantity"), "data.quantity", minimum=0)
        self._check_line(store, cart, line.key, line.id, count)
        self._set_quantity(cart, line.id, count)
        self._touch(cart)
        return 200, self._items(request, store, cart)

    async def delete_item(self, request: web.Request, store: Store) -> Answer:
        cart = self._cart(request, store)
        line = cart.line(request.match_info["item_id"])
        if line is None:
            raise EpError(404, "Not Found", "The Item doesn't exist in the cart")
        cart.lines.remove(line)
        self._touch(cart)
        return 200, self._items(request, store, cart)

    def _check_line(
        self, store: Store, cart: Cart, key: tuple[Any, ...], line_id: str, count: int
    ) -> None:
        unit = store.sellables.get(key) if key and key[0] != "custom" else None
        if unit is None or count == 0:
            return
        others = [x for x in cart.lines if x.key == key and x.id != line_id]
        trial = Cart(cart.id, cart.created, cart.updated, others, {})
        check_stock(store, trial, ItemRequest(unit, count))

    def _set_quantity(self, cart: Cart, line_id: str, count: int) -> None:
        line = cart.line(line_id)
        if line is None:
            return
        if count == 0:  # a quantity of 0 removes the item
            cart.lines.remove(line)
        else:
            line.quantity = count
            line.extra["updated"] = self.state.now()
