"""The admin token rotated by a rolling restart of two ``multicart serve`` processes, with no
request refused.

A client sends admin GETs to both processes, one after the other, without pause, while A
restarts with ``old,new``, then B with ``old,new``, then (the client having switched to the new
token once both accept it) A with ``new`` only, then B with ``new`` only. A request to a process
that is down (connection refused, or a kept-alive connection closed by its shutdown) is counted
apart and retried on the other. Every answer must be a 2xx. Before MULTICART_ADMIN_TOKENS a
process accepted one token, so some step refused the client's token on one of the processes.
"""

from __future__ import annotations

import secrets
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import drop_database, new_database, one_engine
from tests.e2e.conftest import wait_until
from tests.support.launch import Process, migrate, orchestrator_env, start_orchestrator

pytestmark = pytest.mark.e2e


class Client:
    """Admin GETs to the processes in turn, in a thread, counting every outcome."""

    def __init__(self, urls: list[str], token: str) -> None:
        self.urls, self.token = urls, token
        self.counts: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def point(self, at: int, url: str) -> None:
        with self._lock:
            self.urls[at] = url

    def _run(self) -> None:
        with httpx.Client(timeout=10) as http:
            turn = 0
            while not self._stop.is_set():
                turn += 1
                with self._lock:
                    first, other = self.urls[turn % 2], self.urls[(turn + 1) % 2]
                self._send(http, first) or self._send(http, other)

    def _send(self, http: httpx.Client, url: str) -> bool:
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            response = http.get(f"{url}/v1/admin/apps?limit=1", headers=headers)
        except httpx.ConnectError:
            self.counts["refused_connection"] += 1
            return False
        except httpx.TransportError:  # a kept-alive connection closed by a shutdown
            self.counts["dropped_connection"] += 1
            return False
        self.statuses[response.status_code] += 1
        self.counts["answered"] += 1
        return True

    def answered_more(self, than: int) -> bool:
        return self.counts["answered"] > than

    def __enter__(self) -> Client:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(30)


@pytest.fixture(scope="module")
def db_engine() -> str:
    """One engine (a rotation is the processes'; ``tests.conftest.one_engine``)."""
    return one_engine()


@pytest.fixture
def rotation(db_engine: str, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    url, pg_name = new_database(db_engine, tmp_path)
    env = orchestrator_env(url, anonymous_rate_limit="")
    migrate(env)
    try:
        yield tmp_path, env
    finally:
        drop_database(pg_name)


def _serve(workdir: Path, env: dict[str, str], name: str, tokens: list[str]) -> Process:
    env = {**env, "MULTICART_ADMIN_TOKEN": "", "MULTICART_ADMIN_TOKENS": ",".join(tokens)}
    return start_orchestrator(workdir, env, name=name)


def test_a_rolling_restart_rotates_the_admin_token_refusing_no_request(
    rotation: tuple[Path, dict[str, str]],
) -> None:
    workdir, env = rotation
    old, new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    processes = [_serve(workdir, env, f"multicart-{n}", [old]) for n in ("a", "b")]
    client = Client([p.url for p in processes], old)
    try:
        with client:

            def restart(at: int, tokens: list[str]) -> None:
                answered = client.counts["answered"]
                processes[at].stop()
                processes[at] = _serve(workdir, env, f"multicart-{'ab'[at]}", tokens)
                client.point(at, processes[at].url)
                # The client is served meanwhile (by the other) and by the new process after.
                assert wait_until(lambda: client.answered_more(answered + 20), timeout=30)

            restart(0, [old, new])
            restart(1, [old, new])
            client.token = new  # both accept the new token now
            switched = client.counts["answered"]
            assert wait_until(lambda: client.answered_more(switched + 20))
            restart(0, [new])
            restart(1, [new])
        for process in processes:
            url = f"{process.url}/v1/admin/apps"
            assert httpx.get(url, headers={"Authorization": f"Bearer {old}"}).status_code == 401
            assert httpx.get(url, headers={"Authorization": f"Bearer {new}"}).status_code == 200
    finally:
        for process in processes:
            process.stop()
    print(f"rolling rotation: {dict(client.counts)}, statuses {dict(client.statuses)}")
    assert set(client.statuses) == {200}, client.statuses
    assert client.counts["answered"] >= 100
