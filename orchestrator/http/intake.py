"""A request's body, read whole and in bounded time before the request takes an in-flight slot.

After authentication and the app's share, before any slot: compressed bodies refused (415),
a declared length past ``MULTICART_MAX_BODY_BYTES`` refused unread (413), the body due within
``MULTICART_BODY_TIMEOUT_S`` plus its length at ``MULTICART_BODY_MIN_RATE`` (408, connection
closed), a client gone mid-body counted as 499. aiohttp keeps what ``read()`` returned, so the
handlers read it again at no cost. Why: docs/decisions/0009-fair-sharing.md.
"""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import web
from prometheus_client import Gauge

from config import Settings
from errors import ApiError, ErrorCode

log = structlog.get_logger("multicart.http")

CLIENT_CLOSED = 499  # the status a request whose client went away is counted under


class BodyRefused(ApiError):
    """A body not read whole (408, 413, 415): answered, then the connection closed, so the rest
    of it is never read as a request."""

    close_connection = True


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
        """None once the body (if any) is read whole; a 499 when the client went away; raises
        ``BodyRefused`` for a body refused or too slow."""
        if not request.body_exists:
            return None
        try:
            await self._read(request)
        except ConnectionError:  # aiohttp's ClientConnectionResetError is one
            log.info("client_disconnected", method=request.method, path=request.path)
            return web.Response(status=CLIENT_CLOSED)
        return None

    @staticmethod
    def _refuse_codings(request: web.Request) -> None:
        codings = [
            c.strip().lower()
            for header in request.headers.getall("Content-Encoding", [])
            for c in header.split(",")
        ]
        transfer = [
            c.strip().lower()
            for header in request.headers.getall("Transfer-Encoding", [])
            for c in header.split(",")
        ]
        if any(c not in ("", "identity") for c in codings) or any(
            c not in ("", "chunked") for c in transfer
        ):
            raise BodyRefused(
                "Compressed request bodies are not accepted: send the body without "
                "Content-Encoding (and no Transfer-Encoding but chunked).",
                kind=ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            )

    async def _read(self, request: web.Request) -> None:
        self._refuse_codings(request)
        too_large = BodyRefused(
            f"The body exceeds {self._max_body} bytes.",
            kind=ErrorCode.PAYLOAD_TOO_LARGE,
            data={"max_bytes": self._max_body},
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
            raise BodyRefused(
                f"The body did not arrive within {timeout_s:g} s.",
                kind=ErrorCode.REQUEST_TIMEOUT,
                data={"timeout_s": timeout_s},
            ) from None
        except web.HTTPRequestEntityTooLarge:
            raise too_large from None
        finally:
            self._reading.dec()
