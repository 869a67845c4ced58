"""``multicart serve --workers N``: N pre-forked processes on one port.

On PostgreSQL (skipped without MULTICART_TEST_DATABASE_URL): many creates over fresh
connections all succeed and both workers answered some (each worker's ``stopped`` log event
counts the requests it answered); SIGTERM to the parent stops every process within a bound,
and a worker that dies takes the service down with it (exit 1), leaving no process behind.
On SQLite, more than one worker is refused with one line and exit status 2.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.client import Multicart, Sandbox, register_sandbox
from tests.conftest import PG_URL_ENV, drop_database, new_database
from tests.e2e.conftest import wait_until
from tests.support.launch import BIN, Process, migrate, orchestrator_env, start, start_sandbox

pytestmark = pytest.mark.e2e

STOP_BOUND_S = 15.0
CREATES = 48


def _events(process: Process, name: str) -> list[dict[str, Any]]:
    found = []
    for line in process.log_text().splitlines():
        if line.startswith("{") and f'"event": "{name}"' in line:
            found.append(json.loads(line))
    return found


def _gone(pid: int) -> bool:
    """No such process (a reaped child), or only a zombie left."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state == "Z"


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[tuple[Process, Process, dict[str, str]]]:
    if not os.environ.get(PG_URL_ENV):
        pytest.skip(f"--workers needs PostgreSQL: set {PG_URL_ENV}")
    url, name = new_database("postgresql", tmp_path)
    sandbox = start_sandbox(tmp_path)
    api: Process | None = None
    try:
        env = orchestrator_env(url, circuit_failure_threshold="1000")
        migrate(env)
        argv = [str(BIN / "multicart"), "serve", "--host", "127.0.0.1", "--port", "0"]
        api = start("multicart-workers", [*argv, "--workers", "2"], env, tmp_path)
        yield api, sandbox, env
    finally:
        if api is not None:
            api.stop()
        sandbox.stop()
        drop_database(name)


def test_more_than_one_worker_is_refused_on_sqlite(tmp_path: Path) -> None:
    env = orchestrator_env(f"sqlite+aiosqlite:///{tmp_path / 'one.db'}")
    done = subprocess.run(  # noqa: S603 - our own console script
        [str(BIN / "multicart"), "serve", "--port", "0", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "needs PostgreSQL" in done.stderr


def test_two_workers_share_the_port_and_stop_together(
    workers: tuple[Process, Process, dict[str, str]],
) -> None:
    api, sandbox_proc, env = workers
    started = _events(api, "started")
    pids = sorted(e["pid"] for e in started)
    assert len(pids) == 2 and {e["worker"] for e in started} == {0, 1}
    assert api.popen.pid not in pids
    admin = Multicart(api.url, admin_token=env["MULTICART_ADMIN_TOKEN"])
    stores = register_sandbox(admin, Sandbox(sandbox_proc.url), ("BIGCOMMERCE",))
    key = admin.create_app("workers")["api_key"]
    a, b = list(stores)[:2]
    body = {"skus": [{"sku_id": stores[s]["skus"]["p0"], "quantity": 1} for s in (a, b)]}

    def create(_: int) -> int:
        # A fresh connection each time, so the kernel hands them to either worker.
        headers = {"Authorization": f"Bearer {key}", "Connection": "close"}
        return httpx.post(api.url + "/v1/carts", json=body, headers=headers, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(create, range(CREATES)))
    assert statuses == [201] * CREATES

    api.popen.send_signal(signal.SIGTERM)
    assert api.popen.wait(STOP_BOUND_S) == 0
    assert wait_until(lambda: len(_events(api, "stopped")) == 2, timeout=5)
    served = {e["pid"]: e["requests"] for e in _events(api, "stopped")}
    assert sorted(served) == pids
    assert all(n > 0 for n in served.values()), served  # both workers answered requests
    assert sum(served.values()) >= CREATES
    assert all(_gone(pid) for pid in pids)


def test_a_worker_that_dies_stops_the_service(
    workers: tuple[Process, Process, dict[str, str]],
) -> None:
    api, _sandbox, _env = workers
    pids = sorted(e["pid"] for e in _events(api, "started"))
    os.kill(pids[0], signal.SIGKILL)
    assert api.popen.wait(STOP_BOUND_S) == 1
    assert wait_until(lambda: all(_gone(pid) for pid in pids), timeout=5)
    died = _events(api, "worker_died")
    assert [e["pid"] for e in died] == [pids[0]] and "SIGKILL" in died[0]["how"]
