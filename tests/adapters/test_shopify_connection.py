"""The Shopify connection model, its place in the registry, and its secrets kept out of errors."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import ValidationError
from structlog.testing import capture_logs

from adapters.registry import PLATFORMS, AdapterRegistry
from adapters.shopify import RETRY_RULES, SHOPIFY, ShopifyAdapter, ShopifyConnection
from errors import PlatformAuthFailed
from tests.adapters.conftest import deadline
from tests.adapters.shopify_answers import ENDPOINT, SHOP, TOKEN, A

# --- connection, registry, secrets ----------------------------------------------------------------


def test_connection_defaults_strips_and_hides_the_token() -> None:
    conn = ShopifyConnection.model_validate({"shop_url": SHOP + "/", "storefront_token": TOKEN})
    assert conn.shop_url == SHOP and conn.api_version == "2026-04"
    assert conn.endpoint == ENDPOINT
    assert TOKEN not in repr(conn)
    sandbox = ShopifyConnection.model_validate(
        {
            "shop_url": "http://127.0.0.1:8090/shopify/outdoors",
            "storefront_token": "t0k",
            "api_version": "2025-01",
        }
    )
    assert sandbox.endpoint == "http://127.0.0.1:8090/shopify/outdoors/api/2025-01/graphql.json"


@pytest.mark.parametrize(
    "raw",
    [
        {"shop_url": "ftp://shop.test", "storefront_token": "t"},
        {"shop_url": "not a url", "storefront_token": "t"},
        {"shop_url": SHOP + "?x=1", "storefront_token": "t"},
        {"shop_url": SHOP + "#frag", "storefront_token": "t"},
        {"shop_url": "https://user:pw@shop.test", "storefront_token": "t"},
        {"shop_url": "https://shop.test:http", "storefront_token": "t"},
        {"shop_url": "https://shop.test/a b", "storefront_token": "t"},
        {"shop_url": ENDPOINT, "storefront_token": "t"},
        {"shop_url": SHOP, "storefront_token": ""},
        {"shop_url": SHOP, "storefront_token": "   "},
        {"shop_url": SHOP, "storefront_token": "tok\r\nX-Injected: 1"},
        {"shop_url": SHOP, "storefront_token": "tok\n"},
        {"shop_url": SHOP, "storefront_token": "tok\x00"},
        {"shop_url": SHOP, "storefront_token": "tök"},
        {"shop_url": SHOP, "storefront_token": "two words"},
        {"shop_url": SHOP, "storefront_token": "t", "api_version": "2026-4"},
        {"shop_url": SHOP, "storefront_token": "t", "api_version": "unstable"},
        {"shop_url": SHOP, "storefront_token": "t", "api_version": "2024-07"},  # no warnings yet
        {"shop_url": SHOP},
        {"shop_url": SHOP, "storefront_token": "t", "access_token": "extra"},
    ],
)
def test_bad_connections_are_refused_without_echoing_the_input(raw: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as info:
        ShopifyConnection.model_validate(raw)
    token = raw.get("storefront_token", "")
    if len(token) > 3:  # long enough not to match by chance
        assert token not in str(info.value) and repr(token) not in str(info.value)


async def test_the_registry_builds_shopify_from_its_table_row(registry: AdapterRegistry) -> None:
    spec = PLATFORMS[SHOPIFY]
    assert spec.connection is ShopifyConnection and spec.adapter is ShopifyAdapter
    assert spec.retry == RETRY_RULES and spec.retry.retry_answers_on_create == {503}
    assert spec.capabilities.can_delete_cart is False
    assert spec.capabilities.caller_chosen_cart_ids is False
    assert SHOPIFY in registry.supported_platforms()
    adapter = registry.for_merchant(
        "mer_2", "SHOPIFY", {"shop_url": SHOP, "storefront_token": TOKEN, "api_version": "2025-10"}
    )
    assert isinstance(adapter, ShopifyAdapter) and adapter.platform is SHOPIFY
    assert adapter._endpoint == httpx.URL(f"{SHOP}/api/2025-10/graphql.json")
    with pytest.raises(ValidationError):
        registry.parse_connection(SHOPIFY, {"shop_url": SHOP})


async def test_no_log_line_or_error_carries_the_token(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gql.mock(side_effect=[httpx.Response(503), httpx.Response(401, text="")])
    with capture_logs() as logs, pytest.raises(PlatformAuthFailed) as info:
        await shop.create_cart([A], currency="USD", deadline=deadline())
    assert [e["event"] for e in logs] == ["platform_call", "platform_retry", "platform_call"]
    assert logs[0]["platform"] == "SHOPIFY" and logs[0]["op"] == "create_cart"
    assert logs[0]["path"] == "/api/2026-04/graphql.json" and logs[0]["status"] == 503
    assert TOKEN not in repr(logs)
    assert TOKEN not in repr(info.value) and TOKEN not in str(info.value.data)
