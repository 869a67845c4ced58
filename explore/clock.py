"""The explorer's clock: the one place where time moves (``jump_clock``).

Why: leases, the reconciler's settle cut-off, the outbox's backoff and cart expiry all compare
against "now", and the races the explorer hunts need a create to overrun its lease while it is
parked, without waiting minutes of real time. Leases, claims, key locks and the expiry sweep
compare on the database's clock: ``jump_clock`` moves it through the Database's seam
(``clock_offset_s`` of the database ``follow_clock`` registered). The app's own times (a
cart's dates, an outbox entry's schedule) come from the clock the world builds its app with
(``CLOCK.now``), and in the few modules that still read ``datetime.now`` themselves,
``shift_wall_clock`` points their ``datetime`` at one that adds the same offset.

Monotonic deadlines (``time.monotonic()``) are not shifted: the explorer gives requests long
deadlines so that a parked call is never cut short by real time.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, tzinfo

from orchestrator.store.database import Database

# The modules that still read the wall clock themselves; every use case reads the clock the
# composition root hands it (``create_app(clock=CLOCK.now)``). A module that reads
# ``datetime.now`` and is missing here keeps real time while the database jumps, and the
# explorer then reports carts that look unaccounted for: ``tests/explore/test_clock_readers.py``
# keeps this list whole.
WALL_CLOCK_READERS = ("orchestrator.store.outbox",)

_REAL_DATETIME = datetime


class ExploreClock:
    """Real UTC time plus an offset that only grows (``jump_clock``), and the databases whose
    clock follows it."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.database: Database | None = None  # the world's; one world at a time

    def move_databases(self) -> None:
        if self.database is not None:
            self.database.clock_offset_s = self.offset.total_seconds()

    def now(self) -> datetime:
        return _REAL_DATETIME.now(UTC) + self.offset


CLOCK = ExploreClock()  # one per process: the patched modules are process-wide too


def jump_clock(seconds: float) -> None:
    """Move every clock the service reads forward by ``seconds`` (see the module's doc)."""
    CLOCK.offset += timedelta(seconds=seconds)
    CLOCK.move_databases()


def reset_clock() -> None:
    CLOCK.offset = timedelta(0)
    CLOCK.move_databases()


def follow_clock(db: Database) -> None:
    """``db``'s clock (leases, claims, locks) moves with every jump from now on."""
    CLOCK.database = db
    CLOCK.move_databases()


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
