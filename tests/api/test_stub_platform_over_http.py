"""A fourth platform from this test module alone, on both sides, talking over real HTTP.

The module is what adding a platform is: a simulator "package" (its catalog, one cart route
through the sandbox's ``serve()``, fault hooks, one ``SandboxPlatform`` row) and an adapter
"package" (connection and ``platform_ref`` models, an adapter that POSTs to its store, one
``PlatformSpec`` row). Registered, the platform is in the sandbox's store list, the adapters'
registry and the OpenAPI document, and a cart is made on it through the API: the bag holds the
external cart the simulator made and the price it charged. No production file names it.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from adapters import (
    PLATFORMS,
    Capabilities,
    CartContext,
    ExternalCart,
    ExternalLine,
    LineRequest,
    PlatformSpec,
    register_platform,
)
from adapters.calls.connections import BASE_URL_SCHEMA, http_base_url
from adapters.calls.policy import RetryRules
from adapters.fake import FAKE_CART_ID, FakePlatform
from bags import Platform
from orchestrator.http.app import create_app
from sandbox import registry as sandbox_registry
from sandbox.app import SandboxConfig, build_app
from sandbox.catalog import ProductSeed, StoreSeed, VariantSeed, default_store
from sandbox.faults import Fault
from sandbox.platform_requests import json_response, serve
from sandbox.registry import SandboxPlatform
from sandbox.state import SandboxState, Store
from tests.api.conftest import ADMIN, EnvelopeTestServer
from tests.api.conftest import test_settings as api_settings

NAME = "TINYCART"
TINYCART = Platform(NAME)

# -- the simulator's "package" -------------------------------------------------------------------


def tiny_refs(
    seed: StoreSeed, product: ProductSeed, variant: VariantSeed | None
) -> tuple[dict[str, Any], ...]:
    return ({"code": product.sku},)


def tiny_stores() -> list[StoreSeed]:
    lamp = ProductSeed(product_id=1, name="Lamp", sku="LAMP", price=2400, stock=9,
                       base_variant_id=10)  # fmt: skip
    return [default_store("tiny1", NAME, lamp)]


class TinyServer:
    """``POST /tiny/{store}/carts``: a cart of ``{"code", "quantity"}`` lines, priced from the
    store's catalog; and the answers its faults take."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.ids = itertools.count(1)

    async def create(self, request: web.Request) -> web.StreamResponse:
        store = self.state.stores.get(request.match_info["store"])
        if store is None or store.platform != NAME:
            return json_response({"error": "no such store"}, 404)
        return await serve(self.state, request, store, self.make_cart, self)

    async def make_cart(self, request: web.Request, store: Store) -> web.StreamResponse:
        prices = {s.platform_ref["code"]: s for s in store.on_platform()}
        lines = []
        for line in (await request.json())["lines"]:
            sellable = prices.get(line["code"])
            if sellable is None:
                return json_response({"error": f"unknown code {line['code']}"}, 422)
            lines.append({"code": line["code"], "quantity": line["quantity"],
                          "price": sellable.price})  # fmt: skip
        return json_response({"id": f"cart-{next(self.ids)}", "lines": lines}, 201)

    def fault_error(self, request: web.Request, store: Store, status: int) -> web.StreamResponse:
        return json_response({"error": status}, status)

    def fault_throttle(
        self, request: web.Request, store: Store, fault: Fault
    ) -> web.StreamResponse:
        return json_response({"error": "slow down"}, 429)


SANDBOX_ROW = SandboxPlatform(
    name=NAME,
    summary="TinyCart: POST http://HOST:PORT/tiny/{store}/carts.",
    routes=lambda state: [web.post("/tiny/{store}/carts", TinyServer(state).create)],
    cart_ttl_s=3600,
    platform_refs=tiny_refs,
    default_stores=tiny_stores,
    connection=lambda store, origin: {"store_url": f"{origin}/tiny/{store.name}"},
    settings=lambda store: {},
)

# -- the adapter's "package" ---------------------------------------------------------------------


