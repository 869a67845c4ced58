"""The explorer's clock: the one place where time moves (``jump_clock``).

Why: leases, the reconciler's settle cut-off, the outbox's backoff and cart expiry all compare
against "now", and the races the explorer hunts need a create to overrun its lease while it is
parked, without waiting minutes of real time. Some of those comparisons read the services'
injected ``clock``, others (lease takes, outbox due times, the sweeper's lease test) still read
``datetime.now(UTC)`` in their modules; until those move to the database's clock with the
Database's time-offset seam, ``shift_wall_clock`` points those modules' ``datetime`` at one
that adds the explorer's offset. When the seam lands, ``jump_clock`` sets the Database's offset
instead, and ``shift_wall_clock`` goes.

Monotonic deadlines (``time.monotonic()``) are not shifted: the explorer gives requests long
deadlines so that a parked call is never cut short by real time.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo

# The modules that read the wall clock themselves. ``orchestrator.http.idempotency`` is left
# on real time: a jump past a day would purge stored answers and make every replay re-run.
WALL_CLOCK_READERS = (
    "orchestrator.service.carts",
    "orchestrator.service.mutations",
    "orchestrator.service.bag_retry",
    "orchestrator.service.deletion",
    "orchestrator.service.expiry",
    "orchestrator.service.references",
    "orchestrator.service.reconciler",
    "orchestrator.store.carts",
    "orchestrator.store.outbox",
    "orchestrator.http.sku_routes",
    "orchestrator.http.reference_routes",
)

_REAL_DATETIME = datetime


class ExploreClock:
    """Real UTC time plus an offset that only grows (``jump_clock``)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return _REAL_DATETIME.now(UTC) + self.offset


CLOCK = ExploreClock()  # one per process: the patched modules are process-wide too


def jump_clock(seconds: float) -> None:
    """Move every clock the service reads forward by ``seconds`` (see the module's doc)."""
    CLOCK.offset += timedelta(seconds=seconds)


def reset_clock() -> None:
    CLOCK.offset = timedelta(0)


class _ShiftedDatetime(_REAL_DATETIME):
    """``datetime`` whose ``now()`` is ``CLOCK.now()``; everything else is datetime's own."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        return (_REAL_DATETIME.now(tz) + CLOCK.offset) if tz is not None else _naive_now()


def _naive_now() -> datetime:
    return _REAL_DATETIME.now() + CLOCK.offset


@contextmanager
def shift_wall_clock() -> Iterator[ExploreClock]:
    """Within the block, the wall-clock readers' ``datetime.now`` follows ``CLOCK``."""
    modules = [importlib.import_module(name) for name in WALL_CLOCK_READERS]
    saved = [getattr(module, "datetime") for module in modules]  # noqa: B009 - not typed
    for module in modules:
        setattr(module, "datetime", _ShiftedDatetime)  # noqa: B010
    try:
        yield CLOCK
    finally:
        for module, original in zip(modules, saved, strict=True):
            setattr(module, "datetime", original)  # noqa: B010
