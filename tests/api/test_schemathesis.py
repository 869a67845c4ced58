"""schemathesis over /openapi.json: the server keeps every promise its document makes.

The app runs as ``multicart serve`` runs it (``EnvelopeAppRunner``, a real socket on loopback,
a real database of each engine) with the fake platform registry, in a thread with its own event
loop; schemathesis's CLI runs against it in a subprocess with every check, positive and
negative data, and the stateful phase (links between operations), bounded by ``--max-examples``
and a wall-clock ``timeout``. One bearer token works as both the admin token and an app's key,
so every operation is reachable.

Checks configured (tests/api/schemathesis.toml): a schema-valid request may still be refused
for what it refers to (an unknown SKU or merchant: 400 ``invalid_skus``/``invalid_request``,
404), so ``positive_data_acceptance`` also accepts those statuses; the hooks module adds a check
that such data never answers 400 ``malformed_json``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from adapters.fake import FakeRegistry
from orchestrator.http.app import create_app
from orchestrator.http.server import EnvelopeAppRunner
from orchestrator.service.secrets import hash_api_key
from orchestrator.store import Store
from tests.api.conftest import PRICES
from tests.api.conftest import test_settings as api_settings

HERE = Path(__file__).resolve().parent
TOKEN = "st-token-0123456789"
MAX_EXAMPLES = 15
RUN_TIMEOUT_S = 150  # the whole run; it takes about 20-30 s per engine on 2 cores


class LoopbackServer:
    """The app on 127.0.0.1 in a helper thread running its own event loop."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="st-server", daemon=True)
        self.port = 0

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._start())
        self._ready.set()
        self._loop.run_forever()
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    async def _start(self) -> None:
        self._runner = EnvelopeAppRunner(self._app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        assert self._ready.wait(30), "server did not start"
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)


async def seed_app(url: str) -> None:
    store = Store.from_url(url)
    try:
        await store.apps.create("app_st", "schemathesis", hash_api_key(TOKEN))
    finally:
        await store.close()


@pytest.fixture
def served(migrated_database_url: str) -> Iterator[LoopbackServer]:
    from tests.conftest import run_in_thread

    run_in_thread(seed_app(migrated_database_url))
    settings = api_settings(migrated_database_url, admin_token=TOKEN, log_level="WARNING")
    app = create_app(settings, platforms=FakeRegistry(prices=PRICES), run_worker=False)
    with LoopbackServer(app) as server:
        yield server


def run_schemathesis(
    port: int,
    hooks: str,
    options: list[str],
    workdir: Path,
    timeout_s: float,
    config: tuple[str, ...] = (),
) -> str:
    """schemathesis's CLI (our venv's ``st``, ``config``: its global options) against the
    server on ``port`` with ``hooks`` and ``options`` (checks, mode, phases, examples,
    seed...), authenticated as the seeded app; the report, once the run passed."""
    root = str(HERE.parents[1])
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": hooks,
        "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])),
    }
    command = [
        str(Path(sys.executable).with_name("st")),
        *config,
        "run",
        f"http://127.0.0.1:{port}/openapi.json",
        *options,
        "--header",
        f"Authorization: Bearer {TOKEN}",
        "--request-timeout",
        "10",
        "--no-color",
    ]
    done = subprocess.run(  # noqa: S603 - our own venv's schemathesis, fixed arguments
        command,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        cwd=workdir,  # schemathesis keeps its cache (.schemathesis/) in the working dir
        check=False,
    )
    report = done.stdout + done.stderr
    (workdir / "schemathesis-report.txt").write_text(report)
    assert done.returncode == 0, report[-20000:]
    return report


@pytest.mark.e2e  # a real process
def test_the_server_keeps_the_documents_promises(served: LoopbackServer, tmp_path: Path) -> None:
    run_schemathesis(
        served.port,
        "tests.api.schemathesis_hooks",
        [
            "--checks",
            "all",
            "--mode",
            "all",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "8",
            "--max-failures",
            "20",
        ],
        tmp_path,
        RUN_TIMEOUT_S,
        config=("--config-file", str(HERE / "schemathesis.toml")),
    )
