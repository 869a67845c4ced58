"""The BigCommerce Carts v3 simulator (server-to-server REST Management API).

Why this module exists: adapters must meet BigCommerce's real contract on loopback, written from
the docs and not from our adapter: https://developer.bigcommerce.com/docs/rest-management/carts
(OpenAPI ``bigcommerce/docs:reference/carts.v3.yml``) and its status codes,
https://developer.bigcommerce.com/docs/start/about/status-codes.

Routes under ``/bigcommerce/stores/{store_hash}/v3`` (so a store's ``api_url`` is that path):
``POST /carts``, ``GET|PUT|DELETE /carts/{id}``, ``POST /carts/{id}/items``,
``PUT|DELETE /carts/{id}/items/{itemId}``, ``POST /carts/{id}/redirect_urls``. Every answer
carries ``X-Request-Id`` and the ``X-Rate-Limit-*`` headers
(https://developer.bigcommerce.com/docs/start/best-practices/api-rate-limits). The endpoints
themselves are ``sandbox.bigcommerce.operations``.
"""

from __future__ import annotations

import hmac
import html
import math
import time
import uuid
from functools import partial
from typing import Any

from aiohttp import web

from sandbox.bigcommerce.catalog import NAME
from sandbox.bigcommerce.operations import CartOperations
from sandbox.bigcommerce.render import money
from sandbox.bigcommerce.rules import BcError
from sandbox.faults import Fault
from sandbox.platform_requests import (
    Operation,
    RouteHandler,
    answer_response,
    platform_store,
    rate_settings,
    serve,
)
from sandbox.state import SandboxState, Store

STORE = "/bigcommerce/stores/{store_hash}"
API = STORE + "/v3"


def connection(store: Store, origin: str) -> dict[str, str]:
    """The BigCommerce ``connection`` multicart's ``POST /v1/admin/merchants`` takes for this
    store."""
    return {"api_url": f"{origin}/bigcommerce/stores/{store.name}/v3", "access_token": store.token}


def settings(store: Store) -> dict[str, Any]:
    return {**rate_settings(store), "unknown_product_status": store.unknown_product_status}


def routes(state: SandboxState) -> list[web.RouteDef]:
    bc = BigCommerce(state)
    ops = CartOperations(state)
    return [
        web.post(API + "/carts", bc.wrap(ops.create_cart)),
        web.get(API + "/carts/{cart_id}", bc.wrap(ops.get_cart)),
        web.put(API + "/carts/{cart_id}", bc.wrap(ops.update_cart)),
        web.delete(API + "/carts/{cart_id}", bc.wrap(ops.delete_cart)),
        web.post(API + "/carts/{cart_id}/items", bc.wrap(ops.add_items)),
        web.put(API + "/carts/{cart_id}/items/{item_id}", bc.wrap(ops.update_item)),
        web.delete(API + "/carts/{cart_id}/items/{item_id}", bc.wrap(ops.delete_item)),
        web.post(API + "/carts/{cart_id}/redirect_urls", bc.wrap(ops.redirect_urls)),
        web.get(STORE + "/checkout/{cart_id}", bc.checkout_page),
        web.route("*", "/bigcommerce/{tail:.*}", bc.unknown_route),
    ]


class BigCommerce:
    """Store, auth, quota and headers around the operations; also the ``PlatformHooks`` that
    render faults BigCommerce's way."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    # plumbing: store, auth, quota, headers

    def wrap(self, op: Operation) -> RouteHandler:
        async def handler(request: web.Request) -> web.StreamResponse:
            store = platform_store(self.state, request, "store_hash", NAME)
            if store is None:
                # A wrong store hash is a 403 per BigCommerce's status codes page; a
                # 404 here could pass for "cart already gone" in an adapter's delete.
                body = BcError(403, "The store hash is not a store you can access").body()
                return answer_response(403, body, {"X-Request-Id": str(uuid.uuid4())})
            return await serve(self.state, request, store, partial(self._answer, op), self)

        return handler

    async def _answer(
        self, op: Operation, request: web.Request, store: Store
    ) -> web.StreamResponse:
        now = time.monotonic()
        token = request.headers.get("X-Auth-Token", "").encode("utf-8", "surrogateescape")
        if not hmac.compare_digest(token, store.token.encode()):
            return self._respond(store, now, 401, BcError(401, "Unauthorized").body())
        if not store.rate.take(now):
            return self._throttled(store, now, None)
        try:
            status, body = await op(request, store)
        except BcError as exc:
            status, body = exc.status, exc.body()
        return self._respond(store, now, status, body)

    def _headers(self, store: Store, now: float) -> dict[str, str]:
        rate = store.rate
        return {
            "X-Request-Id": str(uuid.uuid4()),
            "X-Rate-Limit-Time-Window-Ms": str(rate.window_ms),
            "X-Rate-Limit-Time-Reset-Ms": str(rate.reset_ms(now)),
            "X-Rate-Limit-Requests-Quota": str(rate.quota),
            "X-Rate-Limit-Requests-Left": str(rate.left()),
        }

    def _respond(
        self, store: Store, now: float, status: int, body: dict[str, Any] | None
    ) -> web.Response:
        return answer_response(status, body, self._headers(store, now))

    def _throttled(self, store: Store, now: float, reset_ms: int | None) -> web.Response:
        """429 with the rate-limit headers and ``X-Retry-After``, as BigCommerce's rate-limit
        docs say; the body is UNCONFIRMED (BigCommerce documents none for a 429)."""
        headers = self._headers(store, now)
        reset = store.rate.reset_ms(now) if reset_ms is None else reset_ms
        headers["X-Rate-Limit-Time-Reset-Ms"] = str(reset)
        headers["X-Rate-Limit-Requests-Left"] = "0"
        headers["X-Retry-After"] = str(math.ceil(reset / 1000))
        return answer_response(429, BcError(429, "Too many requests").body(), headers)

    def fault_error(self, request: web.Request, store: Store, status: int) -> web.StreamResponse:
        # A 429 *without* rate-limit headers is BigCommerce's "platform load" signal (rate-limit
        # docs).
        headers = self._headers(store, time.monotonic())
        if status == 429:
            headers = {"X-Request-Id": headers["X-Request-Id"]}
        return answer_response(status, BcError(status).body(), headers)

    def fault_throttle(
        self, request: web.Request, store: Store, fault: Fault
    ) -> web.StreamResponse:
        return self._throttled(store, time.monotonic(), fault.reset_ms)

    # outside the API: the page redirect URLs point at, and unknown paths

    async def checkout_page(self, request: web.Request) -> web.StreamResponse:
        store = self.state.stores.get(request.match_info["store_hash"])
        cart = store.cart(request.match_info["cart_id"], self.state.now()) if store else None
        if store is None or cart is None:
            raise web.HTTPNotFound(text="No such cart.")
        total = sum(line.list_price * line.quantity for line in cart.lines)
        rows = "".join(
            f"<li>{line.quantity} x {html.escape(line.name)}</li>" for line in cart.lines
        )
        page = (
            f"<!doctype html><title>Sandbox checkout</title><h1>{html.escape(store.name)}"
            f" checkout</h1><ul>{rows}</ul><p>Total: {money(total):.2f}"
            f" {store.seed.currency}</p>"
        )
        return web.Response(text=page, content_type="text/html")

    async def unknown_route(self, request: web.Request) -> web.StreamResponse:
        body = BcError(404, "The resource at that URL is not found.").body()
        return answer_response(404, body, {"X-Request-Id": str(uuid.uuid4())})
