"""Fixtures for the sandbox tests: the app in-process on a real loopback port (aiohttp's
TestServer), and small platform clients that speak to it over real HTTP.

``client`` serves the three BigCommerce stores only (the BigCommerce tests were written for that
world and pin its store list); ``world`` serves every default store of every platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, TestServer

from sandbox.app import STATE, SandboxConfig, build_app
from sandbox.bigcommerce.catalog import default_stores as bigcommerce_stores
from sandbox.catalog import store_token
from sandbox.state import SandboxState

Client = TestClient[web.Request, web.Application]


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    config = SandboxConfig(hang_max_s=10, stores=bigcommerce_stores())
    async with TestClient(TestServer(build_app(config))) as test_client:
        yield test_client


@pytest.fixture
async def world() -> AsyncIterator[Client]:
    async with TestClient(TestServer(build_app(SandboxConfig(hang_max_s=10)))) as test_client:
        yield test_client


@pytest.fixture
def state(client: Client) -> SandboxState:
    return client.app[STATE]


def item(product_id: int, quantity: int = 1, variant_id: int | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"product_id": product_id, "quantity": quantity}
    if variant_id is not None:
        line["variant_id"] = variant_id
    return line


class BC:
    """Speaks BigCommerce Carts v3 to one sandbox store, as an adapter would."""

    def __init__(self, client: Client, store: str = "outdoors1") -> None:
        self.client, self.store, self.token = client, store, store_token(store)

    def path(self, suffix: str = "") -> str:
        return f"/bigcommerce/stores/{self.store}/v3{suffix}"

    async def call(
        self,
        method: str,
        suffix: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> ClientResponse:
        sent = {"X-Auth-Token": self.token, "Accept": "application/json"}
        if body is not None:
            sent["Content-Type"] = "application/json"
        sent.update(headers or {})
        return await self.client.request(
            method, self.path(suffix), json=body, headers=sent, **kwargs
        )

    async def create(self, *items: dict[str, Any], query: str = "") -> dict[str, Any]:
        response = await self.call("POST", "/carts" + query, {"line_items": list(items)})
        assert response.status == 201, await response.text()
        return (await response.json())["data"]  # type: ignore[no-any-return]

    async def get(self, cart_id: str) -> ClientResponse:
        return await self.call("GET", f"/carts/{cart_id}")


@pytest.fixture
def bc(client: Client) -> BC:
    return BC(client)


async def control(client: Client, method: str, path: str, body: Any = None) -> Any:
    response = await client.request(method, "/__sandbox" + path, json=body)
    assert response.status < 300, await response.text()
    return await response.json()
