"""The control API under ``/__sandbox/``: the integrator's and the tests' handle.

Why this module exists: tests must arrange platform behaviour (faults, stock, quotas, time) and
observe what the platforms hold (carts, received requests) without reaching into the process.
Faults never apply here. Bad input answers 400 ``{"message", "field"}`` naming the field.

``GET stores`` · ``POST|GET|DELETE faults`` (``?store=``) · ``DELETE faults/{id}`` ·
``PUT stock`` · ``PUT quota`` · ``PUT settings`` · ``GET carts?store=`` ·
``GET|DELETE requests?store=`` · ``POST clock`` · ``POST reset``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sandbox import registry
from sandbox.catalog import Sellable
from sandbox.faults import FaultSpec
from sandbox.platform_requests import json_response
from sandbox.state import Cart, Line, SandboxState, Store, iso_time

PREFIX = "/__sandbox"
M = TypeVar("M", bound=BaseModel)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadInput(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


class StockInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store: str
    platform_ref: dict[str, Any]
    stock: int = Field(ge=0)


class QuotaInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    store: str
    quota: int = Field(ge=0)
    window_ms: int | None = Field(default=None, gt=0)


class SettingsInput(BaseModel):
    """Per platform (its registry row's ``settable``): BigCommerce ``unknown_product_status``;
    Shopify ``unknown_variant_code``; Elastic Path ``token_ttl_s`` (tokens issued from now on),
    ``expire_tokens`` (every token of the store stops working now), ``write_conflicts`` (the
    next N writes answer 409 "Write conflict detected")."""

    model_config = ConfigDict(extra="forbid")
    store: str
    unknown_product_status: Literal[404, 422] | None = None
    unknown_variant_code: Literal["INVALID", "MERCHANDISE_NOT_APPLICABLE"] | None = None
    token_ttl_s: int | None = Field(default=None, gt=0, le=86_400)
    expire_tokens: bool | None = None
    write_conflicts: int | None = Field(default=None, ge=0, le=1000)


class ClockInput(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance_s: float = Field(ge=0, description="move the sandbox's clock forward (cart expiry)")


def line_entry(store: Store, line: Line) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": line.id,
        "platform_ref": line.platform_ref,
        "quantity": line.quantity,
    }
    entry.update(registry.platform(store.platform).line_extras(line))
    return entry


def cart_entry(store: Store, cart: Cart) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": cart.id,
        "store": store.name,
        "platform": store.platform,
        "lines": [line_entry(store, line) for line in cart.lines],
        "currency": store.seed.currency,
        "sub_total": sum(line.list_price * line.quantity for line in cart.lines),
        "version": cart.version,
        "created_time": iso_time(cart.created),
        "updated_time": iso_time(cart.updated),
    }
    # A Shopify cart's own attributes (``[{key, value}]``): how a soak run or a test tells
    # which caller's cart it is, where the platform mints the ids. Only where the cart has some.
    attributes = cart.attrs.get("attributes")
    if isinstance(attributes, list):
        entry["attributes"] = [dict(a) for a in attributes]
    return entry


def product_entry(store: Store, unit: Sellable) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "platform_ref": dict(unit.platform_ref),
        "name": unit.name,
        "sku": unit.sku,
        "price": unit.price,
        "currency": store.seed.currency,
        "stock": store.stock.get(unit.key, unit.stock),
    }
    if unit.trigger:
        entry["trigger"] = unit.trigger
    return entry


def routes(state: SandboxState) -> list[web.RouteDef]:
    api = Control(state)
    table: list[tuple[str, str, Handler]] = [
        ("GET", "", api.index),
        ("GET", "/stores", api.stores),
        ("POST", "/faults", api.add_fault),
        ("GET", "/faults", api.list_faults),
        ("DELETE", "/faults", api.clear_faults),
        ("DELETE", "/faults/{fault_id}", api.remove_fault),
        ("PUT", "/stock", api.set_stock),
        ("PUT", "/quota", api.set_quota),
        ("PUT", "/settings", api.set_settings),
        ("GET", "/carts", api.carts),
        ("GET", "/requests", api.requests),
        ("DELETE", "/requests", api.clear_requests),
        ("POST", "/clock", api.advance_clock),
        ("POST", "/reset", api.reset),
    ]
    return [web.route(method, PREFIX + path, _guard(handler)) for method, path, handler in table]


def _guard(handler: Handler) -> Handler:
    """Turn ``BadInput`` into 400 ``{"message", "field"}`` (no app-wide middleware: the
    platform routes stay as lean as possible)."""

    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except BadInput as exc:
            return json_response({"message": exc.message, "field": exc.field}, 400)

    return guarded


class Control:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def _store(self, name: object, field: str = "store") -> Store:
        store = self.state.stores.get(name) if isinstance(name, str) else None
        if store is None:
            raise BadInput(field, f"{field}: unknown store {name!r}")
        return store

    def _query_store(self, request: web.Request) -> Store | None:
        name = request.query.get("store")
        return None if name is None else self._store(name)

    async def _input(self, request: web.Request, model: type[M]) -> M:
        try:
            raw = orjson.loads(await request.read())
        except orjson.JSONDecodeError:
            raise BadInput(None, "the body is not valid JSON") from None
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"]) or None
            raise BadInput(field, f"{field or 'body'}: {error['msg']}") from None

    async def index(self, request: web.Request) -> web.StreamResponse:
        listed = {
            f"{route.method} {route.resource.canonical}"
            for route in request.app.router.routes()
            if route.resource is not None and route.resource.canonical.startswith(PREFIX)
        }
        return json_response({"routes": sorted(listed)})

    async def stores(self, request: web.Request) -> web.StreamResponse:
        origin = str(request.url.origin())
        return json_response(
            [
                {
                    "store": store.name,
                    "platform": store.platform,
                    "connection": registry.platform(store.platform).connection(store, origin),
                    "products": [product_entry(store, unit) for unit in store.sellables.values()],
                    "settings": registry.platform(store.platform).settings(store),
                }
                for store in self.state.stores.values()
            ]
        )

    async def add_fault(self, request: web.Request) -> web.StreamResponse:
        spec = await self._input(request, FaultSpec)
        store = self._store(spec.store)
        if spec.form is not None and not registry.platform(store.platform).throttle_forms:
            raise BadInput("form", "form: only Shopify has several throttling answers")
        return json_response(self.state.faults.add(spec).to_json(), 201)

    async def list_faults(self, request: web.Request) -> web.StreamResponse:
        store = self._query_store(request)
        faults = self.state.faults.list(store.name if store else None)
        return json_response([f.to_json() for f in faults])

    async def clear_faults(self, request: web.Request) -> web.StreamResponse:
        store = self._query_store(request)
        return json_response({"cleared": self.state.faults.clear(store.name if store else None)})

    async def remove_fault(self, request: web.Request) -> web.StreamResponse:
        if not self.state.faults.remove(request.match_info["fault_id"]):
            return json_response({"message": "no such fault", "field": "fault_id"}, 404)
        return json_response({"cleared": 1})

    async def set_stock(self, request: web.Request) -> web.StreamResponse:
        body = await self._input(request, StockInput)
        store = self._store(body.store)
        unit = next((u for u in store.sellables.values() if body.platform_ref in u.refs), None)
        if unit is None:
            raise BadInput("platform_ref", f"platform_ref: no product of {store.name} has it")
        if not unit.on_platform:
            raise BadInput("platform_ref", "platform_ref: this product is not on the platform")
        store.stock[unit.key] = body.stock
        return json_response(product_entry(store, unit))

    async def set_quota(self, request: web.Request) -> web.StreamResponse:
        body = await self._input(request, QuotaInput)
        rate = self._store(body.store).rate
        rate.quota, rate.used = body.quota, 0
        rate.window_ms = body.window_ms or rate.window_ms
        rate.started = time.monotonic()
        return json_response(
            {"store": body.store, "quota": rate.quota, "window_ms": rate.window_ms}
        )

    async def set_settings(self, request: web.Request) -> web.StreamResponse:
        body = await self._input(request, SettingsInput)
        store = self._store(body.store)
        given = body.model_dump(exclude_none=True, exclude={"store"})
        for name in given:
            if name not in registry.platform(store.platform).settable:
                raise BadInput(name, f"{name}: not a setting of {store.platform} stores")
        for name, value in given.items():
            if name == "expire_tokens":
                if value:
                    store.tokens.clear()
            else:
                setattr(store, name, value)
        return json_response(
            {"store": store.name, **registry.platform(store.platform).settings(store)}
        )

    async def carts(self, request: web.Request) -> web.StreamResponse:
        only = self._query_store(request)
        now = self.state.now()
        listed: list[dict[str, Any]] = []
        for store in [only] if only else self.state.stores.values():
            listed.extend(cart_entry(store, cart) for cart in store.live_carts(now))
        return json_response(listed)

    async def requests(self, request: web.Request) -> web.StreamResponse:
        store = self._query_store(request)
        return json_response(self.state.requests.list(store.name if store else None))

    async def clear_requests(self, request: web.Request) -> web.StreamResponse:
        self.state.requests.clear()
        return json_response({"cleared": True})

    async def advance_clock(self, request: web.Request) -> web.StreamResponse:
        body = await self._input(request, ClockInput)
        self.state.clock_offset_s += body.advance_s
        now = self.state.now()
        return json_response({"offset_s": self.state.clock_offset_s, "now": iso_time(now)})

    async def reset(self, request: web.Request) -> web.StreamResponse:
        self.state.reset()
        return json_response({"reset": True})
