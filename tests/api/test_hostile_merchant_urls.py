"""Merchant registration with hostile URLs: each is judged as the outbound client
will read it and refused with 400 ``invalid_request`` naming the field, never a 201 or a 500.
The ``api`` fixture's settings do not allow private URLs."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrator.http.keys import SERVICES
from tests.api.conftest import ADMIN, Api


def wide(text: str) -> str:
    """``text`` in fullwidth forms (U+FF01..U+FF5E), which NFKC folds back to ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


WIDE_127 = wide("127")  # typed as escapes: ruff (RUF001) flags the characters themselves
WIDE_LOCALHOST = wide("localhost")
CIRCLED_127 = "\u2460\u2461\u2466"  # circled digits one, two, seven


HOSTILE = [
    "https://" + WIDE_127 + ".0.0.1:18294/stores/x/v3",  # fullwidth digits: yarl reads 127.0.0.1
    "https://" + CIRCLED_127 + ".0.0.1/stores/x/v3",  # circled digits
    "https://example.com:22/stores/x/v3",  # a port other than 443
    "https://[2002:7f00:1::]/stores/x/v3",  # 6to4 of 127.0.0.1
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/v3",  # Teredo
    "https://[64:ff9b::a9fe:a9fe]/v3",  # NAT64 of 169.254.169.254
    "https://[::ffff:127.0.0.1]/v3",  # IPv4-mapped
    "https://[::7f00:1]/v3",  # IPv4-compatible
    "https://localhost/v3",
    "https://localhost./v3",
    "https://" + WIDE_LOCALHOST + "/v3",
    "https://shop.localhost/v3",
    "https://127.0.0.1%2f/v3",
    "https://[v1.x]/v3",  # IPvFuture: yarl dropped the brackets and stored host v1.x
    "https://[v1.x.myshopify.com]/v3",
    "https://[fe80::1%25eth0]/v3",  # a zone id
]


async def register(api: Api, connection: dict[str, Any], platform: str) -> Any:
    return await api.client.post(
        "/v1/admin/merchants",
        headers=ADMIN,
        json={"name": "Hostile", "platform": platform, "connection": connection},
    )


@pytest.mark.parametrize("url", HOSTILE)
async def test_a_hostile_base_url_is_a_400_naming_the_field(api: Api, url: str) -> None:
    response = await register(api, {"api_url": url, "access_token": "tok"}, "BIGCOMMERCE")
    body = await response.json()
    assert response.status == 400, body
    assert body["error"] == "invalid_request"
    assert [f["field"] for f in body["data"]["fields"]] == ["connection.api_url"], body
    assert "tok" not in str(body)


async def test_shopify_names_its_own_field(api: Api) -> None:
    response = await register(
        api, {"shop_url": "https://" + CIRCLED_127 + ".0.0.1", "storefront_token": "tok"}, "SHOPIFY"
    )
    body = await response.json()
    assert response.status == 400, body
    assert [f["field"] for f in body["data"]["fields"]] == ["connection.shop_url"]
    assert "loopback" in body["data"]["fields"][0]["message"]


async def test_a_public_url_is_stored_normalised(api: Api) -> None:
    response = await register(
        api,
        {
            "api_url": "https://" + wide("SHOP") + ".example.com:443/stores/x/v3/",
            "access_token": "t",
        },
        "BIGCOMMERCE",
    )
    assert response.status == 201, await response.text()
    merchant_id = (await response.json())["id"]
    row = await api.store.catalog.get_merchant(merchant_id)
    assert row is not None
    connection = api.client.server.app[SERVICES].merchants._box.open(row[1])
    assert connection["api_url"] == "https://shop.example.com/stores/x/v3"
