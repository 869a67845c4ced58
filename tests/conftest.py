"""Shared database fixtures: every test that needs a database gets it from here, on every engine.

Engines. Each fixture below is parametrized through ``db_engine``: always ``sqlite`` (a file in
a temporary directory), plus ``postgresql`` when ``MULTICART_TEST_DATABASE_URL`` is set, e.g.
``postgresql+asyncpg://postgres@127.0.0.1:5432/test``. That URL only has to let us connect and
``CREATE DATABASE``: every PostgreSQL database the tests use is a new ``mc_test_<hex>`` created
from it in AUTOCOMMIT and dropped ``WITH (FORCE)`` afterwards, so several runs can share one
server. Test ids end in ``[sqlite]`` / ``[postgresql]`` (``-k sqlite`` picks one engine).

Fixtures:

- ``db_engine`` (session): ``"sqlite"`` or ``"postgresql"``, the engine of this parametrization.
- ``migrated_database_url`` (function): ``str``, the URL of a database at the latest migration
  whose tables are all emptied before the test. One such database per engine per session; a
  test must not change its schema. Use it for API tests (build the app with this URL).
- ``store`` (function, async): a ``Store`` on ``migrated_database_url``, closed after the test.
- ``database_url`` (function): ``str``, the URL of a brand-new EMPTY database (no tables, not
  migrated), dropped after the test: for migration tests.
- ``_no_outer_settings`` (session, autouse): every ``MULTICART_*`` variable of the outer
  environment but the tests' own (``TEST_VARIABLES``) is unset for the whole run.
- ``_logging_as_found`` (function, autouse): logging configured by a test is undone after it.

Sync fixtures do their database work on a private event loop in a helper thread, so they are
usable from sync and async tests alike and never disturb pytest-asyncio's loops.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import structlog
from sqlalchemy import delete, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from orchestrator.bootstrap import opened_store
from orchestrator.store import Store
from orchestrator.store.engines import make_engine
from orchestrator.store.migrate import upgrade_sync
from orchestrator.store.tables import ALL_TABLES
from tests.process_marks import (  # noqa: F401 - pytest's hooks, found here by name
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_runtest_protocol,
)

PG_URL_ENV = "MULTICART_TEST_DATABASE_URL"
# The tests' own variables, read by the tests themselves; every other MULTICART_* is the
# service's settings, which a test sets itself when it needs one.
TEST_VARIABLES = frozenset({PG_URL_ENV, "MULTICART_SHARED_DIR"})

T = TypeVar("T")


def run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a fresh event loop in a helper thread and return its result."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="test-db")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]  # type: ignore[no-any-return]


@pytest.fixture(scope="session", autouse=True)
def _no_outer_settings() -> Iterator[None]:
    """A developer's own ``MULTICART_*`` variables (a shell set up for ``make serve``) never
    reach a test's ``Settings()``: each test sees the defaults plus what it sets itself."""
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith("MULTICART_") and name not in TEST_VARIABLES:
                env.delenv(name)
        yield


@pytest.fixture(autouse=True)
def _logging_as_found() -> Iterator[None]:
    """A test that configures logging (the CLI's ``serve`` runs ``configure_logging``) leaves
    structlog's configuration and the root logger as it found them, so what the next tests log
    and capture does not depend on the order they run in."""
    config = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    structlog.configure(**config)
    for handler in [h for h in root.handlers if h not in handlers]:
        if type(handler).__module__ == "config.logging":  # pytest's own come and go by phase
            root.removeHandler(handler)
    root.setLevel(level)


def _engine_params() -> list[Any]:
    params = [pytest.param("sqlite", id="sqlite")]
    if os.environ.get(PG_URL_ENV):
        params.append(pytest.param("postgresql", id="postgresql"))
    return params


async def _pg_admin(sql: str) -> None:
    engine = create_async_engine(
        os.environ[PG_URL_ENV], poolclass=NullPool, isolation_level="AUTOCOMMIT"
    )
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session", params=_engine_params())
def db_engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def one_engine() -> str:
    """For a test of processes rather than of the database (a bound, a restart): PostgreSQL
    when the tests have one, else SQLite. The store and API tests cover both engines; running
    such a test on both only doubles its processes (``make test`` stays under 10 minutes)."""
    return "postgresql" if os.environ.get(PG_URL_ENV) else "sqlite"


def new_database(db_engine: str, directory: Path) -> tuple[str, str | None]:
    """(url, PostgreSQL database name or None) of a brand-new empty database."""
    if db_engine == "sqlite":
        return f"sqlite+aiosqlite:///{directory / 'multicart.db'}", None
    name = f"mc_test_{secrets.token_hex(6)}"
    run_in_thread(_pg_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(os.environ[PG_URL_ENV]).set(database=name)
    return url.render_as_string(hide_password=False), name


def drop_database(name: str | None) -> None:
    if name is not None:
        run_in_thread(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def database_url(db_engine: str, tmp_path: Path) -> Iterator[str]:
    url, name = new_database(db_engine, tmp_path)
    try:
        yield url
    finally:
        drop_database(name)


@pytest.fixture(scope="session")
def _session_database(db_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, name = new_database(db_engine, tmp_path_factory.mktemp(f"db-{db_engine}"))
    try:
        upgrade_sync(url)
        yield url
    finally:
        drop_database(name)


async def _empty_all_tables(url: str) -> None:
    engine = make_engine(url, null_pool=True)
    try:
        async with engine.begin() as conn:
            if engine.dialect.name == "postgresql":
                names = ", ".join(table.name for table in ALL_TABLES)
                await conn.execute(text(f"TRUNCATE TABLE {names}"))
            else:
                for table in ALL_TABLES:  # children first
                    await conn.execute(delete(table))
    finally:
        await engine.dispose()


@pytest.fixture
def migrated_database_url(_session_database: str) -> str:
    run_in_thread(_empty_all_tables(_session_database))
    return _session_database


@pytest.fixture
async def store(migrated_database_url: str) -> AsyncIterator[Store]:
    async with opened_store(migrated_database_url) as opened:
        yield opened
