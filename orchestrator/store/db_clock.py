"""The database's clock: "the database's now + N seconds" as SQL, for every deadline that one
process writes and another compares.

Why: a cart's lease, an outbox entry's claim and an Idempotency-Key's lock are taken over by
whichever process finds their deadline passed. Written and compared on each process's own
clock, a host whose clock runs ahead of another's by more than the margin (5 s past a create's
deadline) takes over a live one: on Elastic Path, a second create of a cart still being made.
The database's clock is the one clock every process shares, so these deadlines are computed
and compared by the database, in the statement that writes or compares them (no extra round
trip, and one reading of the clock for the whole statement):

- PostgreSQL: ``statement_timestamp()``, the start of the current statement. Not ``now()``:
  that is the transaction's start, which in a group commit's transaction (or a claim's SELECT
  then UPDATE) lags its later statements. Not ``clock_timestamp()``: it is volatile (read again
  for every row), so an index on the compared column could not serve the comparison.
- SQLite: ``julianday('now')``, fixed for the whole of one statement's step; every process
  sharing the file shares the host's clock. It is rendered as ``UTCDateTime`` stores a datetime
  on SQLite (naive UTC ``YYYY-MM-DD HH:MM:SS.ffffff``, compared as text), padded with three
  zeros: SQLite's clock has milliseconds.

``Database.clock_offset_s`` (default 0) is added to the database's clock by every store
statement that reads it: tests, and a future interleaving explorer, move the database's time
with it, whatever the process clocks say.

What stays on the application's clock: what clients are shown (a cart's ``date_created``,
``date_last_modified`` and ``expires_at``, the platforms' expiry), when an outbox entry is due
(``next_attempt_at``: a schedule, never a claim), and an idempotency record's ``created_at``.
Compared on the database's clock: ``lease_until``, ``claimed_until``, an idempotency record's
``locked_until`` and ``expires_at``, and the reconciler's settle cut-off.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Float, literal
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from orchestrator.store.tables import UTCDateTime

__all__ = ["db_now_plus"]


class db_now_plus(FunctionElement[datetime]):  # lower case, as SQLAlchemy names SQL functions
    """The database's now + ``seconds`` (a float expression; NULL gives NULL)."""

    type = UTCDateTime()
    name = "db_now_plus"
    inherit_cache = True

    def __init__(self, seconds: ColumnElement[float] | float) -> None:
        if not isinstance(seconds, ColumnElement):
            seconds = literal(seconds, Float)
        super().__init__(seconds)


def _seconds(element: db_now_plus, compiler: SQLCompiler, **kw: Any) -> str:
    (seconds,) = element.clauses
    return compiler.process(seconds, **kw)


@compiles(db_now_plus, "postgresql")
def _postgresql(element: db_now_plus, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(statement_timestamp() + make_interval(secs => {_seconds(element, compiler, **kw)}))"


@compiles(db_now_plus, "sqlite")
def _sqlite(element: db_now_plus, compiler: SQLCompiler, **kw: Any) -> str:
    days = f"({_seconds(element, compiler, **kw)}) / 86400.0"
    return f"(strftime('%Y-%m-%d %H:%M:%f', julianday('now') + {days}) || '000')"
