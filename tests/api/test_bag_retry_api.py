"""POST /v1/carts/{cart_id}/bags/{bag_id}/retry in-process, on both engines (docs/api.md)."""

from __future__ import annotations

from typing import Any

from adapters.bigcommerce import BIGCOMMERCE
from adapters.fake import FakePlatform
from errors import PlatformServerError
from orchestrator.store import PendingExternalDelete
from tests.api.conftest import Api


def platform_of(api: Api, merchant: int) -> FakePlatform:
    found = api.platforms.for_merchant(api.merchants[merchant], BIGCOMMERCE, {})
    assert isinstance(found, FakePlatform)
    return found


async def cart_with_a_failed_bag(api: Api) -> tuple[dict[str, Any], dict[str, Any]]:
    """Outdoors' bag created, Kitchen's FAILED: the pan is out of stock."""
    platform_of(api, 1).out_of_stock.add("product_id=3")
    response = await api.post_cart(
        {"skus": [{"sku_id": "sku-tent", "quantity": 1}, {"sku_id": "sku-pan", "quantity": 2}]}
    )
    assert response.status == 201, await response.text()
    cart = await response.json()
    failed = cart["bags"][1]
    assert failed["status"] == "FAILED"
    assert [e["cause"] for e in cart["errors"]] == ["OUT_OF_STOCK"]
    return cart, failed


async def retry(api: Api, cart_id: str, bag_id: str) -> Any:
    return await api.client.post(f"/v1/carts/{cart_id}/bags/{bag_id}/retry", headers=api.auth)


async def test_a_failed_bag_is_retried_into_in_progress(api: Api) -> None:
    cart, failed = await cart_with_a_failed_bag(api)
    # Still out of stock: FAILED again, its error replaced by the new outcome's.
    response = await retry(api, cart["id"], failed["id"])
    assert response.status == 200, await response.text()
    again = await response.json()
    assert again["bags"][1]["status"] == "FAILED"
    [error] = again["errors"]
    assert error["id"] != cart["errors"][0]["id"] and error["cause"] == "OUT_OF_STOCK"

    platform_of(api, 1).out_of_stock.clear()  # stock restored
    response = await retry(api, cart["id"], failed["id"])
    assert response.status == 200
    done = await response.json()
    bag = done["bags"][1]
    assert (bag["status"], bag["id"]) == ("IN_PROGRESS", failed["id"])
    assert bag["external_id"] in platform_of(api, 1).carts
    assert [(s["sku_id"], s["quantity"], s["price"]) for s in bag["skus"]] == [("sku-pan", 2, 4550)]
    assert done["errors"] == [] and done["sub_total"] == 12999 + 2 * 4550
    assert done["bags"][0] == cart["bags"][0]  # the other bag untouched
    read = await api.client.get(f"/v1/carts/{cart['id']}", headers=api.auth)
    assert await read.json() == done

    # Now IN_PROGRESS: a retry is refused, and nothing is sent.
    calls = len(platform_of(api, 1).calls)
    refused = await retry(api, cart["id"], failed["id"])
    assert refused.status == 409
    body = await refused.json()
    assert (body["error"], body["code"], body["data"]) == (
        "bag_not_retryable",
        2421,
        {"status": "IN_PROGRESS"},
    )
    assert len(platform_of(api, 1).calls) == calls


async def test_a_retry_whose_answer_is_lost_leaves_the_bag_unknown(api: Api) -> None:
    cart, failed = await cart_with_a_failed_bag(api)
    kitchen = platform_of(api, 1)
    kitchen.out_of_stock.clear()
    kitchen.lose_answer_next(
        "create_cart", PlatformServerError("bad gateway", platform="BIGCOMMERCE", status=502)
    )
    done = await (await retry(api, cart["id"], failed["id"])).json()
    assert done["bags"][1]["status"] == "UNKNOWN"
    [error] = done["errors"]
    assert (error["bag_id"], error["retryable"]) == (failed["id"], False)
    assert (await retry(api, cart["id"], failed["id"])).status == 409


async def test_unknown_foreign_busy_and_still_deleting(api: Api) -> None:
    cart, failed = await cart_with_a_failed_bag(api)
    unknown_bag = await retry(api, cart["id"], "bag_nope")
    assert unknown_bag.status == 404
    assert (await unknown_bag.json())["error"] == "bag_not_found"
    unknown_cart = await retry(api, "cart_nope", failed["id"])
    assert (await unknown_cart.json())["error"] == "cart_not_found"
    intruder = await api.new_key()
    foreign = await api.client.post(
        f"/v1/carts/{cart['id']}/bags/{failed['id']}/retry",
        headers={"Authorization": f"Bearer {intruder}"},
    )
    assert foreign.status == 404

    assert await api.store.leases.acquire(cart["id"], "someone-else", 30)
    busy = await retry(api, cart["id"], failed["id"])
    assert busy.status == 409 and (await busy.json())["error"] == "cart_busy"
    await api.store.leases.release(cart["id"], "someone-else")

    # An earlier external cart of the bag still being deleted: refused until it is gone.
    deleting = PendingExternalDelete(
        id="xdel_retry",
        cart_id=cart["id"],
        bag_id=failed["id"],
        merchant_id=failed["merchant_id"],
        platform=BIGCOMMERCE,
        external_id="cart-earlier",
    )
    await api.store.outbox.enqueue([deleting])
    pending = await retry(api, cart["id"], failed["id"])
    assert pending.status == 409
    assert (await pending.json())["data"] == {"status": "FAILED", "outbox": "pending"}
    await api.store.outbox.finish(deleting.id)
    assert (await retry(api, cart["id"], failed["id"])).status == 200


async def test_a_bag_whose_first_create_is_unknown_is_never_retried(api: Api) -> None:
    """Its unknown_create entry, pending or buried (undetectable: BigCommerce cannot be asked),
    keeps the bag from a second create, which would make a second cart for it."""
    cart, failed = await cart_with_a_failed_bag(api)
    platform_of(api, 1).out_of_stock.clear()
    entry = PendingExternalDelete(
        id="xdel_retry",
        cart_id=cart["id"],
        bag_id=failed["id"],
        merchant_id=failed["merchant_id"],
        platform=BIGCOMMERCE,
        external_id=failed["id"],
        kind="unknown_create",
    )
    await api.store.outbox.enqueue([entry])
    for _ in ("pending", "undetectable"):
        refused = await retry(api, cart["id"], failed["id"])
        assert refused.status == 409
        body = await refused.json()
        assert body["error"] == "bag_not_retryable"
        assert (body["data"]["status"], body["data"]["outbox"]) == ("FAILED", "unknown_create")
        assert "first create" in body["data"]["reason"]
        await api.store.outbox.bury(entry.id, "undetectable", "cannot be asked")
    assert platform_of(api, 1).calls.count(("create_cart", ())) == 0
    assert [c[0] for c in platform_of(api, 1).calls] == ["create_cart"]  # the first create only
