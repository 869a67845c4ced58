"""Load shedding and the request's deadline: the middleware that decides whether work starts.

Why: with nothing bounding admission, 1,500 creates/s (10x capacity) against one process
queued every request on the event loop and the SQLite write lock: measured with
``python -m bench.overload`` the accepted creates' p50 was 11-12 s against a 2 s create deadline,
the server answered 23 creates/s (capacity ~150/s: congestion collapse) and 90% of the load
generator's requests could not even be sent. Queueing work that cannot finish in time only
makes the work that could finish late too.

So, before any database or platform work (and after the body has arrived whole, in bounded
time, holding no slot: ``intake.py``):

- **A cap on requests in flight** (``MULTICART_MAX_IN_FLIGHT``; 0 turns it off). Above it the
  answer is an immediate 503 ``overloaded`` (``data.reason: in_flight``) with ``Retry-After``,
  pre-rendered, with no log line of its own (a log line per shed request is CPU spent exactly
  when there is none; a summary is logged at most every ``LOG_EVERY_S``). Probes and scrapes
  (``NEVER_SHED``) are never shed, so a load balancer still sees a live, ready process.
- **A deadline for the request**, put where the store reads it (``REQUEST_BUDGET``, a
  contextvar; ``orchestrator/store/waits.py``): ``now + MULTICART_CREATE_DEADLINE_S`` for a
  create, ``now + MULTICART_REQUEST_DEADLINE_S`` for any other route. Waits for a database
  connection or SQLite's write lock are bounded by what is left of it; a wait that gives up
  answers 503 ``overloaded`` (``data.reason: database_wait``) through the envelope middleware.

Both count in ``multicart_http_shed_requests_total{reason}``. The middleware runs outside the
envelope and idempotency middlewares (``app.py``), so a shed request costs no auth lookup and
no idempotency record (and, when the cap is reached before its body is read, no body read).
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import structlog
from aiohttp import web

from config import Settings
from errors import ErrorCode
from orchestrator.http.intake import Intake
from orchestrator.http.metrics import Metrics, route_template
from orchestrator.http.routes import Handler
from orchestrator.http.web import request_id_for
from orchestrator.store.waits import REQUEST_BUDGET, RequestBudget

log = structlog.get_logger("multicart.http")

NEVER_SHED = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json"})
CREATE = ("POST", "/v1/carts")
RETRY_AFTER_S = "1"
LOG_EVERY_S = 10.0


class Shedder:
    """The in-flight count of one app, its cap, and the middleware applying both."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.limit = settings.max_in_flight
        self._intake = Intake(settings, metrics.bodies_reading)
        self.in_flight = 0
        self._create_s = settings.create_deadline_s
        self._other_s = settings.request_deadline_s
        self._shed = metrics.shed.labels("in_flight")
        self._db_shed = metrics.shed.labels("database_wait")
        self._body = orjson.dumps(
            {
                "message": "The service is at its limit of requests in flight; retry after"
                " Retry-After.",
                "error": ErrorCode.OVERLOADED.error,
                "code": ErrorCode.OVERLOADED.code,
                "data": {"reason": "in_flight"},
            }
        )
        self._unlogged = 0
        self._logged_at = 0.0

    def deadline_s(self, request: web.Request) -> float:
        if (request.method, route_template(request)) == CREATE:
            return self._create_s
        return self._other_s

    def shed(self, request: web.Request) -> web.Response:
        """The immediate 503: no envelope middleware, no body read, no log line of its own."""
        self._shed.inc()
        self._unlogged += 1
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_S:
            log.warning("shedding", shed=self._unlogged, in_flight=self.in_flight, cap=self.limit)
            self._unlogged, self._logged_at = 0, now
        headers = {"Retry-After": RETRY_AFTER_S, "X-Request-ID": request_id_for(request)}
        return web.Response(
            body=self._body, status=503, content_type="application/json", headers=headers
        )

    def middleware(self) -> Any:
        @web.middleware
        async def shedding_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
            if request.path in NEVER_SHED:
                return await handler(request)
            if self.limit and self.in_flight >= self.limit:
                return self.shed(request)
            refused = await self._intake.take_in(request)  # the body, before any slot
            if refused is not None:
                return refused
            if self.limit and self.in_flight >= self.limit:
                return self.shed(request)
            self.in_flight += 1
            budget = RequestBudget(time.monotonic() + self.deadline_s(request))
            token = REQUEST_BUDGET.set(budget)
            try:
                response = await handler(request)
            finally:
                # aiohttp serves a keep-alive connection's requests in one task: reset, or the
                # next request on it would inherit this one's deadline.
                REQUEST_BUDGET.reset(token)
                self.in_flight -= 1
            if budget.gave_up and response.status == 503:
                self._db_shed.inc()
            return response

        return shedding_middleware
