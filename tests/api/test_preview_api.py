"""POST /v1/carts/preview in-process, on both engines: a create's split, nothing made."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import Api
from tests.store.factories import count_carts


async def preview(api: Api, body: Any) -> Any:
    return await api.client.post("/v1/carts/preview", json=body, headers=api.auth)


async def test_preview_splits_prices_and_lists_problems_without_any_call(api: Api) -> None:
    names = ("tent", "pan", "ghost", "gone", "euro")  # max_skus is 5 in these tests
    body = {
        "skus": [
            {"sku_id": api.skus.get(n, "sku-ghost"), "quantity": 2 if n == "tent" else 1}
            for n in names
        ]
    }
    response = await preview(api, body)
    assert response.status == 200, await response.text()
    answer = await response.json()
    assert answer["currency"] == "USD"
    assert [(b["merchant_name"], b["platform"]) for b in answer["bags"]] == [
        ("Outdoors", "BIGCOMMERCE"),
        ("Kitchen", "BIGCOMMERCE"),
    ]
    outdoors, kitchen = answer["bags"]
    assert [
        (s["sku_id"], s["quantity"], s["price"], s["line_price"]) for s in outdoors["skus"]
    ] == [("sku-tent", 2, 12999, 2 * 12999)]
    assert outdoors["sub_total"] == 2 * 12999 and kitchen["sub_total"] == 4550
    assert answer["sub_total"] == outdoors["sub_total"] + kitchen["sub_total"]
    assert answer["problems"] == [
        {"sku_id": "sku-ghost", "reason": "UNKNOWN", "message": "unknown sku_id",
         "field": "skus[2].sku_id"},
        {"sku_id": "sku-gone", "reason": "UNAVAILABLE", "message": "sku is not available",
         "field": "skus[3].sku_id"},
        {"sku_id": "sku-euro", "reason": "CURRENCY_MISMATCH",
         "message": "sku is priced in EUR, the cart is in USD", "field": "skus[4].sku_id"},
    ]  # fmt: skip
    # No platform was called and nothing was written.
    assert all(not p.calls for p in api.platforms.platforms.values())
    assert await count_carts(api.store) == 0
    # The create refuses the same SKUs.
    created = await api.post_cart(body)
    assert created.status == 400
    refused = await created.json()
    assert [s["sku_id"] for s in refused["data"]["skus"]] == [
        p["sku_id"] for p in answer["problems"]
    ]


async def test_a_clean_preview_matches_the_create(api: Api) -> None:
    body = {"skus": [{"sku_id": n, "quantity": 1} for n in ("sku-tent", "sku-pan", "sku-tent")]}
    answer = await (await preview(api, body)).json()
    assert answer["problems"] == []
    assert answer["bags"][0]["skus"][0]["quantity"] == 2  # duplicates merged, as a create does
    cart = await (await api.post_cart(body)).json()
    assert [(b["merchant_id"], [s["sku_id"] for s in b["skus"]]) for b in answer["bags"]] == [
        (b["merchant_id"], [s["sku_id"] for s in b["skus"]]) for b in cart["bags"]
    ]


async def test_the_route_is_not_a_cart_id_and_refuses_what_a_create_refuses(api: Api) -> None:
    empty = await preview(api, {})
    assert empty.status == 200
    assert await empty.json() == {"currency": "USD", "sub_total": 0, "bags": [], "problems": []}
    for method in ("GET", "DELETE", "OPTIONS"):  # never taken for a cart id, nor its methods
        other = await api.client.request(method, "/v1/carts/preview", headers=api.auth)
        assert other.status == 405 and other.headers["Allow"] == "POST", method
    three_merchants = {
        "skus": [{"sku_id": f"sku-{n}", "quantity": 1} for n in ("tent", "pan", "book")]
    }
    for body in (
        three_merchants,  # max_bags is 2 in these tests
        {"skus": [{"sku_id": "sku-tent", "quantity": 11}]},  # max_quantity 10
        {"skus": [{"sku_id": "sku-tent", "quantity": 1}], "bogus": True},
    ):
        response = await preview(api, body)
        assert response.status == 400, body
        assert (await response.json())["error"] == "invalid_request"
    unauthorized = await api.client.post("/v1/carts/preview", json={})
    assert unauthorized.status == 401
    assert await count_carts(api.store) == 0
