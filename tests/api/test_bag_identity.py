"""A bag's external cart is made once per bag id: the invariant behind line changes and retries.

Every external cart multicart makes is on a live bag or in the ``external_deletes`` outbox, and
no request makes two external carts for one bag (docs/api.md: "Unknown outcomes", "Changing lines").
On Elastic Path the cart's id is the bag's id; on Shopify and BigCommerce the platform mints it
(``adapters/fake.py`` does the same, so a second create is a second cart here too). Against the
fake platforms, on both engines.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.base import LineRequest
from adapters.bigcommerce import BIGCOMMERCE
from adapters.elastic_path import ELASTIC_PATH
from adapters.fake import FakePlatform
from adapters.shopify import SHOPIFY
from errors import PlatformRejected, PlatformUnavailable
from orchestrator.store.outbox import PendingExternalDelete
from tests.api.conftest import Api
from tests.api.test_reconcile import LOST, add_ep_merchant, cart_of, lines, outdoors, reconciler


def bag_of(cart: dict[str, Any], merchant_id: str) -> dict[str, Any]:
    """The merchant's newest bag that is not DELETED (the one an add goes to)."""
    mine = [b for b in cart["bags"] if b["merchant_id"] == merchant_id and b["status"] != "DELETED"]
    return mine[-1]


async def add(api: Api, cart_id: str, sku_id: str, quantity: int = 1) -> Any:
    return await api.client.post(
        f"/v1/carts/{cart_id}/skus",
        json={"sku_id": sku_id, "quantity": quantity},
        headers=api.auth,
    )


async def added(api: Api, cart_id: str, sku_id: str, quantity: int = 1) -> dict[str, Any]:
    response = await add(api, cart_id, sku_id, quantity)
    assert response.status == 200, await response.text()
    return await response.json()  # type: ignore[no-any-return]


async def retry(api: Api, cart_id: str, bag_id: str) -> Any:
    return await api.client.post(f"/v1/carts/{cart_id}/bags/{bag_id}/retry", headers=api.auth)


async def outbox(api: Api) -> list[PendingExternalDelete]:
    """The pending entries, due or not."""
    return await api.store.outbox.due(datetime.now(UTC) + timedelta(days=1))


async def platform_expired(api: Api, cart_id: str, bag_id: str) -> None:
    """The bag's platform confirmed its last change 31 days ago: past every platform's
    lifetime, so the bag reads EXPIRED (the cart itself is not: its own expiry is later)."""
    cart = await api.store.carts.get_any(cart_id)
    assert cart is not None
    bag = cart.bag(bag_id)
    assert bag is not None
    bag.platform_changed_at = datetime.now(UTC) - timedelta(days=31)
    await api.store.carts.save(cart)


# --- 1. Elastic Path: never a create under a bag id that a pending outbox entry deletes ---


async def test_an_add_to_a_failed_elastic_path_bag_waits_for_its_pending_delete(api: Api) -> None:
    garden_id, seeds, garden = await add_ep_merchant(api)
    garden.out_of_stock.add("product_id=3a6a22c7-ac26-5296-ab80-f07e39527cdd")
    cart = await (await api.post_cart(lines("sku-tent", seeds))).json()
    failed = bag_of(cart, garden_id)
    assert failed["status"] == "FAILED" and garden.carts == {}
    garden.out_of_stock.clear()
    # An external cart this bag made earlier (named by its id, as Elastic Path's are) is
    # still queued for deletion.
    entry = PendingExternalDelete(
        id="xdel_earlier",
        cart_id=cart["id"],
        bag_id=failed["id"],
        merchant_id=garden_id,
        platform=ELASTIC_PATH,
        external_id=failed["id"],
    )
    await api.store.outbox.enqueue([entry])

    busy = await add(api, cart["id"], seeds)
    assert busy.status == 409 and int(busy.headers["Retry-After"]) >= 1
    assert (await busy.json())["error"] == "cart_busy"
    assert garden.carts == {}  # nothing made that the delete would remove

    await reconciler(api).run_once()  # the delete is done (nothing there: a success)
    assert await outbox(api) == []
    done = await added(api, cart["id"], seeds)
    bag = bag_of(done, garden_id)
    assert (bag["id"], bag["status"], bag["external_id"]) == (
        failed["id"],
        "IN_PROGRESS",
        failed["id"],
    )
    await reconciler(api, ahead=timedelta(hours=1)).run_once()
    assert list(garden.carts) == [failed["id"]]  # the new cart survives the outbox


