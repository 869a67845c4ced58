"""A request's body, read whole and in bounded time before the request takes an in-flight slot.

Why: 64 connections from one app, each declaring ``Content-Length: 1000`` and sending a byte
every 5 s, held every ``MULTICART_MAX_IN_FLIGHT`` slot while their bodies trickled in, and every
other app was answered 503 for as long as the sockets stayed open. Here, before any slot is
taken (``shedding.py``):

- a compressed body is refused (415): ``Content-Encoding: gzip`` inflated 1 MB into 1 GiB
  before any key was checked (0.8 s of CPU a request). The server is built with
  ``auto_decompress=False`` (``cli.py``), so nothing is inflated below this either;
- a declared length past ``MULTICART_MAX_BODY_BYTES`` is refused (413) without reading a
  byte, and an undeclared (chunked) one as soon as it passes the bound;
- the body must arrive within ``MULTICART_BODY_TIMEOUT_S`` plus its declared length (or, for
  a chunked body, the largest allowed) at ``MULTICART_BODY_MIN_RATE`` bytes a second: past
  that, 408 ``request_timeout`` and the connection is closed;
- a client that goes away mid-body is logged at info (``client_disconnected``) and counted
  with status 499 (nginx's "client closed request"), never as a 5xx.

aiohttp keeps what ``read()`` returned, so the handlers' own ``read_json`` reads it again at
no cost.
"""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import web
from prometheus_client import Gauge

from config import Settings
from errors import ApiError, ErrorCode, MulticartError, PayloadTooLarge
from orchestrator.http.web import error_response, request_id_for

log = structlog.get_logger("multicart.http")

CLIENT_CLOSED = 499  # the status a request whose client went away is counted under


class Intake:
    def __init__(self, settings: Settings, reading: Gauge) -> None:
        self._reading = reading  # multicart_http_bodies_reading
        self._max_body = settings.max_body_bytes
        self._base_s = settings.body_timeout_s
        self._rate = settings.body_min_rate

    def timeout_s(self, request: web.Request) -> float:
        declared = request.content_length
        length = self._max_body if declared is None else min(declared, self._max_body)
        return self._base_s + length / self._rate

    async def take_in(self, request: web.Request) -> web.StreamResponse | None:
        """None once the body (if any) is read whole; else the answer that refuses it."""
        if not request.body_exists:
            return None
        try:
            await self._read(request)
        except MulticartError as exc:
            response: web.StreamResponse = error_response(exc, request_id_for(request))
            response.force_close()  # what is left of the body must not be read as a request
            return response
        except ConnectionError:  # aiohttp ClientConnectionResetError is one
            log.info("client_disconnected", method=request.method, path=request.path)
            return web.Response(status=CLIENT_CLOSED)
        return None

    async def _read(self, request: web.Request) -> None:
        encoding = request.headers.get("Content-Encoding", "identity").strip().lower()
        if encoding not in ("", "identity"):
            raise ApiError(
                "Compressed request bodies are not accepted: send the body without "
                "Content-Encoding.",
                kind=ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            )
        too_large = PayloadTooLarge(
            f"The body exceeds {self._max_body} bytes.", data={"max_bytes": self._max_body}
        )
        declared = request.content_length
        if declared is not None and declared > self._max_body:
            raise too_large
        timeout_s = self.timeout_s(request)
        self._reading.inc()
        try:
            async with asyncio.timeout(timeout_s):
                await request.read()
        except TimeoutError:
            log.info("body_timeout", method=request.method, path=request.path, timeout_s=timeout_s)
            raise ApiError(
                f"The body did not arrive within {timeout_s:g} s.",
                kind=ErrorCode.REQUEST_TIMEOUT,
                data={"timeout_s": timeout_s},
            ) from None
        except web.HTTPRequestEntityTooLarge:
            raise too_large from None
        finally:
            self._reading.dec()
