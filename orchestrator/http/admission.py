"""The in-flight slots of one process and the deadline of the work done in one.

Why a module of its own: a request takes its slot only once it is authenticated, within its
app's share and its body read whole (``web.guarded``), so no client holds a slot while its
body trickles in and a client without a key holds none at all. ``shedding.py`` sheds before
all of that when every slot is already taken (the cheap 503); this is the second look, at the
moment the slot is taken.

The slot's deadline (``REQUEST_BUDGET``, read by the store's waits, ``store/waits.py``):
``now + MULTICART_CREATE_DEADLINE_S`` for a create, ``now + MULTICART_REQUEST_DEADLINE_S`` for
any other route, from when the slot is taken: a body's arrival is bounded by its own timeout
(``intake.py``) and does not eat into the time the work gets.
"""

from __future__ import annotations

import time

from aiohttp import web

from config import Settings
from errors import ApiError, ErrorCode
from orchestrator.http.metrics import Metrics, route_template
from orchestrator.http.routes import Handler
from orchestrator.store.waits import REQUEST_BUDGET, RequestBudget

CREATE = ("POST", "/v1/carts")
RETRY_AFTER_S = "1"


def overloaded() -> ApiError:
    return ApiError(
        "The service is at its limit of requests in flight; retry after Retry-After.",
        kind=ErrorCode.OVERLOADED,
        data={"reason": "in_flight"},
        headers={"Retry-After": RETRY_AFTER_S},
    )


class Admission:
    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.limit = settings.max_in_flight
        self.in_flight = 0
        self._create_s = settings.create_deadline_s
        self._other_s = settings.request_deadline_s
        self.shed = metrics.shed.labels("in_flight")
        self._db_shed = metrics.shed.labels("database_wait")

    def full(self) -> bool:
        return bool(self.limit) and self.in_flight >= self.limit

    def deadline_s(self, request: web.Request) -> float:
        if (request.method, route_template(request)) == CREATE:
            return self._create_s
        return self._other_s

    async def run(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """``handler``'s answer, run in a slot under its deadline; 503 when none is free."""
        if self.full():
            self.shed.inc()
            raise overloaded()
        self.in_flight += 1
        budget = RequestBudget(time.monotonic() + self.deadline_s(request))
        token = REQUEST_BUDGET.set(budget)
        try:
            response = await handler(request)
        except ApiError as exc:
            if budget.gave_up and exc.kind is ErrorCode.OVERLOADED:
                self._db_shed.inc()
            raise
        finally:
            # aiohttp serves a keep-alive connection's requests in one task: reset, or the
            # next request on it would inherit this one's deadline.
            REQUEST_BUDGET.reset(token)
            self.in_flight -= 1
        if budget.gave_up and response.status == 503:
            self._db_shed.inc()
        return response
