"""The composition root: builds settings-driven objects once and wires them into the aiohttp app.

Everything with a lifetime (database engine, HTTP clients, the background delete worker) is
opened and closed in ``cleanup_ctx``, so tests and ``multicart serve`` share one start-up path.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from adapters.base import PlatformDirectory
from config import Settings
from orchestrator.api import ROUTES, authenticate_admin, authenticate_app
from orchestrator.carts import CartService
from orchestrator.deletion import ExternalDeleter
from orchestrator.keys import BOX, KEYS_CACHE, PLATFORMS, SERVICE, SETTINGS, STORE
from orchestrator.openapi import build_openapi
from orchestrator.routes import Handler, Route
from orchestrator.secrets import CredentialBox
from orchestrator.store import Store
from orchestrator.web import APP_ID, MAX_BODY, envelope_middleware, json_response

DELETER = web.AppKey("deleter", ExternalDeleter)


def service_version() -> str:
    try:
        return version("multicart")
    except PackageNotFoundError:
        return "0.0.0"


def _guarded(route: Route) -> Handler:
    handler = route.handler
    if route.auth == "none":
        return handler

    async def guarded(request: web.Request) -> web.StreamResponse:
        if route.auth == "admin":
            authenticate_admin(request)
        else:
            request[APP_ID] = await authenticate_app(request)
        return await handler(request)

    guarded.__name__ = handler.__name__
    return guarded


def create_app(
    settings: Settings, *, platforms: PlatformDirectory | None = None, run_worker: bool = True
) -> web.Application:
    """The aiohttp application. ``platforms`` replaces the adapter registry (tests pass a fake)."""
    app = web.Application(
        middlewares=[envelope_middleware], client_max_size=settings.max_body_bytes
    )
    app[SETTINGS] = settings
    app[MAX_BODY] = settings.max_body_bytes
    app[BOX] = CredentialBox(settings.encryption_key.get_secret_value())
    app[KEYS_CACHE] = {}
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _guarded(route))
    document = build_openapi(ROUTES, service_version())

    async def openapi(_request: web.Request) -> web.Response:
        return json_response(document)

    app.router.add_get("/openapi.json", openapi)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        store = Store.from_url(settings.database_url)
        registry: PlatformDirectory
        if platforms is None:
            from adapters.registry import AdapterRegistry

            registry = AdapterRegistry(settings)
        else:
            registry = platforms
        deleter = ExternalDeleter(store, registry, app[BOX], settings)
        app[STORE] = store
        app[PLATFORMS] = registry
        app[DELETER] = deleter
        app[SERVICE] = CartService(store, registry, app[BOX], settings, deleter)
        worker = asyncio.create_task(deleter.run()) if run_worker else None
        try:
            yield
        finally:
            if worker is not None:
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            if platforms is None:
                await registry.aclose()
            await store.close()

    app.cleanup_ctx.append(resources)
    return app
