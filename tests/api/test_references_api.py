"""POST /v1/cart-references in-process, on both engines, with fake platforms (docs/api.md)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.base import LineRequest
from adapters.bigcommerce import BIGCOMMERCE
from adapters.fake import FakePlatform
from errors import PlatformAddressRefused, PlatformRateLimited, PlatformServerError
from orchestrator.http.keys import SERVICES
from tests.api.conftest import PRICES, Api
from tests.store.factories import count_carts


def platform_of(api: Api, merchant: int) -> FakePlatform:
    found = api.platforms.for_merchant(api.merchants[merchant], BIGCOMMERCE, {})
    assert isinstance(found, FakePlatform)
    return found


async def external_cart(api: Api, *refs: tuple[dict[str, Any], int], merchant: int = 0) -> str:
    """A cart made on the platform directly (as a storefront would), not through multicart."""
    fake = platform_of(api, merchant)
    lines = [LineRequest(platform_ref=ref, quantity=qty) for ref, qty in refs]
    made = await fake.create_cart(lines, currency="USD", deadline=time.monotonic() + 5)
    fake.calls.clear()
    return made.external_id


async def save(api: Api, body: Any, key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else api.auth
    return await api.client.post("/v1/cart-references", json=body, headers=headers)


async def test_a_saved_reference_is_a_cart_with_one_linked_bag(api: Api) -> None:
    unknown_price = {"product_id=99": 700}
    platform_of(api, 0).prices.update(unknown_price)
    external_id = await external_cart(
        api, ({"product_id": 2, "variant_id": 7}, 2), ({"product_id": 99}, 1)
    )
    response = await save(
        api, {"cart_id": external_id, "source": api.merchants[0], "customer_id": "c-1"}
    )
    assert response.status == 201, await response.text()
    cart = await response.json()
    assert (cart["customer_id"], cart["currency"], cart["status"]) == ("c-1", "USD", "IN_PROGRESS")
    [bag] = cart["bags"]
    assert (bag["status"], bag["external_id"], bag["merchant_id"]) == (
        "IN_PROGRESS",
        external_id,
        api.merchants[0],
    )
    assert bag["checkout_url"] == f"https://fake.example/checkout/{external_id}"
    lamp, stranger = bag["skus"]
    assert (lamp["sku_id"], lamp["quantity"], lamp["price"], lamp["line_price"]) == (
        "sku-lamp",
        2,
        PRICES["product_id=2,variant_id=7"],
        2 * 2999,
    )
    assert lamp["name"] == "Lamp" and lamp["external_id"]
    # A line no catalog SKU matches is kept (sku_id null) and named by an order error.
    assert (stranger["sku_id"], stranger["quantity"], stranger["price"]) == (None, 1, 700)
    [error] = cart["errors"]
    assert (error["type"], error["entity_type"], error["entity_id"]) == (
        "UNMAPPED_LINE",
        "ORDER_SKU",
        stranger["id"],
    )
    assert (error["cause"], error["bag_id"], error["retryable"]) == (
        "NOT_IN_CATALOG",
        bag["id"],
        False,
    )
    assert bag["sub_total"] == cart["sub_total"] == 2 * 2999 + 700  # the platform's
    assert platform_of(api, 0).calls == [("get_cart", (external_id,))]  # one read, no write
    again = await api.client.get(f"/v1/carts/{cart['id']}", headers=api.auth)
    assert await again.json() == cart


async def test_the_same_external_cart_twice_is_409_for_every_app(api: Api) -> None:
    external_id = await external_cart(api, ({"product_id": 1}, 1))
    body = {"cart_id": external_id, "source": api.merchants[0]}
    assert (await save(api, body)).status == 201
    other = await api.new_key()
    for key in (None, other):
        response = await save(api, body, key)
        assert response.status == 409
        answer = await response.json()
        assert (answer["error"], answer["code"]) == ("duplicate_cart", 2409)
    assert [op for op, _ in platform_of(api, 0).calls] == ["get_cart"]  # 409s read nothing
    assert await count_carts(api.store) == 1


async def test_a_cart_multicart_made_is_already_referenced(api: Api) -> None:
    created = await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})
    bag = (await created.json())["bags"][0]
    response = await save(api, {"cart_id": bag["external_id"], "source": bag["merchant_id"]})
    assert response.status == 409
    assert (await response.json())["error"] == "duplicate_cart"


async def test_a_deleted_carts_external_cart_is_gone_with_it(api: Api) -> None:
    external_id = await external_cart(api, ({"product_id": 1}, 1))
    body = {"cart_id": external_id, "source": api.merchants[0]}
    cart = await (await save(api, body)).json()
    assert (await api.client.delete(f"/v1/carts/{cart['id']}", headers=api.auth)).status == 204
    # The platform deleted the external cart with it: there is nothing left to reference.
    response = await save(api, body)
    assert response.status == 404
    assert (await response.json())["error"] == "external_cart_not_found"


async def _deleted_with_its_delete_pending(api: Api) -> tuple[dict[str, Any], str]:
    """A saved cart, deleted while its platform's delete fails: its outbox entry is pending."""
    external_id = await external_cart(api, ({"product_id": 1}, 1))
    body = {"cart_id": external_id, "source": api.merchants[0]}
    cart = await (await save(api, body)).json()
    down = PlatformServerError("down", platform="BIGCOMMERCE", status=500)
    platform_of(api, 0).fail_next("delete_cart", down)
    assert (await api.client.delete(f"/v1/carts/{cart['id']}", headers=api.auth)).status == 204
    assert external_id in platform_of(api, 0).carts  # still there: its delete is pending
    assert await api.store.outbox.depths() == {"pending": 1}
    return body, external_id


