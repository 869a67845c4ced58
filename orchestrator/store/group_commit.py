"""Group commit: the create path's writes of concurrent requests share one transaction.

Writes that arrive while a flush holds the database are merged into the next one, with no
added latency when they do not; each caller still returns only once its own rows are
committed, and a failed batch is run again write by write. Why and the measurement:
docs/decisions/0005-group-commit.md.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import Connection, Executable, select

from errors import Overloaded
from orchestrator.store.database import Database, gave_up_waiting
from orchestrator.store.tables import carts
from orchestrator.store.waits import REQUEST_BUDGET, START_MIN_S, finishing

log = structlog.get_logger(__name__)

Rows = list[dict[str, Any]]
SLOW_FLUSH_S = 0.25  # a flush this long (lock wait + transaction) is logged at warning


class StaleWrite(Exception):
    """The cart a write's ``check`` named is no longer at that version (nothing was written)."""


@dataclass(slots=True)
class RowWrite:
    """One request's write: parameter rows per statement, and an optional version check.

    ``rows`` maps statements to their rows; a batch runs the statements in the order the
    ``GroupCommit`` was given, each once with every write's rows. ``check`` = (statement, cart
    id, params): that statement (an UPDATE of the carts row guarded by its version) must match
    exactly one row, else the write is stale.
    """

    rows: dict[Executable, Rows]
    check: tuple[Executable, str, dict[str, Any]] | None = None


@dataclass(slots=True, eq=False)
class _Queued:
    write: RowWrite
    done: asyncio.Future[None]
    first: bool  # the caller has written before: it queues with the finishing writers
    until: float  # monotonic time its wait ends
    taken: bool = False


@dataclass
class GroupCommitStats:
    """Counters for tests and the profile: how many flushes and how many writes they carried."""

    flushes: int = 0
    writes: int = 0
    alone: int = 0  # writes run again alone after their batch failed
    slow: int = 0  # flushes that took SLOW_FLUSH_S or more
    largest: int = 0
    sizes: dict[int, int] = field(default_factory=dict)


