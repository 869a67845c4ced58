"""Inputs that answered 500 (or were wrongly accepted) get the same clear 4xx on both engines
Each test failed before the fix it names."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from orchestrator.http.fields import MAX_PRICE
from tests.api.conftest import ADMIN, Api
from tests.store.factories import count_carts

JSON = {"Content-Type": "application/json"}


async def answer(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body: dict[str, Any] = await response.json()
    assert set(body) == {"message", "error", "code", "data"} and body["error"] == error, body
    return body


def fields(body: dict[str, Any]) -> set[str]:
    return {f["field"] for f in body["data"]["fields"]}


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"name": "a\u0000b"}, "name"),
        ({"customer_id": "c\u0000"}, "customer_id"),
        ({"app_order_id": "o\u0007"}, "app_order_id"),
        ({"metadata": {"k\u0000": "v"}}, "metadata.k\u0000.[key]"),
        ({"metadata": {"k": "v\u0000"}}, "metadata.k"),
        ({"skus": [{"sku_id": "sku-\u0000", "quantity": 1}]}, "skus[0].sku_id"),
        ({"skus": [{"sku_id": " ", "quantity": 1}]}, "skus[0].sku_id"),
        ({"skus": [{"sku_id": "\r", "quantity": 1}]}, "skus[0].sku_id"),
    ],
)
async def test_nul_and_control_characters_are_a_400_naming_the_field(
    api: Api, patch: dict[str, Any], field: str
) -> None:
    body = await answer(await api.post_cart(patch), 400, "invalid_request")
    assert field in fields(body), body
    assert await count_carts(api.store) == 0


async def test_nul_in_admin_names_path_ids_and_query_values(api: Api) -> None:
    response = await api.client.post("/v1/admin/apps", json={"name": "a\u0000"}, headers=ADMIN)
    assert "name" in fields(await answer(response, 400, "invalid_request"))
    response = await api.client.get("/v1/carts/a%00b", headers=api.auth)
    assert fields(await answer(response, 400, "invalid_request")) == {"cart_id"}
    response = await api.client.delete("/v1/carts/a%00b", headers=api.auth)
    await answer(response, 400, "invalid_request")
    response = await api.client.get("/v1/admin/merchants/m%00", headers=ADMIN)
    assert fields(await answer(response, 400, "invalid_request")) == {"merchant_id"}
    for query, field in (("customer_id=a%00", "customer_id"), ("cursor=a%00", "cursor")):
        response = await api.client.get(f"/v1/carts?{query}", headers=api.auth)
        assert fields(await answer(response, 400, "invalid_request")) == {field}
    response = await api.client.get("/v1/admin/skus?merchant_id=m%00", headers=ADMIN)
    assert fields(await answer(response, 400, "invalid_request")) == {"merchant_id"}


def _cursor(value: Any) -> str:
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "A" * 600,  # longer than any cursor we make (deep JSON: tests/store/test_cursor.py)
        _cursor(["0001-01-01T00:00:00+05:00", "cart_x"]),  # OverflowError moving to UTC
        _cursor(["9999-12-31T23:59:59-05:00", "cart_x"]),
        _cursor(["2024-01-01T00:00:00+00:00", "cart\u0000x"]),  # NUL reaching PostgreSQL
    ],
)
async def test_crafted_cursors_are_a_400(api: Api, cursor: str) -> None:
    response = await api.client.get(f"/v1/carts?cursor={cursor}", headers=api.auth)
    assert fields(await answer(response, 400, "invalid_request")) == {"cursor"}


@pytest.mark.parametrize("limit", ["%C2%B2", "%D9%A3", "1e3", "99999999999999999999"])
async def test_non_ascii_digits_in_limit_are_a_400(api: Api, limit: str) -> None:
    response = await api.client.get(f"/v1/carts?limit={limit}", headers=api.auth)
    assert fields(await answer(response, 400, "invalid_request")) == {"limit"}


def sku(api: Api, **patch: Any) -> dict[str, Any]:
    return {
        "sku_id": "sku-new",
        "merchant_id": api.merchants[0],
        "name": "New",
        "price": 100,
        "currency": "USD",
        "platform_ref": {"product_id": 9},
        **patch,
    }


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"price": 2**63}, "[0].price"),
        ({"price": 2**62}, "[0].price"),
        ({"price": MAX_PRICE + 1}, "[0].price"),
        ({"platform_ref": {}}, "[0].platform_ref"),
        ({"platform_ref": {"a": {"b": 1}}}, "[0].platform_ref.a"),
        ({"platform_ref": {"product_id": "x\u0000"}}, "[0].platform_ref.product_id"),
    ],
)
async def test_sku_upsert_bounds(api: Api, patch: dict[str, Any], field: str) -> None:
    response = await api.client.put("/v1/admin/skus", json=[sku(api, **patch)], headers=ADMIN)
    body = await answer(response, 400, "invalid_request")
    assert fields(body) == {field}, body


async def test_the_largest_price_times_the_largest_quantity_fits(api: Api) -> None:
    response = await api.client.put(
        "/v1/admin/skus",
        json=[sku(api, price=MAX_PRICE, platform_ref={"product_id": 1})],
        headers=ADMIN,
    )
    assert response.status == 200, await response.text()
    response = await api.post_cart({"skus": [{"sku_id": "sku-new", "quantity": 10}]})
    assert response.status == 201, await response.text()


@pytest.mark.parametrize("levels", [20, 300])  # 1,000+: tests/unit/test_jsonbody.py
async def test_deeply_nested_platform_ref_is_a_400_and_listing_still_works(
    api: Api, levels: int
) -> None:
    nested = "{" + '"a":{' * levels + "}" * levels + "}"
    text = json.dumps([sku(api, platform_ref="@")]).replace('"@"', nested)
    response = await api.client.put("/v1/admin/skus", data=text.encode(), headers={**ADMIN, **JSON})
    await answer(response, 400, "malformed_json")
    assert (await api.client.get("/v1/admin/skus", headers=ADMIN)).status == 200


async def test_null_body_is_not_an_empty_cart(api: Api) -> None:
    response = await api.client.post("/v1/carts", data=b"null", headers={**api.auth, **JSON})
    assert fields(await answer(response, 400, "invalid_request")) == {"body"}
    assert (await api.post_cart({})).status == 201
    assert (await api.post_cart({"skus": []})).status == 201


async def test_duplicate_keys_are_refused(api: Api) -> None:
    raw = b'{"skus": [{"sku_id": "sku-tent", "quantity": 5000, "quantity": 1}]}'
    response = await api.client.post("/v1/carts", data=raw, headers={**api.auth, **JSON})
    body = await answer(response, 400, "malformed_json")
    assert body["data"] == {"duplicate_key": "quantity"}
    assert await count_carts(api.store) == 0


@pytest.mark.parametrize(
    "raw",
    [b'{"name": NaN}', b'{"name": "\\ud800"}', b'{"name": "\xff"}', b"[" * 20 + b"]" * 20],
)
async def test_other_malformed_bodies(api: Api, raw: bytes) -> None:
    response = await api.client.post("/v1/carts", data=raw, headers={**api.auth, **JSON})
    await answer(response, 400, "malformed_json")


async def test_405_names_the_allowed_methods(api: Api) -> None:
    response = await api.client.put("/v1/carts", headers=api.auth)
    await answer(response, 405, "method_not_allowed")
    assert set(response.headers["Allow"].split(",")) >= {"GET", "POST"}


async def test_oversized_header_gets_the_envelope_and_echoes_nothing(api: Api) -> None:
    secret = "Bearer s3cr3t-" + "x" * 9000
    response = await api.client.get("/v1/carts", headers={"Authorization": secret})
    body = await answer(response, 400, "invalid_request")
    assert "s3cr3t" not in await response.text()
    assert fields(body) == {"headers"}


async def test_admin_routes_off_says_so(api: Api) -> None:
    from orchestrator.http.keys import SETTINGS

    settings = api.client.server.app[SETTINGS]
    object.__setattr__(settings, "admin_token", type(settings.admin_token)(""))
    response = await api.client.get("/v1/admin/merchants", headers=ADMIN)
    body = await answer(response, 401, "unauthorized")
    assert "MULTICART_ADMIN_TOKEN" in body["message"]


async def test_sku_listing_pages_instead_of_stopping(api: Api) -> None:
    items = [sku(api, sku_id=f"bulk-{i:04d}") for i in range(25)]
    response = await api.client.put("/v1/admin/skus", json=items, headers=ADMIN)
    assert response.status == 200, await response.text()
    seen: list[str] = []
    cursor = ""
    for _ in range(20):
        response = await api.client.get(f"/v1/admin/skus?limit=7{cursor}", headers=ADMIN)
        page = await response.json()
        seen += [s["sku_id"] for s in page["data"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 25 + 6


@pytest.mark.parametrize(
    "url",
    [
        "http://api.bigcommerce.com/stores/x/v3",  # plain http
        "https://169.254.169.254/latest/meta-data",  # cloud metadata
        "https://10.0.0.8/stores/x/v3",  # a private range
        "https://127.0.0.1:5432/stores/x/v3",  # a loopback port of another service
        "https://2130706433/stores/x/v3",  # 127.0.0.1, integer-encoded
        "https://0x7f.1/stores/x/v3",  # and hex
        "https://[::1]/stores/x/v3",
        "https://localhost/stores/x/v3",
        "https://metadata.google.internal/computeMetadata",
        "https://user:pass@api.bigcommerce.com/stores/x/v3",  # credentials in the URL
    ],
)
async def test_merchant_urls_must_be_https_to_a_public_host(api: Api, url: str) -> None:
    body = {
        "name": "Sneaky",
        "platform": "BIGCOMMERCE",
        "connection": {"api_url": url, "access_token": "t"},
    }
    response = await api.client.post("/v1/admin/merchants", json=body, headers=ADMIN)
    assert response.status == 400, await response.text()
    fields = [f["field"] for f in (await response.json())["data"]["fields"]]
    assert fields == ["connection.api_url"]
    assert "pass" not in await response.text()


async def test_an_allow_list_narrows_the_hosts(migrated_database_url: str) -> None:
    from adapters.fake import FakeRegistry
    from orchestrator.http.app import create_app
    from tests.api.conftest import EnvelopeTestServer, test_settings

    settings = test_settings(migrated_database_url, platform_host_allowlist=".myshopify.com")
    app = create_app(settings, platforms=FakeRegistry(), run_worker=False)
    async with TestClient(EnvelopeTestServer(app)) as client:
        shop = {"storefront_token": "t", "api_version": "2026-04"}
        for url, status in (("https://a.myshopify.com", 201), ("https://evil.example", 400)):
            body = {"name": "s", "platform": "SHOPIFY", "connection": {**shop, "shop_url": url}}
            response = await client.post("/v1/admin/merchants", json=body, headers=ADMIN)
            assert response.status == status, await response.text()


async def test_a_platform_ref_must_have_its_merchants_platforms_shape(api: Api) -> None:
    shop = await api.client.post(
        "/v1/admin/merchants",
        headers=ADMIN,
        json={
            "name": "Threads",
            "platform": "SHOPIFY",
            "connection": {
                "shop_url": "https://threads.myshopify.com",
                "storefront_token": "t",
                "api_version": "2026-04",
            },
        },
    )
    shopify_id = (await shop.json())["id"]

    def sku(merchant: str, ref: dict[str, Any]) -> dict[str, Any]:
        return {
            "sku_id": "sku-x",
            "merchant_id": merchant,
            "name": "X",
            "price": 100,
            "currency": "USD",
            "available": True,
            "platform_ref": ref,
        }

    bad = [
        sku(api.merchants[0], {"variant_id": "gid://shopify/ProductVariant/1"}),  # BigCommerce
        sku(shopify_id, {"product_id": 7}),  # Shopify wants a variant gid
        sku(api.merchants[0], {"product_id": "7"}),  # BigCommerce ids are integers
    ]
    response = await api.client.put("/v1/admin/skus", json=bad, headers=ADMIN)
    assert response.status == 400
    fields = {f["field"].split(".")[0] for f in (await response.json())["data"]["fields"]}
    assert fields == {"[0]", "[1]", "[2]"}
    good = [sku(shopify_id, {"variant_id": "gid://shopify/ProductVariant/41011"})]
    assert (await api.client.put("/v1/admin/skus", json=good, headers=ADMIN)).status == 200


async def test_the_document_gives_each_platform_its_connection_and_platform_ref(api: Api) -> None:
    document = await (await api.client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    variants = {v["title"]: v for v in schemas["MerchantIn"]["oneOf"]}
    assert set(variants) == {"SHOPIFY", "BIGCOMMERCE", "ELASTIC_PATH"}
    shopify = schemas["ShopifyConnection"]
    assert set(shopify["required"]) >= {"shop_url", "storefront_token"}
    refs = schemas["SkuIn"]["properties"]["platform_ref"]["anyOf"]
    assert len(refs) == 3 and schemas["BigCommercePlatformRef"]["required"] == ["product_id"]