async def test_an_elastic_path_bag_whose_create_was_unknown_is_replaced_not_made_again(
    api: Api,
) -> None:
    """The reconciler's create is refused, so the bag FAILED with an ``unknown_create`` entry
    to delete what the lost create made, by the bag's id; that delete fails for now. An add
    then makes a new bag (a new id): the pending delete can only remove the old cart."""
    garden_id, seeds, garden = await add_ep_merchant(api)
    garden.lose_answer_next("create_cart", LOST)
    cart = await (await api.post_cart(lines("sku-tent", seeds))).json()
    lost = bag_of(cart, garden_id)
    assert lost["status"] == "UNKNOWN" and list(garden.carts) == [lost["id"]]
    garden.fail_next(
        "create_cart", PlatformRejected("no such product", platform="ELASTIC_PATH", status=404)
    )
    garden.fail_next("delete_cart", PlatformUnavailable("down", platform="ELASTIC_PATH"))
    await reconciler(api).run_once()
    assert bag_of(await cart_of(api, cart["id"]), garden_id)["status"] == "FAILED"
    [pending] = await outbox(api)
    assert (pending.kind, pending.external_id) == ("unknown_create", lost["id"])

    done = await added(api, cart["id"], seeds)
    new = bag_of(done, garden_id)
    assert new["id"] != lost["id"] and new["status"] == "IN_PROGRESS"
    assert new["external_id"] == new["id"]
    assert [(s["sku_id"], s["quantity"]) for s in new["skus"]] == [(seeds, 2)]
    old = next(b for b in done["bags"] if b["id"] == lost["id"])
    assert (old["status"], old["skus"]) == ("FAILED", [])  # listed, its lines moved on

    await reconciler(api, ahead=timedelta(hours=1)).run_once()  # the delete goes through
    assert list(garden.carts) == [new["id"]]
    assert await api.store.outbox.depths() == {}
    # Its entry done, the old bag is still not made again: its lines live in the new bag.
    refused = await retry(api, cart["id"], lost["id"])
    assert refused.status == 409 and (await refused.json())["error"] == "bag_not_retryable"
    assert list(garden.carts) == [new["id"]]


# --- 2. An EXPIRED bag made again leaves its old cart in the outbox -----------------------


async def test_an_expired_bag_made_again_deletes_its_old_cart(api: Api) -> None:
    cart = await (await api.post_cart(lines("sku-tent", "sku-pan"))).json()
    old = bag_of(cart, api.merchants[0])
    await platform_expired(api, cart["id"], old["id"])
    assert bag_of(await cart_of(api, cart["id"]), api.merchants[0])["status"] == "EXPIRED"
    assert old["external_id"] in outdoors(api).carts  # the platform kept it after all

    done = await added(api, cart["id"], "sku-lamp")
    bag = bag_of(done, api.merchants[0])
    assert bag["id"] == old["id"] and bag["status"] == "IN_PROGRESS"
    assert bag["external_id"] != old["external_id"]
    assert [(s["sku_id"], s["quantity"]) for s in bag["skus"]] == [("sku-tent", 1), ("sku-lamp", 1)]
    # The old cart was deleted in the same request; only the new one is left.
    assert list(outdoors(api).carts) == [bag["external_id"]]
    assert await api.store.outbox.depths() == {}


async def test_an_expired_bag_whose_new_create_is_unknown_records_both_carts(api: Api) -> None:
    """A lost answer to the new create: the old cart's delete was written with PENDING, and
    the bag, cleared of the old id, settles as an unknown create of its own, not as a delete
    of the old cart (which would leave the new one in no bag and no outbox entry)."""
    cart = await (await api.post_cart(lines("sku-tent", "sku-pan"))).json()
    old = bag_of(cart, api.merchants[0])
    await platform_expired(api, cart["id"], old["id"])
    outdoors(api).fail_next("delete_cart", PlatformUnavailable("down", platform="BIGCOMMERCE"))
    outdoors(api).lose_answer_next("create_cart", LOST)
    unknown = bag_of(await added(api, cart["id"], "sku-lamp"), api.merchants[0])
    assert unknown["status"] == "UNKNOWN" and unknown["external_id"] is None
    [leaving] = await outbox(api)
    assert (leaving.kind, leaving.external_id) == ("delete", old["external_id"])

    await reconciler(api, ahead=timedelta(hours=1)).run_once()
    settled = bag_of(await cart_of(api, cart["id"]), api.merchants[0])
    assert settled["status"] == "FAILED"
    # The old cart deleted; the one the lost create made counted where it cannot be found.
    assert old["external_id"] not in outdoors(api).carts and len(outdoors(api).carts) == 1
    assert await api.store.outbox.depths() == {"undetectable": 1}


# --- 3. A cart the platform says is gone: the bag is EXPIRED, and the next add makes it again


