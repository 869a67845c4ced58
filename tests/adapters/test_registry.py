"""The registry: the platform table, connection parsing, building adapters, shared transports."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import httpx
import pytest
from pydantic import BaseModel, ValidationError

from adapters.bigcommerce import BIGCOMMERCE, BigCommerceAdapter, BigCommerceConnection
from adapters.calls.aiohttp_transport import AiohttpTransport
from adapters.elastic_path import ELASTIC_PATH
from adapters.registry import PLATFORMS, AdapterRegistry
from adapters.shopify import SHOPIFY
from config import PlatformSettings
from errors import PlatformTimeout
from tests.adapters.conftest import (
    CART_ID,
    OTHER_STORE,
    STORE,
    TOKEN,
    Behaviour,
    TcpServer,
    close_after_read,
    fast_settings,
)
from tests.support.httpx_transport import HttpxTransport

StartServer = Callable[[Behaviour], Awaitable[TcpServer]]

CONN = {"api_url": STORE, "access_token": TOKEN}


async def test_supported_platforms_and_connection_parsing() -> None:
    registry = AdapterRegistry(fast_settings())
    assert registry.supported_platforms() == {SHOPIFY, BIGCOMMERCE, ELASTIC_PATH}  # every row
    parsed = registry.parse_connection(BIGCOMMERCE, {**CONN, "api_url": STORE + "/"})
    assert isinstance(parsed, BigCommerceConnection) and parsed.api_url == STORE
    with pytest.raises(ValidationError):
        registry.parse_connection(BIGCOMMERCE, {"api_url": STORE})
    with pytest.raises(ValidationError):  # the Shopify row's model: a URL, a token, a version
        registry.parse_connection(SHOPIFY, {"shop_url": "x"})
    await registry.aclose()


def test_every_platform_row_is_complete_and_the_registry_offers_exactly_the_table() -> None:
    registry = AdapterRegistry(fast_settings())
    assert registry.supported_platforms() == frozenset(PLATFORMS)
    for platform, spec in PLATFORMS.items():
        assert issubclass(spec.connection, BaseModel), platform
        assert spec.adapter.platform is platform  # type: ignore[attr-defined]
        assert spec.capabilities == spec.adapter.capabilities  # type: ignore[attr-defined]


async def test_adapters_are_built_per_call_and_share_one_transport_per_platform() -> None:
    registry = AdapterRegistry(fast_settings())
    first = registry.for_merchant("m1", BIGCOMMERCE, CONN)
    assert isinstance(first, BigCommerceAdapter)
    # The orchestrator caches built adapters (orchestrator.service.merchants), not the registry.
    assert registry.for_merchant("m1", "BIGCOMMERCE", dict(CONN)) is not first
    moved = registry.for_merchant("m1", BIGCOMMERCE, {**CONN, "api_url": OTHER_STORE})
    assert isinstance(moved, BigCommerceAdapter) and moved._base == OTHER_STORE
    # one production transport for the platform, another for each other platform
    transport = registry.transport(BIGCOMMERCE)
    assert isinstance(transport, AiohttpTransport)
    assert registry.transport(BIGCOMMERCE) is transport
    assert registry.transport(SHOPIFY) is not transport
    await registry.aclose()


async def test_aclose_closes_every_session_it_opened(tcp_server: StartServer) -> None:
    server = await tcp_server(close_after_read)
    registry = AdapterRegistry(fast_settings())
    adapter = registry.for_merchant(
        "m1", BIGCOMMERCE, {**CONN, "api_url": server.url + "/stores/s/v3"}
    )
    with pytest.raises(PlatformTimeout):
        await adapter.delete_cart(CART_ID, deadline=time.monotonic() + 3)
    transport = registry.transport(BIGCOMMERCE)
    assert isinstance(transport, AiohttpTransport)
    session = transport._session
    assert session is not None and not session.closed
    await registry.aclose()
    assert session.closed


async def test_an_injected_transport_factory_is_used_and_its_transports_closed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    built: list[PlatformSettings] = []

    def factory(settings: PlatformSettings) -> HttpxTransport:
        built.append(settings)
        return HttpxTransport(client)

    registry = AdapterRegistry(fast_settings(), transport_factory=factory)
    adapter = registry.for_merchant("m1", BIGCOMMERCE, CONN)
    await adapter.delete_cart(CART_ID, deadline=time.monotonic() + 3)
    await registry.aclose()
    assert [(r.method, r.url.path) for r in seen] == [
        ("DELETE", f"/stores/abc123/v3/carts/{CART_ID}")
    ]
    assert built == [fast_settings().for_platform("BIGCOMMERCE")]  # built once, when first used
    assert not client.is_closed  # a client handed in is its owner's to close
    await client.aclose()
