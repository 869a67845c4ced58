"""Changing a merchant (PATCH /v1/admin/merchants/{id}) and deleting a SKU
(DELETE /v1/admin/skus/{id}) through the real app on both engines: what changes, what a paused
merchant refuses and keeps, and every bad input a 4xx naming its field with nothing written."""

from __future__ import annotations

from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.api.conftest import ADMIN, Api

TOKEN = "rotated-secret-token"


async def patch(api: Api, merchant_id: str, body: Any) -> Any:
    return await api.client.patch(f"/v1/admin/merchants/{merchant_id}", json=body, headers=ADMIN)


async def merchant(api: Api, merchant_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/v1/admin/merchants/{merchant_id}", headers=ADMIN)
    assert response.status == 200
    return await response.json()  # type: ignore[no-any-return]


def fields(body: dict[str, Any]) -> list[str]:
    return [f["field"] for f in body["data"]["fields"]]


async def test_merchant_answers_show_status_and_a_name_change(api: Api) -> None:
    first = api.merchants[0]
    assert (await merchant(api, first))["status"] == "ACTIVE"
    response = await patch(api, first, {"name": "Outdoors Inc"})
    assert response.status == 200
    assert await response.json() == {
        "id": first,
        "name": "Outdoors Inc",
        "platform": "BIGCOMMERCE",
        "status": "ACTIVE",
    }
    listed = await (await api.client.get("/v1/admin/merchants", headers=ADMIN)).json()
    assert [(m["name"], m["status"]) for m in listed["data"]] == [
        ("Outdoors Inc", "ACTIVE"),
        ("Kitchen", "ACTIVE"),
        ("Books", "ACTIVE"),
    ]


def bigcommerce(api_url: str = "https://fake.test/stores/new/v3") -> dict[str, Any]:
    return {"api_url": api_url, "access_token": TOKEN}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"platform": "BIGCOMMERCE"}, "platform"),  # never a field of a change
        ({"platform": "SHOPIFY", "name": "x"}, "platform"),
        ({"status": "DELETED"}, "status"),
        ({"status": "paused"}, "status"),
        ({"status": None}, "status"),
        ({"name": None, "status": "PAUSED"}, "name"),
        ({"connection": []}, "connection"),
        ({"name": ""}, "name"),
        ({"colour": "red"}, "colour"),
        ({"connection": {"api_url": "https://fake.test/stores/x/v3"}}, "connection.access_token"),
        ({"connection": bigcommerce("https://localhost/v3")}, "connection.api_url"),
        ({"connection": bigcommerce("ftp://fake.test/v3")}, "connection.api_url"),
        (
            {"name": "Renamed", "connection": bigcommerce("https://127.0.0.1/v3")},
            "connection.api_url",
        ),
    ],
)
async def test_a_bad_change_is_a_400_naming_the_field_and_writes_nothing(
    api: Api, body: dict[str, Any], field: str
) -> None:
    first = api.merchants[0]
    before = await merchant(api, first)
    version = await api.store.catalog.version()
    response = await patch(api, first, body)
    answer = await response.json()
    assert response.status == 400, answer
    assert answer["error"] == "invalid_request" and field in fields(answer), answer
    assert TOKEN not in str(answer)
    assert await merchant(api, first) == before
    assert await api.store.catalog.version() == version  # not even the catalog's version


async def test_a_change_of_an_unknown_merchant_is_a_404(api: Api) -> None:
    response = await patch(api, "mer_unknown", {"name": "x"})
    assert response.status == 404
    assert (await response.json())["error"] == "merchant_not_found"
    bad = await patch(api, "m" * 300, {"name": "x"})
    assert bad.status == 400 and fields(await bad.json()) == ["merchant_id"]
    body = await api.client.patch(
        f"/v1/admin/merchants/{api.merchants[0]}",
        data=b"[",
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert body.status == 400 and (await body.json())["error"] == "malformed_json"


async def test_a_new_connection_is_sealed_and_starts_with_a_closed_circuit(api: Api) -> None:
    first = api.merchants[0]
    made = await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})
    assert made.status == 201 and api.platforms.circuit_resets == []  # first build: nothing

    with capture_logs() as logs:
        response = await patch(api, first, {"connection": bigcommerce()})
    answer = await response.text()
    assert response.status == 200 and TOKEN not in answer
    [changed] = [e for e in logs if e["event"] == "merchant_changed"]
    assert changed["fields"] == ["connection"] and TOKEN not in str(logs)
    row = await api.store.catalog.get_merchant(first)
    assert row is not None and TOKEN.encode() not in row[1]  # sealed, not stored as given

    made = await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})
    assert made.status == 201
    [(platform, connection)] = api.platforms.circuit_resets  # this process saw the new one
    assert platform == "BIGCOMMERCE"
    assert connection["api_url"] == "https://fake.test/stores/new/v3"
    assert connection["access_token"] == TOKEN
    again = await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})
    assert again.status == 201 and len(api.platforms.circuit_resets) == 1  # once per change


