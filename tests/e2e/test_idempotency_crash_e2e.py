"""One Idempotency-Key, one cart, whatever the timing of a SIGKILL.

Before: a create with a key was in flight on all three platforms when ``multicart serve`` got
SIGKILL; after the restart the client retried with the same key and body and got 201 with a
new cart, beside the killed one's. Here a dozen keyed creates are started 40 ms apart against
a sandbox answering in 400 ms, so that when the process is killed they stand at every phase:
claimed only, ``PENDING`` written, platform calls in flight, outcome written, answer stored.
After a restart each key is retried (through its 409s until its lock lapses); each key must
name exactly one cart, and the retry's answer must be that cart.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.client import Multicart, Sandbox, register_sandbox
from tests.conftest import drop_database, new_database
from tests.support.launch import migrate, orchestrator_env, start_orchestrator, start_sandbox

pytestmark = pytest.mark.e2e

KEYS = 12
STAGGER_S = 0.04
LATENCY_MS = 400
PLATFORMS = ("BIGCOMMERCE", "SHOPIFY", "ELASTIC_PATH")


def _cart_lines(stores: dict[str, Any], sandbox: Sandbox) -> list[dict[str, Any]]:
    """One ordinary SKU from the first store of each platform."""
    first: dict[str, str] = {}
    for store in sandbox.stores():
        if store["store"] in stores and store["platform"] not in first:
            first[store["platform"]] = stores[store["store"]]["skus"]["p0"]
    return [{"sku_id": first[p], "quantity": 1} for p in PLATFORMS]


def _post(url: str, api_key: str, key: str, body: dict[str, Any]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {api_key}", "Idempotency-Key": key}
    return httpx.post(f"{url}/v1/carts", json=body, headers=headers, timeout=10)


def test_a_key_retried_after_a_sigkill_names_one_cart(db_engine: str, tmp_path: Path) -> None:
    database_url, pg_name = new_database(db_engine, tmp_path)
    sandbox_proc = start_sandbox(tmp_path)
    env = orchestrator_env(
        database_url,
        create_deadline_s="1",
        request_deadline_s="2",
        external_delete_retry_s="0.2",
    )
    api_proc = None
    try:
        migrate(env)
        api_proc = start_orchestrator(tmp_path, env)
        admin = Multicart(api_proc.url, admin_token=env["MULTICART_ADMIN_TOKEN"])
        sandbox = Sandbox(sandbox_proc.url)
        stores = register_sandbox(admin, sandbox, PLATFORMS)
        api_key = admin.create_app("crash")["api_key"]
        lines = _cart_lines(stores, sandbox)
        for store in stores:
            sandbox.fault(store, "latency", ms=LATENCY_MS)

        bodies = {
            f"crash-{i}": {"skus": lines, "metadata": {"key": f"crash-{i}"}} for i in range(KEYS)
        }
        first: dict[str, int] = {}

        def send(key: str) -> None:
            try:
                first[key] = _post(api_proc.url, api_key, key, bodies[key]).status_code
            except httpx.HTTPError:
                first[key] = 0  # killed before it answered

        threads = []
        for key in bodies:
            thread = threading.Thread(target=send, args=(key,))
            thread.start()
            threads.append(thread)
            time.sleep(STAGGER_S)  # pacing the sends, not waiting for state
        os.kill(api_proc.popen.pid, signal.SIGKILL)
        api_proc.popen.wait(10)
        for thread in threads:
            thread.join(15)
        assert any(s == 0 for s in first.values()), first  # some were cut off mid-way

        sandbox.clear_faults()
        api_proc = start_orchestrator(tmp_path, env, name="multicart-restarted")
        answers: dict[str, dict[str, Any]] = {}
        ends = time.monotonic() + 60
        while len(answers) < KEYS and time.monotonic() < ends:
            for key in bodies:
                if key in answers:
                    continue
                response = _post(api_proc.url, api_key, key, bodies[key])
                if response.status_code == 409:
                    continue  # its lock has not lapsed yet
                assert response.status_code == 201, (key, response.text)
                answers[key] = response.json()
            time.sleep(0.25)
        assert len(answers) == KEYS

        app = Multicart(api_proc.url, api_key=api_key)
        carts = app.list_carts(limit=100)["data"]
        by_key: dict[str, list[str]] = {}
        for cart in carts:
            by_key.setdefault(cart["metadata"]["key"], []).append(cart["id"])
        for key, answer in answers.items():
            assert by_key.get(key) == [answer["id"]], (key, by_key.get(key), first.get(key))
    finally:
        if api_proc is not None:
            api_proc.stop()
        sandbox_proc.stop()
        drop_database(pg_name)
