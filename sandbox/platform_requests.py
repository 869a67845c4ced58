"""The path every platform request takes: request log, armed faults, latency, then the handler.

Why this module exists: faults must behave the same on every simulated platform, and never
touch ``/__sandbox/``. A platform package wraps each of its routes with ``serve()`` and provides
``PlatformHooks`` to render its own error and throttling answers. (Which platforms exist, and
what the sandbox knows of each, is ``sandbox.registry``.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import orjson
from aiohttp import web

from sandbox.faults import Fault
from sandbox.state import SandboxState, Store

JSON = "application/json"
HOLD_POLL_S = 0.05  # how often a held ("hang") request checks whether its client went away

Handler = Callable[[web.Request, Store], Awaitable[web.StreamResponse]]
# A REST operation's outcome, before its platform adds headers: status and JSON body (or none).
Answer = tuple[int, dict[str, Any] | None]
Operation = Callable[[web.Request, Store], Awaitable[Answer]]
RouteHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class PlatformHooks(Protocol):
    def fault_error(self, request: web.Request, store: Store, status: int) -> web.StreamResponse:
        """The platform's own error answer with this status (``error`` fault)."""

    def fault_throttle(
        self, request: web.Request, store: Store, fault: Fault
    ) -> web.StreamResponse:
        """The platform's own throttling answer (``rate_limit`` fault: ``reset_ms``, ``form``)."""


def json_response(
    body: object, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, headers=headers, content_type=JSON)


def answer_response(
    status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None
) -> web.Response:
    """An ``Answer`` as sent: JSON, or no body at all (204)."""
    if body is None:
        return web.Response(status=status, headers=headers)
    return json_response(body, status, headers)


def platform_store(
    state: SandboxState, request: web.Request, key: str, platform: str
) -> Store | None:
    """The store a platform route names in its ``key`` path part, if it is on ``platform``."""
    store = state.stores.get(request.match_info[key])
    return store if store is not None and store.platform == platform else None


def rate_settings(store: Store) -> dict[str, Any]:
    """The settings every platform shows first: its rate-limit quota and window."""
    return {"quota": store.rate.quota, "window_ms": store.rate.window_ms}


async def serve(
    state: SandboxState,
    request: web.Request,
    store: Store,
    handler: Handler,
    hooks: PlatformHooks,
) -> web.StreamResponse:
    """Answer one platform request, misbehaving as the store's armed faults say."""
    entry = state.requests.record(
        store.name, store.platform, request.method, request.path, request.query_string
    )
    delay_ms, fault = state.faults.pick(store.name, request.method, request.path)
    delay_ms += state.latency_ms
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    if fault is None:
        response = await handler(request, store)
    else:
        entry["fault"] = fault.mode
        if fault.mode == "error":
            response = hooks.fault_error(request, store, fault.status or 500)
        elif fault.mode == "rate_limit":
            response = hooks.fault_throttle(request, store, fault)
        elif fault.mode == "apply_then_error":  # applied, but the client sees a server error
            applied = await handler(request, store)
            entry["applied_status"] = applied.status
            response = hooks.fault_error(request, store, fault.status or 500)
        else:  # hang, close_after_read, apply_then_hang: the client never gets an answer
            await request.read()
            if fault.mode == "apply_then_hang":
                applied = await handler(request, store)
                entry["applied_status"] = applied.status
            if fault.mode != "close_after_read":
                await hold(state, request)
            entry["dropped"] = True  # the connection is closed now, unanswered
            return no_answer(request)
    entry["status"] = response.status
    return response


async def hold(state: SandboxState, request: web.Request) -> None:
    """Keep a request unanswered until its client goes away, shutdown, or ``hang_max_s``."""
    loop = asyncio.get_running_loop()
    ends = loop.time() + state.hang_max_s
    while not state.closing and loop.time() < ends:
        transport = request.transport
        if transport is None or transport.is_closing():
            return
        await asyncio.sleep(HOLD_POLL_S)


def no_answer(request: web.Request) -> web.StreamResponse:
    """Close the connection without writing a byte of response.

    aiohttp then fails to send the placeholder returned here with a ConnectionError, which it
    treats as a client disconnection: nothing is written and nothing is logged.
    """
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=499)
