"""The database: one engine's transactions and bounded waits, shared by every store class.

Every store class (``carts``, ``catalog``, ``outbox``, ``apps``, ``leases``) takes one shared
``Database`` and runs each of its methods as one short transaction through ``write``/``read``.
Engines are built, tuned per engine, in ``engines.py``; migrations run from ``migrate.py``.
SQLite writes begin ``BEGIN IMMEDIATE`` behind one in-process lock (batches on a writer
thread); PostgreSQL uses a bounded pool and row locks; every wait is bounded by the request's
deadline (``waits.py``). ``fault_hook`` lets tests and the explorer fail a write at a chosen
phase. Why and the measurements: docs/decisions/0003-sqlite-writes.md.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Literal, Self, TypeVar

from sqlalchemy import ColumnElement, Connection, Engine, create_engine, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from errors import ErrorCode, Overloaded
from orchestrator.store.db_clock import db_now_plus
from orchestrator.store.engines import (
    DEFAULT_WAIT_S,
    WRITE,
    configure_sqlite,
    make_engine,
    sync_sqlite_engine,
)
from orchestrator.store.waits import REQUEST_BUDGET, SETTLE_S, WriteLock, bound, finishing

RETRY_AFTER_S = "1"
# SQLite checkpoints the WAL into the database file in whichever connection commits past 1,000
# WAL pages, inside that commit. On the group commit's writer that made one create's write take
# 300-470 ms now and then (the `group_commit_slow` events of `python -m bench --quick`, no lock
# wait in them), with every other create queued behind it. The writer's own checkpoints are off;
# a PASSIVE checkpoint runs on a thread of its own every this many of its transactions.
CHECKPOINT_EVERY = 100

T = TypeVar("T")

# Where an injected write failure strikes (``Database.fault_hook``): before the transaction's
# statements, after them (the COMMIT fails: rolled back), after a COMMIT that succeeded.
WritePhase = Literal["before_statements", "at_commit", "after_commit"]
# Called once per write transaction: None, or where to fail it and with what.
FaultHook = Callable[[], tuple[WritePhase, BaseException] | None]


def _strike(fault: tuple[WritePhase, BaseException] | None, phase: WritePhase) -> None:
    if fault is not None and fault[0] == phase:
        raise fault[1]


def _checkpoint(engine: Engine) -> None:
    """``PRAGMA wal_checkpoint(PASSIVE)`` on a connection of ``engine`` (autocommit: no
    transaction is open around it). PASSIVE never waits for the writer or the readers."""
    raw = engine.raw_connection()
    try:
        raw.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").close()
    finally:
        raw.close()


def gave_up_waiting(waiting_for: str, bound_s: float) -> Overloaded:
    """The 503 (``data.reason: database_wait``) for a database wait that ran out, counted on
    the current request's budget (for ``/metrics``)."""
    budget = REQUEST_BUDGET.get()
    if budget is not None:
        budget.gave_up += 1
    return Overloaded(
        f"The database did not give {waiting_for} within {bound_s:.2f} s; retry shortly.",
        kind=ErrorCode.OVERLOADED,
        data={"reason": "database_wait"},
        headers={"Retry-After": RETRY_AFTER_S},
    )


