"""The key cache's bound across processes: a key revoked, or an app disabled, through one
``multicart serve`` is refused by another on the same database within MULTICART_KEY_CACHE_S.

Two real processes on one database (a SQLite file, or PostgreSQL when
MULTICART_TEST_DATABASE_URL is set). The second has the key's answer cached (the key was used
there just before); the test polls it until 401 and asserts the time taken from the revoking
answer is within the bound plus a margin (a poll's round trip and the re-read). Before the
bound existed the second process served a revoked key for its whole life.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import drop_database, new_database, one_engine
from tests.support.launch import Process, migrate, orchestrator_env, start_orchestrator

pytestmark = pytest.mark.e2e

KEY_CACHE_S = 2.0
MARGIN_S = 1.5  # a poll's interval and round trip, the re-read, a loaded CI machine


@dataclass
class TwoProcesses:
    one: Process
    two: Process
    admin: dict[str, str]

    def new_app(self) -> dict[str, str]:
        made = httpx.post(f"{self.one.url}/v1/admin/apps", json={"name": "s"}, headers=self.admin)
        assert made.status_code == 201, made.text
        return dict(made.json())


def carts(process: Process, key: str) -> int:
    headers = {"Authorization": f"Bearer {key}"}
    return httpx.get(f"{process.url}/v1/carts", headers=headers, timeout=10).status_code


@pytest.fixture(scope="module")
def db_engine() -> str:
    """One engine (the cache bound is each process's; ``tests.conftest.one_engine``)."""
    return one_engine()


@pytest.fixture(scope="module")
def two(db_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoProcesses]:
    workdir: Path = tmp_path_factory.mktemp(f"keys-{db_engine}")
    url, pg_name = new_database(db_engine, workdir)
    started: list[Process] = []
    try:
        env = orchestrator_env(
            url,
            key_cache_s=str(KEY_CACHE_S),
            auth_failure_limit="",  # the polls' 401s are not an attack
            app_rate_limit="",
        )
        migrate(env)
        started.append(start_orchestrator(workdir, env, name="multicart-one"))
        started.append(start_orchestrator(workdir, env, name="multicart-two"))
        admin = {"Authorization": f"Bearer {env['MULTICART_ADMIN_TOKEN']}"}
        yield TwoProcesses(started[0], started[1], admin)
    finally:
        for process in reversed(started):
            process.stop()
        drop_database(pg_name)


def refused_after(process: Process, key: str, since: float) -> float:
    """Seconds from ``since`` until ``process`` answers ``key`` 401 (polled, bounded)."""
    ends = since + KEY_CACHE_S + 10
    while time.monotonic() < ends:
        status = carts(process, key)
        if status == 401:
            return time.monotonic() - since
        assert status == 200, status
        time.sleep(0.05)
    raise AssertionError(f"{process.name} still accepts the key {ends - since:.0f} s later")


def test_a_revoked_key_is_refused_by_the_other_process_within_the_bound(
    two: TwoProcesses,
) -> None:
    made = two.new_app()
    second = httpx.post(f"{two.one.url}/v1/admin/apps/{made['id']}/keys", headers=two.admin)
    assert second.status_code == 201
    assert carts(two.two, made["api_key"]) == 200  # cached in the second process now
    revoked = httpx.delete(
        f"{two.one.url}/v1/admin/apps/{made['id']}/keys/{made['key_id']}", headers=two.admin
    )
    since = time.monotonic()
    assert revoked.status_code == 200, revoked.text
    took = refused_after(two.two, made["api_key"], since)
    print(f"revoked key refused by the other process after {took:.2f} s")
    assert took <= KEY_CACHE_S + MARGIN_S, f"refused after {took:.2f} s"
    assert carts(two.one, made["api_key"]) == 401
    assert carts(two.two, second.json()["api_key"]) == 200  # the app's other key still works


def test_a_disabled_apps_keys_are_refused_by_the_other_process_within_the_bound(
    two: TwoProcesses,
) -> None:
    made = two.new_app()
    assert carts(two.two, made["api_key"]) == 200
    disabled = httpx.post(f"{two.one.url}/v1/admin/apps/{made['id']}/disable", headers=two.admin)
    since = time.monotonic()
    assert disabled.status_code == 200, disabled.text
    took = refused_after(two.two, made["api_key"], since)
    print(f"disabled app's key refused by the other process after {took:.2f} s")
    assert took <= KEY_CACHE_S + MARGIN_S, f"refused after {took:.2f} s"
