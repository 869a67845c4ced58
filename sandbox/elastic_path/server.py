"""The Elastic Path Commerce Cloud simulator: client-credentials tokens and Carts v2.

Why this module exists: adapters must meet Elastic Path's real contract on loopback, written
from the docs (https://elasticpath.dev/docs/api/carts/carts-checkout-orders-introduction,
https://elasticpath.dev/docs/authentication/Tokens/client-credential-token), not from our
adapter.

Routes under ``/elasticpath/{store}`` (a store's ``api_url``): ``POST /oauth/access_token``,
``POST /v2/carts``, ``GET|PUT|DELETE /v2/carts/{ref}``, ``GET|POST|PUT|DELETE
/v2/carts/{ref}/items``, ``PUT|DELETE /v2/carts/{ref}/items/{item_id}``. A cart reference is
chosen by the caller: reading (or writing to) an unknown reference creates an empty cart there.
"""

from __future__ import annotations

import hmac
import secrets
import time
from functools import partial
from typing import Any

from aiohttp import web

from sandbox.elastic_path.catalog import NAME
from sandbox.elastic_path.operations import CartOperations
from sandbox.elastic_path.rules import SAFE_REF, EpError, invalid, server_error
from sandbox.faults import Fault
from sandbox.platform_requests import (
    Answer,
    Operation,
    RouteHandler,
    answer_response,
    json_response,
    platform_store,
    rate_settings,
    serve,
)
from sandbox.state import SandboxState, Store

BASE = "/elasticpath/{store}"
CARTS = BASE + "/v2/carts"
FORM = "application/x-www-form-urlencoded"
MAX_TOKENS = 10_000  # per store; expired tokens are dropped first


def connection(store: Store, origin: str) -> dict[str, str]:
    """The Elastic Path ``connection`` multicart's ``POST /v1/admin/merchants`` takes for this
    store."""
    return {
        "api_url": f"{origin}/elasticpath/{store.name}",
        "client_id": store.seed.key,
        "client_secret": store.token,
    }


def settings(store: Store) -> dict[str, Any]:
    return {
        **rate_settings(store),
        "token_ttl_s": store.token_ttl_s,
        "write_conflicts": store.write_conflicts,
    }


def routes(state: SandboxState) -> list[web.RouteDef]:
    ep = ElasticPath(state)
    ops = CartOperations(state)
    return [
        web.post(BASE + "/oauth/access_token", ep.wrap(ep.access_token, auth=False)),
        web.post(CARTS, ep.wrap(ops.create_cart)),
        web.get(CARTS + "/{ref}", ep.wrap(ops.get_cart)),
        web.put(CARTS + "/{ref}", ep.wrap(ops.update_cart)),
        web.delete(CARTS + "/{ref}", ep.wrap(ops.delete_cart)),
        web.get(CARTS + "/{ref}/items", ep.wrap(ops.get_items)),
        web.post(CARTS + "/{ref}/items", ep.wrap(ops.add_items)),
        web.put(CARTS + "/{ref}/items", ep.wrap(ops.update_items)),
        web.delete(CARTS + "/{ref}/items", ep.wrap(ops.delete_items)),
        web.put(CARTS + "/{ref}/items/{item_id}", ep.wrap(ops.update_item)),
        web.delete(CARTS + "/{ref}/items/{item_id}", ep.wrap(ops.delete_item)),
        web.route("*", "/elasticpath/{tail:.*}", ep.unknown_route),
    ]


