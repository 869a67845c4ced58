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
import re
import time
from collections.abc import Mapping
from typing import Any

import aiohttp
import httpx
import orjson
from httpx_aiohttp import AiohttpTransport

from adapters.calls.answers import read_capped
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


# --- Header values ------------------------------------------------------------------------------

# aiohttp refuses CR, LF and NUL in a header value (a header injection) with a ValueError only
# after the connection is taken, inside ``client.send``; checked here, before anything is sent,
# such a request is certainly not sent. About 1 us for a request's five or six headers.
_UNSENDABLE = re.compile(rb"[\x00\r\n]")


class UnsendableHeader(ValueError):
    """A header value that cannot go on the wire: not ASCII, or a CR, LF or NUL in it.

    Its message never quotes the value (it is often a credential)."""


def check_header_values(headers: httpx.Headers) -> None:
    for _name, value in headers.raw:
        if _UNSENDABLE.search(value):
            raise UnsendableHeader("a header value holds a CR, LF or NUL character")


# --- One attempt --------------------------------------------------------------------------------


def prepare_request(
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
) -> tuple[httpx.Request, float]:
    """The request of one attempt and its time budget: nothing is sent yet.

    Raises ``PlatformError`` for no time left or a URL httpx refuses; anything else it raises
    (a header value that cannot be encoded, a body orjson cannot serialize) happened before
    sending, which is how ``adapters.calls.caller`` reads it.
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
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise translate_transport_error(exc, platform=platform, op=op) from exc
    except UnicodeEncodeError:
        # Its message quotes a character of the value, which may be a credential's.
        raise UnsendableHeader("a header value is not ASCII") from None
    check_header_values(request.headers)
    return request, budget


async def transmit(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    platform: str,
    op: str,
    budget: float,
    max_answer_bytes: int,
) -> httpx.Response:
    """Send ``request`` and read its answer, at most ``max_answer_bytes`` of body, within
    ``budget`` seconds. Raises only ``PlatformError`` for what the network or the platform did.
    """
    try:
        # The transport's read timeout is per socket read; this bounds the whole attempt,
        # reading the body included.
        async with asyncio.timeout(budget):
            response = await client.send(request, stream=True)
            try:
                await read_capped(response, max_answer_bytes, platform=platform, op=op)
            except BaseException:
                await response.aclose()  # an unread body: the connection is not reused
                raise
            return response
    except (httpx.HTTPError, httpx.InvalidURL, aiohttp.ClientError) as exc:
        raise translate_transport_error(exc, platform=platform, op=op) from exc
    except TimeoutError as exc:
        raise PlatformTimeout(
            f"{platform} did not answer {op} within {budget:.2f}s; it may have been applied",
            platform=platform,
            may_have_applied=True,
        ) from exc


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
    """One HTTP attempt, its timeouts shrunk to the time left before ``deadline``:
    ``prepare_request`` then ``transmit``, for callers that need not tell the two apart.

    ``json`` is encoded with orjson; ``content`` is sent as it is (a form body, for instance).
    No httpx or aiohttp exception leaves this function.
    """
    request, budget = prepare_request(
        method,
        url,
        platform=platform,
        op=op,
        deadline=deadline,
        policy=policy,
        headers=headers,
        params=params,
        json=json,
        content=content,
    )
    return await transmit(
        client,
        request,
        platform=platform,
        op=op,
        budget=budget,
        max_answer_bytes=policy.max_answer_bytes,
    )
