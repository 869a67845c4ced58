"""End-to-end fixtures: the sandbox and `multicart serve` as real processes over real HTTP.

One sandbox and one orchestrator per engine per session (a SQLite file, and a fresh
PostgreSQL database when MULTICART_TEST_DATABASE_URL is set); each test resets the sandbox
and registers a fresh app, so no test depends on another's state or order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from examples.client import Multicart, Sandbox, register_sandbox
from tests.conftest import drop_database, new_database
from tests.support.launch import (
    Process,
    migrate,
    orchestrator_env,
    start_orchestrator,
    start_sandbox,
)

CREATE_DEADLINE_S = 3.0
PLATFORM_CONCURRENCY = 4
STORE_CONCURRENCY = 2
PLATFORMS = ("BIGCOMMERCE", "SHOPIFY", "ELASTIC_PATH")


@dataclass
class Stack:
    sandbox_proc: Process
    api_proc: Process
    admin: Multicart
    sandbox: Sandbox
    stores: dict[str, Any]

    def new_app(self, name: str = "shop") -> Multicart:
        return self.admin.as_app(self.admin.create_app(name)["api_key"])

    def store_names(self) -> list[str]:
        return list(self.stores)


@pytest.fixture(scope="session")
def stack(db_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp(f"e2e-{db_engine}")
    database_url, pg_name = new_database(db_engine, workdir)
    sandbox_proc = start_sandbox(workdir)
    env = orchestrator_env(
        database_url,
        create_deadline_s=str(CREATE_DEADLINE_S),
        request_deadline_s="3",
        platform_attempt_timeout_s="2",
        platform_retry_after_cap_s="2",
        external_delete_retry_s="0.2",
        circuit_failure_threshold="1000",
        # Small bulkheads, so a test can show a hung store starving no other store.
        platform_concurrency=str(PLATFORM_CONCURRENCY),
        platform_store_concurrency=str(STORE_CONCURRENCY),
        # Every test polls /metrics and /healthz from this one address, many at once.
        anonymous_rate_limit="",
        metrics_cache_s="0",  # a test reads /metrics for what it just did
        body_timeout_s="2",  # a slow body's 408 sooner (test_hostile_fairness waits for it)
    )
    try:
        migrate(env)
        api_proc = start_orchestrator(workdir, env)
    except BaseException:
        sandbox_proc.stop()
        drop_database(pg_name)
        raise
    try:
        admin = Multicart(api_proc.url, admin_token=env["MULTICART_ADMIN_TOKEN"])
        sandbox = Sandbox(sandbox_proc.url)
        stores = register_sandbox(admin, sandbox, PLATFORMS)
        yield Stack(sandbox_proc, api_proc, admin, sandbox, stores)
    finally:
        api_proc.stop()
        sandbox_proc.stop()
        drop_database(pg_name)


@pytest.fixture
def e2e(stack: Stack) -> Iterator[Stack]:
    stack.sandbox.reset()
    yield stack
    stack.sandbox.clear_faults()


def serve_sqlite(directory: Path, **settings: str) -> Iterator[Process]:
    """A `multicart serve` of its own on a fresh SQLite file in ``directory``, with
    ``settings`` (``MULTICART_*`` without the prefix), stopped after: for tests of what never
    reaches the database, or that would disturb the shared stack (its address throttled)."""
    env = orchestrator_env(f"sqlite+aiosqlite:///{directory / 'multicart.db'}", **settings)
    migrate(env)
    process = start_orchestrator(directory, env)
    try:
        yield process
    finally:
        process.stop()


def wait_until(
    predicate: Callable[[], bool], timeout: float = 10.0, interval: float = 0.05
) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes (bounded; no blind sleeps)."""
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path
