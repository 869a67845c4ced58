"""The retry engine (``adapters.calls.retry``): which failures it tries again, and how.

The table ``should_retry`` follows, the default status mapping it reads
(``adapters.calls.statuses``), then the engine: its own attempts per call, no retried
cancellation, and waits capped and kept within the deadline.
"""

from __future__ import annotations

import asyncio

import pytest

from adapters.calls.policy import RetryPolicy
from adapters.calls.resilience import CircuitOpen
from adapters.calls.retry import call_with_retries, should_retry
from adapters.calls.statuses import error_for_status
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
from tests.adapters.call_helpers import SHORT_TIMEOUTS as POLICY
from tests.adapters.conftest import FakeClock, deadline


class NullLog:
    def info(self, *args: object, **kwargs: object) -> None:
        pass


# --- the retry table ------------------------------------------------------------------------------

P = "BIGCOMMERCE"


@pytest.mark.parametrize(
    ("exc", "idempotent", "expected"),
    [
        (PlatformUnavailable("x", platform=P, may_have_applied=False), False, True),
        (PlatformRateLimited("x", platform=P, status=429, retry_after=1), False, True),
        (PlatformRejected("x", platform=P, status=422), True, False),
        (PlatformAuthFailed("x", platform=P, status=401), True, False),
        (PlatformNotFound("x", platform=P, status=404), True, False),
        (PlatformConflict("x", platform=P, status=409), True, False),
        (PlatformServerError("x", platform=P, status=502), False, False),
        (PlatformServerError("x", platform=P, status=502), True, True),
        (PlatformServerError("x", platform=P, status=500), False, False),  # generic policy
        (PlatformServerError("x", platform=P, status=503, retry_after=1), False, True),
        (PlatformServerError("x", platform=P, status=503, may_have_applied=False), True, True),
        (PlatformServerError("x", platform=P, status=503, may_have_applied=False), False, False),
        (PlatformTimeout("x", platform=P), False, False),
        (PlatformTimeout("x", platform=P), True, True),
        (CircuitOpen("x", platform=P, retry_after=5, may_have_applied=False), True, False),
    ],
)
def test_should_retry_follows_the_retry_table(
    exc: PlatformError, idempotent: bool, expected: bool
) -> None:
    assert should_retry(exc, idempotent=idempotent, policy=POLICY) is expected


def test_a_503_applied_nothing_other_5xx_left_the_outcome_unknown() -> None:
    assert error_for_status(503, "down", platform=P).may_have_applied is False
    assert error_for_status(500, "boom", platform=P).may_have_applied is True
    assert error_for_status(504, "late", platform=P).may_have_applied is True


def test_a_platform_policy_may_retry_500_answers_for_creates() -> None:
    policy = RetryPolicy(retry_answers_on_create=frozenset({500, 503}))
    assert should_retry(
        PlatformServerError("x", platform=P, status=500), idempotent=False, policy=policy
    )
    assert not should_retry(
        PlatformServerError("x", platform=P, status=504), idempotent=False, policy=policy
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (401, PlatformAuthFailed),
        (404, PlatformNotFound),
        (409, PlatformConflict),
        (429, PlatformRateLimited),
        (500, PlatformServerError),
        (400, PlatformRejected),
    ],
)
def test_error_for_status_default_mapping(status: int, kind: type[PlatformError]) -> None:
    exc = error_for_status(status, "msg", platform=P)
    assert type(exc) is kind and exc.platform_status == status


# --- the retry engine -----------------------------------------------------------------------------


async def test_each_concurrent_call_gets_its_own_attempts() -> None:
    attempts: dict[int, list[int]] = {}

    async def run(i: int) -> int:
        async def attempt(n: int) -> int:
            attempts.setdefault(i, []).append(n)
            await asyncio.sleep(0)
            if n < 3:
                raise PlatformUnavailable("down", platform=P, may_have_applied=False)
            return i

        return await call_with_retries(
            attempt, op="get", idempotent=True, deadline=deadline(), policy=POLICY, log=NullLog()
        )

    assert await asyncio.gather(*(run(i) for i in range(20))) == list(range(20))
    assert all(ns == [1, 2, 3] for ns in attempts.values())


async def test_cancellation_inside_an_attempt_is_never_retried() -> None:
    calls = 0
    entered = asyncio.Event()

    async def attempt(n: int) -> None:
        nonlocal calls
        calls += 1
        entered.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(
        call_with_retries(
            attempt, op="get", idempotent=True, deadline=deadline(), policy=POLICY, log=NullLog()
        )
    )
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        async with asyncio.timeout(1):  # a retried cancellation would hang here
            await task
    assert calls == 1


async def test_a_retry_after_beyond_the_deadline_raises_at_once(clock: FakeClock) -> None:
    calls = 0

    async def attempt(n: int) -> None:
        nonlocal calls
        calls += 1
        raise PlatformRateLimited("slow down", platform=P, status=429, retry_after=0.5)

    with pytest.raises(PlatformRateLimited):
        await call_with_retries(
            attempt,
            op="get",
            idempotent=True,
            deadline=deadline(0.3),
            policy=POLICY,
            log=NullLog(),
            clock=clock,
            sleep=clock.sleep,
        )
    assert clock.slept == []  # no wait begun
    assert calls == 1


async def test_retry_after_is_capped(clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=2, retry_after_cap_s=0.05)
    calls = 0

    async def attempt(n: int) -> str:
        nonlocal calls
        calls += 1
        if n == 1:
            raise PlatformRateLimited("slow down", platform=P, status=429, retry_after=30)
        return "ok"

    assert (
        await call_with_retries(
            attempt,
            op="get",
            idempotent=True,
            deadline=deadline(),
            policy=policy,
            log=NullLog(),
            clock=clock,
            sleep=clock.sleep,
        )
        == "ok"
    )
    assert clock.slept == [0.05]  # the cap, not the 30 s asked
    assert calls == 2


async def test_errors_outside_the_taxonomy_are_not_retried() -> None:
    calls = 0

    async def attempt(n: int) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("bug")

    with pytest.raises(RuntimeError):
        await call_with_retries(
            attempt, op="get", idempotent=True, deadline=deadline(), policy=POLICY, log=NullLog()
        )
    assert calls == 1
