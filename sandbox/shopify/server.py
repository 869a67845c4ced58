"""The Shopify Storefront API cart simulator: one GraphQL endpoint per shop.

Why this module exists: adapters must meet Shopify's real contract on loopback, written from
the docs (https://shopify.dev/docs/api/storefront), not from our adapter.

``POST /shopify/{shop}/api/{version}/graphql.json`` (so a store's ``shop_url`` is
``/shopify/{shop}``), authenticated by ``Shopify-Storefront-Private-Token`` or
``X-Shopify-Storefront-Access-Token`` (https://shopify.dev/docs/api/usage/authentication).
Business outcomes are HTTP 200 with ``data``; invalid documents are HTTP 200 with top-level
``errors`` in graphql-ruby's shape; throttling takes every form Shopify uses
(https://shopify.dev/docs/api/usage/limits, https://shopify.dev/docs/api/usage/response-codes).
There is no delete mutation: carts expire (``catalog.CART_TTL_S`` of this package).
"""

from __future__ import annotations

import hmac
import html
import math
import re
import uuid
from http import HTTPStatus
from typing import Any

import orjson
from aiohttp import web
from graphql import GraphQLError, execute_sync

from sandbox.faults import Fault
from sandbox.platform_requests import json_response, platform_store, rate_settings, serve
from sandbox.shopify.catalog import NAME
from sandbox.shopify.graphql_errors import format_errors
from sandbox.shopify.resolvers import bind
from sandbox.shopify.rules import Context, ShopifyServerError
from sandbox.shopify.schema import SCHEMA, prepare
from sandbox.state import SandboxState, Store

API_VERSION = "2026-04"  # the schema version simulated, the one Shopify's Hydrogen pins
SHOP = "/shopify/{shop}"
TOKEN_HEADERS = ("Shopify-Storefront-Private-Token", "X-Shopify-Storefront-Access-Token")
VERSION = re.compile(r"^(\d{4}-(01|04|07|10)|unstable)$")
# UNCONFIRMED body: Shopify documents no status or body for a bad or missing Storefront token
# (integrators report 401 or 403, empty or HTML); this is Shopify's generic bad-token wording.
UNAUTHORIZED = "[API] Invalid API key or access token (unrecognized login or wrong password)"
THROTTLED = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}


def connection(store: Store, origin: str) -> dict[str, str]:
    """The Shopify ``connection`` multicart's ``POST /v1/admin/merchants`` takes for this store."""
    return {
        "shop_url": f"{origin}/shopify/{store.name}",
        "storefront_token": store.token,
        "api_version": API_VERSION,
    }


def settings(store: Store) -> dict[str, Any]:
    return {**rate_settings(store), "unknown_variant_code": store.unknown_variant_code}


def routes(state: SandboxState) -> list[web.RouteDef]:
    shop = Shopify(state)
    return [
        web.post(SHOP + "/api/{version}/graphql.json", shop.graphql),
        web.get(SHOP + "/cart/c/{token}", shop.checkout_page),
        web.route("*", "/shopify/{tail:.*}", shop.unknown_route),
    ]


bind(SCHEMA)


def _answer(status: int, body: object, headers: dict[str, str] | None = None) -> web.Response:
    sent = {"X-Request-ID": str(uuid.uuid4())}
    sent.update(headers or {})
    return json_response(body, status, sent)


def internal_error() -> web.Response:
    """Shopify's internal error answer, with the request id to quote to support."""
    request_id = str(uuid.uuid4())
    message = (
        "Internal error. Looks like something went wrong on our end.\n"
        f"Request ID: {request_id} (include this in support requests)."
    )
    extensions = {"code": "INTERNAL_SERVER_ERROR", "requestId": request_id}
    body = {"errors": [{"message": message, "extensions": extensions}]}
    return json_response(body, 500, {"X-Request-ID": request_id})


def security_rejection() -> web.Response:
    """430 "Shopify Security Rejection": an HTML page, not JSON
    (https://shopify.dev/docs/api/usage/response-codes)."""
    page = "<!doctype html><title>Shopify Security Rejection</title><h1>Request rejected</h1>"
    return web.Response(text=page, status=430, content_type="text/html")


