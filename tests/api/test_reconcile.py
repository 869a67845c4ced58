"""Unknown outcomes are recorded and settled; the failure path and deletes never lose an
external cart; a DELETE never races a create. Against the fake platforms, on both engines."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.bigcommerce import BIGCOMMERCE
from adapters.elastic_path import ELASTIC_PATH
from adapters.fake import FakePlatform, ref_key
from bags.models import Bag, Cart, OrderSku
from errors import PlatformAddressRefused, PlatformAuthFailed, PlatformNotFound, PlatformTimeout
from orchestrator.http.keys import SERVICES
from orchestrator.service.reconciler import Reconciler
from orchestrator.store.outbox import PendingExternalDelete
from tests.api.conftest import ADMIN, Api

EP_REF = {"product_id": "3a6a22c7-ac26-5296-ab80-f07e39527cdd"}
LOST = PlatformTimeout("no answer after sending", platform="X", may_have_applied=True)


async def add_ep_merchant(api: Api) -> tuple[str, str, FakePlatform]:
    response = await api.client.post(
        "/v1/admin/merchants",
        headers=ADMIN,
        json={
            "name": "Garden",
            "platform": "ELASTIC_PATH",
            "connection": {"api_url": "https://ep.test", "client_id": "i", "client_secret": "s"},
        },
    )
    merchant_id = (await response.json())["id"]
    sku = {
        "sku_id": "sku-seeds",
        "merchant_id": merchant_id,
        "name": "Seeds",
        "price": 399,
        "currency": "USD",
        "available": True,
        "platform_ref": EP_REF,
    }
    assert (await api.client.put("/v1/admin/skus", json=[sku], headers=ADMIN)).status == 200
    fake = api.platforms.for_merchant(merchant_id, ELASTIC_PATH, {})
    assert isinstance(fake, FakePlatform) and fake.capabilities.caller_chosen_cart_ids
    fake.prices[ref_key(EP_REF)] = 399
    return merchant_id, "sku-seeds", fake


def outdoors(api: Api) -> FakePlatform:
    fake = api.platforms.for_merchant(api.merchants[0], BIGCOMMERCE, {})
    assert isinstance(fake, FakePlatform)
    return fake


def reconciler(api: Api, ahead: timedelta = timedelta(minutes=1)) -> Reconciler:
    """A reconciler ``ahead`` in time: its clock, and the database's (leases, the settle
    cut-off) through the store's seam."""
    api.store.db.clock_offset_s = ahead.total_seconds()
    app = api.client.server.app
    return Reconciler(replace(app[SERVICES].context, clock=lambda: datetime.now(UTC) + ahead))


async def cart_of(api: Api, cart_id: str) -> dict[str, Any]:
    response = await api.client.get(f"/v1/carts/{cart_id}", headers=api.auth)
    assert response.status == 200
    return await response.json()  # type: ignore[no-any-return]


def lines(*sku_ids: str) -> dict[str, Any]:
    return {"skus": [{"sku_id": s, "quantity": 1} for s in sku_ids]}


async def test_a_lost_answer_is_unknown_then_failed_and_counted_where_it_cannot_be_found(
    api: Api,
) -> None:
    outdoors(api).lose_answer_next("create_cart", LOST)
    response = await api.post_cart(lines("sku-tent", "sku-pan"))
    assert response.status == 201
    cart = await response.json()
    lost = cart["bags"][0]
    assert lost["status"] == "UNKNOWN" and lost["external_id"] is None
    assert [(e["bag_id"], e["retryable"]) for e in cart["errors"]] == [(lost["id"], False)]
    assert len(outdoors(api).carts) == 1  # the platform made it; we did not hear

    assert await reconciler(api).run_once() == 1
    settled = await cart_of(api, cart["id"])
    assert settled["bags"][0]["status"] == "FAILED"
    assert [e["cause"] for e in settled["errors"]] == ["PLATFORM_TIMEOUT"]
    # BigCommerce cannot be asked whether the cart exists: recorded and counted, not dropped.
    assert await api.store.outbox.depths() == {"undetectable": 1}
    assert await reconciler(api).run_once() == 0  # settled once, for good


