"""Adding a platform to the sandbox is one package plus its registered row.

The stub platform below is written in this test module alone, the way a package under
``sandbox/`` would be (a catalog, routes that go through ``serve()``, fault hooks, one row): once
registered it is listed by the control API, serves its route, takes faults and leaves the table
again, without any shared sandbox file knowing of it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from sandbox import registry
from sandbox.app import SandboxConfig, build_app, parser
from sandbox.catalog import ProductSeed, StoreSeed, VariantSeed, default_store
from sandbox.faults import Fault
from sandbox.platform_requests import json_response, serve
from sandbox.registry import SandboxPlatform
from sandbox.state import SandboxState, Store
from tests.sandbox.conftest import Client, control

# -- the stub platform's "package": catalog, server, row -----------------------------------------

STUB = "STUB"


def stub_refs(
    seed: StoreSeed, product: ProductSeed, variant: VariantSeed | None
) -> tuple[dict[str, Any], ...]:
    return ({"code": f"{product.product_id}-{variant.variant_id if variant else 0}"},)


def stub_stores() -> list[StoreSeed]:
    widget = ProductSeed(product_id=1, name="Widget", sku="WIDGET", price=500, stock=7,
                         base_variant_id=10)  # fmt: skip
    return [default_store("stub1", STUB, widget)]


class StubServer:
    """The stub's routes, and the ``PlatformHooks`` that answer its faults."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def ping(self, request: web.Request) -> web.StreamResponse:
        store = self.state.stores.get(request.match_info["store"])
        if store is None or store.platform != STUB:
            return json_response({"error": "no such store"}, 404)
        return await serve(self.state, request, store, self.pong, self)

    async def pong(self, request: web.Request, store: Store) -> web.StreamResponse:
        return json_response({"pong": store.name, "products": len(store.on_platform())})

    def fault_error(self, request: web.Request, store: Store, status: int) -> web.StreamResponse:
        return json_response({"stub_error": status}, status)

    def fault_throttle(
        self, request: web.Request, store: Store, fault: Fault
    ) -> web.StreamResponse:
        return json_response({"stub_error": "slow down"}, 429)


def stub_routes(state: SandboxState) -> list[web.RouteDef]:
    return [web.get("/stub/{store}/ping", StubServer(state).ping)]


STUB_PLATFORM = SandboxPlatform(
    name=STUB,
    summary="Stub: GET http://HOST:PORT/stub/{store}/ping.",
    routes=stub_routes,
    cart_ttl_s=3600,
    platform_refs=stub_refs,
    default_stores=stub_stores,
    connection=lambda store, origin: {"base_url": f"{origin}/stub/{store.name}"},
    settings=lambda store: {"quota": store.rate.quota},
)

# -- the tests -----------------------------------------------------------------------------------


@pytest.fixture
async def stub_world() -> AsyncIterator[Client]:
    with registry.registered(STUB_PLATFORM):
        async with TestClient(TestServer(build_app(SandboxConfig(hang_max_s=10)))) as client:
            yield client


async def test_a_registered_platform_is_listed_with_its_stores(stub_world: Client) -> None:
    stores = await control(stub_world, "GET", "/stores")
    assert [s["store"] for s in stores][:3] == ["outdoors1", "kitchen2", "books3"]
    stub = stores[-1]
    assert (stub["store"], stub["platform"]) == ("stub1", STUB)
    assert stub["connection"] == {"base_url": str(stub_world.make_url("/stub/stub1"))}
    assert stub["settings"] == {"quota": 100_000}
    widget = stub["products"][0]
    assert (widget["platform_ref"], widget["price"], widget["stock"]) == ({"code": "1-0"}, 500, 7)
    assert {p.get("trigger") for p in stub["products"][1:]} == {
        "out_of_stock",
        "server_error",
        "not_on_platform",
    }


async def test_a_registered_platform_serves_its_routes_through_faults(stub_world: Client) -> None:
    response = await stub_world.get("/stub/stub1/ping")
    assert response.status == 200
    assert await response.json() == {"pong": "stub1", "products": 3}  # the 999 trigger is not on it
    await control(stub_world, "POST", "/faults", {"store": "stub1", "mode": "error", "status": 503})
    response = await stub_world.get("/stub/stub1/ping")
    assert (response.status, await response.json()) == (503, {"stub_error": 503})
    requests = await control(stub_world, "GET", "/requests?store=stub1")
    assert [(r["platform"], r["status"], r["fault"]) for r in requests] == [
        (STUB, 200, None),
        (STUB, 503, "error"),
    ]


def test_a_registered_platform_is_in_the_command_line_help() -> None:
    with registry.registered(STUB_PLATFORM):
        assert "Stub: GET http://HOST:PORT/stub/{store}/ping." in parser().description
    assert "Stub:" not in parser().description


def test_registering_twice_is_refused_and_the_undo_removes_the_row() -> None:
    undo = registry.register(STUB_PLATFORM)
    try:
        with pytest.raises(ValueError, match="already registered"):
            registry.register(STUB_PLATFORM)
        assert "stub1" in [seed.store for seed in registry.default_stores()]
    finally:
        undo()
    assert STUB not in registry.platforms()
    assert "stub1" not in [seed.store for seed in registry.default_stores()]
    with pytest.raises(ValueError, match="Input should be 'BIGCOMMERCE', 'SHOPIFY' or"):
        stub_stores()
