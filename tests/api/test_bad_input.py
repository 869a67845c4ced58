"""Bad input gets a clear 4xx naming the field, in the envelope, and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api
from tests.store.factories import count_carts


async def assert_rejected(api: Api, response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body = await response.json()
    assert set(body) == {"message", "error", "code", "data"}
    assert body["error"] == error and isinstance(body["code"], int) and body["message"]
    assert response.headers["X-Request-ID"]
    assert await count_carts(api.store) == 0  # nothing half-written
    return body  # type: ignore[no-any-return]


async def test_body_that_is_not_json(api: Api) -> None:
    response = await api.client.post(
        "/v1/carts", data=b"{nope", headers={**api.auth, "Content-Type": "application/json"}
    )
    await assert_rejected(api, response, 400, "malformed_json")


async def test_body_that_is_not_declared_json(api: Api) -> None:
    response = await api.client.post(
        "/v1/carts", data=b"skus=1", headers={**api.auth, "Content-Type": "text/plain"}
    )
    await assert_rejected(api, response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"sku_id": "sku-tent"}, "skus[0].quantity"),
        ({"sku_id": "sku-tent", "quantity": 0}, "skus[0].quantity"),
        ({"sku_id": "sku-tent", "quantity": -2}, "skus[0].quantity"),
        ({"sku_id": "sku-tent", "quantity": 11}, "skus[0].quantity"),
        ({"sku_id": "sku-tent", "quantity": "2"}, "skus[0].quantity"),
        ({"sku_id": "sku-tent", "quantity": 1.5}, "skus[0].quantity"),
        ({"quantity": 1}, "skus[0].sku_id"),
        ({"sku_id": "sku-tent", "quantity": 1, "colour": "red"}, "skus[0].colour"),
    ],
)
async def test_bad_lines_name_the_field(api: Api, line: dict[str, Any], field: str) -> None:
    body = await assert_rejected(api, await api.post_cart({"skus": [line]}), 400, "invalid_request")
    assert field in [f["field"] for f in body["data"]["fields"]]


async def test_every_unknown_unavailable_or_foreign_sku_is_listed(api: Api) -> None:
    response = await api.post_cart(
        {
            "skus": [
                {"sku_id": "nope-1", "quantity": 1},
                {"sku_id": "sku-tent", "quantity": 1},
                {"sku_id": "sku-gone", "quantity": 1},
                {"sku_id": "sku-euro", "quantity": 1},
                {"sku_id": "nope-2", "quantity": 1},
            ]
        }
    )
    body = await assert_rejected(api, response, 400, "invalid_skus")
    assert [(s["sku_id"], s["reason"]) for s in body["data"]["skus"]] == [
        ("nope-1", "UNKNOWN"),
        ("sku-gone", "UNAVAILABLE"),
        ("sku-euro", "CURRENCY_MISMATCH"),
        ("nope-2", "UNKNOWN"),
    ]
    assert all(not p.calls for p in api.platforms.platforms.values())  # no platform call


async def test_too_many_lines_and_merchants(api: Api) -> None:
    lines = [{"sku_id": f"sku-{i}", "quantity": 1} for i in range(6)]
    body = await assert_rejected(api, await api.post_cart({"skus": lines}), 400, "invalid_request")
    assert body["data"]["fields"][0]["field"] == "skus"
    three_merchants = [{"sku_id": s, "quantity": 1} for s in ("sku-tent", "sku-pan", "sku-book")]
    body = await assert_rejected(
        api, await api.post_cart({"skus": three_merchants}), 400, "invalid_request"
    )
    assert "merchants" in body["data"]["fields"][0]["message"]


async def test_body_over_the_size_limit(api: Api) -> None:
    big = {"skus": [], "name": "x" * 100, "metadata": {"k": "v" * 5000}}
    await assert_rejected(api, await api.post_cart(big), 413, "payload_too_large")


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic abc", "Bearer "])
async def test_missing_or_wrong_key(api: Api, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = await api.client.post("/v1/carts", json={"skus": []}, headers=headers)
    await assert_rejected(api, response, 401, "unauthorized")


async def test_bad_currency_metadata_and_list_query(api: Api) -> None:
    body = await assert_rejected(
        api, await api.post_cart({"currency": "usd"}), 400, "invalid_request"
    )
    assert body["data"]["fields"][0]["field"] == "currency"
    many = {f"k{i}": "v" for i in range(21)}
    body = await assert_rejected(
        api, await api.post_cart({"metadata": many}), 400, "invalid_request"
    )
    assert body["data"]["fields"][0]["field"] == "metadata"
    for query, field in (
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("status=NOPE", "status"),
        ("cursor=garbage", "cursor"),
    ):
        response = await api.client.get(f"/v1/carts?{query}", headers=api.auth)
        body = await assert_rejected(api, response, 400, "invalid_request")
        assert body["data"]["fields"][0]["field"] == field


async def test_unknown_route_and_method_use_the_envelope(api: Api) -> None:
    await assert_rejected(api, await api.client.get("/v1/nothing"), 404, "not_found")
    await assert_rejected(
        api, await api.client.put("/v1/carts", headers=api.auth), 405, "method_not_allowed"
    )


async def test_admin_input_is_checked(api: Api) -> None:
    admin = {"Authorization": "Bearer admin-token"}
    response = await api.client.post(
        "/v1/admin/merchants",
        headers=admin,
        json={"name": "X", "platform": "BIGCOMMERCE", "connection": {"api_url": "ftp://x"}},
    )
    body = await assert_rejected(api, response, 400, "invalid_request")
    fields = {f["field"] for f in body["data"]["fields"]}
    assert {"connection.api_url", "connection.access_token"} <= fields
    response = await api.client.put(
        "/v1/admin/skus",
        headers=admin,
        json=[
            {
                "sku_id": "a",
                "merchant_id": "mer_missing",
                "name": "A",
                "price": 1,
                "currency": "USD",
                "platform_ref": {"product_id": 1},
            }
        ],
    )
    body = await assert_rejected(api, response, 400, "invalid_request")
    assert "mer_missing" in body["data"]["fields"][0]["message"]
    response = await api.client.post("/v1/admin/apps", json={"name": "x"}, headers=api.auth)
    await assert_rejected(api, response, 401, "unauthorized")
