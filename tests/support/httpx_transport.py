"""A ``Transport`` over an ``httpx.AsyncClient``, for the adapter unit tests: respx mocks it.

Why it exists: the adapters' unit tests script a platform's answers with respx, which mocks
httpx only. This transport hands the same neutral ``Request`` to an httpx client and turns its
response into the same ``Answer`` the production ``AiohttpTransport`` returns, so the same
adapter code runs under both. Its "was it sent?" rule is httpcore's (and respx's side effects'):
ConnectError, ConnectTimeout and PoolTimeout are raised only before the first byte. The
production rule, over real sockets, lives and is tested in ``adapters.calls.aiohttp_transport``.
"""

from __future__ import annotations

import asyncio

import httpx

from adapters.calls.http import (
    Answer,
    Request,
    answer_too_large,
    attempt_timed_out,
    transport_error,
)
from config import PlatformSettings

_NOT_SENT: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.InvalidURL,
)


def request_not_sent(exc: BaseException) -> bool:
    """True only when httpx's ``exc`` proves that no byte of the request was sent."""
    return isinstance(exc, _NOT_SENT)


class HttpxTransport:
    """``adapters.calls.http.Transport`` on an httpx client (closed by ``aclose`` when owned)."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._owned = client is None
        self.client = client if client is not None else httpx.AsyncClient(trust_env=False)

    @classmethod
    def for_settings(cls, _settings: PlatformSettings) -> HttpxTransport:
        """A factory ``adapters.registry.AdapterRegistry`` takes: one client per platform."""
        return cls()

    async def send(
        self,
        request: Request,
        *,
        budget: float,
        connect_timeout: float,
        max_answer_bytes: int,
        platform: str,
        op: str,
    ) -> Answer:
        timeout = httpx.Timeout(connect=connect_timeout, read=budget, write=budget, pool=budget)
        try:
            built = httpx.Request(
                request.method,
                request.url,
                headers=request.headers,
                content=request.body,
                extensions={"timeout": timeout.as_dict()},
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise transport_error(exc, not_sent=True, platform=platform, op=op) from exc
        try:
            async with asyncio.timeout(budget):
                response = await self.client.send(built, stream=True, follow_redirects=False)
                try:
                    body = await _read_capped(response, max_answer_bytes, platform, op)
                finally:
                    await response.aclose()
        except httpx.HTTPError as exc:
            raise transport_error(
                exc, not_sent=request_not_sent(exc), platform=platform, op=op
            ) from exc
        except TimeoutError as exc:
            raise attempt_timed_out(budget, platform=platform, op=op) from exc
        return Answer(response.status_code, response.headers, body, request)

    async def aclose(self) -> None:
        if self._owned:
            await self.client.aclose()


async def _read_capped(response: httpx.Response, cap: int, platform: str, op: str) -> bytes:
    """The decoded body, refused past ``cap`` bytes (as the production transport does)."""
    length = response.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > cap:
        raise answer_too_large(response.status_code, platform=platform, op=op, cap=cap)
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > cap:
            raise answer_too_large(response.status_code, platform=platform, op=op, cap=cap)
        chunks.append(chunk)
    return b"".join(chunks)
