"""The aiohttp app: routes, middlewares and the HTTP wing's own objects around the services.

What the service runs on (store, adapters, use cases, clock) is built by the composition root,
``orchestrator/bootstrap.py``, opened and closed here in ``cleanup_ctx`` with the background
workers, so tests and ``multicart serve`` share one start-up path. The typed keys it fills are
in ``keys.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from adapters import PlatformDirectory
from config import Settings
from orchestrator.bootstrap import running_services
from orchestrator.http.admin_routes import ADMIN_ROUTES, OPERATION_ROUTES
from orchestrator.http.admission import Admission
from orchestrator.http.app_routes import APP_ROUTES
from orchestrator.http.audit import AUDIT_ROUTES
from orchestrator.http.auth import guarded
from orchestrator.http.cart_routes import CART_ROUTES
from orchestrator.http.envelope import envelope_middleware, json_response
from orchestrator.http.fairness import AddressRates, AppRates, AuthThrottle, InFlightShares
from orchestrator.http.idempotency import IDEMPOTENCY, Idempotency, idempotent
from orchestrator.http.intake import Intake
from orchestrator.http.key_cache import KeyCache
from orchestrator.http.keys import (
    ADMISSION,
    APP_RATES,
    AUTH_THROTTLE,
    IN_FLIGHT_SHARES,
    INTAKE,
    KEYS_CACHE,
    LIVE_CART_QUOTA,
    MAX_BODY,
    METRICS,
    SERVICES,
    SETTINGS,
)
from orchestrator.http.metrics import Metrics
from orchestrator.http.openapi import build_openapi
from orchestrator.http.outbox_routes import OUTBOX_ROUTES
from orchestrator.http.quota import LiveCartQuota
from orchestrator.http.reference_routes import LIFECYCLE_ROUTES, add_preview_405
from orchestrator.http.routes import Route
from orchestrator.http.shedding import Shedder
from orchestrator.http.sku_routes import SKU_ROUTES
from orchestrator.service.clock import Clock, utcnow
from orchestrator.service.secrets import CredentialBox

# Every authenticated POST takes Idempotency-Key (idempotency.py): wrapped and documented here,
# so the router and /openapi.json see the same routes.
# LIFECYCLE_ROUTES first: /v1/carts/preview must not be taken for /v1/carts/{cart_id}.
ROUTES: list[Route] = [
    idempotent(r)
    for r in (
        *LIFECYCLE_ROUTES,
        *CART_ROUTES,
        *SKU_ROUTES,
        *APP_ROUTES,
        *ADMIN_ROUTES,
        *OUTBOX_ROUTES,
        *AUDIT_ROUTES,
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
    settings: Settings,
    *,
    platforms: PlatformDirectory | None = None,
    run_worker: bool = True,
    clock: Clock = utcnow,
) -> web.Application:
    """The aiohttp application. ``platforms`` replaces the adapter registry (tests pass a fake);
    ``run_worker=False`` leaves the background workers stopped; ``clock`` is the one wall clock
    every use case reads (a test's or the explorer's, which moves)."""
    metrics = Metrics(cache_s=settings.metrics_cache_s)
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
    _add_request_guards(app, settings, metrics, admission)
    app.on_response_prepare.append(security_headers)
    box = CredentialBox.from_settings(settings)  # a bad key fails here
    _add_routes(app, settings)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        async with running_services(
            settings, box=box, platforms=platforms, clock=clock
        ) as services:
            app[SERVICES] = services
            app[LIVE_CART_QUOTA] = LiveCartQuota(settings, services.store.carts.count_live)
            metrics.state.platforms = services.platforms
            metrics.state.expiry = services.sweeper
            metrics.state.deleter = services.deleter
            idempotency = Idempotency(services.store.idempotency, settings, box, services.clock)
            app[IDEMPOTENCY] = idempotency  # seals admin answers
            workers = [*services.workers(), idempotency.worker()] if run_worker else []
            for worker in workers:
                worker.start()
            try:
                yield
            finally:
                for worker in workers:
                    await worker.stop()
                await app[KEYS_CACHE].drain()  # the keys' last uses being written

    app.cleanup_ctx.append(resources)
    return app


def _add_request_guards(
    app: web.Application, settings: Settings, metrics: Metrics, admission: Admission
) -> None:
    """What a request passes before its handler (``auth.py``'s order): the key cache, the
    per-app bounds and throttles, the body's intake and the in-flight slots."""
    app[METRICS] = metrics
    app[SETTINGS] = settings
    app[MAX_BODY] = settings.max_body_bytes
    app[KEYS_CACHE] = KeyCache(settings)
    app[ADMISSION] = admission
    app[INTAKE] = Intake(settings, metrics.bodies_reading)
    app[IN_FLIGHT_SHARES] = InFlightShares(settings)
    app[APP_RATES] = AppRates(settings)
    app[AUTH_THROTTLE] = AuthThrottle(settings)


def _add_routes(app: web.Application, settings: Settings) -> None:
    """Every route behind its guard, and the OpenAPI document built from the same list."""
    for route in ROUTES:
        app.router.add_route(route.method, route.path, guarded(route))
    add_preview_405(app.router)
    document = build_openapi(ROUTES, service_version(), settings)

    async def openapi(_request: web.Request) -> web.Response:
        return json_response(document)

    app.router.add_get("/openapi.json", openapi)