class Database:
    """One engine and the two ways every store method uses it: ``write`` and ``read``."""

    def __init__(
        self, engine: AsyncEngine, *, wait_s: float = DEFAULT_WAIT_S, settle_s: float = SETTLE_S
    ) -> None:
        self._engine = engine
        self.sqlite = engine.dialect.name == "sqlite"
        self._write_lock = WriteLock()
        self._wait_s = wait_s
        self._settle_s = settle_s
        # SQLite's batched writes (``write_slot``) run on one thread of their own, on a sync
        # connection: one hand-off per transaction instead of about three per statement.
        self._sync: Engine | None = sync_sqlite_engine(engine) if self.sqlite else None
        self._sync_thread = (
            ThreadPoolExecutor(1, thread_name_prefix="multicart-sqlite-writer")
            if self.sqlite
            else None
        )
        # The writer's WAL is checkpointed off its path (see ``CHECKPOINT_EVERY``).
        self._checkpointer: Engine | None = (
            create_engine(engine.url.set(drivername="sqlite"), pool_size=1, max_overflow=0)
            if self.sqlite
            else None
        )
        if self._checkpointer is not None:
            configure_sqlite(self._checkpointer)
        self._checkpoint_thread = (
            ThreadPoolExecutor(1, thread_name_prefix="multicart-sqlite-checkpoint")
            if self.sqlite
            else None
        )
        self._commits_since_checkpoint = 0
        self._checkpoint_running: asyncio.Future[None] | None = None
        self.checkpoints = 0
        # The seam on the database's clock (``db_clock.py``): seconds added to it by every
        # lease, claim and lock the store writes or compares. Tests move time with it.
        self.clock_offset_s = 0.0
        self.fault_hook: FaultHook | None = None  # tests only (the module's doc)

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False, wait_s: float = DEFAULT_WAIT_S) -> Self:
        """A database on a new engine for ``url`` (see ``make_engine``)."""
        return cls(make_engine(url, echo=echo, wait_s=wait_s), wait_s=wait_s)

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    def clock(self, seconds: float = 0.0) -> ColumnElement[datetime]:
        """SQL for the database's now + ``seconds`` (+ ``clock_offset_s``): a deadline or a
        comparison computed by the database in the statement that holds it (``db_clock.py``)."""
        return db_now_plus(seconds + self.clock_offset_s)

    async def close(self) -> None:
        await self._engine.dispose()
        if self._sync is not None and self._sync_thread is not None:
            await asyncio.get_running_loop().run_in_executor(self._sync_thread, self._sync.dispose)
            self._sync_thread.shutdown(wait=False)
        if self._checkpoint_running is not None:
            await asyncio.wait([self._checkpoint_running])
        if self._checkpointer is not None and self._checkpoint_thread is not None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(self._checkpoint_thread, self._checkpointer.dispose)
            self._checkpoint_thread.shutdown(wait=False)

    def _after_commit(self) -> None:
        """Every ``CHECKPOINT_EVERY`` writer transactions, one PASSIVE checkpoint on the
        checkpoint thread (one at a time; a failed one is tried again at the next turn)."""
        self._commits_since_checkpoint += 1
        if self._commits_since_checkpoint < CHECKPOINT_EVERY or self._checkpoint_running:
            return
        engine, thread = self._checkpointer, self._checkpoint_thread
        if engine is None or thread is None:
            return
        self._commits_since_checkpoint = 0
        running = asyncio.get_running_loop().run_in_executor(thread, _checkpoint, engine)
        self._checkpoint_running = running

        def done(finished: asyncio.Future[None]) -> None:
            self._checkpoint_running = None
            if finished.cancelled() or finished.exception() is not None:
                return  # tried again CHECKPOINT_EVERY commits later
            self.checkpoints += 1

        running.add_done_callback(done)

    async def ping(self, *, timeout_s: float = 5.0) -> None:
        """Raise if the database does not answer ``SELECT 1`` within ``timeout_s``."""
        async with asyncio.timeout(timeout_s), self._engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    @property
    def settle_s(self) -> float:
        """The shortest wait of a request that has written (``waits.SETTLE_S``)."""
        return self._settle_s

    def promote_writer(self, waiter: asyncio.Future[None]) -> None:
        """A queued starting wait for SQLite's write lock now queues with the finishing ones."""
        self._write_lock.promote(waiter)

    def wait_bound(self) -> float:
        """How long the next wait may last (``waits.bound``)."""
        return bound(self._wait_s, self._settle_s)

    @contextlib.asynccontextmanager
    async def _connect(
        self, *, write: bool, first: bool | None = None, wait_s: float | None = None
    ) -> AsyncIterator[AsyncConnection]:
        """A pooled connection (and, for a SQLite write, the write lock), both taken within
        ``wait_s`` (default ``wait_bound()``); ``Overloaded`` when they are not. ``first``:
        queue with the finishing writers (default: whether this request has written)."""
        lock = self._write_lock if write and self.sqlite else None
        bound = self.wait_bound() if wait_s is None else wait_s
        conn = self._engine.connect()
        waiting_for = "a connection"
        try:
            async with asyncio.timeout(bound):
                if lock is not None:
                    waiting_for = "the write lock"
                    await lock.acquire(first=finishing() if first is None else first)
                    waiting_for = "a connection"
                try:
                    await conn.start()
                except BaseException:
                    if lock is not None:
                        lock.release()
                    raise
        except TimeoutError as exc:
            raise gave_up_waiting(waiting_for, bound) from exc
        try:
            async with contextlib.AsyncExitStack() as stack:
                stack.push_async_exit(conn)  # closes it (back to the pool), as `async with`
                yield conn
        finally:
            if lock is not None:
                lock.release()

    @contextlib.asynccontextmanager
    async def write(
        self, *, first: bool | None = None, wait_s: float | None = None
    ) -> AsyncIterator[AsyncConnection]:
        """One write transaction; commits on success, rolls back on any exception.

        ``first`` and ``wait_s`` override what the current request implies (``finishing()``,
        ``wait_bound()``): the group commit writes for several requests at once."""
        fault = self.fault_hook() if self.fault_hook is not None else None
        async with self._connect(write=True, first=first, wait_s=wait_s) as conn:
            await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                _strike(fault, "before_statements")
                yield conn
                _strike(fault, "at_commit")
        _strike(fault, "after_commit")
        budget = REQUEST_BUDGET.get()
        if budget is not None:
            budget.wrote = True  # committed: from here on the request is finishing

    @contextlib.asynccontextmanager
    async def write_slot(
        self,
        *,
        first: bool,
        wait_s: float,
        on_wait: Callable[[asyncio.Future[None]], None] | None = None,
    ) -> AsyncIterator[Callable[[Callable[[Connection], T]], Awaitable[T]]]:
        """The database's write side, had within ``wait_s`` (``Overloaded`` otherwise, as
        ``write``), yielding ``run``: ``await run(work)`` runs sync ``work`` in one write
        transaction (committed when it returns, rolled back when it raises). What the caller
        does between entering and ``run`` happens with the write side already had.

        SQLite: the write lock is held, and the whole transaction runs on the writer thread
        (``BEGIN IMMEDIATE`` ... ``COMMIT``: two thread hand-offs in all, where the async driver
        takes about three per statement). PostgreSQL: ``run_sync`` on an async connection in a
        write transaction (asyncpg has no thread hand-offs to save).
        """
        if self._sync is None or self._sync_thread is None:
            async with self.write(first=first, wait_s=wait_s) as conn:

                async def run_async(work: Callable[[Connection], T]) -> T:
                    return await conn.run_sync(work)

                yield run_async
            return
        try:
            async with asyncio.timeout(wait_s):
                await self._write_lock.acquire(first=first, on_wait=on_wait)
        except TimeoutError as exc:
            raise gave_up_waiting("the write lock", wait_s) from exc
        sync, thread = self._sync, self._sync_thread

        async def run_on_writer(work: Callable[[Connection], T]) -> T:
            fault = self.fault_hook() if self.fault_hook is not None else None
            _strike(fault, "before_statements")

            def transaction() -> T:
                with sync.begin() as conn:
                    done = work(conn)
                    _strike(fault, "at_commit")
                    return done

            running = asyncio.get_running_loop().run_in_executor(thread, transaction)
            try:
                result = await asyncio.shield(running)
                self._after_commit()
                _strike(fault, "after_commit")
                return result
            except asyncio.CancelledError:
                # The transaction runs on regardless: the lock goes only once it has ended.
                await asyncio.wait([running])
                raise

        try:
            yield run_on_writer
        finally:
            self._write_lock.release()

    @contextlib.asynccontextmanager
    async def read(self, *, single_statement: bool = False) -> AsyncIterator[AsyncConnection]:
        """One read-only transaction seeing a single snapshot across its queries.

        ``single_statement``: one query is a consistent snapshot by itself, so PostgreSQL
        skips setting up a REPEATABLE READ, read-only transaction (round trips per request).
        """
        async with self._connect(write=False) as conn:
            if not self.sqlite and not single_statement:
                await conn.execution_options(
                    isolation_level="REPEATABLE READ", postgresql_readonly=True
                )
            async with conn.begin():
                yield conn
