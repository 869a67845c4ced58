"""The interleavings a review found, each driven step by step.

The rule they hold (every external cart is recorded on a bag or in the outbox): a reference
still named by an outbox entry is never adopted or re-used, and whether to delete what a failed
write made is decided from what the database holds after the failure, not from "an exception was
raised". Each test parks a create at the platform, or fails a write, moves the cart's lease into
the past instead of sleeping, and then checks the sandbox-side truth: every external cart the
fakes hold is on a live bag or in the outbox, and every live bag names a cart that exists.
Against the fake platforms, both engines."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from adapters.bigcommerce import BIGCOMMERCE
from adapters.fake import FakePlatform
from bags.status import BagStatus
from errors import Overloaded, PlatformRejected, PlatformServerError
from orchestrator.http.keys import SERVICES
from orchestrator.store import StaleCart
from orchestrator.store.tables import carts
from tests.api.conftest import Api
from tests.api.test_reconcile import (
    LOST,
    add_ep_merchant,
    cart_of,
    lines,
    outdoors,
    reconciler,
)

LIVE = {BagStatus.IN_PROGRESS.value, BagStatus.PENDING.value, BagStatus.UNKNOWN.value}


async def expire_lease(api: Api, cart_id: str) -> None:
    """The create's lease and settle margin have passed: the row's times, moved back."""
    past = datetime.now(UTC) - timedelta(hours=1)
    async with api.store.db.write() as conn:
        await conn.execute(
            update(carts)
            .where(carts.c.id == cart_id)
            .values(lease_until=past, date_last_modified=past)
        )


async def drain_outbox(api: Api) -> None:
    """Every due outbox entry worked, as the reconciler would over the next day."""
    await reconciler(api, ahead=timedelta(days=1)).run_once()


async def assert_accounted(api: Api, *cart_ids: str) -> None:
    """No live bag points at a missing external cart; every external cart the fakes hold is
    on a live bag of these carts or named by a pending outbox entry."""
    live: set[tuple[str, str]] = set()
    for cart_id in cart_ids:
        stored = await api.store.carts.get_any(cart_id)
        assert stored is not None
        live |= {
            (b.merchant_id, b.external_id)
            for b in stored.bags
            if b.external_id and b.status.value in LIVE
        }
    for merchant_id, external_id in live:
        fake = api.platforms.platforms[merchant_id]
        assert external_id in fake.carts, f"a live bag points at a deleted cart {external_id}"
    pending = {
        (e.merchant_id, e.external_id)
        for e in await api.store.outbox.due(datetime.now(UTC) + timedelta(days=30), limit=500)
    }
    for merchant_id, fake in api.platforms.platforms.items():
        for external_id in fake.carts:
            assert (merchant_id, external_id) in live | pending, f"orphan {external_id}"


def park_first_create(fake: FakePlatform) -> tuple[asyncio.Event, asyncio.Event]:
    """The fake's next create waits (before the platform applies it) until ``go`` is set;
    ``parked`` is set once it waits."""
    parked, go = asyncio.Event(), asyncio.Event()
    original = fake.create_cart
    state = {"first": True}

    async def create_cart(*args: Any, **kwargs: Any) -> Any:
        if state["first"]:
            state["first"] = False
            parked.set()
            await go.wait()
        return await original(*args, **kwargs)

    fake.create_cart = create_cart  # type: ignore[method-assign]
    return parked, go


def failing_once(
    real: Callable[..., Awaitable[None]], exc: BaseException, *, after: bool = False
) -> Callable[..., Awaitable[None]]:
    """``real``, whose first call raises ``exc``: before it runs, or (``after``) once it has
    committed, as a COMMIT whose answer was lost."""
    calls = {"n": 0}

    async def wrapped(*args: Any, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            if after:
                await real(*args, **kwargs)
            raise exc
        await real(*args, **kwargs)

    return wrapped


async def test_an_unwritten_outcome_is_recorded_on_read_back_never_adopted_then_deleted(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1(a): the outcome write fails (the database busy) and the request's own deletes fail
    too. It used to queue the deletes of what it made and leave the bags PENDING; the
    reconciler then re-sent the create under the Elastic Path bag's reference, adopted the
    cart, and the queued delete removed it. Now the read-back records the outcome (the bags
    are still PENDING there) and queues nothing."""
    _, seeds, garden = await add_ep_merchant(api)
    monkeypatch.setattr(
        api.store.carts,
        "record_creation",
        failing_once(api.store.carts.record_creation, Overloaded("database busy")),
    )
    garden.fail_next("delete_cart", PlatformServerError("down", platform="ELASTIC_PATH"))
    outdoors(api).fail_next("delete_cart", PlatformServerError("down", platform="BIGCOMMERCE"))
    response = await api.post_cart(lines("sku-tent", seeds))
    assert response.status == 201
    cart = await response.json()
    assert {b["status"] for b in cart["bags"]} == {"IN_PROGRESS"}

    await expire_lease(api, cart["id"])
    await reconciler(api, ahead=timedelta(0)).run_once()
    await drain_outbox(api)
    assert len(garden.carts) == 1 and len(outdoors(api).carts) == 1
    await assert_accounted(api, cart["id"])