async def test_a_paused_merchant_takes_no_new_line_and_keeps_its_carts(api: Api) -> None:
    kitchen = api.merchants[1]
    cart = await (
        await api.post_cart(
            {"skus": [{"sku_id": "sku-pan", "quantity": 1}, {"sku_id": "sku-tent", "quantity": 1}]}
        )
    ).json()
    paused = await patch(api, kitchen, {"status": "PAUSED"})
    assert paused.status == 200 and (await paused.json())["status"] == "PAUSED"

    refused = await api.post_cart(
        {"skus": [{"sku_id": "sku-tent", "quantity": 1}, {"sku_id": "sku-pan", "quantity": 1}]}
    )
    body = await refused.json()
    assert refused.status == 400 and body["error"] == "invalid_skus"
    assert [(s["sku_id"], s["reason"]) for s in body["data"]["skus"]] == [
        ("sku-pan", "MERCHANT_PAUSED")
    ]
    assert body["data"]["fields"][0]["field"] == "skus[1].sku_id"
    preview = await api.client.post(
        "/v1/carts/preview", json={"skus": [{"sku_id": "sku-pan", "quantity": 1}]}, headers=api.auth
    )
    assert [p["reason"] for p in (await preview.json())["problems"]] == ["MERCHANT_PAUSED"]

    url = f"/v1/carts/{cart['id']}"
    add = await api.client.post(
        f"{url}/skus", json={"sku_id": "sku-pan", "quantity": 1}, headers=api.auth
    )
    assert (
        add.status == 400 and (await add.json())["data"]["skus"][0]["reason"] == "MERCHANT_PAUSED"
    )
    read = await api.client.get(url, headers=api.auth)
    assert read.status == 200
    pan = next(
        s for b in (await read.json())["bags"] for s in b["skus"] if s["sku_id"] == "sku-pan"
    )
    raised = await api.client.patch(
        f"{url}/skus/{pan['id']}", json={"quantity": 3}, headers=api.auth
    )
    assert raised.status == 200, await raised.text()
    removed = await api.client.delete(f"{url}/skus/{pan['id']}", headers=api.auth)
    assert removed.status == 200, await removed.text()
    assert (await api.client.delete(url, headers=api.auth)).status == 204

    resumed = await patch(api, kitchen, {"status": "ACTIVE"})
    assert resumed.status == 200 and (await resumed.json())["status"] == "ACTIVE"
    made = await api.post_cart({"skus": [{"sku_id": "sku-pan", "quantity": 1}]})
    assert made.status == 201


async def test_deleting_a_sku_is_refused_while_a_live_cart_holds_it(api: Api) -> None:
    cart = await (await api.post_cart({"skus": [{"sku_id": "sku-book", "quantity": 1}]})).json()
    refused = await api.client.delete("/v1/admin/skus/sku-book", headers=ADMIN)
    body = await refused.json()
    assert refused.status == 409 and body["error"] == "sku_in_use"
    assert body["data"] == {"sku_id": "sku-book", "live_carts": 1}
    listed = await (await api.client.get("/v1/admin/skus", headers=ADMIN)).json()
    assert "sku-book" in [s["sku_id"] for s in listed["data"]]  # nothing deleted

    assert (await api.client.delete(f"/v1/carts/{cart['id']}", headers=api.auth)).status == 204
    deleted = await api.client.delete("/v1/admin/skus/sku-book", headers=ADMIN)
    assert deleted.status == 204
    listed = await (await api.client.get("/v1/admin/skus", headers=ADMIN)).json()
    assert "sku-book" not in [s["sku_id"] for s in listed["data"]]
    made = await api.post_cart({"skus": [{"sku_id": "sku-book", "quantity": 1}]})
    assert (await made.json())["data"]["skus"][0]["reason"] == "UNKNOWN"

    again = await api.client.delete("/v1/admin/skus/sku-book", headers=ADMIN)
    assert again.status == 404 and (await again.json())["error"] == "sku_not_found"
    bad = await api.client.delete(f"/v1/admin/skus/{'s' * 300}", headers=ADMIN)
    assert bad.status == 400 and fields(await bad.json()) == ["sku_id"]
    anon = await api.client.delete("/v1/admin/skus/sku-tent", headers=api.auth)
    assert anon.status == 401
