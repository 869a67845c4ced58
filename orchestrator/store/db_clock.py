"""The database's clock: "the database's now + N seconds" as SQL, for every deadline that one
process writes and another compares (leases, claims, Idempotency-Key locks).

Each is computed and compared by the database in the statement that writes or compares it, so
processes whose clocks disagree never take what another holds; ``Database.clock_offset_s``
moves it in tests. Which deadlines use which clock, and why these SQL functions:
docs/decisions/0006-database-clock.md.
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
