"""Outbound HTTP shared by every adapter: the client, transport-error translation, retries.

Why one module: the rules that keep a fan-out fast and honest are the same for every platform
(design §4): one tuned client per platform on the ``httpx-aiohttp`` transport (design §8), one
place that decides whether a failed request was *certainly not sent*, and one retry engine that
never repeats a write whose outcome is unknown and never sleeps past the request's deadline.
Adapters map the platforms' status codes; everything below the status code happens here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import httpx
import structlog
from httpx_aiohttp import AiohttpTransport
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_random_exponential,
)

from adapters.resilience import CircuitOpen, Resilience
from config import Settings
from errors import (
    PlatformAuthFailed,
    PlatformConflict,
    PlatformError,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
    PlatformTimeout,
    PlatformUnavailable,
)

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How one platform's calls are timed and retried (design §4's table)."""

    max_attempts: int = 3
    connect_timeout_s: float = 2.0
    attempt_timeout_s: float = 5.0
    retry_after_cap_s: float = 5.0
    backoff_base_s: float = 0.05
    backoff_max_s: float = 1.0
    # Statuses whose *answer* is retried even for creates and adds. Empty by default: a 5xx
    # leaves the outcome unknown. Adapters opt in when their platform's docs say so.
    retry_answers_on_create: frozenset[int] = frozenset()
    # An attempt is not started with less time than this left before the deadline.
    min_attempt_s: float = 0.01

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> RetryPolicy:
        values: dict[str, Any] = {
            "max_attempts": settings.platform_max_attempts,
            "connect_timeout_s": settings.platform_connect_timeout_s,
            "attempt_timeout_s": settings.platform_attempt_timeout_s,
            "retry_after_cap_s": settings.platform_retry_after_cap_s,
        }
        values.update(overrides)
        return cls(**values)