class GroupCommit:
    """Merges concurrent ``RowWrite``s into shared transactions on one ``Database``."""

    def __init__(self, db: Database, order: Sequence[Executable]) -> None:
        self._db = db
        self._order = tuple(order)
        self._queue: deque[_Queued] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        # The flush's queued wait for SQLite's write lock, while it waits as a starting writer.
        self._lock_wait: asyncio.Future[None] | None = None
        self.stats = GroupCommitStats()
        # An engine that counts an executemany's matched rows lets a batch check versions with
        # the UPDATE itself; asyncpg does not (SQLAlchemy's supports_sane_multi_rowcount).
        self._counts_many = bool(db.engine.dialect.supports_sane_multi_rowcount)

    async def run(self, write: RowWrite) -> None:
        """Commit ``write`` (with whatever else is queued); ``StaleWrite`` if its check failed,
        ``Overloaded`` if it could not be started within the request's bound."""
        wait = self._db.wait_bound()
        entry = _Queued(
            write,
            asyncio.get_running_loop().create_future(),
            first=finishing(),
            until=time.monotonic() + wait,
        )
        # Retrieved even when its caller is gone (cancelled): no "never retrieved" warnings.
        entry.done.add_done_callback(_retrieve)
        self._queue.append(entry)
        if entry.first and self._lock_wait is not None:
            # The flush waiting for the lock now carries a finishing write: it waits as one.
            self._db.promote_writer(self._lock_wait)
            self._lock_wait = None
        if self._flusher is None:
            # An empty context: the flush serves many requests, none of whose budget is its own.
            self._flusher = asyncio.create_task(self._drain(), context=contextvars.Context())
        try:
            async with asyncio.timeout(wait):
                await asyncio.shield(entry.done)
        except TimeoutError:
            if entry.done.done() or entry.taken:  # its outcome is the caller's answer
                await entry.done
            else:
                if entry in self._queue:
                    self._queue.remove(entry)
                raise gave_up_waiting("a turn for this write", wait) from None
        except asyncio.CancelledError:
            if not entry.taken and entry in self._queue:
                self._queue.remove(entry)
            raise
        budget = REQUEST_BUDGET.get()
        if budget is not None:
            budget.wrote = True

    async def _drain(self) -> None:
        try:
            while self._queue:
                await self._flush_once()
        finally:
            self._flusher = None

    async def aclose(self) -> None:
        """Wait for the writes in flight (the flush and any write run again alone): called
        before the database closes, so none of them finds it gone."""
        while self._flusher is not None or self._tasks:
            pending = [t for t in (self._flusher, *self._tasks) if t is not None]
            await asyncio.wait(pending)

    async def _flush_once(self) -> None:
        now = time.monotonic()
        first = any(e.first for e in self._queue)
        wait = max(START_MIN_S, max(e.until for e in self._queue) - now)
        batch: list[_Queued] = []

        def waiting(waiter: asyncio.Future[None]) -> None:
            if not first:  # a finishing write queued meanwhile promotes it (``run``)
                self._lock_wait = waiter

        try:
            async with self._db.write_slot(first=first, wait_s=wait, on_wait=waiting) as run:
                had = time.monotonic()
                self._lock_wait = None
                # The database is had: everyone queued by now rides along (taken here, on the
                # event loop, where a caller giving up looks at ``taken``).
                while self._queue:
                    entry = self._queue.popleft()
                    entry.taken = True
                    batch.append(entry)
                stale = await run(lambda conn: self._execute(conn, batch))
            self._report_slow(len(batch), had - now, time.monotonic() - had)
        except Overloaded as exc:
            if batch:  # not so far: it is raised only before the write side is had
                self._fail(batch, exc)
                return
            # Nothing was taken: the queued writers give up on their own bounds (all of them,
            # by now); let them run before the next try.
            await asyncio.sleep(0)
            return
        except Exception as exc:
            if not batch:  # no connection at all: every queued writer hears why, as it would
                while self._queue:  # have from its own connect
                    entry = self._queue.popleft()
                    entry.taken = True
                    batch.append(entry)
                for entry in batch:
                    _settle(entry, exc)
                return
            self._fail(batch, exc)
            return
        except BaseException as exc:  # cancelled (shutdown): nobody taken is left waiting
            for entry in batch:
                _settle(entry, exc)
            raise
        finally:
            self._lock_wait = None
        self._count(len(batch))
        for entry in batch:
            _settle(entry, StaleWrite("the cart moved on") if entry in stale else None)

    def _report_slow(self, writes: int, waited_s: float, ran_s: float) -> None:
        """A flush past ``SLOW_FLUSH_S`` is an operator's concern: every create waits for it.
        The benchmark sees rare stalls of 0.1-2 s under steady load (BENCHMARKS.md's analysis);
        this says whether the database side holds them, and which half: the wait for the
        write side (lock or pool) or the transaction itself."""
        if waited_s + ran_s >= SLOW_FLUSH_S:
            self.stats.slow += 1
            log.warning(
                "group_commit_slow",
                writes=writes,
                wait_ms=round(waited_s * 1000, 1),
                transaction_ms=round(ran_s * 1000, 1),
            )

    def _fail(self, batch: list[_Queued], exc: BaseException) -> None:
        """A batch rolled back: a lone write gets its error; each of several runs again alone."""
        if len(batch) == 1:
            _settle(batch[0], exc)
            return
        self.stats.alone += len(batch)
        log.info("group_commit_split", writes=len(batch), error=type(exc).__name__)
        for entry in batch:
            task = asyncio.get_running_loop().create_task(self._alone(entry))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _alone(self, entry: _Queued) -> None:
        # Its own bound, from now: a finishing write keeps its floor (its external carts are
        # made) however long the failed batch took.
        floor = self._db.settle_s if entry.first else START_MIN_S
        try:
            wait = max(floor, entry.until - time.monotonic())
            async with self._db.write_slot(first=entry.first, wait_s=wait) as run:
                stale = await run(lambda conn: self._execute(conn, [entry]))
        except BaseException as exc:  # handed to the one caller it belongs to
            _settle(entry, exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        self._count(1)
        _settle(entry, StaleWrite("the cart moved on") if stale else None)

    def _execute(self, conn: Connection, batch: list[_Queued]) -> set[_Queued]:
        """Run the batch's statements on ``conn``; the writes left out as stale."""
        stale: set[_Queued] = set()
        checked = [e for e in batch if e.write.check is not None]
        if len(checked) > 1 and not self._counts_many:
            # asyncpg: lock the batch's carts and compare versions before any statement.
            ids = [e.write.check[1] for e in checked if e.write.check is not None]
            found = conn.execute(
                select(carts.c.id, carts.c.version).where(carts.c.id.in_(ids)).with_for_update()
            )
            versions = {cart_id: version for cart_id, version in found}
            for e in checked:
                assert e.write.check is not None
                _, cart_id, guard = e.write.check
                if versions.get(cart_id) != guard["seen"]:
                    stale.add(e)
        live = [e for e in batch if e not in stale]
        checks: dict[Executable, Rows] = {}
        for e in live:
            if e.write.check is not None:
                guarded, _, guard = e.write.check
                checks.setdefault(guarded, []).append(guard)
        for statement in self._order:
            if statement in checks:
                guards = checks[statement]
                matched = conn.execute(statement, guards[0] if len(guards) == 1 else guards)
                if (len(guards) == 1 or self._counts_many) and matched.rowcount != len(guards):
                    if len(live) == 1:  # rolled back: the lone caller hears StaleWrite
                        raise StaleWrite("the cart moved on")
                    raise _SplitBatch(f"{len(guards) - matched.rowcount} stale writes")
            # One executemany per set of keys: SQLAlchemy builds the statement from the first
            # row's keys (writes are made to carry the same keys; this keeps a stray one right).
            groups: dict[tuple[str, ...], Rows] = {}
            for e in live:
                for row in e.write.rows.get(statement, ()):
                    groups.setdefault(tuple(row), []).append(row)
            for rows in groups.values():
                conn.execute(statement, rows)
        return stale

    def _count(self, size: int) -> None:
        s = self.stats
        s.flushes += 1
        s.writes += size
        s.largest = max(s.largest, size)
        s.sizes[size] = s.sizes.get(size, 0) + 1


def _settle(entry: _Queued, exc: BaseException | None) -> None:
    if entry.done.done():
        return
    if exc is None:
        entry.done.set_result(None)
    elif isinstance(exc, asyncio.CancelledError):
        entry.done.cancel()
    else:
        entry.done.set_exception(exc)


def _retrieve(done: asyncio.Future[None]) -> None:
    if not done.cancelled():
        done.exception()


class _SplitBatch(Exception):
    """A checked UPDATE matched fewer rows than the batch had writes: run each alone."""
