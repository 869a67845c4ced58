"""The retry engine every adapter's calls go through.

Why a module of its own: whether to try a failed call again is one decision for every platform:
never repeat a write whose outcome is unknown, wait as long as the platform says (capped), and
never sleep past the request's deadline. ``should_retry`` reads the error and the call's
``RetryPolicy`` (``adapters.calls.policy``) and nothing else. ``adapters.calls.caller`` wraps each
attempt in it; ``adapters.calls.http`` sends the attempts.

| outcome of an attempt                                   | sent? | retried                      |
|---------------------------------------------------------|-------|------------------------------|
| connect refused / DNS / connect timeout, circuit closed | no    | yes, jittered backoff        |
| host resolves to a refused address (``address_guard``)  | no    | never                        |
| 429, 503 with Retry-After, Shopify THROTTLED            | no    | after the wait, capped       |
| 400 / 401 / 403 / 404 / 409 / 422, GraphQL userErrors   | -     | never                        |
| 500 / 502 / 504, read timeout, reset after sending      | maybe | reads, PUTs and DELETEs only |
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    wait_random_exponential,
)

from adapters.calls.policy import RetryPolicy
from adapters.calls.resilience import CircuitOpen
from errors import (
    PlatformAddressRefused,
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


def should_retry(exc: PlatformError, *, idempotent: bool, policy: RetryPolicy) -> bool:
    """The module docstring's table. ``idempotent``: a read, an absolute-quantity PUT, a DELETE."""
    if isinstance(exc, CircuitOpen):  # fails fast until the reset; retrying cannot help
        return False
    if isinstance(exc, PlatformRateLimited):
        return True  # nothing was applied; wait as told
    if isinstance(exc, PlatformRejected | PlatformAuthFailed | PlatformNotFound | PlatformConflict):
        return False  # the platform answered no: the same request gets the same answer
    if isinstance(exc, PlatformAddressRefused):
        return False  # our policy said no, before sending: it says the same again
    if isinstance(exc, PlatformServerError):
        if idempotent and (exc.platform_status or 0) >= 500:
            return True  # a 5xx answer to a read or an absolute write: safe to send again
        if exc.platform_status in policy.retry_answers_on_create:
            return True
        if exc.platform_status == 503 and exc.retry_after is not None:
            return True  # "unavailable, come back then": not applied
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
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run ``attempt(n)`` (n = 1, 2, ...) until it returns, or raise its last ``PlatformError``.

    ``clock`` (the clock ``deadline`` is on) and ``sleep`` (how a wait is waited) are the real
    ones but for tests, which pass their own to see each wait exactly as it was decided.

    A new ``AsyncRetrying`` per call: one shared by concurrent calls made 1-2 attempts instead
    of 3 (measured with tenacity 9.2). The retry predicate is positive (only the
    ``PlatformError``s ``should_retry`` accepts), so ``CancelledError`` is never retried. No wait
    crosses ``deadline``: when the next one would, the last error is raised at once.
    """
    # Fast path: almost every call succeeds at once, and building the retrying machinery
    # per call cost ~5% of the create path's CPU (`python -m bench --profile`). A retryable
    # first failure is replayed to tenacity as its attempt 1, so what follows (waits, stop,
    # logs, attempt numbers) is exactly what tenacity would have done from the start.
    try:
        return await attempt(1)
    except PlatformError as exc:
        if not should_retry(exc, idempotent=idempotent, policy=policy):
            raise
        first_failure = exc
    retries = _Retries(
        attempt,
        first_failure,
        op=op,
        idempotent=idempotent,
        deadline=deadline,
        policy=policy,
        log=log,
        on_retry=on_retry,
        clock=clock,
        sleep=sleep,
    )
    return await retries.run()


class _Retries(Generic[T]):
    """One call's retries after a retryable first failure: tenacity's hooks and what they keep."""

    def __init__(
        self,
        attempt: Callable[[int], Awaitable[T]],
        first_failure: PlatformError,
        *,
        op: str,
        idempotent: bool,
        deadline: float,
        policy: RetryPolicy,
        log: Any,
        on_retry: Callable[[PlatformError], None] | None,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self._attempt, self._op, self._idempotent = attempt, op, idempotent
        self._deadline, self._policy, self._log = deadline, policy, log
        self._on_retry, self._clock, self._sleep = on_retry, clock, sleep
        self._first_failure = first_failure
        # The last failure of an attempt that got past the breaker: a retry that then meets the
        # circuit it opened (CircuitOpen: nothing sent) must not hide that an earlier attempt
        # was sent and failed (maybe applied); the call answers that failure instead.
        self._sent_failure = first_failure

    def _retryable(self, exc: BaseException) -> bool:
        return isinstance(exc, PlatformError) and should_retry(
            exc, idempotent=self._idempotent, policy=self._policy
        )

    async def run(self) -> T:
        """Tenacity from its attempt 1 (the first failure, replayed) until a return or the end."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(self._retryable),
            stop=self._stop,
            wait=_wait_seconds(self._policy),
            before_sleep=self._before_sleep,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for trial in retrying:
                with trial:
                    return await self._attempt_after_first(trial.retry_state.attempt_number)
        except CircuitOpen:
            raise self._sent_failure from None  # the first attempt got past the breaker (fast path)
        raise AssertionError("unreachable: tenacity returns or re-raises")  # pragma: no cover

    async def _attempt_after_first(self, number: int) -> T:
        if number == 1:
            raise self._first_failure
        try:
            return await self._attempt(number)
        except CircuitOpen:
            raise
        except PlatformError as exc:
            self._sent_failure = exc
            raise

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        assert isinstance(exc, PlatformError)
        self._log.info(
            "platform_retry",
            op=self._op,
            attempt=state.attempt_number,
            wait_ms=round((state.upcoming_sleep or 0.0) * 1000),
            cause=str(exc.cause),
            status=exc.platform_status,
        )
        if self._on_retry is not None:
            self._on_retry(exc)

    def _stop(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self._policy.max_attempts:
            return True
        wake = self._clock() + (state.upcoming_sleep or 0.0)
        return wake >= self._deadline - self._policy.min_attempt_s