def build_client(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """One client per platform: explicit timeouts and limits, on the aiohttp transport.

    Stock httpx 0.28 ran about 8x slower than this transport at 64 concurrent calls (design §8).
    ``trust_env=False``: proxies from the environment would silently swap the transport.
    """
    limits = httpx.Limits(
        max_connections=settings.platform_concurrency,
        max_keepalive_connections=settings.platform_concurrency,
    )
    timeout = httpx.Timeout(
        connect=settings.platform_connect_timeout_s,
        read=settings.platform_attempt_timeout_s,
        write=settings.platform_attempt_timeout_s,
        pool=settings.platform_attempt_timeout_s,
    )
    return httpx.AsyncClient(
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
    while origin is not None:  # the aiohttp error, wherever it sits in the chain, decides
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
    url: str,
    *,
    platform: str,
    op: str,
    deadline: float,
    policy: RetryPolicy,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
    json: Any = None,
) -> httpx.Response:
    """One HTTP attempt, its timeouts shrunk to the time left before ``deadline``.

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
        async with asyncio.timeout(budget):
            return await client.request(
                method, url, headers=headers, params=params, json=json, timeout=timeout
            )
    except (httpx.HTTPError, httpx.InvalidURL, aiohttp.ClientError) as exc:
        raise translate_transport_error(exc, platform=platform, op=op) from exc
    except TimeoutError as exc:
        raise PlatformTimeout(
            f"{platform} did not answer {op} within {budget:.2f}s; it may have been applied",
            platform=platform,
            may_have_applied=True,
        ) from exc


# --- Status codes ------------------------------------------------------------------------------


def error_for_status(
    status: int,
    message: str,
    *,
    platform: str,
    retry_after: float | None = None,
    data: dict[str, Any] | None = None,
) -> PlatformError:
    """The default mapping of a non-2xx answer; adapters refine it where their platform differs."""
    kwargs: dict[str, Any] = {"platform": platform, "status": status, "data": data}
    if status in (401, 403):
        return PlatformAuthFailed(message, **kwargs)
    if status == 404:
        return PlatformNotFound(message, **kwargs)
    if status == 409:
        return PlatformConflict(message, **kwargs)
    if status == 429:
        return PlatformRateLimited(message, retry_after=retry_after, **kwargs)
    if status >= 500:
        return PlatformServerError(message, retry_after=retry_after, **kwargs)
    return PlatformRejected(message, **kwargs)


# --- Retries -----------------------------------------------------------------------------------


def should_retry(exc: PlatformError, *, idempotent: bool, policy: RetryPolicy) -> bool:
    """Design §4's table. ``idempotent``: a read, an absolute-quantity PUT, a DELETE."""
    if isinstance(exc, CircuitOpen):  # fails fast until the reset; retrying cannot help
        return False
    if isinstance(exc, PlatformRateLimited):
        return True  # nothing was applied; wait as told
    if isinstance(exc, PlatformRejected | PlatformAuthFailed | PlatformNotFound | PlatformConflict):
        return False  # the platform answered no: the same request gets the same answer
    if isinstance(exc, PlatformServerError):
        if exc.platform_status in policy.retry_answers_on_create:
            return True
        if exc.platform_status == 503 and exc.retry_after is not None:
            return True  # "unavailable, come back then": not applied (design §4)
    if not exc.may_have_applied and isinstance(exc, PlatformUnavailable | PlatformTimeout):
        return True  # certainly not sent
    return idempotent and exc.may_have_applied


def _wait_seconds(policy: RetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(multiplier=policy.backoff_base_s, max=policy.backoff_max_s)

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, PlatformError) and exc.retry_after is not None:
            return min(exc.retry_after, policy.retry_after_cap_s)
        return float(backoff(state))

    return wait


async def call_with_retries(
    attempt: Callable[[int], Awaitable[T]],
    *,
    op: str,
    idempotent: bool,
    deadline: float,
    policy: RetryPolicy,
    log: Any,
    on_retry: Callable[[PlatformError], None] | None = None,
) -> T:
    """Run ``attempt(n)`` (n = 1, 2, ...) until it returns, or raise its last ``PlatformError``.

    A new ``AsyncRetrying`` per call: one shared by concurrent calls made 1-2 attempts instead
    of 3 (design §8). The retry predicate is positive (only ``PlatformError``s ``should_retry``
    accepts), so ``CancelledError`` is never retried. No wait crosses ``deadline``: when the next
    one would, the last error is raised at once.
    """

    def retryable(exc: BaseException) -> bool:
        return isinstance(exc, PlatformError) and should_retry(
            exc, idempotent=idempotent, policy=policy
        )

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        assert isinstance(exc, PlatformError)
        log.info(
            "platform_retry",
            op=op,
            attempt=state.attempt_number,
            wait_ms=round((state.upcoming_sleep or 0.0) * 1000),
            cause=str(exc.cause),
            status=exc.platform_status,
        )
        if on_retry is not None:
            on_retry(exc)

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts:
            return True
        wake = time.monotonic() + (state.upcoming_sleep or 0.0)
        return wake >= deadline - policy.min_attempt_s

    retrying = AsyncRetrying(
        retry=retry_if_exception(retryable),
        stop=stop,
        wait=_wait_seconds(policy),
        before_sleep=before_sleep,
        reraise=True,
    )
    async for trial in retrying:
        with trial:
            return await attempt(trial.retry_state.attempt_number)
    raise AssertionError("unreachable: tenacity either returns or re-raises")  # pragma: no cover


# --- One store's calls -------------------------------------------------------------------------

ErrorMapper = Callable[[str, httpx.Response, Sequence[str]], PlatformError]


class PlatformCaller:
    """Every call to one merchant store: bulkhead, breaker, one attempt, logs, metrics, retries.

    The adapter gives it the platform's status mapping (``map_error(op, response, sku_ids)``)
    and a parser of 2xx answers; what it returns or raises is already in the error taxonomy.
    """

    def __init__(
        self,
        *,
        platform: str,
        merchant_id: str,
        store_key: str,
        client: httpx.AsyncClient,
        resilience: Resilience,
        policy: RetryPolicy,
        map_error: ErrorMapper,
    ) -> None:
        self.platform = platform
        self._store_key = store_key  # the breaker's key: the store's base URL
        self._client = client
        self._resilience = resilience
        self.policy = policy
        self._map_error = map_error
        self.log = structlog.get_logger("multicart.adapters").bind(
            platform=platform, merchant_id=merchant_id
        )

    async def call(
        self,
        op: str,
        method: str,
        url: str,
        *,
        deadline: float,
        idempotent: bool,
        parse: Callable[[httpx.Response], T],
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
        json: Any = None,
        sku_ids: Sequence[str] = (),
        unknown: list[PlatformError] | None = None,
    ) -> T:
        """``unknown`` collects the attempts' errors whose outcome was unknown (for read-backs)."""
        metrics, platform = self._resilience.metrics, self.platform

        async def attempt(number: int) -> T:
            started, status, outcome = time.monotonic(), None, "cancelled"
            try:
                async with self._resilience.bulkheads.slot(platform, deadline):
                    with self._resilience.breakers.guard(self._store_key, platform):
                        response = await send_once(
                            self._client,
                            method,
                            url,
                            platform=platform,
                            op=op,
                            deadline=deadline,
                            policy=self.policy,
                            headers=headers,
                            params=params,
                            json=json,
                        )
                        status = response.status_code
                        if not response.is_success:
                            raise self._map_error(op, response, sku_ids)
                        result = parse(response)
                outcome = "ok"
                return result
            except PlatformError as exc:
                status = exc.platform_status or status
                outcome = "circuit_open" if isinstance(exc, CircuitOpen) else exc.cause.lower()
                if exc.may_have_applied and unknown is not None:
                    unknown.append(exc)
                raise
            finally:
                metrics.record_call(platform, outcome)
                self.log.info(
                    "platform_call",
                    op=op,
                    method=method,
                    path=urlsplit(url).path,
                    status=status,
                    attempt=number,
                    outcome=outcome,
                    elapsed_ms=round((time.monotonic() - started) * 1000, 1),
                )

        return await call_with_retries(
            attempt,
            op=op,
            idempotent=idempotent,
            deadline=deadline,
            policy=self.policy,
            log=self.log,
            on_retry=lambda _exc: metrics.record_retry(platform, op),
        )
