"""A platform added from this test module alone, with no production file touched.

Its own connection and ``platform_ref`` models and adapter class, one row registered with
``register_platform``: the registry serves it, the OpenAPI document lists it, an admin
registers a merchant on it and a cart is made through the API, the app built as tests/api
builds it (``create_app``, here with the registry it builds itself), the stub answering
in-process. The row is taken away again after each test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictStr, field_validator

from adapters import PLATFORMS, AdapterRegistry, Capabilities, PlatformSpec, register_platform
from adapters.calls.connections import BASE_URL_SCHEMA, http_base_url
from adapters.calls.ids import IdFormat
from adapters.calls.policy import RetryRules
from adapters.fake import FAKE_CART_ID, FakePlatform
from bags.status import CART_LIFETIMES, Platform
from orchestrator.http.app import create_app
from tests.api.conftest import ADMIN, EnvelopeTestServer
from tests.api.conftest import test_settings as api_settings

STUB = Platform("STUB")
STUB_CART_ID: IdFormat = FAKE_CART_ID  # the stub's carts are the fake's (``cart-7``)


class StubConnection(BaseModel):
    """A merchant's store on the stub platform: its URL and key."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    store_url: str = Field(json_schema_extra=BASE_URL_SCHEMA)
    api_key: SecretStr = Field(min_length=1)

    @field_validator("store_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        return http_base_url(value, "https://stub.test/store")

    @property
    def base_url(self) -> str:
        return self.store_url


class StubRef(BaseModel):
    """A SKU's id on the stub platform."""

    model_config = ConfigDict(extra="forbid")

    item: StrictStr


class StubAdapter(FakePlatform):
    """The stub platform's adapter: the in-memory store, built by the registry from the row
    as every adapter is (it never uses its transport)."""

    capabilities = Capabilities(can_delete_cart=True, caller_chosen_cart_ids=False)

    def __init__(
        self, merchant_id: str, connection: Any, transport: Any, resilience: Any, policy: Any
    ) -> None:
        super().__init__(platform=STUB, capabilities=self.capabilities, default_price=1500)
        self.merchant_id = merchant_id
        self.connection = connection


STUB_ROW = PlatformSpec(
    name=STUB,
    connection=StubConnection,
    platform_ref=StubRef,
    adapter=StubAdapter,
    retry=RetryRules(),
    capabilities=StubAdapter.capabilities,
    cart_id=STUB_CART_ID,
    cart_lifetime=timedelta(days=3),
    settings_section="stub",
)
STORE = {"store_url": "https://stub.test/store", "api_key": "stub-key"}


@pytest.fixture
def stub_row() -> Iterator[PlatformSpec]:
    undo = register_platform(STUB_ROW)
    try:
        yield STUB_ROW
    finally:
        undo()


@pytest.fixture
async def client(stub_row: PlatformSpec, migrated_database_url: str) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    app = create_app(api_settings(migrated_database_url), run_worker=False)
    client = TestClient(EnvelopeTestServer(app))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def test_the_registry_serves_the_row(stub_row: PlatformSpec) -> None:
    settings = api_settings("sqlite+aiosqlite://", stub={"max_attempts": 2})
    assert settings.for_platform(stub_row.settings_section).max_attempts == 2  # its own section
    registry = AdapterRegistry(settings)
    try:
        assert STUB in registry.supported_platforms() and PLATFORMS[STUB] is stub_row
        assert CART_LIFETIMES[STUB] == timedelta(days=3)
        assert isinstance(registry.parse_platform_ref(STUB, {"item": "x"}), StubRef)
        adapter = registry.for_merchant("mer_1", "STUB", STORE)
        assert isinstance(adapter, StubAdapter) and adapter.merchant_id == "mer_1"
        assert adapter.connection.base_url == STORE["store_url"]
        assert registry.cart_id_problem(STUB, "cart-7") is None
        assert registry.cart_id_problem(STUB, "../cart") is not None
    finally:
        await registry.aclose()


def test_the_row_goes_with_its_undo() -> None:
    undo = register_platform(STUB_ROW)
    with pytest.raises(ValueError, match="already registered"):
        register_platform(STUB_ROW)
    undo()
    assert STUB not in PLATFORMS and STUB not in CART_LIFETIMES


async def test_the_document_lists_the_stub(client: TestClient) -> None:  # type: ignore[type-arg]
    schemas = (await (await client.get("/openapi.json")).json())["components"]["schemas"]
    assert "STUB" in schemas["Platform"]["enum"]
    variants = {v["title"]: v for v in schemas["MerchantIn"]["oneOf"]}
    assert variants["STUB"]["properties"] == {
        "platform": {"const": "STUB"},
        "connection": {"$ref": "#/components/schemas/StubConnection"},
    }
    assert "pattern" in schemas["StubConnection"]["properties"]["store_url"]  # the URL policy
    refs = schemas["SkuIn"]["properties"]["platform_ref"]["anyOf"]
    assert {"$ref": "#/components/schemas/StubRef"} in refs
    lifetime = schemas["BagOut"]["properties"]["external_expires_at"]["description"]
    assert "STUB 3 days" in lifetime


async def test_a_merchant_and_a_cart_on_the_stub(client: TestClient) -> None:  # type: ignore[type-arg]
    bad = {"name": "Stubby", "platform": "STUB", "connection": {"store_url": "x"}}
    response = await client.post("/v1/admin/merchants", headers=ADMIN, json=bad)
    assert response.status == 400
    merchant = {"name": "Stubby", "platform": "STUB", "connection": STORE}
    response = await client.post("/v1/admin/merchants", headers=ADMIN, json=merchant)
    assert response.status == 201, await response.text()
    made = await response.json()
    assert made["platform"] == "STUB"
    response = await client.get(f"/v1/admin/merchants/{made['id']}", headers=ADMIN)
    assert (await response.json())["platform"] == "STUB"
    sku = {
        "sku_id": "stub-1",
        "merchant_id": made["id"],
        "name": "Stub thing",
        "price": 1500,
        "currency": "USD",
        "platform_ref": {"item": "thing"},
    }
    response = await client.put("/v1/admin/skus", headers=ADMIN, json=[sku])
    assert response.status == 200, await response.text()
    response = await client.post("/v1/admin/apps", headers=ADMIN, json={"name": "shop"})
    auth = {"Authorization": f"Bearer {(await response.json())['api_key']}"}
    body = {"skus": [{"sku_id": "stub-1", "quantity": 2}]}
    response = await client.post("/v1/carts", headers=auth, json=body)
    assert response.status == 201, await response.text()
    cart = await response.json()
    [bag] = cart["bags"]
    assert bag["platform"] == "STUB" and bag["status"] == "IN_PROGRESS"
    assert bag["external_id"].startswith("cart-") and bag["sub_total"] == 3000
    assert bag["external_expires_at"] is not None  # the row's lifetime, read by the domain
    assert cart["errors"] == []


async def test_an_unknown_platform_is_still_refused(client: TestClient) -> None:  # type: ignore[type-arg]
    merchant = {"name": "Nope", "platform": "NOPE", "connection": STORE}
    response = await client.post("/v1/admin/merchants", headers=ADMIN, json=merchant)
    assert response.status == 400
    assert "'STUB'" in await response.text()