class TinyConnection(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    store_url: str = Field(json_schema_extra=BASE_URL_SCHEMA)

    @field_validator("store_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        return http_base_url(value, "https://tiny.test/store")

    @property
    def base_url(self) -> str:
        return self.store_url


class TinyRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: StrictStr


class TinyAdapter(FakePlatform):
    """Creates its carts on the store over HTTP; the rest of the ``CartPlatform`` surface is
    the fake's (this test makes carts only)."""

    capabilities = Capabilities(can_delete_cart=True, caller_chosen_cart_ids=False)

    def __init__(
        self, merchant_id: str, connection: Any, transport: Any, resilience: Any, policy: Any
    ) -> None:
        super().__init__(platform=TINYCART, capabilities=self.capabilities)
        self.merchant_id = merchant_id
        self.url = f"{connection.base_url}/carts"

    async def create_cart(
        self,
        lines: Sequence[LineRequest],
        *,
        currency: str,
        deadline: float,
        cart_ref: str | None = None,
        context: CartContext | None = None,
    ) -> ExternalCart:
        body = {
            "lines": [{"code": ln.platform_ref["code"], "quantity": ln.quantity} for ln in lines]
        }
        async with aiohttp.ClientSession() as session, session.post(self.url, json=body) as answer:
            assert answer.status == 201, await answer.text()
            made = await answer.json()
        held = tuple(
            ExternalLine(
                external_id=f"{made['id']}-{i}",
                platform_ref={"code": line["code"]},
                quantity=line["quantity"],
                unit_price=line["price"],
                line_price=line["price"] * line["quantity"],
            )
            for i, line in enumerate(made["lines"])
        )
        return ExternalCart(
            external_id=made["id"],
            currency=currency,
            sub_total=sum(line.line_price for line in held),
            lines=held,
        )


ADAPTER_ROW = PlatformSpec(
    name=TINYCART,
    connection=TinyConnection,
    platform_ref=TinyRef,
    adapter=TinyAdapter,
    retry=RetryRules(),
    capabilities=TinyAdapter.capabilities,
    cart_id=FAKE_CART_ID,
    cart_lifetime=timedelta(days=2),
    settings_section="tinycart",
)

# -- the test ------------------------------------------------------------------------------------


@pytest.fixture
def rows() -> Iterator[None]:
    undo = register_platform(ADAPTER_ROW)
    try:
        with sandbox_registry.registered(SANDBOX_ROW):
            yield
    finally:
        undo()


@pytest.fixture
async def sandbox(rows: None) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    async with TestClient(TestServer(build_app(SandboxConfig(hang_max_s=10)))) as client:
        yield client


@pytest.fixture
async def api(rows: None, migrated_database_url: str) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    settings = api_settings(migrated_database_url, allow_private_platform_urls=True)
    client = TestClient(EnvelopeTestServer(create_app(settings, run_worker=False)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def test_a_fourth_platform_from_one_module_makes_a_cart_over_http(
    sandbox: TestClient,  # type: ignore[type-arg]
    api: TestClient,  # type: ignore[type-arg]
) -> None:
    stores = await (await sandbox.get("/__sandbox/stores")).json()
    [tiny] = [s for s in stores if s["platform"] == NAME]  # the sandbox's store list
    assert TINYCART in PLATFORMS  # the adapters' registry
    document = await (await api.get("/openapi.json")).json()
    assert NAME in document["components"]["schemas"]["Platform"]["enum"]

    merchant = {"name": "Tiny", "platform": NAME, "connection": tiny["connection"]}
    response = await api.post("/v1/admin/merchants", headers=ADMIN, json=merchant)
    assert response.status == 201, await response.text()
    merchant_id = (await response.json())["id"]
    lamp = tiny["products"][0]
    sku = {
        "sku_id": "lamp",
        "merchant_id": merchant_id,
        "name": lamp["name"],
        "price": lamp["price"],
        "currency": "USD",
        "platform_ref": lamp["platform_ref"],
    }
    response = await api.put("/v1/admin/skus", headers=ADMIN, json=[sku])
    assert response.status == 200, await response.text()
    response = await api.post("/v1/admin/apps", headers=ADMIN, json={"name": "shop"})
    auth = {"Authorization": f"Bearer {(await response.json())['api_key']}"}

    response = await api.post(
        "/v1/carts", headers=auth, json={"skus": [{"sku_id": "lamp", "quantity": 3}]}
    )
    assert response.status == 201, await response.text()
    [bag] = (await response.json())["bags"]
    assert (bag["platform"], bag["status"]) == (NAME, "IN_PROGRESS")
    assert bag["external_id"] == "cart-1" and bag["sub_total"] == 3 * 2400
    made = await (await sandbox.get(f"/__sandbox/requests?store={tiny['store']}")).json()
    assert [(r["method"], r["status"]) for r in made] == [("POST", 201)]  # over HTTP, once
