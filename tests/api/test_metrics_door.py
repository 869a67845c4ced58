"""``/metrics`` kept from being everyone's, and cheap to flood (``shedding.py``, ``metrics.py``):
its optional bearer token, the 404 on the API's port when it has a port of its own, and its
database counts read once per ``MULTICART_METRICS_CACHE_S`` whatever the scrape rate. The real
app on a real socket, on both engines; queries are counted at the engine."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from aiohttp.test_utils import TestClient
from sqlalchemy import event

from adapters.fake import FakeRegistry
from orchestrator.http.app import create_app
from orchestrator.http.keys import METRICS, SERVICES
from tests.api.conftest import EnvelopeTestServer
from tests.api.conftest import test_settings as api_settings

TOKEN = "metrics-token-0123456789abcdef"


@asynccontextmanager
async def serving(url: str, **settings: Any) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    app = create_app(api_settings(url, **settings), platforms=FakeRegistry(), run_worker=False)
    client = TestClient(EnvelopeTestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


@asynccontextmanager
async def counting_queries(client: TestClient) -> AsyncIterator[Callable[[], int]]:  # type: ignore[type-arg]
    """The number of queries the app's engine ran inside the block (not transaction control)."""
    engine = client.server.app[SERVICES].store.db.engine.sync_engine
    seen: list[str] = []

    def count(*args: Any) -> None:
        statement = str(args[2]).strip()
        if statement.upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):  # SQLite's own
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield lambda: len(seen)
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def test_with_a_token_metrics_answers_401_without_it(migrated_database_url: str) -> None:
    async with serving(migrated_database_url, metrics_token=TOKEN) as client:
        assert (await client.get("/metrics")).status == 401
        wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "x"}
        refused = await client.get("/metrics", headers=wrong)
        assert refused.status == 401
        assert (await refused.json())["error"] == "unauthorized"
        assert TOKEN not in await refused.text()
        basic = await client.get("/metrics", headers={"Authorization": "Basic " + TOKEN})
        assert basic.status == 401
        ok = await client.get("/metrics", headers={"Authorization": "Bearer " + TOKEN})
        assert ok.status == 200
        assert "multicart_http_requests_total" in await ok.text()
        # the other open routes are not behind it
        assert (await client.get("/healthz")).status == 200


async def test_without_a_token_metrics_is_open(migrated_database_url: str) -> None:
    async with serving(migrated_database_url) as client:
        assert (await client.get("/metrics")).status == 200


async def test_the_anonymous_limit_still_applies_with_the_token(migrated_database_url: str) -> None:
    right = {"Authorization": "Bearer " + TOKEN}
    async with serving(
        migrated_database_url, metrics_token=TOKEN, anonymous_rate_limit="3/minute"
    ) as client:
        statuses = [(await client.get("/metrics", headers=right)).status for _ in range(5)]
        assert statuses[:3] == [200, 200, 200] and statuses[3:] == [429, 429]


async def test_with_a_port_of_its_own_the_api_port_answers_404(migrated_database_url: str) -> None:
    async with serving(migrated_database_url, metrics_port=9) as client:
        refused = await client.get("/metrics")
        assert refused.status == 404
        assert "MULTICART_METRICS_PORT" in (await refused.json())["message"]
        assert (await client.get("/healthz")).status == 200


async def test_a_scrape_flood_costs_one_count_per_period(migrated_database_url: str) -> None:
    async with serving(migrated_database_url, metrics_cache_s=3600) as client:
        assert (await client.get("/metrics")).status == 200  # the first count
        async with counting_queries(client) as queries:
            for _ in range(100):
                assert (await client.get("/metrics")).status == 200
            assert queries() == 0
        metrics = client.server.app[METRICS]
        counted = metrics.store_counts
        metrics._counted_at = None  # the period over
        async with counting_queries(client) as queries:
            scrapes = [client.get("/metrics") for _ in range(20)]
            answers = await asyncio.gather(*scrapes)
            assert {a.status for a in answers} == {200}
            assert metrics.store_counts == counted + 1  # 20 concurrent scrapes, one count
            assert queries() == 2  # bags by status, outbox by kind and state


async def test_without_the_cache_each_scrape_counts(migrated_database_url: str) -> None:
    async with (
        serving(migrated_database_url, metrics_cache_s=0) as client,
        counting_queries(client) as queries,
    ):
        for _ in range(100):
            assert (await client.get("/metrics")).status == 200
        assert queries() == 200


async def test_the_cached_counts_are_rendered(migrated_database_url: str) -> None:
    async with serving(migrated_database_url, metrics_cache_s=3600) as client:
        first = await (await client.get("/metrics")).text()
        again = await (await client.get("/metrics")).text()
        for text in (first, again):
            assert "multicart_store_up 1.0" in text
            assert 'multicart_outbox_entries{kind="delete",state="dead"} 0.0' in text
