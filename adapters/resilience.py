"""Bulkheads, circuit breakers and call counters: a dead platform fails fast and stays contained.

Why it exists (design §4): a slow platform must not take every connection, and a dead store must
not make each cart wait for its timeouts. Bulkheads are per platform (the client's connection
pool is too); breakers are per merchant store (its base URL), so one dead BigCommerce store never
fails the other BigCommerce stores. ``PlatformMetrics`` keeps the counters the orchestrator
renders on ``/metrics``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from config import Settings
from errors import (
    PlatformError,
    PlatformServerError,
    PlatformTimeout,
    PlatformUnavailable,
)


class CircuitOpen(PlatformUnavailable):
    """The store's circuit is open: the call failed fast, nothing was sent. Never retried."""


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


def is_transient_failure(exc: BaseException) -> bool:
    """What trips a breaker: 5xx, timeouts, unreachable. Not 4xx, rejections or 429."""
    return isinstance(exc, PlatformServerError | PlatformTimeout | PlatformUnavailable) and not (
        isinstance(exc, CircuitOpen)
    )


@dataclass
class _Circuit:
    state: CircuitState = CircuitState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    trial_running: bool = False


class CircuitBreakers:
    """One closed/open/half-open breaker per key (a merchant store's base URL)."""

    def __init__(
        self,
        failure_threshold: int,
        reset_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failure_threshold
        self._reset_s = reset_s
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}

    def state(self, key: str) -> CircuitState:
        circuit = self._circuits.get(key)
        if circuit is None:
            return CircuitState.CLOSED
        if (
            circuit.state is CircuitState.OPEN
            and self._clock() - circuit.opened_at >= self._reset_s
        ):
            return CircuitState.HALF_OPEN
        return circuit.state

    def states(self) -> dict[str, str]:
        return {key: str(self.state(key)) for key in self._circuits}

    def _admit(self, key: str, platform: str) -> bool:
        """Let a call through or raise ``CircuitOpen``; True for the half-open trial call."""
        circuit = self._circuits.setdefault(key, _Circuit())
        if self.state(key) is CircuitState.CLOSED:
            return False
        if self.state(key) is CircuitState.HALF_OPEN and not circuit.trial_running:
            circuit.state = CircuitState.HALF_OPEN
            circuit.trial_running = True
            return True
        wait = max(self._reset_s - (self._clock() - circuit.opened_at), 0.0)
        why = "a trial call is under way" if circuit.trial_running else f"{wait:.1f}s more"
        raise CircuitOpen(
            f"{platform} circuit is open for this store after {self._threshold} consecutive "
            f"failures; calls fail fast ({why})",
            platform=platform,
            retry_after=wait,
            may_have_applied=False,
        )

    def _record(self, key: str, *, failed: bool) -> None:
        circuit = self._circuits.setdefault(key, _Circuit())
        circuit.trial_running = False
        if not failed:
            circuit.state, circuit.failures = CircuitState.CLOSED, 0
            return
        circuit.failures += 1
        if circuit.state is CircuitState.HALF_OPEN or circuit.failures >= self._threshold:
            circuit.state, circuit.opened_at = CircuitState.OPEN, self._clock()

    @contextmanager
    def guard(self, key: str, platform: str) -> Iterator[None]:
        """Wrap one attempt: fail fast when open, and count its outcome."""
        trial = self._admit(key, platform)
        try:
            yield
        except PlatformError as exc:
            self._record(key, failed=is_transient_failure(exc))
            raise
        except BaseException:
            # Cancelled or a bug: no verdict on the store, but free the half-open trial slot.
            if trial:
                self._circuits[key].trial_running = False
            raise
        else:
            self._record(key, failed=False)


class Bulkheads:
    """A concurrency limit per platform; waiting for a slot counts against the deadline."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(self, platform: str, deadline: float) -> AsyncIterator[None]:
        semaphore = self._semaphores.setdefault(platform, asyncio.Semaphore(self._limit))
        try:
            async with asyncio.timeout(max(deadline - time.monotonic(), 0.0)):
                await semaphore.acquire()
        except TimeoutError:
            raise PlatformUnavailable(
                f"{platform}: all {self._limit} call slots stayed busy until the deadline;"
                " nothing was sent",
                platform=platform,
                may_have_applied=False,
            ) from None
        try:
            yield
        finally:
            semaphore.release()

    def in_use(self) -> dict[str, int]:
        # asyncio.Semaphore has no public counter; _value is stable across CPython 3.8-3.13.
        return {p: self._limit - s._value for p, s in self._semaphores.items()}


class PlatformMetrics:
    """In-memory counters of platform calls and retries, for Prometheus text later."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()  # (platform, outcome)
        self.retries: Counter[tuple[str, str]] = Counter()  # (platform, op)

    def record_call(self, platform: str, outcome: str) -> None:
        self.calls[(platform, outcome)] += 1

    def record_retry(self, platform: str, op: str) -> None:
        self.retries[(platform, op)] += 1

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        return {
            "platform_calls": [
                {"platform": p, "outcome": o, "count": n}
                for (p, o), n in sorted(self.calls.items())
            ],
            "platform_retries": [
                {"platform": p, "op": op, "count": n} for (p, op), n in sorted(self.retries.items())
            ],
        }


class Resilience:
    """The bulkheads, breakers and metrics one registry shares between its adapters."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.bulkheads = Bulkheads(settings.platform_concurrency)
        self.breakers = CircuitBreakers(
            settings.circuit_failure_threshold, settings.circuit_reset_s, clock
        )
        self.metrics = PlatformMetrics()

    def states(self) -> dict[str, str]:
        """Circuit state per store base URL, for ``/metrics``."""
        return self.breakers.states()