async def test_an_add_to_a_cart_the_platform_dropped_expires_the_bag(api: Api) -> None:
    cart = await (await api.post_cart(lines("sku-tent", "sku-pan"))).json()
    old = bag_of(cart, api.merchants[0])
    del outdoors(api).carts[old["external_id"]]  # dropped on the platform's side

    refused = await added(api, cart["id"], "sku-lamp")
    bag = bag_of(refused, api.merchants[0])
    assert bag["status"] == "EXPIRED"
    assert [s["sku_id"] for s in bag["skus"]] == ["sku-tent"]  # the refused add left no line
    assert [(e["type"], e["cause"], e["retryable"]) for e in refused["errors"]] == [
        ("EXTERNAL_ADD_ITEM", "CART_NOT_FOUND_ON_PLATFORM", False)
    ]

    done = await added(api, cart["id"], "sku-lamp")  # made again, with its lines
    bag = bag_of(done, api.merchants[0])
    assert (bag["id"], bag["status"]) == (old["id"], "IN_PROGRESS")
    assert [(s["sku_id"], s["quantity"]) for s in bag["skus"]] == [("sku-tent", 1), ("sku-lamp", 1)]
    assert done["errors"] == []
    assert list(outdoors(api).carts) == [bag["external_id"]]
    assert await api.store.outbox.depths() == {}  # the old id's delete: a 404, so done


async def test_a_quantity_set_on_a_cart_the_platform_dropped_expires_the_bag(api: Api) -> None:
    cart = await (await api.post_cart(lines("sku-tent", "sku-lamp"))).json()
    bag = cart["bags"][0]
    del outdoors(api).carts[bag["external_id"]]
    tent = bag["skus"][0]
    response = await api.client.patch(
        f"/v1/carts/{cart['id']}/skus/{tent['id']}", json={"quantity": 3}, headers=api.auth
    )
    assert response.status == 200
    changed = await response.json()
    assert changed["bags"][0]["status"] == "EXPIRED"
    assert [e["cause"] for e in changed["errors"]] == ["CART_NOT_FOUND_ON_PLATFORM"]


# --- 4. A Shopify/BigCommerce bag whose create is unknown is never created again ---------


async def test_a_bag_settled_failed_after_an_unknown_create_is_never_made_again(api: Api) -> None:
    outdoors(api).lose_answer_next("create_cart", LOST)
    cart = await (await api.post_cart(lines("sku-tent", "sku-pan"))).json()
    lost = bag_of(cart, api.merchants[0])
    assert lost["status"] == "UNKNOWN" and len(outdoors(api).carts) == 1

    await reconciler(api).run_once()
    settled = await cart_of(api, cart["id"])
    assert bag_of(settled, api.merchants[0])["status"] == "FAILED"
    assert [(e["cause"], e["retryable"]) for e in settled["errors"]] == [
        ("PLATFORM_TIMEOUT", False)
    ]
    assert await api.store.outbox.depths() == {"undetectable": 1}

    refused = await retry(api, cart["id"], lost["id"])
    assert refused.status == 409
    body = await refused.json()
    assert body["error"] == "bag_not_retryable" and body["data"]["status"] == "FAILED"
    assert "first create" in body["data"]["reason"]
    assert len(outdoors(api).carts) == 1  # nothing sent

    done = await added(api, cart["id"], "sku-lamp")
    new = bag_of(done, api.merchants[0])
    assert new["id"] != lost["id"] and new["status"] == "IN_PROGRESS"
    assert [(s["sku_id"], s["quantity"]) for s in new["skus"]] == [("sku-tent", 1), ("sku-lamp", 1)]
    old = next(b for b in done["bags"] if b["id"] == lost["id"])
    assert old["status"] == "FAILED"
    # The orphan (counted) and the new bag's cart: never a second cart for one bag.
    assert len(outdoors(api).carts) == 2 and new["external_id"] in outdoors(api).carts
    # The next add goes to the new bag, as an update of its cart.
    again = await added(api, cart["id"], "sku-lamp")
    assert bag_of(again, api.merchants[0])["id"] == new["id"]
    assert len(outdoors(api).carts) == 2
    assert (await retry(api, cart["id"], lost["id"])).status == 409


# --- 5. The fake mints ids where the platform does ----------------------------------------


async def test_the_fake_takes_the_callers_id_only_where_the_platform_does() -> None:
    line = LineRequest({"product_id": 1}, 1, sku_id="sku-tent")
    deadline = time.monotonic() + 5
    for platform, caller_chosen in (
        (BIGCOMMERCE, False),
        (SHOPIFY, False),
        (ELASTIC_PATH, True),
    ):
        fake = FakePlatform(platform=platform, default_price=100)
        first = await fake.create_cart([line], currency="USD", deadline=deadline, cart_ref="bag_1")
        second = await fake.create_cart([line], currency="USD", deadline=deadline, cart_ref="bag_1")
        assert (first.external_id == "bag_1") is caller_chosen
        assert len(fake.carts) == (1 if caller_chosen else 2)
        assert second.external_id in fake.carts
