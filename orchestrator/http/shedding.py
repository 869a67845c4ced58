"""Load shedding at the door: the middleware that decides, before anything else, if work starts.

Over ``MULTICART_MAX_IN_FLIGHT`` a request is answered an immediate 503 ``overloaded`` before
authentication or any body, database or platform work (probes and ``/metrics`` never shed);
requests without an app are limited per address. It runs outside the envelope and idempotency
middlewares, so a shed request costs nothing else. Why, and the overload measurements:
docs/decisions/0008-load-shedding.md.

``/metrics`` is guarded here too, after the anonymous limit: with ``MULTICART_METRICS_TOKEN``
it answers 401 without that bearer token (compared in constant time); with
``MULTICART_METRICS_PORT`` the API's port answers 404 for it and ``metrics_only_app`` serves
it on its own port, from the same process and registry.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import structlog
from aiohttp import web

from config import Settings
from errors import MulticartError, NotFound, Unauthorized
from orchestrator.http.admission import RETRY_AFTER_S, Admission, overloaded
from orchestrator.http.auth import bearer_token
from orchestrator.http.envelope import envelope_middleware, error_response, request_id_for
from orchestrator.http.fairness import AddressRates, rate_limited
from orchestrator.http.keys import ADMISSION, METRICS, SERVICES
from orchestrator.http.routes import Handler
from orchestrator.service.secrets import tokens_equal
from orchestrator.store.waits import REQUEST_BUDGET, RequestBudget

log = structlog.get_logger("multicart.http")

NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})
LOG_EVERY_S = 10.0


class Shedder:
    """The door's two checks, the middleware applying them, and its pre-rendered 503."""

    def __init__(
        self,
        settings: Settings,
        admission: Admission,
        anonymous: AddressRates,
        *,
        metrics_port_side: bool = False,
    ) -> None:
        self._admission = admission
        self._metrics_token = settings.metrics_token.get_secret_value()
        # /metrics is served here: on the API's port unless it has a port of its own.
        self._serves_metrics = metrics_port_side or settings.metrics_port is None
        self._anonymous = anonymous
        self._other_s = settings.request_deadline_s
        self._body = orjson.dumps(overloaded().envelope())
        self._unlogged = 0
        self._logged_at = 0.0

    def shed(self, request: web.Request) -> web.Response:
        """The immediate 503: no envelope middleware, no body read, no log line of its own."""
        admission = self._admission
        admission.shed.inc()
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_S:
            cap = admission.limit
            log.warning("shedding", shed=self._unlogged, in_flight=admission.in_flight, cap=cap)
            self._unlogged, self._logged_at = 0, now
        headers = {"Retry-After": RETRY_AFTER_S, "X-Request-ID": request_id_for(request)}
        return web.Response(
            body=self._body, status=503, content_type="application/json", headers=headers
        )

    async def anonymous_limited(self, request: web.Request) -> web.Response | None:
        wait = await self._anonymous.hit(request.remote or "unknown")
        if wait is None:
            return None
        error = rate_limited(
            "anonymous",
            wait,
            "Too many requests without an app key from this address; retry after Retry-After.",
        )
        return error_response(error, request_id_for(request))

    def metrics_refused(self, request: web.Request) -> web.Response | None:
        """404 where /metrics is not served; 401 without its token, when one is set."""
        try:
            if not self._serves_metrics:
                raise NotFound("/metrics is served on MULTICART_METRICS_PORT, not on this port.")
            if self._metrics_token and not tokens_equal(bearer_token(request), self._metrics_token):
                raise Unauthorized("The metrics token is not valid.")
        except MulticartError as error:
            return error_response(error, request_id_for(request))
        return None

    def middleware(self) -> Any:
        @web.middleware
        async def shedding_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path in NEVER_SHED or request.match_info.http_exception is not None:
                refused = await self.anonymous_limited(request)
                if refused is None and request.path == "/metrics":
                    refused = self.metrics_refused(request)
                return refused if refused is not None else await handler(request)
            if self._admission.full():
                return self.shed(request)
            # Until the slot (admission.py) sets the work's own deadline: authentication's.
            token = REQUEST_BUDGET.set(RequestBudget(time.monotonic() + self._other_s))
            try:
                return await handler(request)
            finally:
                REQUEST_BUDGET.reset(token)

        return shedding_middleware


def metrics_only_app(main: web.Application, settings: Settings) -> web.Application:
    """``/metrics`` alone, for ``MULTICART_METRICS_PORT``: ``main``'s registry and store, behind
    the same token and an anonymous limit of its own."""
    door = Shedder(settings, main[ADMISSION], AddressRates(settings), metrics_port_side=True)
    app = web.Application(middlewares=[door.middleware(), envelope_middleware])

    async def scrape(_request: web.Request) -> web.Response:
        response = await main[METRICS].render(main[SERVICES].store)
        response.headers.update({"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
        return response

    app.router.add_get("/metrics", scrape)
    return app
