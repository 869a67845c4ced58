"""The runner that serves the app: aiohttp's, hardened at the connection level.

Its handlers answer framing errors with the envelope (never echoing the bytes), close a
connection whose headers are late (``MULTICART_HEADER_TIMEOUT_S``), cap open connections
(``MULTICART_MAX_CONNECTIONS``) by evicting the oldest one still without its headers, and say
``Server: multicart``. Why, what was rejected, and the measurements:
docs/decisions/0004-connection-hardening.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import orjson
import structlog
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from errors import ErrorCode, FieldProblem, InvalidRequest

SERVER_NAME = "multicart"
_log = structlog.get_logger("multicart.http")


class ConnectionGuard:
    """The connection limits of one process, and what they did (read by ``/metrics``)."""

    def __init__(self, header_timeout_s: float = 10.0, max_connections: int = 0) -> None:
        self.header_timeout_s = header_timeout_s
        self.max_connections = max_connections
        self.open = 0
        self.refused = 0
        self.evicted = 0
        self.header_timeouts = 0
        # Connections not inside a request, oldest first (dicts keep insertion order): the
        # ones a connection accepted at the cap may replace. O(1) to add, drop and pick.
        self.idle: dict[EnvelopeRequestHandler, None] = {}

    def make_room(self) -> bool:
        """True if a connection may be accepted: under the cap, or the oldest idle one closed."""
        if not self.max_connections or self.open < self.max_connections:
            return True
        if not self.idle:
            self.refused += 1
            return False
        oldest = next(iter(self.idle))
        oldest.evict()
        self.evicted += 1
        return True

    def collector(self) -> Collector:
        return _GuardCollector(self)


class _GuardCollector(Collector):
    def __init__(self, guard: ConnectionGuard) -> None:
        self.guard = guard

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "multicart_http_connections_open",
            "HTTP connections this process holds open.",
            value=self.guard.open,
        )
        yield CounterMetricFamily(
            "multicart_http_connections_refused",
            "Connections closed on accept: at MULTICART_MAX_CONNECTIONS, every one in a request.",
            value=self.guard.refused,
        )
        yield CounterMetricFamily(
            "multicart_http_connections_evicted",
            "Connections closed before their request: the oldest idle one, for one accepted at "
            "MULTICART_MAX_CONNECTIONS.",
            value=self.guard.evicted,
        )
        yield CounterMetricFamily(
            "multicart_http_header_timeouts",
            "Connections closed: request line and headers not in MULTICART_HEADER_TIMEOUT_S.",
            value=self.guard.header_timeouts,
        )


def _error_response(status: int, body: dict[str, Any]) -> web.Response:
    response = web.Response(status=status, body=orjson.dumps(body), content_type="application/json")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    response.headers["Server"] = SERVER_NAME
    response.force_close()
    return response


class EnvelopeRequestHandler(RequestHandler):
    def __init__(self, manager: web.Server, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._refused = False
        self._counted = False
        self._between_requests = True  # waiting for a request line: the header timer applies
        self._header_handle: asyncio.TimerHandle | None = None

    # -- the connection cap and the header timer ------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        guard = self._guard
        if not guard.make_room():
            self._refused = True  # never registered with the manager: nothing to undo
            transport.close()
            return
        guard.open += 1
        self._counted = True
        super().connection_made(transport)
        self._set_idle(True)
        self._arm_header_timer()

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._refused:
            return
        self._cancel_header_timer()
        self._set_idle(False)
        self._uncount()
        super().connection_lost(exc)

    def evict(self) -> None:
        """Closed for a newer connection: its slot is free now, not at ``connection_lost``."""
        self._set_idle(False)
        self._cancel_header_timer()
        self._uncount()
        self.force_close()

    def _uncount(self) -> None:
        if self._counted:
            self._counted = False
            self._guard.open -= 1

    def _set_idle(self, idle: bool) -> None:
        self._guard.idle.pop(self, None)  # re-added at the end: the newest idle connection
        if idle:
            self._guard.idle[self] = None

    def data_received(self, data: bytes) -> None:
        if data and self._between_requests:
            self._arm_header_timer()  # the first byte of a keep-alive connection's next request
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:  # a request's headers are complete (or malformed)
            self._between_requests = False
            self._set_idle(False)
            self._cancel_header_timer()

    def _arm_header_timer(self) -> None:
        timeout = self._guard.header_timeout_s
        if timeout > 0 and self._header_handle is None:
            self._header_handle = self._loop.call_later(timeout, self._header_timed_out)

    def _cancel_header_timer(self) -> None:
        if self._header_handle is not None:
            self._header_handle.cancel()
            self._header_handle = None

    def _header_timed_out(self) -> None:
        self._header_handle = None
        if self._between_requests and self.transport is not None:
            self._guard.header_timeouts += 1
            self.force_close()

    async def finish_response(
        self, request: BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        if isinstance(resp, web.StreamResponse) and not resp.prepared:
            resp.headers["Server"] = SERVER_NAME  # aiohttp only sets its banner if absent
        try:
            return await super().finish_response(request, resp, start_time)
        finally:
            if not self._messages:
                self._between_requests = True  # the next byte starts the next header timer
                if not (self._close or self._force_close) and self.transport is not None:
                    self._set_idle(True)  # kept alive: replaceable until its next headers

    # -- framing errors: the envelope, and one log event without the request's bytes -------
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        error = type(exc).__name__ if exc is not None else None
        if status >= 500:  # an exception out of the app's own middlewares: our code, traceback
            _log.error("http_handler_error", status=status, error=error, exc_info=exc)
        elif self._request_count == 1 and isinstance(exc, BadHttpMethod):
            _log.debug("http_bad_request", status=status, error=error)  # TLS or scanners
        else:
            _log.info("http_bad_request", status=status, error=error)
        if request.writer.output_size > 0:  # part of an answer went out: the connection is lost
            raise ConnectionError("a response was already started; cannot send the error")
        if status >= 500:
            body: dict[str, Any] = {
                "message": "An unexpected error occurred.",
                "error": ErrorCode.INTERNAL_ERROR.error,
                "code": ErrorCode.INTERNAL_ERROR.code,
                "data": {"request_id": "none"},
            }
        else:
            body = InvalidRequest(
                [FieldProblem("headers", "the request line or a header is malformed or too long")],
                message="The request cannot be parsed: its request line or a header is "
                "malformed or longer than the server accepts.",
            ).envelope()
        return _error_response(status, body)

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """aiohttp's own error logs: the template's first words and the class, nothing else."""
        exc = kw.get("exc_info")
        error = type(exc).__name__ if isinstance(exc, BaseException) else None
        what = str(args[0]).split(",")[0][:80] if args else ""
        _log.error("http_protocol_error", detail=what, error=error)


class EnvelopeServer(web.Server):
    guard: ConnectionGuard

    def __call__(self) -> RequestHandler:
        return EnvelopeRequestHandler(self, guard=self.guard, loop=self._loop, **self._kwargs)


LINGERING_S = 1.0


class EnvelopeAppRunner(web.AppRunner):
    """``web.AppRunner`` whose connections are guarded (see the module's docstring).

    ``lingering_time``: after an answer given before its body was read whole (a 408 to a body
    too slow, a 413, a 415), aiohttp reads and drops the rest for this long before closing,
    so the client sees the answer rather than a reset; its default of 10 s let a refused slow
    client hold its connection 10 s more."""

    def __init__(
        self, app: web.Application, *, guard: ConnectionGuard | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("lingering_time", LINGERING_S)
        super().__init__(app, **kwargs)
        self.guard = guard if guard is not None else ConnectionGuard()

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = EnvelopeServer  # same object and state, our handler factory
        assert isinstance(server, EnvelopeServer)
        server.guard = self.guard
        return server


def requests_served(counter: Any) -> int:
    """Requests this process answered, from the app's ``multicart_http_requests`` counter (for
    the ``stopped`` log event: under ``--workers`` it shows how the load was spread)."""
    return int(
        sum(
            sample.value
            for metric in counter.collect()
            for sample in metric.samples
            if sample.name.endswith("_total")
        )
    )
