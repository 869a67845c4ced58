"""The explorer's tenants: one app, one merchant per platform kind with two SKUs each.

Why these three: Elastic Path takes the caller's cart id (the bag's), so a second create under
it finds the same cart and the reconciler can adopt by reference; Shopify and BigCommerce mint
their own ids, so a lost answer leaves an orphan only an ``undetectable`` entry counts. Each
merchant's store is a ``FakePlatform`` of its kind, registered through the admin routes as a
real merchant would be.
"""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient
from cryptography.fernet import Fernet

from adapters.bigcommerce import BIGCOMMERCE
from adapters.elastic_path import ELASTIC_PATH
from adapters.fake import FakePlatform, FakeRegistry
from adapters.shopify import SHOPIFY
from bags import Platform
from config import Settings
from orchestrator.store.tables import (
    bags,
    carts,
    external_deletes,
    idempotency_keys,
    order_errors,
    order_skus,
)

ADMIN = {"Authorization": "Bearer explore-admin"}
DEADLINE_S = 20.0  # long: a parked call is never cut short by real time within a step

# One merchant per platform kind, two SKUs each: (label, platform, connection, refs).
MERCHANTS: tuple[tuple[str, Platform, dict[str, str], tuple[dict[str, Any], ...]], ...] = (
    (
        "ep",
        ELASTIC_PATH,
        {"api_url": "https://ep.fake.test", "client_id": "id", "client_secret": "secret"},
        ({"sku": "ep-1"}, {"sku": "ep-2"}),
    ),
    (
        "bc",
        BIGCOMMERCE,
        {"api_url": "https://fake.test/stores/bc/v3", "access_token": "secret-bc"},
        ({"product_id": 11}, {"product_id": 12}),
    ),
    (
        "shop",
        SHOPIFY,
        {
            "shop_url": "https://shop.fake.test",
            "storefront_token": "secret-shop",
            "api_version": "2024-10",
        },
        (
            {"variant_id": "gid://shopify/ProductVariant/21"},
            {"variant_id": "gid://shopify/ProductVariant/22"},
        ),
    ),
)
CART_TABLES = (idempotency_keys, external_deletes, order_errors, order_skus, bags, carts)


def explore_settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        admin_token="explore-admin",  # noqa: S106 - the in-process app's, for this run only
        encryption_key=Fernet.generate_key().decode(),
        create_deadline_s=DEADLINE_S,
        request_deadline_s=DEADLINE_S,
        log_format="json",
        allow_private_platform_urls=True,
        # One app's interleavings, as fast as the machine allows: its rate is not what is
        # explored (tests/api/test_fairness.py tests it).
        app_rate_limit="",
    )


async def seed_stores(
    client: TestClient[Any, Any], registry: FakeRegistry
) -> tuple[str, dict[str, str], dict[str, list[str]], dict[str, dict[str, Any]]]:
    """Register the app, the merchants (each given its fake store) and the SKUs; returns the
    app's key, merchant ids and SKU ids by label, and each SKU's platform ref."""
    key = await _admin(client, "POST", "/v1/admin/apps", {"name": "explorer"})
    merchant_ids: dict[str, str] = {}
    skus: dict[str, list[str]] = {}
    sku_refs: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for label, platform, connection, refs in MERCHANTS:
        made = await _admin(
            client,
            "POST",
            "/v1/admin/merchants",
            {"name": label, "platform": platform, "connection": connection},
        )
        merchant_id = made["id"]
        merchant_ids[label] = merchant_id
        registry.platforms[merchant_id] = FakePlatform(platform=platform, default_price=1000)
        skus[label] = [f"sku-{label}-{n}" for n in range(len(refs))]
        sku_refs.update(zip(skus[label], refs, strict=True))
        rows += [
            {
                "sku_id": sku_id,
                "merchant_id": merchant_id,
                "name": sku_id,
                "price": 1000,
                "currency": "USD",
                "available": True,
                "platform_ref": ref,
            }
            for sku_id, ref in zip(skus[label], refs, strict=True)
        ]
    await _admin(client, "PUT", "/v1/admin/skus", rows)
    return key["api_key"], merchant_ids, skus, sku_refs


async def _admin(client: TestClient[Any, Any], method: str, path: str, body: Any) -> Any:
    response = await client.request(method, path, json=body, headers=ADMIN)
    assert response.status in (200, 201), await response.text()
    return await response.json()