async def test_an_elastic_path_reference_an_outbox_entry_names_is_never_adopted(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """1(a), the reconciler's side: a PENDING Elastic Path bag whose reference an entry names
    (the read-back itself could not be written, a crash between two writes) is failed, never
    re-created and adopted, or the entry's delete would remove the adopted cart."""
    _, seeds, garden = await add_ep_merchant(api)
    parked, go = park_first_create(garden)
    creating = asyncio.create_task(api.post_cart(lines(seeds)))
    await asyncio.wait_for(parked.wait(), 5)
    [listed] = (await (await api.client.get("/v1/carts", headers=api.auth)).json())["data"]
    [bag] = listed["bags"]
    deleter = api.client.server.app[SERVICES].deleter
    held = (await api.store.carts.get_any(listed["id"])).bags[0]  # type: ignore[union-attr]
    held.external_id = bag["id"]  # what the read-back would have queued: the reference's delete
    await api.store.outbox.enqueue(deleter.entries(listed["id"], [held]))
    monkeypatch.setattr(api.store.carts, "record_creation", _never)
    monkeypatch.setattr(api.store.carts, "queue_unkept", _never)
    go.set()
    assert (await creating).status >= 500  # nothing could be written: the bag stays PENDING
    creates = sum(1 for op, _ in garden.calls if op == "create_cart")

    await expire_lease(api, listed["id"])
    await reconciler(api, ahead=timedelta(0)).run_once()
    assert sum(1 for op, _ in garden.calls if op == "create_cart") == creates  # not re-sent
    settled = await cart_of(api, listed["id"])
    assert settled["bags"][0]["status"] == "FAILED"
    await drain_outbox(api)
    assert garden.carts == {}
    await assert_accounted(api, listed["id"])


async def _never(*_: Any, **__: Any) -> Any:
    raise ConnectionResetError("the database is gone")


async def test_a_create_that_overran_its_lease_keeps_what_the_reconciler_adopted(
    api: Api,
) -> None:
    """1(b): the create outlives its lease; the reconciler adopts the Elastic Path bag by its
    reference; the create's late outcome write is stale and used to queue the delete of the
    very cart the bag now names."""
    _, seeds, garden = await add_ep_merchant(api)
    parked, go = park_first_create(garden)
    creating = asyncio.create_task(api.post_cart(lines("sku-tent", seeds)))
    await asyncio.wait_for(parked.wait(), 5)
    [listed] = (await (await api.client.get("/v1/carts", headers=api.auth)).json())["data"]
    await expire_lease(api, listed["id"])
    await reconciler(api, ahead=timedelta(0)).run_once()  # adopts the EP bag, fails the other
    go.set()
    response = await creating
    assert response.status == 201  # the cart as it stands: adopted
    answered = await response.json()
    ep = next(b for b in answered["bags"] if b["platform"] == "ELASTIC_PATH")
    assert ep["status"] == "IN_PROGRESS" and ep["external_id"] == ep["id"]

    await drain_outbox(api)
    assert list(garden.carts) == [ep["id"]]  # the adopted cart is still there
    # The BigCommerce bag was settled FAILED meanwhile: the cart its create made is deleted.
    assert outdoors(api).carts == {}
    await assert_accounted(api, listed["id"])


async def test_an_outcome_committed_whose_answer_was_lost_is_the_answer(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3: the outcome write committed but raised (a connection lost at COMMIT): the carts
    used to be queued for deletion while the bags named them."""
    monkeypatch.setattr(
        api.store.carts,
        "record_creation",
        failing_once(
            api.store.carts.record_creation, ConnectionResetError("lost at COMMIT"), after=True
        ),
    )
    response = await api.post_cart(lines("sku-tent", "sku-pan"))
    assert response.status == 201
    cart = await response.json()
    assert [b["status"] for b in cart["bags"]] == ["IN_PROGRESS", "IN_PROGRESS"]
    await drain_outbox(api)
    assert await api.store.outbox.depths() == {}
    await assert_accounted(api, cart["id"])
    assert len(outdoors(api).carts) == 1


async def test_an_insert_committed_whose_answer_was_lost_goes_on(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """3: a batch whose COMMIT lost its answer is run again alone; the insert then meets its
    own row (a duplicate key) and used to answer 500 after the cart existed."""
    real = api.store.carts.group_commit.run
    calls = {"n": 0}

    async def commit_then_lose(write: Any) -> None:
        calls["n"] += 1
        await real(write)
        if calls["n"] == 1:
            await real(write)  # the re-run: a duplicate key, raised as the batch's would be

    monkeypatch.setattr(api.store.carts.group_commit, "run", commit_then_lose)
    response = await api.post_cart(lines("sku-tent"))
    assert response.status == 201, await response.text()
    await assert_accounted(api, (await response.json())["id"])


async def test_a_new_bag_whose_save_fails_keeps_its_external_id(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """4: an add that made a new bag's external cart, then could not save: the id used to be
    dropped and the bag later counted undetectable."""
    cart = await (await api.post_cart(lines("sku-tent"))).json()
    real_save = api.store.carts.save
    saves = {"n": 0}

    async def outcome_saves_fail(*args: Any, **kwargs: Any) -> None:
        saves["n"] += 1
        if saves["n"] > 1:  # the first writes the PENDING bag; its outcome's (and the retry's)
            raise Overloaded("database busy")
        await real_save(*args, **kwargs)

    monkeypatch.setattr(api.store.carts, "save", outcome_saves_fail)
    kitchen = api.platforms.for_merchant(api.merchants[1], BIGCOMMERCE, {})
    assert isinstance(kitchen, FakePlatform)
    kitchen.fail_next("delete_cart", PlatformServerError("down", platform="BIGCOMMERCE"))
    added = await api.client.post(
        f"/v1/carts/{cart['id']}/skus",
        json={"sku_id": "sku-pan", "quantity": 1},
        headers=api.auth,
    )
    assert added.status == 503
    assert saves["n"] == 3  # the outcome's save, tried again once on a fresh read
    monkeypatch.undo()
    [made] = list(kitchen.carts)
    queued = await api.store.outbox.due(datetime.now(UTC) + timedelta(days=1))
    assert [(e.kind, e.external_id) for e in queued] == [("delete", made)]
    await expire_lease(api, cart["id"])
    await reconciler(api, ahead=timedelta(0)).run_once()
    await drain_outbox(api)
    assert kitchen.carts == {} and await api.store.outbox.depths() == {}
    await assert_accounted(api, cart["id"])


async def test_a_stale_first_save_is_409_not_500(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """6: StaleCart escaped as a 500 from DELETE, from a bag retry's first save and from the
    first save of a new bag."""
    cart = await (await api.post_cart(lines("sku-tent"))).json()
    monkeypatch.setattr(
        api.store.carts, "save", failing_once(api.store.carts.save, StaleCart("moved on"))
    )
    added = await api.client.post(
        f"/v1/carts/{cart['id']}/skus", json={"sku_id": "sku-pan", "quantity": 1}, headers=api.auth
    )
    assert added.status == 409 and (await added.json())["error"] == "cart_busy"
    assert api.platforms.platforms.get(api.merchants[1]) is None  # nothing was sent

    monkeypatch.setattr(
        api.store.carts, "save", failing_once(api.store.carts.save, StaleCart("moved on"))
    )
    deleted = await api.client.delete(f"/v1/carts/{cart['id']}", headers=api.auth)
    assert deleted.status == 204  # read again under the lease, then deleted
    await drain_outbox(api)
    assert outdoors(api).carts == {}


async def test_a_bag_retry_whose_first_save_is_stale_is_409(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    outdoors(api).fail_next("create_cart", PlatformRejected("refused", platform="BIGCOMMERCE"))
    cart = await (await api.post_cart(lines("sku-tent", "sku-pan"))).json()
    failed = next(b for b in cart["bags"] if b["status"] == "FAILED")
    monkeypatch.setattr(
        api.store.carts, "save", failing_once(api.store.carts.save, StaleCart("moved on"))
    )
    retried = await api.client.post(
        f"/v1/carts/{cart['id']}/bags/{failed['id']}/retry", headers=api.auth
    )
    assert retried.status == 409 and (await retried.json())["error"] == "cart_busy"


async def test_a_late_outcome_write_keeps_the_lease_of_the_change_holding_the_cart(
    api: Api,
) -> None:
    """6: recording a create's outcome used to clear whatever lease was on the row, letting a
    second change in beside the one holding it."""
    parked, go = park_first_create(outdoors(api))
    creating = asyncio.create_task(api.post_cart(lines("sku-tent")))
    await asyncio.wait_for(parked.wait(), 5)
    [listed] = (await (await api.client.get("/v1/carts", headers=api.auth)).json())["data"]
    await expire_lease(api, listed["id"])
    assert await api.store.leases.acquire(listed["id"], "lease_other", 60)  # a change holds it
    go.set()
    assert (await creating).status == 201
    # The change's lease is still on the row: no one else gets the cart.
    assert not await api.store.leases.acquire(listed["id"], "lease_third", 60)
    assert await api.store.leases.acquire(listed["id"], "lease_other", 60)


async def test_a_reference_to_a_cart_still_being_created_under_it_is_refused(api: Api) -> None:
    """Found by the explorer: an Elastic Path bag whose create is unsettled (UNKNOWN, or
    PENDING while its call is parked) will adopt the cart its id names; a reference saved
    meanwhile used to take it first, wedging the reconciler (the unique index) or having it
    deleted under the reference by the creating cart's DELETE (an unknown create's entry)."""
    garden_id, seeds, garden = await add_ep_merchant(api)
    garden.lose_answer_next("create_cart", LOST)
    cart = await (await api.post_cart(lines("sku-tent", seeds))).json()
    unknown = next(b for b in cart["bags"] if b["platform"] == "ELASTIC_PATH")
    assert unknown["status"] == "UNKNOWN" and unknown["id"] in garden.carts
    saved = await api.client.post(
        "/v1/cart-references",
        json={"cart_id": unknown["id"], "source": garden_id},
        headers=api.auth,
    )
    assert saved.status == 409, await saved.text()

    assert (await api.client.delete(f"/v1/carts/{cart['id']}", headers=api.auth)).status == 204
    await drain_outbox(api)
    assert garden.carts == {}  # deleted by its reference: no other cart held it
    await assert_accounted(api, cart["id"])


async def test_a_line_change_whose_save_fails_once_is_recorded_on_the_next_try(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the explorer: an add applied on the platform, then its save failed at COMMIT,
    left a line the platform holds in no record and no order error."""
    cart = await (await api.post_cart(lines("sku-tent"))).json()
    monkeypatch.setattr(
        api.store.carts,
        "save",
        failing_once(api.store.carts.save, ConnectionResetError("lost at COMMIT")),
    )
    added = await api.client.post(
        f"/v1/carts/{cart['id']}/skus", json={"sku_id": "sku-lamp", "quantity": 2}, headers=api.auth
    )
    assert added.status == 200, await added.text()
    [bag] = (await cart_of(api, cart["id"]))["bags"]
    held = outdoors(api).snapshot(bag["external_id"])
    assert sorted((s["external_id"], s["quantity"]) for s in bag["skus"]) == sorted(
        (line.external_id, line.quantity) for line in held.lines
    )


async def test_a_cart_saved_by_reference_while_its_create_was_in_flight_stays_there(
    api: Api,
) -> None:
    """Found by the explorer: BigCommerce made the cart, the create's answer was still on its
    way, and a shopper saved that cart by reference; the create's outcome write then broke
    the unique (merchant, external id) and answered 500, queueing the delete of the cart the
    reference held."""
    fake = outdoors(api)
    original = fake.create_cart
    applied, go = asyncio.Event(), asyncio.Event()

    async def create_then_hold(*args: Any, **kwargs: Any) -> Any:
        made = await original(*args, **kwargs)
        applied.set()
        await go.wait()
        return made

    fake.create_cart = create_then_hold  # type: ignore[method-assign]
    creating = asyncio.create_task(api.post_cart(lines("sku-tent", "sku-pan")))
    await asyncio.wait_for(applied.wait(), 5)
    [made] = list(fake.carts)
    saved = await api.client.post(
        "/v1/cart-references", json={"cart_id": made, "source": api.merchants[0]}, headers=api.auth
    )
    assert saved.status == 201, await saved.text()
    go.set()
    response = await creating
    assert response.status == 201, await response.text()
    cart = await response.json()
    taken = next(b for b in cart["bags"] if b["merchant_id"] == api.merchants[0])
    assert taken["status"] == "FAILED"
    assert any("saved by reference" in e["message"] for e in cart["errors"])
    await drain_outbox(api)
    assert made in fake.carts  # the saved cart keeps it
    await assert_accounted(api, cart["id"], (await saved.json())["id"])


async def test_a_bag_retrys_read_back_records_only_its_own_bag(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: a bag retry whose outcome save failed recorded its whole stale copy of
    the cart on read-back, over a bag another change had made PENDING meanwhile (that change's
    new external cart then on no bag and in no entry)."""
    from sqlalchemy import update as sql_update

    from orchestrator.store.tables import bags as bags_table

    outdoors(api).fail_next("create_cart", PlatformRejected("refused", platform="BIGCOMMERCE"))
    cart = await (await api.post_cart(lines("sku-tent", "sku-pan"))).json()
    failed = next(b for b in cart["bags"] if b["status"] == "FAILED")
    other = next(b for b in cart["bags"] if b["status"] == "IN_PROGRESS")
    real_save = api.store.carts.save
    saves = {"n": 0}

    async def another_change_then_fail(*args: Any, **kwargs: Any) -> None:
        saves["n"] += 1
        if saves["n"] == 1:
            await real_save(*args, **kwargs)  # the retried bag, PENDING
            return
        async with api.store.db.write() as conn:  # another change made the other bag PENDING
            await conn.execute(
                sql_update(bags_table)
                .where(bags_table.c.id == other["id"])
                .values(status="PENDING")
            )
        raise Overloaded("database busy")

    monkeypatch.setattr(api.store.carts, "save", another_change_then_fail)
    retried = await api.client.post(
        f"/v1/carts/{cart['id']}/bags/{failed['id']}/retry", headers=api.auth
    )
    assert retried.status == 200, await retried.text()
    stored = await api.store.carts.get_any(cart["id"])
    assert stored is not None
    statuses = {b.id: b.status.value for b in stored.bags}
    assert statuses == {failed["id"]: "IN_PROGRESS", other["id"]: "PENDING"}


async def test_the_reconcilers_failed_save_is_read_back_not_dropped(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: the reconciler adopted an Elastic Path cart, its save failed, and it
    only logged: a cart it had just made (the old one deleted meanwhile) was on no bag."""
    _, seeds, garden = await add_ep_merchant(api)
    garden.lose_answer_next("create_cart", LOST)
    cart = await (await api.post_cart(lines("sku-tent", seeds))).json()
    monkeypatch.setattr(
        api.store.carts,
        "save",
        failing_once(api.store.carts.save, ConnectionResetError("lost")),
    )
    await reconciler(api).run_once()
    settled = await cart_of(api, cart["id"])
    ep = next(b for b in settled["bags"] if b["platform"] == "ELASTIC_PATH")
    assert ep["status"] == "IN_PROGRESS" and ep["external_id"] in garden.carts
    await assert_accounted(api, cart["id"])


async def test_a_line_change_whose_save_committed_but_raised_is_not_applied_twice(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    cart = await (await api.post_cart(lines("sku-tent"))).json()
    monkeypatch.setattr(
        api.store.carts,
        "save",
        failing_once(api.store.carts.save, ConnectionResetError("lost"), after=True),
    )
    added = await api.client.post(
        f"/v1/carts/{cart['id']}/skus", json={"sku_id": "sku-lamp", "quantity": 1}, headers=api.auth
    )
    assert added.status == 200, await added.text()
    assert (await added.json())["version"] == cart["version"] + 1  # saved once
