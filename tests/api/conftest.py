"""In-process API fixtures: the real aiohttp app on a real socket, a real database, a fake platform.

The app runs on both engines (``migrated_database_url`` is parametrized by tests/conftest.py);
the platform side is ``adapters.fake.FakeRegistry`` so these tests isolate the HTTP contract.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from adapters.fake import FakeRegistry, ref_key
from config import Settings
from orchestrator.http.app import create_app
from orchestrator.http.keys import SERVICES
from orchestrator.http.server import EnvelopeAppRunner
from orchestrator.store import Store

ADMIN = {"Authorization": "Bearer admin-token"}


@dataclass
class Api:
    client: TestClient  # type: ignore[type-arg]
    platforms: FakeRegistry
    key: str
    skus: dict[str, str]  # name -> sku_id
    merchants: list[str]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @property
    def store(self) -> Store:
        return self.client.server.app[SERVICES].store

    async def post_cart(self, body: Any, **kw: Any) -> Any:
        return await self.client.post("/v1/carts", json=body, headers=self.auth, **kw)

    async def new_key(self, name: str = "other") -> str:
        response = await self.client.post("/v1/admin/apps", json={"name": name}, headers=ADMIN)
        assert response.status == 201
        return str((await response.json())["api_key"])


def test_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": "admin-token",
        "encryption_key": Fernet.generate_key().decode(),
        "max_skus": 5,
        "max_bags": 2,
        "max_quantity": 10,
        "max_body_bytes": 4096,
        "create_deadline_s": 2.0,
        "log_format": "json",
        # fairness.py's per-app bounds and the failed-auth throttle are off here: these tests
        # send many requests from one app and one address on purpose; tests/api/test_fairness.py
        # turns each on.
        "app_in_flight_reserve": 0,
        "app_rate_limit": "",
        "auth_failure_limit": "",
        "anonymous_rate_limit": "",  # tests poll /metrics as fast as they like
        # /metrics counts what the test just did (test_metrics_door.py turns the cache on).
        "metrics_cache_s": 0,
    }
    values.update(overrides)
    return Settings(**values)


class EnvelopeTestServer(TestServer):
    """aiohttp's ``TestServer`` on ``EnvelopeAppRunner``: the app served as ``multicart serve``
    serves it (framing errors answered with the envelope)."""

    async def _make_runner(self, **kwargs: Any) -> web.BaseRunner:
        # As `multicart serve` does: a client that goes away does not cancel its handler
        # (aiohttp's TestServer turns handler_cancellation on).
        kwargs["handler_cancellation"] = False
        return EnvelopeAppRunner(self.app, **kwargs)


CATALOG = [
    ("tent", 0, 12999, "USD", True, {"product_id": 1}),
    ("lamp", 0, 2999, "USD", True, {"product_id": 2, "variant_id": 7}),
    ("pan", 1, 4550, "USD", True, {"product_id": 3}),
    ("book", 2, 1999, "USD", True, {"product_id": 4}),
    ("gone", 1, 100, "USD", False, {"product_id": 5}),
    ("euro", 1, 100, "EUR", True, {"product_id": 6}),
]
PRICES = {ref_key(ref): price for _, _, price, _, _, ref in CATALOG}


async def seed(client: TestClient) -> tuple[str, dict[str, str], list[str]]:  # type: ignore[type-arg]
    merchants = []
    for name in ("Outdoors", "Kitchen", "Books"):
        response = await client.post(
            "/v1/admin/merchants",
            headers=ADMIN,
            json={
                "name": name,
                "platform": "BIGCOMMERCE",
                "connection": {
                    "api_url": f"https://fake.test/stores/{name}/v3",
                    "access_token": f"secret-token-{name}",
                },
            },
        )
        assert response.status == 201, await response.text()
        merchants.append((await response.json())["id"])
    catalog = CATALOG
    body = [
        {
            "sku_id": f"sku-{n}",
            "merchant_id": merchants[m],
            "name": n.title(),
            "price": p,
            "currency": c,
            "available": a,
            "platform_ref": ref,
        }
        for n, m, p, c, a, ref in catalog
    ]
    response = await client.put("/v1/admin/skus", json=body, headers=ADMIN)
    assert response.status == 200, await response.text()
    assert (await response.json()) == {"upserted": len(body)}
    response = await client.post("/v1/admin/apps", json={"name": "shop"}, headers=ADMIN)
    key = (await response.json())["api_key"]
    return key, {n: f"sku-{n}" for n, *_ in catalog}, merchants


@pytest.fixture
async def api(migrated_database_url: str) -> AsyncIterator[Api]:
    platforms = FakeRegistry(prices=PRICES)
    app = create_app(test_settings(migrated_database_url), platforms=platforms, run_worker=False)
    client = TestClient(EnvelopeTestServer(app))
    await client.start_server()
    try:
        key, skus, merchants = await seed(client)
        yield Api(client, platforms, key, skus, merchants)
    finally:
        await client.close()