class Shopify:
    """Handlers for one sandbox; also the ``PlatformHooks`` that render faults Shopify's way."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def graphql(self, request: web.Request) -> web.StreamResponse:
        store = platform_store(self.state, request, "shop", NAME)
        if store is None or not VERSION.match(request.match_info["version"]):
            return _answer(404, {"errors": "Not Found"})
        return await serve(self.state, request, store, self._execute, self)

    async def _execute(self, request: web.Request, store: Store) -> web.StreamResponse:
        if not self._authorized(request, store):
            return _answer(401, {"errors": UNAUTHORIZED})
        if not store.rate.take(self.state.now()):
            return _answer(200, THROTTLED)
        try:
            query, variables, operation = await self._document(request)
        except ValueError:
            return _answer(400, {"errors": {"query": "Required parameter missing or invalid"}})
        document, errors = prepare(query)
        if document is None:
            return _answer(200, {"errors": format_errors(errors, None)})
        shop_url = f"{request.url.origin()}/shopify/{store.name}"
        ctx = Context(self.state, store, shop_url)
        result = execute_sync(SCHEMA, document, context_value=ctx, variable_values=variables,
                              operation_name=operation)  # fmt: skip
        # A resolver that failed (the server_error trigger, or a sandbox bug) is Shopify's 500.
        if any(_crashed(e) for e in result.errors or ()):
            return internal_error()
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = format_errors(result.errors, document, variables)
        if result.data is not None or not result.errors:
            body["data"] = result.data
        return _answer(200, body, {"X-Shopify-API-Version": request.match_info["version"]})

    @staticmethod
    def _authorized(request: web.Request, store: Store) -> bool:
        expected = store.token.encode()
        for name in TOKEN_HEADERS:
            given = request.headers.get(name)
            if given is not None and hmac.compare_digest(
                given.encode("utf-8", "surrogateescape"), expected
            ):
                return True
        return False

    @staticmethod
    async def _document(request: web.Request) -> tuple[str, dict[str, Any] | None, str | None]:
        """``application/json`` ``{query, variables, operationName}`` or a raw
        ``application/graphql`` body (https://shopify.dev/docs/api/usage/graphql)."""
        raw = await request.read()
        if request.content_type == "application/graphql":
            return raw.decode("utf-8", "replace"), None, None
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise ValueError("not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise ValueError("no query")
        variables, operation = body.get("variables"), body.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            raise ValueError("variables")
        return body["query"], variables, operation if isinstance(operation, str) else None

    # PlatformHooks

    def fault_error(self, request: web.Request, store: Store, status: int) -> web.StreamResponse:
        if status == 500:
            return internal_error()
        if status == 430:
            return security_rejection()
        if status == 401:
            return _answer(401, {"errors": UNAUTHORIZED})
        return _answer(status, {"errors": [{"message": _phrase(status)}]})

    def fault_throttle(
        self, request: web.Request, store: Store, fault: Fault
    ) -> web.StreamResponse:
        retry_after = str(max(1, math.ceil((fault.reset_ms or 1000) / 1000)))
        form = fault.form or "THROTTLED"
        if form == "THROTTLED":
            return _answer(200, THROTTLED)
        if form == "430":
            return security_rejection()
        status = int(form)
        return _answer(
            status, {"errors": [{"message": _phrase(status)}]}, {"Retry-After": retry_after}
        )

    # outside the API

    async def checkout_page(self, request: web.Request) -> web.StreamResponse:
        store = platform_store(self.state, request, "shop", NAME)
        token, key = request.match_info["token"], request.query.get("key", "")
        cart_id = f"gid://shopify/Cart/{token}?key={key}"
        cart = store.cart(cart_id, self.state.now()) if store else None
        if cart is None:
            raise web.HTTPNotFound(text="No such cart.")
        rows = "".join(
            f"<li>{line.quantity} x {html.escape(line.name)}</li>" for line in cart.lines
        )
        title = html.escape(store.name if store else "")
        page = f"<!doctype html><title>Sandbox checkout</title><h1>{title}</h1><ul>{rows}</ul>"
        return web.Response(text=page, content_type="text/html")

    async def unknown_route(self, request: web.Request) -> web.StreamResponse:
        return _answer(404, {"errors": "Not Found"})


def _crashed(error: GraphQLError) -> bool:
    original = error.original_error
    return isinstance(original, ShopifyServerError) or (
        original is not None and not isinstance(original, GraphQLError)
    )


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
