"""Outbound HTTP, platform-neutral: the request an adapter builds, the answer it parses, and the
``Transport`` that carries one to the other.

Why one module: the adapters must not depend on the HTTP library underneath. They build a
``Request`` (method, URL, headers, body bytes) and parse an ``Answer`` (status, headers, body
already read under ``MULTICART_PLATFORM_MAX_ANSWER_BYTES``); a ``Transport`` sends one and
decides, when no answer came, whether the request was *certainly not sent*. Production uses
``adapters.calls.aiohttp_transport`` (aiohttp's client, one session per platform); the adapter
unit tests use ``tests.support.httpx_transport``, which respx mocks. Status codes are mapped by
``adapters.calls.statuses`` and each platform; retries live in ``adapters.calls.retry`` and the
per-store call (bulkhead, breaker, auth, logs, retries) in ``adapters.calls.caller``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlencode

import orjson

from adapters.calls.policy import RetryPolicy
from errors import PlatformError, PlatformServerError, PlatformTimeout, PlatformUnavailable

# Header names and values as sent; lookups in an ``Answer``'s headers are case-insensitive.
Headers = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, fully built: nothing is computed from it while it is sent."""

    method: str
    url: str  # absolute, query included, already percent-encoded where it matters
    headers: Headers
    body: bytes | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A platform's answer, its body already read (within the size cap).

    ``headers`` is case-insensitive (aiohttp's ``CIMultiDictProxy`` or ``httpx.Headers``);
    ``request`` is the request it answers (Elastic Path tells an item add by its path).
    """

    status: int
    headers: Headers
    body: bytes
    request: Request | None = None

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300


class Transport(Protocol):
    """Sends a ``Request`` and reads its ``Answer``; raises only ``PlatformError``.

    It owns the "was it sent?" decision: a failure before a byte of the request could reach the
    platform is ``PlatformUnavailable`` with ``may_have_applied=False``; any failure after that
    (a reset, a disconnect, a timeout while waiting for the answer) is ``PlatformTimeout`` with
    ``may_have_applied=True``. An answer longer than ``max_answer_bytes`` is ``answer_too_large``.
    """

    async def send(
        self,
        request: Request,
        *,
        budget: float,
        connect_timeout: float,
        max_answer_bytes: int,
        platform: str,
        op: str,
    ) -> Answer: ...

    async def aclose(self) -> None: ...


# --- What a failure without an answer means ----------------------------------------------------


def transport_error(exc: BaseException, *, not_sent: bool, platform: str, op: str) -> PlatformError:
    """The one translation of a failure without an HTTP answer (raise it ``from exc``); the
    transport that saw ``exc`` says whether the request was ``not_sent``."""
    detail = type(exc).__name__
    if not_sent:
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


def attempt_timed_out(budget: float, *, platform: str, op: str) -> PlatformTimeout:
    """The attempt's whole budget ran out after sending began: it may have been applied."""
    return PlatformTimeout(
        f"{platform} did not answer {op} within {budget:.2f}s; it may have been applied",
        platform=platform,
        may_have_applied=True,
    )


def answer_too_large(status: int, *, platform: str, op: str, cap: int) -> PlatformServerError:
    """An answer past the cap: it came, so a write may have been applied; it is not read."""
    return PlatformServerError(
        f"{platform} answered {status} to {op} with a body over the"
        f" {cap}-byte limit (MULTICART_PLATFORM_MAX_ANSWER_BYTES); it was not read",
        platform=platform,
        status=status,
        may_have_applied=True,
    )


# --- Header values ------------------------------------------------------------------------------

# aiohttp refuses CR, LF and NUL in a header value (a header injection) with a ValueError only
# after the connection is taken; checked here, before anything is sent, such a request is
# certainly not sent. Well under a microsecond per header.
_UNSENDABLE = re.compile(r"[\x00\r\n]")


class UnsendableHeader(ValueError):
    """A header value that cannot go on the wire: not ASCII, or a CR, LF or NUL in it.

    Its message never quotes the value (it is often a credential)."""


def check_header_values(headers: Headers) -> None:
    for value in headers.values():
        if not value.isascii():
            raise UnsendableHeader("a header value is not ASCII")
        if _UNSENDABLE.search(value):
            raise UnsendableHeader("a header value holds a CR, LF or NUL character")


# --- One attempt --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestParts:
    """What a call sends on every attempt; each attempt adds its own headers and time budget.

    ``json`` is encoded with orjson; ``content`` is sent as it is (a form body, for instance).
    """

    method: str
    url: str
    params: Mapping[str, str] | None = None
    json: Any = None
    content: bytes | None = None


def prepare_request(
    parts: RequestParts,
    *,
    headers: Headers,
    platform: str,
    op: str,
    deadline: float,
    policy: RetryPolicy,
) -> tuple[Request, float]:
    """The request of one attempt and its time budget: nothing is sent yet.

    Raises ``PlatformTimeout`` (nothing sent) for no time left and ``UnsendableHeader`` for a
    header value no request can carry; anything else it raises (a body orjson cannot
    serialize) happened before sending, which is how ``adapters.calls.caller`` reads it.
    """
    budget = min(policy.attempt_timeout_s, deadline - time.monotonic())
    if budget <= 0:
        raise PlatformTimeout(
            f"no time left before the deadline to call {platform} for {op}; nothing was sent",
            platform=platform,
            may_have_applied=False,
        )
    check_header_values(headers)
    url, params = parts.url, parts.params
    if params:
        url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
    body = orjson.dumps(parts.json) if parts.json is not None else parts.content
    return Request(parts.method, url, headers, body), budget


async def send_prepared(
    transport: Transport,
    request: Request,
    budget: float,
    *,
    policy: RetryPolicy,
    platform: str,
    op: str,
) -> Answer:
    """Send a request ``prepare_request`` built, within its ``budget`` (the connect too)."""
    return await transport.send(
        request,
        budget=budget,
        connect_timeout=min(policy.connect_timeout_s, budget),
        max_answer_bytes=policy.max_answer_bytes,
        platform=platform,
        op=op,
    )


async def send_once(
    transport: Transport,
    method: str,
    url: str,
    *,
    platform: str,
    op: str,
    deadline: float,
    policy: RetryPolicy,
    headers: Headers | None = None,
    params: Mapping[str, str] | None = None,
    json: Any = None,
    content: bytes | None = None,
) -> Answer:
    """One HTTP attempt, its timeouts shrunk to the time left before ``deadline``:
    ``prepare_request`` then ``send_prepared``, for callers that need not tell the two apart.
    """
    parts = RequestParts(method, url, params, json, content)
    sent = headers if headers is not None else {}
    request, budget = prepare_request(
        parts, headers=sent, platform=platform, op=op, deadline=deadline, policy=policy
    )
    return await send_prepared(transport, request, budget, policy=policy, platform=platform, op=op)
