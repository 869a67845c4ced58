"""Worlds for the conformance suite: each adapter against its sandbox store over real HTTP, and
the fake, behind one small interface, so the same contract runs against every platform.

A world offers: the adapter, two products in stock and the trigger products (always out of
stock, always a 500, not on the platform), a way to arm the store's faults, the carts the
platform really holds, and an adapter with wrong credentials.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.base import CartPlatform
from adapters.bigcommerce import BIGCOMMERCE
from adapters.elastic_path import ELASTIC_PATH
from adapters.fake import FakePlatform, ref_key
from adapters.registry import AdapterRegistry
from adapters.shopify import SHOPIFY
from bags.status import Platform
from config import Settings
from errors import (
    PlatformAuthFailed,
    PlatformError,
    PlatformRateLimited,
    PlatformServerError,
    PlatformTimeout,
)
from sandbox.app import SandboxConfig, build_app

Ref = Mapping[str, Any]
ATTEMPT_TIMEOUT_S = 0.6
# One store per platform; faults are armed on the data path only (not Elastic Path's token).
STORES = {
    BIGCOMMERCE: ("outdoors1", "/carts"),
    SHOPIFY: ("threads4", "/graphql.json"),
    ELASTIC_PATH: ("garden6", "/v2/carts"),
}
_SECRETS = {"access_token", "storefront_token", "client_secret"}


def settings() -> Settings:
    return Settings(
        platform_connect_timeout_s=0.5,
        platform_attempt_timeout_s=ATTEMPT_TIMEOUT_S,
        platform_max_attempts=3,
        platform_retry_after_cap_s=0.3,
        circuit_failure_threshold=1000,  # the contract is about single calls, not breakers
        allow_private_platform_urls=True,  # the sandbox is on loopback
    )


def deadline(seconds: float = 3.0) -> float:
    return time.monotonic() + seconds


class World(Protocol):
    platform: Platform
    adapter: CartPlatform
    in_stock: list[Ref]
    triggers: dict[str, Ref]

    async def fault(self, mode: str, **spec: Any) -> None: ...

    async def held(self) -> list[dict[str, Any]]:
        """The carts the platform holds: ``{"id", "lines": [{"platform_ref", "quantity"}]}``."""
        ...

    def with_bad_credentials(self) -> CartPlatform: ...


@dataclass
class SandboxWorld:
    platform: Platform
    adapter: CartPlatform
    in_stock: list[Ref]
    triggers: dict[str, Ref]
    client: TestClient[web.Request, web.Application]
    registry: AdapterRegistry
    store: str
    connection: dict[str, Any]
    data_path: str

    async def fault(self, mode: str, **spec: Any) -> None:
        body = {"store": self.store, "mode": mode, "path_contains": self.data_path, **spec}
        response = await self.client.post("/__sandbox/faults", json=body)
        assert response.status == 201, await response.text()

    async def held(self) -> list[dict[str, Any]]:
        response = await self.client.get("/__sandbox/carts", params={"store": self.store})
        assert response.status == 200, await response.text()
        carts: list[dict[str, Any]] = await response.json()
        return carts

    def with_bad_credentials(self) -> CartPlatform:
        wrong = {k: ("sbx_wrong" if k in _SECRETS else v) for k, v in self.connection.items()}
        return self.registry.for_merchant("mer_wrong", self.platform, wrong)


@dataclass
class FakeWorld:
    """The fake, armed by script: what the sandbox's faults do, as the adapters report them."""

    platform: Platform
    adapter: FakePlatform
    in_stock: list[Ref]
    triggers: dict[str, Ref]

    async def fault(self, mode: str, **spec: Any) -> None:
        p = self.platform
        count = spec.get("count", 1000)
        op = "get_cart" if spec.get("method") == "GET" else "create_cart"
        errors: dict[str, PlatformError] = {
            "rate_limit": PlatformRateLimited("throttled", platform=p, retry_after=0.01),
            "error": PlatformServerError("500", platform=p, status=spec.get("status", 500)),
            "hang": PlatformTimeout("no answer", platform=p, may_have_applied=True),
        }
        if mode == "apply_then_hang":
            lost = PlatformTimeout("answer lost", platform=p, may_have_applied=True)
            self.adapter.lose_answer_next(op, lost, times=count)
            return
        self.adapter.fail_next(op, errors[mode], times=count)

    async def held(self) -> list[dict[str, Any]]:
        return [
            {
                "id": cart.id,
                "lines": [{"platform_ref": ln.ref, "quantity": ln.quantity} for ln in cart.lines],
            }
            for cart in self.adapter.carts.values()
        ]

    def with_bad_credentials(self) -> CartPlatform:
        p = FakePlatform(platform=self.platform, default_price=100)
        p.fail_next("create_cart", PlatformAuthFailed("bad token", platform=p.platform))
        return p


async def _sandbox_world(platform: Platform) -> AsyncIterator[World]:
    app = build_app(SandboxConfig(hang_max_s=5))
    async with TestClient(TestServer(app)) as client:
        stores = await (await client.get("/__sandbox/stores")).json()
        store_name, data_path = STORES[platform]
        store = next(s for s in stores if s["store"] == store_name)
        products = store["products"]
        registry = AdapterRegistry(settings())
        try:
            yield SandboxWorld(
                platform=platform,
                adapter=registry.for_merchant("mer_1", platform, store["connection"]),
                in_stock=[
                    p["platform_ref"] for p in products if "trigger" not in p and p["stock"] >= 10
                ][:2],
                triggers={p["trigger"]: p["platform_ref"] for p in products if "trigger" in p},
                client=client,
                registry=registry,
                store=store_name,
                connection=store["connection"],
                data_path=data_path,
            )
        finally:
            await registry.aclose()


def _fake_world() -> World:
    refs = [{"product_id": 1}, {"product_id": 2}]
    triggers = {
        "out_of_stock": {"product_id": 900},
        "server_error": {"product_id": 901},
        "not_on_platform": {"product_id": 999},
    }
    fake = FakePlatform(
        {ref_key(refs[0]): 1299, ref_key(refs[1]): 2499, ref_key(triggers["out_of_stock"]): 10},
        platform=BIGCOMMERCE,
        out_of_stock={ref_key(triggers["out_of_stock"])},
    )
    return FakeWorld(BIGCOMMERCE, fake, refs, triggers)


@pytest.fixture(params=["bigcommerce", "shopify", "elastic_path", "fake"])
async def world(request: pytest.FixtureRequest) -> AsyncIterator[World]:
    if request.param == "fake":
        yield _fake_world()
        return
    async for made in _sandbox_world(Platform(request.param.upper())):
        yield made
