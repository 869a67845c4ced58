"""Engines tuned per database: SQLite's pragmas and ``BEGIN``, PostgreSQL's bounded pool.

``make_engine`` builds an async engine tuned per engine:

- SQLite (``sqlite+aiosqlite:///path``): WAL, ``foreign_keys=ON``, a busy timeout, and
  SQLAlchemy (not the sqlite3 module) emitting ``BEGIN``: ``BEGIN IMMEDIATE`` on a connection
  marked with the ``WRITE`` execution option, a plain deferred ``BEGIN`` otherwise. Taking the
  write lock at ``BEGIN`` means a writer never fails half-way with "database is locked".
- PostgreSQL (``postgresql+asyncpg://``): a bounded pool (10 + 10 overflow per process) whose
  checkout and connect are bounded by ``wait_s`` (``MULTICART_DB_WAIT_S``, default 10 s).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

# Execution option marking a connection whose transaction writes: SQLite begins it IMMEDIATE.
WRITE = "multicart_write"

SQLITE_BUSY_TIMEOUT_MS = 10_000
PG_POOL_SIZE = 10
PG_MAX_OVERFLOW = 10
DEFAULT_WAIT_S = 10.0  # MULTICART_DB_WAIT_S: pool checkout, connect and write lock, no request

_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
}


def async_url(url: str | URL) -> URL:
    """``url`` with the async driver filled in: ``sqlite://`` -> ``sqlite+aiosqlite://``,
    ``postgresql://`` -> ``postgresql+asyncpg://``; an explicit driver is kept."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def make_engine(
    url: str | URL, *, echo: bool = False, null_pool: bool = False, wait_s: float = DEFAULT_WAIT_S
) -> AsyncEngine:
    """An async engine for ``url`` (SQLite file or PostgreSQL), configured as described above;
    ``wait_s`` bounds a pool checkout and a PostgreSQL connect."""
    parsed = async_url(url)
    backend = parsed.get_backend_name()
    # Every use of a connection ends its own transaction (Database.read/write), so the pool's
    # rollback on check-in is a wasted round trip, on the hot path of every request.
    kwargs: dict[str, Any] = {"echo": echo, "pool_reset_on_return": None}
    if null_pool:
        kwargs["poolclass"] = NullPool
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ValueError(
                "in-memory SQLite is not supported (concurrent transactions would share one "
                "connection); use a file: sqlite+aiosqlite:///path/to/multicart.db"
            )
        if not null_pool:
            kwargs["pool_timeout"] = wait_s
        engine = create_async_engine(parsed, **kwargs)
        configure_sqlite(engine)
        return engine
    if backend == "postgresql":
        if not null_pool:
            kwargs.update(
                pool_size=PG_POOL_SIZE,
                max_overflow=PG_MAX_OVERFLOW,
                pool_recycle=1800,
                pool_timeout=wait_s,
            )
        # asyncpg waits 60 s for a connection by default: far beyond any request deadline (a
        # request's own, shorter, bound is Database._connect's).
        kwargs["connect_args"] = {"timeout": wait_s}
        return create_async_engine(parsed, **kwargs)
    raise ValueError(
        f"unsupported database {parsed.render_as_string(hide_password=True)!r}: "
        "use sqlite+aiosqlite:///path or postgresql+asyncpg://..."
    )


def sync_sqlite_engine(engine: AsyncEngine) -> Engine:
    """A synchronous engine on ``engine``'s SQLite file, configured the same way (pragmas,
    ``BEGIN IMMEDIATE`` for writes), for ``Database.write_slot``'s writer thread."""
    url = engine.url.set(drivername="sqlite")
    sync = create_engine(url, pool_size=1, max_overflow=0, pool_reset_on_return=None)
    configure_sqlite(sync)

    @event.listens_for(sync, "connect")
    def _no_autocheckpoint(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # This connection's commits never checkpoint: ``Database`` checkpoints on a thread of
        # its own (``CHECKPOINT_EVERY``), where no create waits for it.
        dbapi_connection.execute("PRAGMA wal_autocheckpoint = 0")

    return sync.execution_options(**{WRITE: True})


def configure_sqlite(engine: AsyncEngine | Engine) -> None:
    target = engine.sync_engine if isinstance(engine, AsyncEngine) else engine

    @event.listens_for(target, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # SQLAlchemy emits BEGIN itself (below); the sqlite3 module must not.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(target, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")
