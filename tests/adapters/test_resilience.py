"""Circuit breakers per store, bulkheads per platform, and the call counters."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import respx

from adapters.bigcommerce import BIGCOMMERCE, BigCommerceAdapter
from adapters.calls.resilience import (
    Bulkheads,
    CircuitBreakers,
    CircuitOpen,
    CircuitState,
    PlatformMetrics,
    Resilience,
)
from adapters.registry import AdapterRegistry
from errors import (
    Cause,
    PlatformRejected,
    PlatformServerError,
    PlatformTimeout,
    PlatformUnavailable,
)
from tests.adapters.bigcommerce_answers import bc_cart
from tests.adapters.conftest import CART_ID, OTHER_STORE, STORE, FakeClock, deadline, fast_settings

P = "BIGCOMMERCE"


def fail(breakers: CircuitBreakers, key: str, exc: Exception) -> None:
    with pytest.raises(type(exc)), breakers.guard(key, P):
        raise exc


def test_breaker_opens_after_consecutive_transient_failures(clock: FakeClock) -> None:
    breakers = CircuitBreakers(failure_threshold=3, reset_s=10, clock=clock)
    for _ in range(2):
        fail(breakers, "a", PlatformServerError("500", platform=P, status=500))
    assert breakers.state("a") is CircuitState.CLOSED
    fail(breakers, "a", PlatformTimeout("slow", platform=P))
    assert breakers.state("a") is CircuitState.OPEN

    clock.advance(4)
    with pytest.raises(CircuitOpen) as info, breakers.guard("a", P):
        pytest.fail("an open circuit must not let the call run")
    assert info.value.cause == Cause.PLATFORM_UNAVAILABLE
    assert info.value.retry_after == pytest.approx(6, abs=0.5)  # 10 - 4 (real time flows too)
    assert info.value.may_have_applied is False
    assert "circuit is open" in info.value.message


def test_rejections_do_not_count_and_a_success_resets(clock: FakeClock) -> None:
    breakers = CircuitBreakers(failure_threshold=2, reset_s=10, clock=clock)
    fail(breakers, "a", PlatformServerError("500", platform=P, status=500))
    fail(breakers, "a", PlatformRejected("stock", platform=P, status=422))  # the store answered
    fail(breakers, "a", PlatformServerError("500", platform=P, status=500))
    assert breakers.state("a") is CircuitState.CLOSED


def test_half_open_lets_one_trial_through_then_closes_or_reopens(clock: FakeClock) -> None:
    breakers = CircuitBreakers(failure_threshold=1, reset_s=10, clock=clock)
    fail(breakers, "a", PlatformServerError("500", platform=P, status=500))
    clock.advance(10)
    assert breakers.state("a") is CircuitState.HALF_OPEN

    fail(breakers, "a", PlatformServerError("500", platform=P, status=500))  # the trial fails
    assert breakers.state("a") is CircuitState.OPEN
    clock.advance(10)
    trial = breakers.guard("a", P)
    trial.__enter__()  # the trial call is under way
    with pytest.raises(CircuitOpen, match="trial"), breakers.guard("a", P):
        pass  # a second call while the trial runs fails fast
    trial.__exit__(None, None, None)
    assert breakers.state("a") is CircuitState.CLOSED


def test_a_cancelled_trial_frees_the_half_open_slot(clock: FakeClock) -> None:
    breakers = CircuitBreakers(failure_threshold=1, reset_s=10, clock=clock)
    fail(breakers, "a", PlatformServerError("500", platform=P, status=500))
    clock.advance(10)
    with pytest.raises(asyncio.CancelledError), breakers.guard("a", P):
        raise asyncio.CancelledError
    with breakers.guard("a", P):
        pass
    assert breakers.state("a") is CircuitState.CLOSED


async def test_adapter_fails_fast_per_store_and_half_opens_after_the_reset(
    registry: AdapterRegistry, clock: FakeClock
) -> None:
    store = registry.for_merchant("m1", BIGCOMMERCE, {"api_url": STORE, "access_token": "t"})
    other = registry.for_merchant("m2", BIGCOMMERCE, {"api_url": OTHER_STORE, "access_token": "t"})
    assert isinstance(store, BigCommerceAdapter) and isinstance(other, BigCommerceAdapter)
    with respx.mock(using="httpx") as mock:
        dead = mock.get(f"{STORE}/carts/{CART_ID}").mock(return_value=httpx.Response(500))
        alive = mock.get(f"{OTHER_STORE}/carts/{CART_ID}").mock(
            return_value=httpx.Response(200, json=bc_cart())
        )
        with pytest.raises(PlatformServerError):  # 3 attempts = threshold 3
            await store.get_cart(CART_ID, deadline=deadline())
        assert dead.call_count == 3
        assert registry.resilience(BIGCOMMERCE).breakers.state(STORE) == "open"

        assert len(clock.slept) == 2  # the backoffs between the 3 attempts
        with pytest.raises(CircuitOpen):
            await store.get_cart(CART_ID, deadline=deadline())
        assert dead.call_count == 3  # no request was sent
        assert len(clock.slept) == 2  # and no wait: failed fast

        assert (await other.get_cart(CART_ID, deadline=deadline())).external_id == CART_ID
        assert alive.call_count == 1

        clock.advance(30)
        assert registry.resilience(BIGCOMMERCE).breakers.state(STORE) == "half_open"
        dead.mock(return_value=httpx.Response(200, json=bc_cart()))
        assert (await store.get_cart(CART_ID, deadline=deadline())).external_id == CART_ID
        assert registry.resilience(BIGCOMMERCE).breakers.state(STORE) == "closed"

    snapshot = registry.metrics.snapshot()
    calls = {(c["platform"], c["outcome"]): c["count"] for c in snapshot["platform_calls"]}
    assert calls == {(P, "platform_error"): 3, (P, "circuit_open"): 1, (P, "ok"): 2}
    assert snapshot["platform_retries"] == [{"platform": P, "op": "get_cart", "count": 2}]


async def test_a_retry_that_meets_the_circuit_its_trial_reopened_answers_the_trials_failure(
    registry: AdapterRegistry, clock: FakeClock
) -> None:
    """The half-open trial is sent and fails (a 500: maybe applied); its retry then meets the
    circuit the trial reopened. The call used to raise CircuitOpen ("nothing was sent"), hiding
    the trial: an outbox delete was then never counted as failing, and never given up."""
    store = registry.for_merchant("m1", BIGCOMMERCE, {"api_url": STORE, "access_token": "t"})
    assert isinstance(store, BigCommerceAdapter)
    breakers = registry.resilience(BIGCOMMERCE).breakers
    with respx.mock(using="httpx") as mock:
        dead = mock.delete(f"{STORE}/carts/{CART_ID}").mock(return_value=httpx.Response(500))
        with pytest.raises(PlatformServerError):
            await store.delete_cart(CART_ID, deadline=deadline())
        assert breakers.state(STORE) == "open"
        clock.advance(30)
        assert breakers.state(STORE) == "half_open"
        sent = dead.call_count
        with pytest.raises(PlatformServerError) as raised:
            await store.delete_cart(CART_ID, deadline=deadline())
        assert not isinstance(raised.value, CircuitOpen)
        assert raised.value.may_have_applied
        assert dead.call_count == sent + 1  # the trial alone was sent
        assert breakers.state(STORE) == "open"


async def test_waiting_for_a_bulkhead_slot_counts_against_the_deadline(clock: FakeClock) -> None:
    bulkheads = Bulkheads(limit=1, clock=clock)
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with bulkheads.slot(P, deadline()):
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await held.wait()
    ends = deadline(60)
    clock.advance(60)  # the deadline has come, on the clock the bulkheads read: no wait left
    with pytest.raises(PlatformUnavailable) as info:
        async with bulkheads.slot(P, ends):
            pytest.fail("no slot was free")
    assert info.value.may_have_applied is False
    # The wait itself is a real timeout: not shorter than the time left, and a generous
    # bound after it (the slot is never freed: without the deadline this would hang).
    started = time.monotonic()
    with pytest.raises(PlatformUnavailable):
        async with bulkheads.slot(P, deadline(0.05)):
            pytest.fail("no slot was free")
    assert 0.04 <= time.monotonic() - started < 0.05 + 5.0
    async with bulkheads.slot("SHOPIFY", deadline(0.05)):  # other platforms are not affected
        pass
    release.set()
    await holder
    async with bulkheads.slot(P, deadline(0.05)):  # the held slot was given back
        pass


async def test_a_hung_store_holds_only_its_own_slots_and_other_stores_go_straight_through(
    clock: FakeClock,
) -> None:
    settings = fast_settings(platform_concurrency=4, platform_store_concurrency=2)
    resilience = Resilience(settings.for_platform(P), PlatformMetrics(), clock, clock.sleep)
    release = asyncio.Event()
    holding = 0

    async def hang_on(store: str) -> None:
        nonlocal holding
        async with (
            resilience.store_bulkheads.slot(P, deadline(), store=store),
            resilience.bulkheads.slot(P, deadline()),
        ):
            holding += 1
            await release.wait()

    hung = [asyncio.create_task(hang_on("https://hung.test")) for _ in range(2)]
    for _ in range(100):  # a bounded poll: both slots of the hung store taken
        if holding == 2:
            break
        await asyncio.sleep(0)
    assert holding == 2
    # No time left at all: the hung store's third slot would need a wait, the healthy
    # store's slots need none (a wait of any length would fail here).
    with pytest.raises(PlatformUnavailable, match="this store's"):
        async with resilience.store_bulkheads.slot(P, deadline(0), store="https://hung.test"):
            pytest.fail("the hung store got a third slot")
    async with (
        resilience.store_bulkheads.slot(P, deadline(0), store="https://healthy.test"),
        resilience.bulkheads.slot(P, deadline(0)),
    ):
        pass
    release.set()
    await asyncio.gather(*hung)


def test_store_concurrency_never_exceeds_the_platforms() -> None:
    settings = fast_settings(platform_concurrency=4, platform_store_concurrency=10)
    assert settings.for_platform(P).store_concurrency == 4
