"""Bulkheads, circuit breakers and call counters: a dead platform fails fast and stays contained.

Why it exists: a slow platform must not take every connection, and a dead store must not make
each cart wait for its timeouts. Bulkheads are per platform (the client's connection pool is
too) and per merchant store; breakers are per store (its base URL), so one dead or hung
BigCommerce store never fails or starves the other BigCommerce stores. ``PlatformMetrics``
counts calls and retries per platform; the registry shares one between its platforms and
``/metrics`` renders it (orchestrator/http/metrics.py).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from config import PlatformSettings
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

    def reset_store(self, base_url: str) -> int:
        """Close the circuits of the store at ``base_url`` (its own key and the keys under it,
        such as a token endpoint): a merchant's new connection starts with a closed circuit.
        Returns how many were dropped."""
        base = base_url.rstrip("/")
        keys = [k for k in self._circuits if k.rstrip("/") == base or k.startswith(base + "/")]
        for key in keys:
            del self._circuits[key]
        return len(keys)

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
    """A concurrency limit per platform or per store; waiting counts against the deadline."""

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._limit = limit
        self._clock = clock  # the deadline's clock
        self._semaphores: dict[str, asyncio.Semaphore] = {}

    @asynccontextmanager
    async def slot(
        self, platform: str, deadline: float, *, store: str | None = None
    ) -> AsyncIterator[None]:
        """A slot of ``platform``'s limit, or of ``store``'s when a store key is given."""
        key = store or platform
        semaphore = self._semaphores.get(key)
        if semaphore is None:
            semaphore = self._semaphores[key] = asyncio.Semaphore(self._limit)
        try:
            async with asyncio.timeout(max(deadline - self._clock(), 0.0)):
                await semaphore.acquire()
        except TimeoutError:
            whose = "this store's" if store else "the platform's"
            raise PlatformUnavailable(
                f"{platform}: all {self._limit} of {whose} call slots stayed busy until the"
                " deadline; nothing was sent",
                platform=platform,
                may_have_applied=False,
            ) from None
        try:
            yield
        finally:
            semaphore.release()


class PlatformMetrics:
    """In-memory counters of platform calls (by outcome, and by operation and outcome) and
    retries (by operation), and the stores called (whose breakers /metrics reports)."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str]] = Counter()  # (platform, outcome)
        self.calls_by_op: Counter[tuple[str, str, str]] = Counter()  # (platform, op, outcome)
        self.retries: Counter[tuple[str, str]] = Counter()  # (platform, op)
        self.stores: dict[str, set[str]] = {}  # platform -> breaker keys seen

    def record_call(
        self, platform: str, outcome: str, *, op: str = "", store: str | None = None
    ) -> None:
        self.calls[(platform, outcome)] += 1
        self.calls_by_op[(platform, op, outcome)] += 1
        if store is not None:
            self.stores.setdefault(platform, set()).add(store)

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
    """One platform's bulkheads and breakers, with the counters the registry shares.

    Two bulkheads: the platform's (``concurrency``, the size of its connection pool) and one per
    store (``store_concurrency``, smaller), taken first. A hung store holds at most its own
    slots, and so at most that many of the platform's connections: the other stores keep the
    rest. Measured before this existed: with the platform's limit at 4 and one store hanging,
    another store's create waited 1.44 s for a slot.

    ``clock`` and ``sleep`` are the time every call of the platform runs on (deadlines, the
    breakers' resets, the retries' waits): the real ones, but for tests, which pass their own
    so that a wait is asserted as decided, never timed.
    """

    def __init__(
        self,
        settings: PlatformSettings,
        metrics: PlatformMetrics,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self.bulkheads = Bulkheads(settings.concurrency, clock)
        self.store_bulkheads = Bulkheads(settings.store_concurrency, clock)
        self.breakers = CircuitBreakers(
            settings.circuit_failure_threshold, settings.circuit_reset_s, clock
        )
        self.metrics = metrics
