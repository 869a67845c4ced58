"""Load shedding: over the in-flight cap a request is a fast 503 ``overloaded``; probes never are.

The cap is filled with creates held inside the fake platforms until the test opens their gate
(not a delay a loaded machine could outlast); the test waits for them by polling what the
fakes saw (bounded), never by sleeping. A database wait past the request's
deadline is a 503 too (the pool held empty here), and /metrics counts both reasons.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy.ext.asyncio import AsyncConnection

from adapters.fake import FakePlatform, FakeRegistry
from orchestrator.http.app import create_app
from tests.api.conftest import PRICES, Api, EnvelopeTestServer, seed
from tests.api.conftest import test_settings as api_settings
from tests.support.prometheus import sample

CAP = 2
SHED = "multicart_http_shed_requests_total"


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> asyncio.Event:
    """Set to let the creates the fake platforms hold (once seen in their calls) go on."""
    opened = asyncio.Event()
    enter = FakePlatform._enter

    async def held(self: FakePlatform, op: str, *args: Any) -> None:
        await enter(self, op, *args)
        if op == "create_cart":
            await opened.wait()

    monkeypatch.setattr(FakePlatform, "_enter", held)
    return opened


@pytest.fixture
async def capped(migrated_database_url: str, gate: asyncio.Event) -> AsyncIterator[Api]:
    platforms = FakeRegistry(prices=PRICES)
    settings = api_settings(
        migrated_database_url, max_in_flight=CAP, request_deadline_s=0.6, create_deadline_s=30.0
    )
    client = TestClient(EnvelopeTestServer(create_app(settings, platforms=platforms)))
    await client.start_server()
    try:
        key, skus, merchants = await seed(client)  # one request at a time: under the cap
        yield Api(client, platforms, key, skus, merchants)
    finally:
        await client.close()


async def until(condition: Any, *, within_s: float = 5.0) -> None:
    """Poll ``condition()`` until true, failing after ``within_s``."""
    ends = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < ends, "condition not reached in time"
        await asyncio.sleep(0.01)


def creates_seen(api: Api) -> int:
    return sum(op == "create_cart" for p in api.platforms.platforms.values() for op, _ in p.calls)


async def test_over_the_cap_a_create_is_a_fast_503_and_probes_still_answer(
    capped: Api, gate: asyncio.Event
) -> None:
    api = capped
    tent = {"skus": [{"sku_id": "sku-tent", "quantity": 1}]}
    held = [asyncio.create_task(api.post_cart(tent)) for _ in range(CAP)]
    try:
        await held_full(api, held, tent)
    finally:
        gate.set()
        await asyncio.gather(*held, return_exceptions=True)
    for task in held:  # the held creates were never disturbed
        assert task.result().status == 201
    assert (await api.post_cart(tent)).status == 201  # below the cap again: served


async def held_full(api: Api, held: list[Any], tent: dict[str, Any]) -> None:
    await until(lambda: creates_seen(api) == CAP)  # both are inside their platform call

    headers = {**api.auth, "X-Request-ID": "shed-1"}
    response = await api.client.post("/v1/carts", json=tent, headers=headers)
    assert response.status == 503, await response.text()
    body = await response.json()
    assert body == {
        "message": body["message"],
        "error": "overloaded",
        "code": 1529,
        "data": {"reason": "in_flight"},
    }
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-Request-ID"] == "shed-1"
    # Answered at once, not after the held ones: they are still held (asserted below), so no
    # wall-clock bound is needed.
    # Shed before authentication and any platform work: a wrong key is shed just the same.
    wrong = await api.client.get("/v1/carts", headers={"Authorization": "Bearer nope"})
    assert wrong.status == 503
    assert creates_seen(api) == CAP

    for probe in ("/healthz", "/readyz", "/metrics", "/openapi.json"):
        assert (await api.client.get(probe)).status == 200, probe
    metrics = await (await api.client.get("/metrics")).text()
    assert sample(metrics, SHED, reason="in_flight") == 2
    assert sample(metrics, SHED, reason="database_wait") == 0
    requests = "multicart_http_requests_total"
    assert sample(metrics, requests, route="/v1/carts", method="POST", status="503") == 1
    assert not any(task.done() for task in held)  # all of the above while the cap was full


async def test_a_database_wait_past_the_deadline_is_a_fast_503(capped: Api) -> None:
    api = capped
    assert (await api.client.get("/v1/carts", headers=api.auth)).status == 200  # key cached
    engine = api.store.db.engine
    pool: Any = engine.pool
    held: list[AsyncConnection] = []
    try:
        for _ in range(pool.size() + pool._max_overflow):  # every connection the pool has
            held.append(await engine.connect().start())
        started = time.monotonic()
        response = await api.client.get("/v1/carts", headers=api.auth)
        elapsed = time.monotonic() - started
    finally:
        for conn in held:
            await conn.close()
    assert response.status == 503, await response.text()
    body = await response.json()
    assert (body["error"], body["data"]) == ("overloaded", {"reason": "database_wait"})
    assert int(response.headers["Retry-After"]) >= 1
    # The request's 0.6 s deadline, not the pool's 10 s: a real wait, so a generous bound.
    assert 0.4 < elapsed < 0.6 + 5.0, elapsed
    metrics = await (await api.client.get("/metrics")).text()
    assert sample(metrics, SHED, reason="database_wait") == 1
    assert sample(metrics, SHED, reason="in_flight") == 0
    assert (await api.client.get("/v1/carts", headers=api.auth)).status == 200  # recovered
