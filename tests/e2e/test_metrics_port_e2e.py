"""``MULTICART_METRICS_PORT`` with a real ``multicart serve``: ``/metrics`` is served only on its
own port, by the same process (the API's requests show in it), behind ``MULTICART_METRICS_TOKEN``;
the API's port answers 404 for it. A port already taken, and ``--workers 2``, each end ``serve``
with one line and exit status 2."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.launch import BIN, Process, migrate, orchestrator_env, start_orchestrator

pytestmark = pytest.mark.e2e

TOKEN = "scrape-" + "0123456789abcdef" * 2


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Process, str]]:
    port = free_port()
    env = orchestrator_env(
        f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}",
        metrics_port=str(port),
        metrics_host="127.0.0.1",
        metrics_token=TOKEN,
    )
    migrate(env)
    api = start_orchestrator(tmp_path, env)
    try:
        yield api, f"http://127.0.0.1:{port}"
    finally:
        api.stop()


def test_metrics_is_served_on_its_own_port_only(served: tuple[Process, str]) -> None:
    api, metrics_url = served
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with httpx.Client(timeout=10) as http:
        assert http.get(f"{api.url}/healthz").status_code == 200
        on_api = http.get(f"{api.url}/metrics", headers=bearer)
        assert on_api.status_code == 404
        assert on_api.json()["error"] == "not_found"
        assert http.get(f"{metrics_url}/metrics").status_code == 401
        assert http.get(f"{metrics_url}/healthz", headers=bearer).status_code == 404
        scrape = http.get(f"{metrics_url}/metrics", headers=bearer)
        assert scrape.status_code == 200
        assert scrape.headers["Cache-Control"] == "no-store"
        # the same process's counters: the API port's /healthz and refused /metrics are there
        assert 'route="/healthz",status="200"' in scrape.text
        assert 'route="/metrics",status="404"' in scrape.text
        assert "multicart_store_up 1.0" in scrape.text
    assert TOKEN not in api.log_text()


def test_a_taken_metrics_port_ends_serve_with_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = orchestrator_env(
            f"sqlite+aiosqlite:///{tmp_path / 'taken.db'}", metrics_port=str(port)
        )
        migrate(env)
        done = subprocess.run(  # noqa: S603 - our own console script
            [str(BIN / "multicart"), "serve", "--host", "127.0.0.1", "--port", "0"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert "MULTICART_METRICS_PORT" in done.stderr and f":{port}" in done.stderr
    assert "listening on" not in done.stdout


def test_a_metrics_port_with_workers_is_refused(tmp_path: Path) -> None:
    env = orchestrator_env(f"sqlite+aiosqlite:///{tmp_path / 'w.db'}", metrics_port="0")
    done = subprocess.run(  # noqa: S603 - our own console script
        [str(BIN / "multicart"), "serve", "--port", "0", "--workers", "2"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "MULTICART_METRICS_PORT" in done.stderr