async def test_an_external_cart_whose_delete_is_pending_is_still_held(api: Api) -> None:
    body, external_id = await _deleted_with_its_delete_pending(api)
    platform_of(api, 0).calls.clear()
    response = await save(api, body)
    assert response.status == 409
    answer = await response.json()
    assert (answer["error"], answer["code"]) == ("duplicate_cart", 2409)
    assert "delete" in answer["message"] and "pending" in answer["message"]
    assert platform_of(api, 0).calls == []  # refused before any platform call
    assert await count_carts(api.store) == 1  # only the deleted one

    # The outbox's next round deletes it, as it would have under a new bag: then it is gone.
    deleter = api.client.server.app[SERVICES].deleter
    assert await deleter.run_once(datetime.now(UTC) + timedelta(minutes=5)) == 1
    assert external_id not in platform_of(api, 0).carts
    assert (await save(api, body)).status == 404


async def test_a_delete_pending_is_asked_again_when_the_cart_is_inserted(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The delete lands between the first check and the insert: the insert's own check (same
    transaction) refuses it."""
    body, _ = await _deleted_with_its_delete_pending(api)

    async def nobody(merchant_id: str, external_id: str) -> None:
        return None

    monkeypatch.setattr(api.store.references, "hold", nobody)
    response = await save(api, body)
    assert response.status == 409
    answer = await response.json()
    assert answer["error"] == "duplicate_cart" and "pending" in answer["message"]
    assert await count_carts(api.store) == 1  # rolled back


async def test_unknown_empty_or_unreadable_carts(api: Api) -> None:
    unknown = await save(api, {"cart_id": "no-such-cart", "source": api.merchants[0]})
    assert unknown.status == 404
    body = await unknown.json()
    assert (body["error"], body["code"]) == ("external_cart_not_found", 2430)
    assert body["data"] == {"platform": "BIGCOMMERCE", "merchant_id": api.merchants[0]}

    empty = await external_cart(api)  # Elastic Path answers an unknown id with such a cart
    response = await save(api, {"cart_id": empty, "source": api.merchants[0]})
    assert response.status == 404

    nobody = await save(api, {"cart_id": "x", "source": "mer_nobody"})
    assert nobody.status == 404
    assert (await nobody.json())["error"] == "merchant_not_found"

    external_id = await external_cart(api, ({"product_id": 1}, 1))
    fake = platform_of(api, 0)
    fake.fail_next("get_cart", PlatformServerError("down", platform="BIGCOMMERCE", status=500))
    failed = await save(api, {"cart_id": external_id, "source": api.merchants[0]})
    assert failed.status == 502
    answer = await failed.json()
    assert (answer["error"], answer["code"]) == ("external_cart_read_failure", 2502)
    assert (answer["data"]["cause"], answer["data"]["retryable"]) == ("PLATFORM_ERROR", True)
    fake.fail_next(
        "get_cart", PlatformRateLimited("slow down", platform="BIGCOMMERCE", retry_after=2.5)
    )
    throttled = await save(api, {"cart_id": external_id, "source": api.merchants[0]})
    assert throttled.status == 503 and throttled.headers["Retry-After"] == "3"
    fake.fail_next("get_cart", PlatformAddressRefused("refused", platform="BIGCOMMERCE"))
    refused = await save(api, {"cart_id": external_id, "source": api.merchants[0]})
    assert refused.status == 502 and "Retry-After" not in refused.headers  # it stays refused
    answer = await refused.json()
    assert (answer["data"]["cause"], answer["data"]["retryable"]) == (
        "PLATFORM_HOST_REFUSED",
        False,
    )
    assert await count_carts(api.store) == 0
    assert (await save(api, {"cart_id": external_id, "source": api.merchants[0]})).status == 201


async def test_a_bad_body_is_400(api: Api) -> None:
    for body in (
        {"source": api.merchants[0]},
        {"cart_id": "x"},
        {"cart_id": "", "source": api.merchants[0]},
        {"cart_id": " x", "source": api.merchants[0]},
        {"cart_id": "x" * 256, "source": api.merchants[0]},
        {"cart_id": "x", "source": api.merchants[0], "extra": 1},
        {"cart_id": 7, "source": api.merchants[0]},
    ):
        response = await save(api, body)
        assert response.status == 400, body
        assert (await response.json())["error"] == "invalid_request"
    assert not platform_of(api, 0).calls


@pytest.mark.parametrize("cart_id", ["..", ".", "a/b", "%2e%2e", "../customers?limit=1", "a b"])
async def test_an_id_no_platform_could_hold_is_400_naming_cart_id_and_nothing_is_sent(
    api: Api, cart_id: str
) -> None:
    # Measured before the check: ".." reached the BigCommerce adapter, which sent
    # GET /stores/x/v3/?include=redirect_urls with the store's token.
    response = await save(api, {"cart_id": cart_id, "source": api.merchants[0]})
    body = await response.json()
    assert response.status == 400, body
    assert body["error"] == "invalid_request"
    assert [f["field"] for f in body["data"]["fields"]] == ["cart_id"]
    assert not platform_of(api, 0).calls
    assert await count_carts(api.store) == 0


async def test_concurrent_saves_of_one_external_cart_give_one_201(api: Api) -> None:
    external_id = await external_cart(api, ({"product_id": 1}, 1))
    # Every read answers after the others have passed the first check, so the race is
    # decided by the database's unique index, not by that check.
    platform_of(api, 0).delay = 0.05
    body = {"cart_id": external_id, "source": api.merchants[0]}
    responses = await asyncio.gather(*(save(api, body) for _ in range(6)))
    statuses = sorted(r.status for r in responses)
    assert statuses == [201, 409, 409, 409, 409, 409]
    assert len(platform_of(api, 0).calls) == 6  # all six got past the first check
    assert await count_carts(api.store) == 1
