"""Faults the explorer injects, and the gates where it parks platform calls.

Why apart: the rules only say "the next call to this merchant fails so" or "the write after
next fails at commit"; this module turns that into behaviour at the two seams, the fake
platforms' ``hook`` (``adapters.fake``) and ``Database.fault_hook``
(``orchestrator.store.database``), and counts what struck.

Platform faults, on the next call (any operation) to one merchant's store:

- ``refuse``: a 422 out of stock, nothing applied;
- ``timeout_before``: a timeout before the request left, nothing applied;
- ``error_after_apply``: the platform applied it, then answered 500;
- ``lost_answer``: the platform applied it, the answer never came (a read timeout);
- ``park_before`` / ``park_after``: the call waits at a ``Gate`` before the platform applies
  it, or after it applied and before the answer returns, until a rule (or the settle) opens it.

Database faults, on the n-th write transaction from now (``WritePhase``): before its
statements, at its COMMIT (statements run, rolled back), after a COMMIT that succeeded.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy.exc import OperationalError

from adapters.fake import AfterApply, FakePlatform
from errors import Cause, PlatformRejected, PlatformServerError, PlatformTimeout
from orchestrator.store.database import WritePhase

PlatformFault = Literal[
    "refuse", "timeout_before", "error_after_apply", "lost_answer", "park_before", "park_after"
]
PLATFORM_FAULTS: tuple[PlatformFault, ...] = (
    "refuse",
    "timeout_before",
    "error_after_apply",
    "lost_answer",
    "park_before",
    "park_after",
)
WRITE_PHASES: tuple[WritePhase, ...] = ("before_statements", "at_commit", "after_commit")
PARK_MAX_S = 120.0


class InjectedDatabaseFailure(Exception):
    """The DBAPI-level cause of an injected write failure (wrapped as SQLAlchemy would)."""


@dataclass(eq=False)
class Gate:
    """A platform call held by the explorer; ``open`` lets it go on."""

    merchant: str
    op: str
    phase: Literal["before", "after"]
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def open(self) -> None:
        self.released.set()

    def __str__(self) -> str:
        return f"{self.merchant}.{self.op}@{self.phase}"


class PlatformFaults:
    """The fake platforms' ``hook``: faults armed per merchant, and the gates parked so far."""

    def __init__(self) -> None:
        self.armed: dict[str, deque[PlatformFault]] = {}
        self.parked: list[Gate] = []  # gates a call is waiting at, oldest first
        self.struck: dict[str, int] = {}
        self.enabled = True

    def arm(self, merchant: str, fault: PlatformFault) -> None:
        self.armed.setdefault(merchant, deque()).append(fault)

    def disarm(self) -> None:
        self.armed.clear()

    def open_all(self) -> None:
        for gate in self.parked:
            gate.open()
        self.parked.clear()

    def open(self, index: int) -> Gate | None:
        if not self.parked:
            return None
        gate = self.parked.pop(index % len(self.parked))
        gate.open()
        return gate

    def install(self, merchant: str, platform: FakePlatform) -> None:
        async def hook(op: str) -> AfterApply | None:
            return await self._before(merchant, platform, op)

        platform.hook = hook

    async def _park(self, gate: Gate) -> None:
        self.parked.append(gate)
        try:  # bounded: a gate nobody opens (a run torn down) lets its call go on
            async with asyncio.timeout(PARK_MAX_S):
                await gate.released.wait()
        except TimeoutError:
            if gate in self.parked:
                self.parked.remove(gate)

    async def _before(self, merchant: str, platform: FakePlatform, op: str) -> AfterApply | None:
        queue = self.armed.get(merchant)
        if not self.enabled or not queue:
            return None
        fault = queue.popleft()
        self.struck[fault] = self.struck.get(fault, 0) + 1
        name = platform.platform
        if fault == "refuse":
            raise PlatformRejected(
                f"{op}: out of stock (explorer)",
                platform=name,
                cause=Cause.OUT_OF_STOCK,
                status=422,
            )
        if fault == "timeout_before":
            raise PlatformTimeout(
                f"{op}: connect timeout (explorer)", platform=name, may_have_applied=False
            )
        if fault == "park_before":
            await self._park(Gate(merchant, op, "before"))
            return None

        async def after() -> None:
            if fault == "park_after":
                await self._park(Gate(merchant, op, "after"))
            elif fault == "error_after_apply":
                raise PlatformServerError(
                    f"{op}: 500 after applying (explorer)", platform=name, status=500
                )
            else:  # lost_answer
                raise PlatformTimeout(
                    f"{op}: no answer (explorer)", platform=name, may_have_applied=True
                )

        return after


class DatabaseFaults:
    """``Database.fault_hook``: the n-th write transaction from now fails at its phase."""

    def __init__(self) -> None:
        self._armed: list[tuple[int, WritePhase]] = []  # (writes still to let pass, phase)
        self.struck = 0
        self.struck_by_phase: dict[str, int] = {}

    def arm(self, skip: int, phase: WritePhase) -> None:
        self._armed.append((skip, phase))

    def disarm(self) -> None:
        self._armed.clear()

    def __call__(self) -> tuple[WritePhase, BaseException] | None:
        hit: WritePhase | None = None
        left: list[tuple[int, WritePhase]] = []
        for skip, phase in self._armed:
            if skip == 0 and hit is None:
                hit = phase
            else:
                left.append((max(0, skip - 1), phase))
        self._armed = left
        if hit is None:
            return None
        self.struck += 1
        self.struck_by_phase[hit] = self.struck_by_phase.get(hit, 0) + 1
        error = OperationalError(
            f"explorer: write failed {hit}", None, InjectedDatabaseFailure(hit)
        )
        return hit, error
