"""Migrations run from code: ``alembic upgrade``/``downgrade`` on an engine of ``make_engine``.

``upgrade``/``upgrade_sync`` run ``alembic upgrade head`` programmatically with the
``migrations`` directory next to this file, so they work from the repository and from an
installed package alike; no ``alembic.ini`` is needed.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection
from sqlalchemy.engine import URL

from orchestrator.store.engines import WRITE, async_url, make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

T = TypeVar("T")


def alembic_config(url: str | URL) -> Config:
    """A programmatic Alembic config for ``url`` (the URL travels in ``attributes``, unescaped)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = async_url(url).render_as_string(hide_password=False)
    return cfg


async def _run_alembic(url: str | URL, action: str, revision: str) -> None:
    """Run one Alembic command on a connection of our own engine (pragmas, BEGIN IMMEDIATE)."""
    parsed = async_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    cfg = alembic_config(parsed)
    engine = make_engine(parsed, null_pool=True)

    def run(sync_conn: Connection) -> None:
        cfg.attributes["connection"] = sync_conn
        if action == "upgrade":
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)

    try:
        async with engine.connect() as conn:
            await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                await conn.run_sync(run)
    finally:
        await engine.dispose()


async def upgrade(url: str, revision: str = "head") -> None:
    """``alembic upgrade head`` on ``url``; creates the SQLite file (and its directory)."""
    await _run_alembic(url, "upgrade", revision)


async def downgrade(url: str, revision: str = "base") -> None:
    """``alembic downgrade base`` (drops every table): for tests and for starting over."""
    await _run_alembic(url, "downgrade", revision)


def _run_blocking(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from sync code, even if this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    result: list[T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:  # handed back to the caller below
            failure.append(exc)

    thread = threading.Thread(target=target, name="multicart-migrate")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return result[0]


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Sync ``upgrade`` for the CLI (``multicart db upgrade``) and for sync test fixtures."""
    _run_blocking(upgrade(url, revision))


def downgrade_sync(url: str, revision: str = "base") -> None:
    _run_blocking(downgrade(url, revision))