async def test_elastic_path_finds_the_cart_by_the_bags_reference_and_adopts_it(api: Api) -> None:
    _, seeds, garden = await add_ep_merchant(api)
    garden.lose_answer_next("create_cart", LOST)
    cart = await (await api.post_cart(lines("sku-tent", seeds))).json()
    lost = next(b for b in cart["bags"] if b["platform"] == "ELASTIC_PATH")
    assert lost["status"] == "UNKNOWN"

    assert await reconciler(api).run_once() == 1
    settled = await cart_of(api, cart["id"])
    adopted = next(b for b in settled["bags"] if b["id"] == lost["id"])
    assert adopted["status"] == "IN_PROGRESS" and adopted["external_id"] == lost["id"]
    assert settled["errors"] == []
    assert list(garden.carts) == [lost["id"]]  # one cart, found again: never a second


async def test_a_single_bag_lost_answer_keeps_no_cart_and_its_cart_is_deleted_by_reference(
    api: Api,
) -> None:
    _, seeds, garden = await add_ep_merchant(api)
    garden.lose_answer_next("create_cart", LOST)
    response = await api.post_cart(lines(seeds))
    assert response.status == 502
    body = await response.json()
    assert (body["code"], body["data"]["outcome"]) == (2503, "UNKNOWN")
    assert (await (await api.client.get("/v1/carts", headers=api.auth)).json())["data"] == []
    [entry] = await api.store.outbox.due(datetime.now(UTC) + timedelta(minutes=1))
    assert entry.kind == "unknown_create" and len(garden.carts) == 1

    await reconciler(api).run_once()
    assert garden.carts == {}  # deleted by the reference it was sent with
    assert await api.store.outbox.depths() == {}


async def test_a_crash_between_pending_and_outcome_is_settled_after_a_restart(api: Api) -> None:
    garden_id, _, garden = await add_ep_merchant(api)
    app_id = (await api.store.apps.id_for_key_hash(_hash(api.key))) or ""
    old = datetime.now(UTC) - timedelta(minutes=5)
    cart = Cart(
        id="cart_crashed",
        app_id=app_id,
        currency="USD",
        date_created=old,
        date_last_modified=old,
        expires_at=old + timedelta(days=30),
    )
    for bag_id, merchant, platform, ref in (
        ("bag_bc", api.merchants[0], BIGCOMMERCE, {"product_id": 1}),
        ("bag_ep", garden_id, ELASTIC_PATH, EP_REF),
    ):
        cart.bags.append(
            Bag(
                id=bag_id,
                merchant_id=merchant,
                merchant_name="m",
                platform=platform,
                currency="USD",
                skus=[OrderSku(f"o_{bag_id}", "sku", "Thing", 1, 100, 100, ref)],
            )
        )
    await api.store.carts.insert(cart)  # PENDING bags, then the process died

    assert await reconciler(api, ahead=timedelta(0)).run_once() == 2
    settled = await cart_of(api, "cart_crashed")
    assert [b["status"] for b in settled["bags"]] == ["FAILED", "IN_PROGRESS"]
    assert list(garden.carts) == ["bag_ep"]
    assert await api.store.outbox.depths() == {"undetectable": 1}


async def test_a_delete_while_the_create_is_in_flight_is_cart_busy_and_loses_nothing(
    api: Api,
) -> None:
    fake = outdoors(api)
    fake.delay = 0.3
    creating = asyncio.create_task(api.post_cart(lines("sku-tent")))
    listed: list[dict[str, Any]] = []
    for _ in range(200):  # bounded poll: the PENDING cart is listed
        listed = (await (await api.client.get("/v1/carts", headers=api.auth)).json())["data"]
        if listed:
            break
        await asyncio.sleep(0.01)
    [pending] = listed
    assert pending["bags"][0]["status"] == "PENDING"
    busy = await api.client.delete(f"/v1/carts/{pending['id']}", headers=api.auth)
    assert busy.status == 409 and (await busy.json())["error"] == "cart_busy"
    assert "Retry-After" in busy.headers

    created = await creating
    assert created.status == 201
    fake.delay = 0.0
    gone = await api.client.delete(f"/v1/carts/{pending['id']}", headers=api.auth)
    assert gone.status == 204 and fake.carts == {}


