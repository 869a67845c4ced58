"""The registry: the platform table, connection parsing, building adapters, shared clients."""

from __future__ import annotations

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from adapters.bigcommerce import BigCommerceAdapter, BigCommerceConnection
from adapters.registry import PLATFORMS, AdapterRegistry
from bags.status import Platform
from tests.adapters.conftest import OTHER_STORE, STORE, TOKEN, fast_settings

CONN = {"api_url": STORE, "access_token": TOKEN}


async def test_supported_platforms_and_connection_parsing() -> None:
    registry = AdapterRegistry(fast_settings())
    assert registry.supported_platforms() == set(Platform)  # every platform has its row
    parsed = registry.parse_connection(Platform.BIGCOMMERCE, {**CONN, "api_url": STORE + "/"})
    assert isinstance(parsed, BigCommerceConnection) and parsed.api_url == STORE
    with pytest.raises(ValidationError):
        registry.parse_connection(Platform.BIGCOMMERCE, {"api_url": STORE})
    with pytest.raises(ValidationError):  # the Shopify row's model: a URL, a token, a version
        registry.parse_connection(Platform.SHOPIFY, {"shop_url": "x"})
    await registry.aclose()


def test_every_platform_row_is_complete_and_the_registry_offers_exactly_the_table() -> None:
    registry = AdapterRegistry(fast_settings())
    assert registry.supported_platforms() == frozenset(PLATFORMS)
    for platform, spec in PLATFORMS.items():
        assert issubclass(spec.connection, BaseModel), platform
        assert spec.adapter.platform is platform  # type: ignore[attr-defined]
        assert spec.capabilities == spec.adapter.capabilities  # type: ignore[attr-defined]


async def test_adapters_are_built_per_call_and_share_one_client_per_platform() -> None:
    registry = AdapterRegistry(fast_settings())
    first = registry.for_merchant("m1", Platform.BIGCOMMERCE, CONN)
    assert isinstance(first, BigCommerceAdapter)
    # The orchestrator caches built adapters (orchestrator.service.merchants), not the registry.
    assert registry.for_merchant("m1", "BIGCOMMERCE", dict(CONN)) is not first
    moved = registry.for_merchant("m1", Platform.BIGCOMMERCE, {**CONN, "api_url": OTHER_STORE})
    assert isinstance(moved, BigCommerceAdapter) and moved._base == OTHER_STORE
    # one client for the platform, closed by aclose
    client = registry.client(Platform.BIGCOMMERCE)
    assert registry.client(Platform.BIGCOMMERCE) is client
    await registry.aclose()
    assert client.is_closed


async def test_an_injected_client_is_used_and_left_open() -> None:
    client = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(204)))
    registry = AdapterRegistry(fast_settings(), client=client)
    adapter = registry.for_merchant("m1", Platform.BIGCOMMERCE, CONN)
    await adapter.delete_cart("c1", deadline=10**9)
    await registry.aclose()
    assert not client.is_closed
    await client.aclose()


async def test_an_injected_transport_is_used() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    registry = AdapterRegistry(fast_settings(), transport=httpx.MockTransport(handler))
    adapter = registry.for_merchant("m1", Platform.BIGCOMMERCE, CONN)
    await adapter.delete_cart("c1", deadline=10**9)
    await registry.aclose()
    assert [(r.method, r.url.path) for r in seen] == [("DELETE", "/stores/abc123/v3/carts/c1")]