class ElasticPath:
    """Auth, quota, write conflicts and errors; also the ``PlatformHooks`` for faults."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    def wrap(self, op: Operation, *, auth: bool = True) -> RouteHandler:
        async def handler(request: web.Request) -> web.StreamResponse:
            store = platform_store(self.state, request, "store", NAME)
            if store is None:
                return json_response(EpError(404, "Not Found", "No such store").body(), 404)
            ref = request.match_info.get("ref")
            if ref is not None and not SAFE_REF.match(ref):
                body = invalid("cartID", "the cart reference may hold safe characters only").body()
                return json_response(body, 400)
            answer = partial(self._answer, op, auth)
            return await serve(self.state, request, store, answer, self)

        return handler

    async def _answer(
        self, op: Operation, auth: bool, request: web.Request, store: Store
    ) -> web.StreamResponse:
        if auth and not self._authorized(request, store):
            # 401 "Unable to validate access token"
            # (https://elasticpath.dev/guides/Getting-Started/errors)
            return answer_response(401, EpError(401, "Unable to validate access token").body())
        if not store.rate.take(time.monotonic()):
            return answer_response(429, _throttled())
        if auth and request.method != "GET" and store.write_conflicts > 0:
            store.write_conflicts -= 1  # Elastic Path's 409 for concurrent writes to one cart
            return answer_response(409, EpError(409, "Conflict", "Write conflict detected").body())
        try:
            status, body = await op(request, store)
        except EpError as exc:
            status, body = exc.status, exc.body()
        return answer_response(status, body)

    def _authorized(self, request: web.Request, store: Store) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        expires = store.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        return expires is not None and expires > self.state.now()

    async def access_token(self, request: web.Request, store: Store) -> Answer:
        """``POST /oauth/access_token``, form-encoded, as Elastic Path's JS SDK sends it
        (https://github.com/elasticpath/js-sdk; the docs' curl sample says JSON but sends form
        fields).

        The answer is unwrapped, as the token docs and the SDK read it (the authentication
        OpenAPI example wraps it in ``data``). ``status`` is a string in the auth API's
        errors."""
        if request.content_type != FORM:
            detail = f"The request body must be {FORM}"
            return 400, {"errors": [{"title": "Bad Request", "status": "400", "detail": detail}]}
        form = await request.post()
        grant = form.get("grant_type")
        if grant not in ("client_credentials", "implicit"):
            detail = "grant_type must be client_credentials or implicit"
            return 400, {"errors": [{"title": "Bad Request", "status": "400", "detail": detail}]}
        client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
        valid = hmac.compare_digest(client_id.encode(), store.seed.key.encode())
        if grant == "client_credentials":
            valid = valid and hmac.compare_digest(secret.encode(), store.token.encode())
        if not valid:
            return 401, {"errors": [{"title": "Unauthorized", "status": "401"}]}
        now = self.state.now()
        if len(store.tokens) >= MAX_TOKENS:
            live = {t: e for t, e in store.tokens.items() if e > now}
            store.tokens = dict(list(live.items())[-MAX_TOKENS // 2 :])
        token = secrets.token_hex(20)  # opaque 40 hex characters
        store.tokens[token] = now + store.token_ttl_s
        return 200, {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": store.token_ttl_s,
            "expires": int(now + store.token_ttl_s),
            "identifier": grant,
        }

    # PlatformHooks

    def fault_error(self, request: web.Request, store: Store, status: int) -> web.StreamResponse:
        if status == 500:
            return answer_response(500, server_error().body())
        if status == 409:
            return answer_response(409, EpError(409, "Conflict", "Write conflict detected").body())
        if status == 429:
            return answer_response(429, _throttled())
        return answer_response(status, EpError(status).body())

    def fault_throttle(
        self, request: web.Request, store: Store, fault: Fault
    ) -> web.StreamResponse:
        # Elastic Path documents no rate-limit headers on its 429 (UNCONFIRMED whether any are
        # sent; https://elasticpath.dev/guides/Getting-Started/rate-limits); Retry-After only
        # when asked.
        headers = {}
        if fault.reset_ms is not None:
            headers["Retry-After"] = str(max(1, -(-fault.reset_ms // 1000)))
        return json_response(_throttled(), 429, headers)

    async def unknown_route(self, request: web.Request) -> web.StreamResponse:
        return json_response(EpError(404, "Not Found", "No such route").body(), 404)


def _throttled() -> dict[str, Any]:
    detail = "You have exceeded the number of requests allowed for this store"
    return EpError(429, "Too Many Requests", detail).body()
