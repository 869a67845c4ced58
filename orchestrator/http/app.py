"""The composition root: builds settings-driven objects once and wires them into the aiohttp app.

Everything with a lifetime (database, platform adapters' HTTP clients, background workers) is
opened and closed in ``cleanup_ctx``, so tests and ``multicart serve`` share one start-up path.
The typed keys it fills are in ``keys.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from adapters import PlatformDirectory
from config import Settings
from orchestrator.http.admin_routes import ADMIN_ROUTES, OPERATION_ROUTES
from orchestrator.http.admission import Admission
from orchestrator.http.auth import guarded
from orchestrator.http.cart_routes import CART_ROUTES
from orchestrator.http.fairness import AddressRates, AppRates, AuthThrottle, InFlightShares
from orchestrator.http.idempotency import IDEMPOTENCY, Idempotency, idempotent
from orchestrator.http.intake import Intake
from orchestrator.http.keys import (
    ADMISSION,
    APP_RATES,
    AUTH_THROTTLE,
    DELETER,
    IN_FLIGHT_SHARES,
    INTAKE,
    KEYS_CACHE,
    LIVE_CART_QUOTA,
    MAX_BODY,
    MERCHANTS,
    METRICS,
    PLATFORMS,
    RECONCILER,
    SERVICE,
    SETTINGS,
    STORE,
)
from orchestrator.http.metrics import Metrics
from orchestrator.http.openapi import build_openapi
from orchestrator.http.outbox_routes import OUTBOX_ROUTES
from orchestrator.http.quota import LiveCartQuota
from orchestrator.http.reference_routes import LIFECYCLE_ROUTES, add_preview_405
from orchestrator.http.routes import Route
from orchestrator.http.shedding import Shedder
from orchestrator.http.sku_routes import MUTATIONS, SKU_ROUTES
from orchestrator.http.web import envelope_middleware, json_response
from orchestrator.service.carts import CartService
from orchestrator.service.deletion import ExternalDeleter
from orchestrator.service.expiry import ExpirySweeper
from orchestrator.service.merchants import MerchantAdapters
from orchestrator.service.mutations import CartMutations
from orchestrator.service.reconciler import Reconciler
from orchestrator.service.secrets import CredentialBox
from orchestrator.service.workers import BackgroundWorker
from orchestrator.store import Store

# Every authenticated POST takes Idempotency-Key (idempotency.py): wrapped and documented here,
# so the router and /openapi.json see the same routes.
# LIFECYCLE_ROUTES first: /v1/carts/preview must not be taken for /v1/carts/{cart_id}.
ROUTES: list[Route] = [
    idempotent(r)
    for r in (
        *LIFECYCLE_ROUTES,
        *CART_ROUTES,
        *SKU_ROUTES,
        *ADMIN_ROUTES,
        *OUTBOX_ROUTES,
        *OPERATION_ROUTES,
    )
]


def service_version() -> str:
    try:
        return version("multicart")
    except PackageNotFoundError:
        return "0.0.0"


CACHEABLE = frozenset({"/openapi.json"})


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """What a security review expects on every answer: no content sniffing, nothing stored by
    a cache (answers carry carts and keys; the document alone may be kept). The version banner
    is taken off for every connection in ``server.py``."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    if request.path not in CACHEABLE:
        response.headers["Cache-Control"] = "no-store"


def create_app(
    settings: Settings, *, platforms: PlatformDirectory | None = None, run_worker: bool = True
) -> web.Application:
    """The aiohttp application. ``platforms`` replaces the adapter registry (tests pass a fake);
    ``run_worker=False`` leaves the background workers stopped."""
    metrics = Metrics()
    admission = Admission(settings, metrics)
    app = web.Application(
        # The shedder before the envelope (and any idempotency work): a shed request costs
        # nothing but its 503; the metrics middleware outside both counts every answer.
        middlewares=[
            metrics.middleware(),
            Shedder(settings, admission, AddressRates(settings)).middleware(),
            envelope_middleware,
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[METRICS] = metrics
    app[SETTINGS] = settings
    app[MAX_BODY] = settings.max_body_bytes
    app[KEYS_CACHE] = {}
    app[ADMISSION] = admission
    app[INTAKE] = Intake(settings, metrics.bodies_reading)
    app[IN_FLIGHT_SHARES] = InFlightShares(settings)
    app[APP_RATES] = AppRates(settings)
    app[AUTH_THROTTLE] = AuthThrottle(settings)
    app.on_response_prepare.append(security_headers)
    box = CredentialBox.from_settings(settings)  # a bad key fails here
    for route in ROUTES:
        app.router.add_route(route.method, route.path, guarded(route))
    add_preview_405(app.router)
    document = build_openapi(ROUTES, service_version(), settings)

    async def openapi(_request: web.Request) -> web.Response:
        return json_response(document)

    app.router.add_get("/openapi.json", openapi)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        store = Store.from_url(settings.database_url, wait_s=settings.db_wait_s)
        registry: PlatformDirectory
        if platforms is None:
            from adapters import AdapterRegistry

            registry = AdapterRegistry(settings)
        else:
            registry = platforms
        merchants = MerchantAdapters(registry, box)
        deleter = ExternalDeleter(store, merchants, settings)
        app[STORE] = store
        app[LIVE_CART_QUOTA] = LiveCartQuota(settings, store.carts.count_live)
        app[PLATFORMS] = registry
        metrics.state.platforms = registry
        app[MERCHANTS] = merchants
        app[DELETER] = deleter
        app[SERVICE] = CartService(store, merchants, settings, deleter)
        app[MUTATIONS] = CartMutations(store, merchants, settings, deleter)
        reconciler = Reconciler(store, merchants, settings, deleter)
        app[RECONCILER] = reconciler
        sweeper = ExpirySweeper(store, settings, deleter)
        metrics.state.expiry = sweeper
        metrics.state.deleter = deleter
        idempotency = Idempotency(store.idempotency, settings, box)  # seals admin answers
        app[IDEMPOTENCY] = idempotency
        workers: list[BackgroundWorker] = (
            [reconciler.worker(), sweeper.worker(), idempotency.worker()] if run_worker else []
        )
        if run_worker and settings.catalog_refresh_s > 0:  # the cache only with its poll
            store.catalog.use_cache(
                refresh_s=settings.catalog_refresh_s, max_entries=settings.catalog_cache_size
            )
            refresh = store.catalog.refresh_cache
            workers.append(BackgroundWorker("catalog_refresh", refresh, settings.catalog_refresh_s))
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
