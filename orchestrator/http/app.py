"""The composition root: builds settings-driven objects once and wires them into the aiohttp app.

Everything with a lifetime (database, platform adapters' HTTP clients, background workers) is
opened and closed in ``cleanup_ctx``, so tests and ``multicart serve`` share one start-up path.
The typed keys it fills are in ``keys.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from adapters.base import PlatformDirectory
from config import Settings
from orchestrator.http.admin_routes import ADMIN_ROUTES, OPERATION_ROUTES
from orchestrator.http.cart_routes import CART_ROUTES
from orchestrator.http.keys import (
    DELETER,
    KEYS_CACHE,
    MAX_BODY,
    MERCHANTS,
    PLATFORMS,
    SERVICE,
    SETTINGS,
    STORE,
)
from orchestrator.http.openapi import build_openapi
from orchestrator.http.routes import Route
from orchestrator.http.web import envelope_middleware, guarded, json_response
from orchestrator.service.carts import CartService
from orchestrator.service.deletion import ExternalDeleter
from orchestrator.service.merchants import MerchantAdapters
from orchestrator.service.secrets import CredentialBox
from orchestrator.service.workers import BackgroundWorker
from orchestrator.store import Store

ROUTES: list[Route] = [*CART_ROUTES, *ADMIN_ROUTES, *OPERATION_ROUTES]


def service_version() -> str:
    try:
        return version("multicart")
    except PackageNotFoundError:
        return "0.0.0"


def create_app(
    settings: Settings, *, platforms: PlatformDirectory | None = None, run_worker: bool = True
) -> web.Application:
    """The aiohttp application. ``platforms`` replaces the adapter registry (tests pass a fake);
    ``run_worker=False`` leaves the background workers stopped."""
    app = web.Application(
        middlewares=[envelope_middleware], client_max_size=settings.max_body_bytes
    )
    app[SETTINGS] = settings
    app[MAX_BODY] = settings.max_body_bytes
    app[KEYS_CACHE] = {}
    box = CredentialBox(settings.encryption_key.get_secret_value())  # a bad key fails here
    for route in ROUTES:
        app.router.add_route(route.method, route.path, guarded(route))
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
        merchants = MerchantAdapters(registry, box)
        deleter = ExternalDeleter(store, merchants, settings)
        app[STORE] = store
        app[PLATFORMS] = registry
        app[MERCHANTS] = merchants
        app[DELETER] = deleter
        app[SERVICE] = CartService(store, merchants, settings, deleter)
        workers: list[BackgroundWorker] = [deleter.worker()] if run_worker else []
        for worker in workers:
            worker.start()
        try:
            yield
        finally:
            for worker in workers:
                await worker.stop()
            if platforms is None:
                await registry.aclose()
            await store.close()

    app.cleanup_ctx.append(resources)
    return app
