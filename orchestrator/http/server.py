"""The runner that serves the app: aiohttp's, except that HTTP framing errors get the envelope.

A request aiohttp cannot parse (a header line over 8190 bytes, a malformed request line) never
reaches the app's middlewares: aiohttp answered its own ``text/plain`` 400 whose text echoed
the first bytes of the offending header, an ``Authorization: Bearer ...`` included. Here that
answer is the JSON envelope (``invalid_request``, the field ``headers``) with a fixed message,
and nothing of the request is echoed.

aiohttp builds one ``RequestHandler`` per connection through ``web.Server.__call__``; the
runner below hands it a ``Server`` whose handlers override ``handle_error``.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from errors import ErrorCode, FieldProblem, InvalidRequest


class EnvelopeRequestHandler(RequestHandler):
    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        plain = super().handle_error(request, status, exc, message)  # logs, checks the writer
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
        response = web.Response(
            status=plain.status, body=orjson.dumps(body), content_type="application/json"
        )
        response.force_close()
        return response


class EnvelopeServer(web.Server):
    def __call__(self) -> RequestHandler:
        return EnvelopeRequestHandler(self, loop=self._loop, **self._kwargs)


LINGERING_S = 1.0


class EnvelopeAppRunner(web.AppRunner):
    """``web.AppRunner`` whose connections answer framing errors with the envelope.

    ``lingering_time``: after an answer given before its body was read whole (a 408 to a body
    too slow, a 413, a 415), aiohttp reads and drops the rest for this long before closing,
    so the client sees the answer rather than a reset; its default of 10 s let a refused slow
    client hold its connection 10 s more."""

    def __init__(self, app: web.Application, **kwargs: Any) -> None:
        kwargs.setdefault("lingering_time", LINGERING_S)
        super().__init__(app, **kwargs)

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = EnvelopeServer  # same object and state, our handler factory
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
