"""Migrations: a fresh database reaches head, matches ``tables.py``, and goes back to base."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from orchestrator.store import Store
from orchestrator.store.engines import async_url, make_engine
from orchestrator.store.migrate import (
    MIGRATIONS_DIR,
    alembic_config,
    downgrade,
    downgrade_sync,
    upgrade,
    upgrade_sync,
)
from orchestrator.store.tables import ALL_TABLES, metadata
from tests.conftest import run_in_thread
from tests.store.factories import count_carts, make_app, make_cart

EXPECTED = {table.name for table in ALL_TABLES}


def _head() -> str:
    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


async def _state(url: str) -> tuple[set[str], str | None, list[object]]:
    """(tables, alembic revision, differences between the schema and ``tables.py``)."""

    def inspect_sync(conn: Connection) -> tuple[set[str], str | None, list[object]]:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        tables = set(inspect(conn).get_table_names()) - {"alembic_version"}
        diff = list(compare_metadata(context, metadata)) if tables else []
        return tables, context.get_current_revision(), diff

    engine = make_engine(url, null_pool=True)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(inspect_sync)
    finally:
        await engine.dispose()


async def test_upgrade_a_fresh_database_then_downgrade_to_base(database_url: str) -> None:
    assert await _state(database_url) == (set(), None, [])

    await upgrade(database_url)
    assert await _state(database_url) == (EXPECTED, _head(), [])
    await upgrade(database_url)  # idempotent

    store = Store.from_url(database_url)
    try:
        app_id = await make_app(store)
        await store.carts.insert(make_cart(app_id))
        assert await count_carts(store) == 1
    finally:
        await store.close()

    await downgrade(database_url)
    assert await _state(database_url) == (set(), None, [])
    await upgrade(database_url)
    assert await _state(database_url) == (EXPECTED, _head(), [])


def test_sync_entry_points_from_sync_code(database_url: str) -> None:
    upgrade_sync(database_url)  # as `multicart db upgrade` calls it: no loop running
    assert run_in_thread(_state(database_url))[:2] == (EXPECTED, _head())
    downgrade_sync(database_url)
    assert run_in_thread(_state(database_url))[:2] == (set(), None)


async def test_upgrade_sync_inside_a_running_loop(database_url: str) -> None:
    upgrade_sync(database_url)  # falls back to a helper thread
    assert (await _state(database_url))[:2] == (EXPECTED, _head())


def test_upgrade_creates_the_sqlite_directory(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "multicart.db"
    upgrade_sync(f"sqlite+aiosqlite:///{path}")
    assert path.exists()


async def test_sqlite_connections_are_configured(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/pragmas.db")
    try:
        async with engine.connect() as conn:
            assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
            assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1
            assert (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar() == 10_000
    finally:
        await engine.dispose()


def test_offline_mode_renders_the_ddl() -> None:
    out = io.StringIO()
    cfg = alembic_config("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    cfg.output_buffer = out
    with contextlib.redirect_stdout(out):
        command.upgrade(cfg, "head", sql=True)
    sql = out.getvalue()
    assert "CREATE TABLE carts" in sql and "TIMESTAMP WITH TIME ZONE" in sql


def test_urls_get_the_async_driver() -> None:
    assert str(async_url("sqlite:///x.db")) == "sqlite+aiosqlite:///x.db"
    assert str(async_url("postgresql://u@h/db")) == "postgresql+asyncpg://u@h/db"
    assert str(async_url("postgres://u@h/db")) == "postgresql+asyncpg://u@h/db"
    assert str(async_url("sqlite+aiosqlite:///x.db")) == "sqlite+aiosqlite:///x.db"


@pytest.mark.parametrize("url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:"])
def test_in_memory_sqlite_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="in-memory SQLite"):
        make_engine(url)


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        make_engine("mysql+aiomysql://u:secret@h/db")