async def test_outbox_entries_settle_gone_dead_or_retried(api: Api) -> None:
    fake = outdoors(api)
    deleter = api.client.server.app[SERVICES].deleter
    common = {"cart_id": "c", "bag_id": "b", "platform": BIGCOMMERCE}
    entries = [
        PendingExternalDelete(
            id="xdel_gone", merchant_id=api.merchants[0], external_id="ext-gone", **common
        ),
        PendingExternalDelete(
            id="xdel_auth", merchant_id=api.merchants[0], external_id="ext-auth", **common
        ),
        PendingExternalDelete(
            id="xdel_orphan", merchant_id="mer_deleted", external_id="ext-x", **common
        ),
        PendingExternalDelete(
            id="xdel_host", merchant_id=api.merchants[0], external_id="ext-host", **common
        ),
    ]
    await api.store.outbox.enqueue(entries)
    fake.fail_next("delete_cart", PlatformNotFound("no such cart", platform="BIGCOMMERCE"))
    fake.fail_next("delete_cart", PlatformAuthFailed("token revoked", platform="BIGCOMMERCE"))
    fake.fail_next("delete_cart", PlatformAddressRefused("private", platform="BIGCOMMERCE"))
    await deleter.run_once(datetime.now(UTC) + timedelta(seconds=1))
    # Gone already is done; refused credentials, a host resolving off-limits and a vanished
    # merchant are dead letters.
    assert await api.store.outbox.depths() == {"dead": 3}
    assert await deleter.run_once(datetime.now(UTC) + timedelta(days=1)) == 0


def _hash(key: str) -> str:
    from orchestrator.service.secrets import hash_api_key

    return hash_api_key(key)


async def test_a_merchant_sealed_under_a_key_we_no_longer_have_fails_alone(api: Api) -> None:
    from sqlalchemy import update

    from orchestrator.service.secrets import CredentialBox
    from orchestrator.store.tables import merchants

    other = CredentialBox(CredentialBox.generate_key())
    sealed = other.seal({"api_url": "https://fake.test/stores/x/v3", "access_token": "t"})
    async with api.store.db.write() as conn:
        await conn.execute(
            update(merchants)
            .where(merchants.c.id == api.merchants[0])
            .values(connection_ciphertext=sealed)
        )
    response = await api.post_cart(lines("sku-tent", "sku-pan"))
    assert response.status == 201
    cart = await response.json()
    assert [b["status"] for b in cart["bags"]] == ["FAILED", "IN_PROGRESS"]
    assert {e["cause"] for e in cart["errors"]} == {"AUTH_FAILED"}
    assert outdoors(api).calls == []  # nothing was sent for the unreadable merchant


async def test_metrics_count_what_could_not_be_resolved(api: Api) -> None:
    from tests.support.prometheus import sample

    outdoors(api).lose_answer_next("create_cart", LOST)
    assert (await api.post_cart(lines("sku-tent"))).status == 502
    text = await (await api.client.get("/metrics")).text()
    entries = "multicart_outbox_entries"
    assert sample(text, entries, kind="unknown_create", state="pending") == 1
    assert sample(text, "multicart_outbox_depth") == 1

    await reconciler(api).run_once()
    text = await (await api.client.get("/metrics")).text()
    assert sample(text, entries, kind="unknown_create", state="undetectable") == 1
    assert sample(text, entries, kind="unknown_create", state="pending") == 0
    assert sample(text, "multicart_outbox_depth") == 0


async def test_one_carts_trouble_stops_neither_the_others_nor_the_outbox(
    api: Api, monkeypatch: Any
) -> None:
    outdoors(api).lose_answer_next("create_cart", LOST, times=2)
    first = await (await api.post_cart(lines("sku-tent", "sku-pan"))).json()
    second = await (await api.post_cart(lines("sku-tent", "sku-pan"))).json()
    worker = reconciler(api)
    real_settle = worker._settle

    async def settle(cart_id: str) -> int:
        if cart_id == first["id"]:
            raise RuntimeError("a bug in one cart")
        return await real_settle(cart_id)

    monkeypatch.setattr(worker, "_settle", settle)
    await worker.run_once()
    assert (await cart_of(api, first["id"]))["bags"][0]["status"] == "UNKNOWN"
    assert (await cart_of(api, second["id"]))["bags"][0]["status"] == "FAILED"
    assert await api.store.outbox.depths() == {"undetectable": 1}  # the outbox ran too
