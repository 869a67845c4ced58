"""A merchant's new connection starts with a closed circuit: ``reset_store`` closes the
circuits of one store (its base URL and the keys under it) and no other's."""

from __future__ import annotations

import pytest

from adapters.bigcommerce import BIGCOMMERCE
from adapters.calls.resilience import CircuitBreakers, CircuitOpen, CircuitState
from adapters.registry import AdapterRegistry
from errors import PlatformServerError
from tests.adapters.conftest import OTHER_STORE, STORE, TOKEN, FakeClock, fast_settings

P = "BIGCOMMERCE"


def trip(breakers: CircuitBreakers, key: str) -> None:
    """Fail calls to ``key`` until its circuit opens (at most 20: any threshold in use)."""
    for _ in range(20):
        with pytest.raises(PlatformServerError), breakers.guard(key, P):
            raise PlatformServerError("500", platform=P, status=500)
        if breakers.state(key) is CircuitState.OPEN:
            return
    pytest.fail(f"{key}'s circuit never opened")


def test_reset_store_closes_that_store_and_its_sub_keys_only(clock: FakeClock) -> None:
    breakers = CircuitBreakers(failure_threshold=1, reset_s=60, clock=clock)
    for key in (STORE, f"{STORE}/oauth/access_token", OTHER_STORE, f"{STORE}-other"):
        trip(breakers, key)

    assert breakers.reset_store(STORE + "/") == 2

    assert breakers.state(STORE) is CircuitState.CLOSED
    assert breakers.state(f"{STORE}/oauth/access_token") is CircuitState.CLOSED
    assert breakers.state(OTHER_STORE) is CircuitState.OPEN
    assert breakers.state(f"{STORE}-other") is CircuitState.OPEN  # a prefix, not a path under it
    with breakers.guard(STORE, P):
        pass  # a call goes through at once
    with pytest.raises(CircuitOpen), breakers.guard(OTHER_STORE, P):
        pytest.fail("the other store's circuit stays open")


async def test_the_registry_resets_the_store_a_connection_calls(clock: FakeClock) -> None:
    registry = AdapterRegistry(fast_settings(), clock=clock)
    try:
        breakers = registry.resilience(BIGCOMMERCE).breakers
        trip(breakers, STORE)
        trip(breakers, OTHER_STORE)
        connection = {"api_url": STORE, "access_token": TOKEN}
        assert registry.reset_circuits(BIGCOMMERCE, connection) == 1
        assert breakers.state(STORE) is CircuitState.CLOSED
        assert breakers.state(OTHER_STORE) is CircuitState.OPEN
    finally:
        await registry.aclose()
