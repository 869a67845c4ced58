"""An Idempotency-Key names the cart it started.

A retry after the first request died (its key's lock lapsed) answers the cart that request
wrote, settled, instead of making a second one; storing the answer is tried again before a
claim is left to lapse; racing claims answer 409, never 500. The death is driven in process:
the first request is parked at the platform, and the key's lock and the cart's lease are moved
into the past, as the clock would move them (tests/e2e holds the same with SIGKILL).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from orchestrator.http.idempotency import IDEMPOTENCY
from orchestrator.http.keys import SERVICES
from orchestrator.store.tables import idempotency_keys
from tests.api.conftest import Api
from tests.api.test_idempotency import body, post
from tests.api.test_interleavings import expire_lease, park_first_create
from tests.api.test_reconcile import add_ep_merchant, outdoors


async def lapse_key(api: Api, key: str) -> None:
    """The key's claim outlived its lock: its request is presumed dead."""
    async with api.store.db.write() as conn:
        await conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.key == key)
            .values(locked_until=datetime.now(UTC) - timedelta(seconds=1))
        )


async def key_record(api: Api, key: str) -> Any:
    async with api.store.db.read(single_statement=True) as conn:
        return (
            await conn.execute(select(idempotency_keys).where(idempotency_keys.c.key == key))
        ).one()


async def listed(api: Api) -> list[dict[str, Any]]:
    page = await (await api.client.get("/v1/carts", headers=api.auth)).json()
    return page["data"]  # type: ignore[no-any-return]


async def test_the_key_names_its_cart_in_the_carts_own_insert(api: Api) -> None:
    parked, go = park_first_create(outdoors(api))
    first = asyncio.create_task(post(api, "k-bind", body(api, "tent")))
    await asyncio.wait_for(parked.wait(), 5)
    [pending] = await listed(api)
    row = await key_record(api, "k-bind")
    assert (row.cart_id, row.phase, row.status) == (pending["id"], "cart_written", None)
    go.set()
    status, _, answer = await first
    assert status == 201 and answer["id"] == pending["id"]


@pytest.mark.parametrize("platform", ["ELASTIC_PATH", "BIGCOMMERCE"])
async def test_a_retry_after_the_first_died_answers_its_cart_not_a_second(
    api: Api, platform: str
) -> None:
    if platform == "ELASTIC_PATH":
        _, sku, fake = await add_ep_merchant(api)
        payload: dict[str, Any] = {"skus": [{"sku_id": sku, "quantity": 1}]}
    else:
        fake = outdoors(api)
        payload = body(api, "tent", "pan")
    parked, go = park_first_create(fake)
    first = asyncio.create_task(post(api, "k-crash", payload))
    await asyncio.wait_for(parked.wait(), 5)
    [pending] = await listed(api)
    # The process running it is gone: its key's lock and the cart's lease lapse.
    await lapse_key(api, "k-crash")
    await expire_lease(api, pending["id"])

    status, headers, again = await post(api, "k-crash", payload)
    assert status == 201 and "Idempotent-Replayed" not in headers
    assert again["id"] == pending["id"]  # the cart the key started, settled
    assert all(b["status"] != "PENDING" for b in again["bags"])
    replayed = await post(api, "k-crash", payload)
    assert replayed[0] == 201 and replayed[1]["Idempotent-Replayed"] == "true"
    assert replayed[2] == again

    go.set()  # the dead request's late platform answer: nothing more is made of it
    await first
    assert [c["id"] for c in await listed(api)] == [pending["id"]]
    if platform == "ELASTIC_PATH":
        assert list(fake.carts) == [again["bags"][0]["id"]]  # one cart, by its reference


async def test_a_lapsed_key_reused_with_another_body_is_422_when_it_names_a_cart(
    api: Api,
) -> None:
    parked, go = park_first_create(outdoors(api))
    first = asyncio.create_task(post(api, "k-other", body(api, "tent")))
    await asyncio.wait_for(parked.wait(), 5)
    await lapse_key(api, "k-other")
    status, _, answer = await post(api, "k-other", body(api, "lamp"))
    assert (status, answer["error"]) == (422, "idempotency_key_reused")
    go.set()
    await first


async def test_an_answer_that_fails_to_store_once_is_stored_on_the_next_try(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = api.client.server.app[IDEMPOTENCY].store
    real = store.complete
    calls = {"n": 0}

    async def flaky(*args: Any, **kwargs: Any) -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionResetError("lost")
        return await real(*args, **kwargs)

    monkeypatch.setattr(store, "complete", flaky)
    status, _, first = await post(api, "k-flaky", body(api, "tent"))
    assert status == 201
    status, headers, again = await post(api, "k-flaky", body(api, "tent"))
    assert (status, headers.get("Idempotent-Replayed"), again) == (201, "true", first)


async def test_claims_that_keep_racing_answer_409_not_500(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = api.client.server.app[IDEMPOTENCY].store

    async def never_inserted(*_: Any) -> bool:
        return False  # another request's row each time, gone again before it is read

    monkeypatch.setattr(store, "_insert", never_inserted)
    status, headers, answer = await post(api, "k-race", body(api, "tent"))
    assert (status, answer["error"]) == (409, "idempotency_key_in_use")
    assert "Retry-After" in headers


async def test_a_resume_that_fails_keeps_the_key_and_the_next_retry_answers_at_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found in review: a resume whose settling failed stored a 500 for 24 h, and one that met
    another settler held the key for the whole lock."""

    parked, go = park_first_create(outdoors(api))
    first = asyncio.create_task(post(api, "k-resume", body(api, "tent")))
    await asyncio.wait_for(parked.wait(), 5)
    [pending] = await listed(api)
    await lapse_key(api, "k-resume")
    await expire_lease(api, pending["id"])
    reconciler = api.client.server.app[SERVICES].reconciler

    async def broken(_cart_id: str) -> None:
        raise ConnectionResetError("the database went away")

    monkeypatch.setattr(reconciler, "settle_now", broken)
    status, _, answer = await post(api, "k-resume", body(api, "tent"))
    assert (status, answer["error"]) == (409, "idempotency_key_in_use")
    monkeypatch.undo()
    status, _, again = await post(api, "k-resume", body(api, "tent"))  # no wait for the lock
    assert status == 201 and again["id"] == pending["id"]
    go.set()
    await first
