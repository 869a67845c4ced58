"""Outbound HTTP shared by every adapter: the client, transport-error translation, one attempt.

Why one module: the rules that keep a fan-out fast and honest are the same for every platform:
one tuned client per platform on the ``httpx-aiohttp`` transport (stock httpx 0.28 ran about 8x
slower at 64 concurrent calls, ``python -m bench``'s HTTP-stack scenario), and one place that
decides whether a failed request was *certainly not sent*. Status codes are mapped by
``adapters.calls.statuses`` and each platform; retries live in ``adapters.calls.retry`` and the
per-store call (bulkhead, breaker, auth, logs, retries) in ``adapters.calls.caller``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import httpx
import orjson
from httpx_aiohttp import AiohttpTransport

from adapters.calls.policy import RetryPolicy
from config import PlatformSettings
from errors import PlatformError, PlatformTimeout, PlatformUnavailable


class _NoCookies(httpx.Cookies):
    """A jar that never stores or sends anything (and skips httpx's per-answer cookie parsing)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def set_cookie_header(self, request: httpx.Request) -> None:
        return None


class PlatformClient(httpx.AsyncClient):
    """An ``httpx.AsyncClient`` without cookies.

    The platforms' server-to-server cart APIs are stateless, and one client serves every
    merchant's store of a platform (one host for all BigCommerce stores): a cookie set by one
    store must never ride along to another.
    """

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: Any) -> None:
        return None


_NO_COOKIES = _NoCookies()


def build_client(
    settings: PlatformSettings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """One client per platform: explicit timeouts and limits, on the aiohttp transport.

    ``trust_env=False``: proxies from the environment would silently swap the transport.
    """
    limits = httpx.Limits(
        max_connections=settings.concurrency,
        max_keepalive_connections=settings.concurrency,
    )
    timeout = httpx.Timeout(
        connect=settings.connect_timeout_s,
        read=settings.attempt_timeout_s,
        write=settings.attempt_timeout_s,
        pool=settings.attempt_timeout_s,
    )
    return PlatformClient(
        transport=transport if transport is not None else AiohttpTransport(limits=limits),
        timeout=timeout,
        limits=limits,
        trust_env=False,
        follow_redirects=False,
    )


# --- Was the request sent? ---------------------------------------------------------------------
#
# httpx-aiohttp 0.2.0 (transport.py, AIOHTTP_EXC_MAP + map_aiohttp_exceptions) picks, among the
# map entries an aiohttp error matches, the most *specific httpx class*. Every
# aiohttp.ClientConnectionError matches ``ClientConnectionError -> httpx.ConnectTimeout`` first,
# and ConnectError is no subclass of ConnectTimeout, so ALL of these surface as ConnectTimeout:
#   - ServerDisconnectedError: the server read the request and closed without answering
#     (it may have applied it!),
#   - ClientOSError / ClientConnectionResetError: reset while sending or waiting,
#   - ClientConnectorError (refused, DNS: ClientConnectorDNSError, TLS): nothing was sent,
#   - ConnectionTimeoutError (aiohttp's connect/pool timeout): nothing was sent.
# A read timeout (SocketTimeoutError) becomes ReadTimeout; a broken body (ClientPayloadError)
# ReadError. So the httpx type says nothing; the transport raises ``from`` the aiohttp error, and
# that origin is what we classify. Only errors aiohttp raises while acquiring or establishing the
# connection (aiohttp/client.py ``_connect_and_send_request``: ``connector.connect`` is wrapped
# into ConnectionTimeoutError; the connector raises ClientConnectorError) mean "not sent".
# With any other transport (stock httpx, respx's MockTransport) httpcore raises ConnectError,
# ConnectTimeout and PoolTimeout only before the first byte. Everything else is "maybe applied".
_NOT_SENT_AIOHTTP: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.InvalidURL,
    aiohttp.NonHttpUrlClientError,
)
_NOT_SENT_HTTPX: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
    httpx.InvalidURL,
)


def request_not_sent(exc: BaseException) -> bool:
    """True only when ``exc`` proves that no byte of the request reached the platform."""
    origin: BaseException | None = exc
    seen: set[int] = set()  # a chain can loop (respx links a side effect's error to itself)
    while origin is not None and id(origin) not in seen:  # the aiohttp error decides
        seen.add(id(origin))
        if isinstance(origin, aiohttp.ClientError):
            return isinstance(origin, _NOT_SENT_AIOHTTP)
        origin = origin.__cause__
    return isinstance(exc, _NOT_SENT_HTTPX)


def translate_transport_error(exc: BaseException, *, platform: str, op: str) -> PlatformError:
    """The one translation of a failure without an HTTP answer (raise it ``from exc``)."""
    detail = type(exc.__cause__ or exc).__name__
    if request_not_sent(exc):
        return PlatformUnavailable(
            f"{platform} could not be reached for {op} ({detail}); nothing was sent",
            platform=platform,
            may_have_applied=False,
        )
    return PlatformTimeout(
        f"{platform} gave no answer to {op} ({detail}); the request may have been applied",
        platform=platform,
        may_have_applied=True,
    )


async def send_once(
    client: httpx.AsyncClient,
    method: str,
    url: str | httpx.URL,
    *,
    platform: str,
    op: str,
    deadline: float,
    policy: RetryPolicy,
    headers: Mapping[str, str] | httpx.Headers | None = None,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    content: bytes | None = None,
) -> httpx.Response:
    """One HTTP attempt, its timeouts shrunk to the time left before ``deadline``.

    ``json`` is encoded with orjson; ``content`` is sent as it is (a form body, for instance).
    Raises only ``PlatformError``: no httpx or aiohttp exception leaves this function.
    """
    budget = min(policy.attempt_timeout_s, deadline - time.monotonic())
    if budget <= 0:
        raise PlatformTimeout(
            f"no time left before the deadline to call {platform} for {op}; nothing was sent",
            platform=platform,
            may_have_applied=False,
        )
    timeout = httpx.Timeout(
        connect=min(policy.connect_timeout_s, budget), read=budget, write=budget, pool=budget
    )
    try:
        # The transport's read timeout is per socket read; this bounds the whole attempt.
        # Built here and handed to ``send``: ``client.request`` would parse the URL twice and
        # merge client defaults on every call, about a third of httpx's cost per request
        # (measured with `python -m bench --profile`). The body is encoded with orjson.
        request = httpx.Request(
            method,
            url,
            params=params,
            headers=headers,
            content=orjson.dumps(json) if json is not None else content,
            extensions={"timeout": timeout.as_dict()},
        )
        async with asyncio.timeout(budget):
            return await client.send(request)
    except (httpx.HTTPError, httpx.InvalidURL, aiohttp.ClientError) as exc:
        raise translate_transport_error(exc, platform=platform, op=op) from exc
    except TimeoutError as exc:
        raise PlatformTimeout(
            f"{platform} did not answer {op} within {budget:.2f}s; it may have been applied",
            platform=platform,
            may_have_applied=True,
        ) from exc
