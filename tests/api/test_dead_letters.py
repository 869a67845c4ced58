"""Dead letters (docs/api.md "Dead letters"): an external delete is given up by time, from its first
real failure, not by a count of attempts; what is no failure of the platform never spends that
window; a dead letter is listed, counted and requeued by an operator. On both engines, against
the fake platforms, through the real app.

The deleter is handed its clock (``run_once(now)``). That clock starts days in the past, so the
entries it makes due are due whichever clock ``OutboxStore.claim`` compares against (the one it
is given, or the database's).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.bigcommerce import BIGCOMMERCE
from adapters.calls.resilience import CircuitOpen
from errors import PlatformRateLimited, PlatformServerError
from orchestrator.http.keys import SERVICES, SETTINGS
from orchestrator.service.secrets import new_id
from orchestrator.store import PendingExternalDelete
from tests.api.conftest import ADMIN, Api
from tests.api.test_outbox_retry import deleter, deletes, outdoors
from tests.support.prometheus import sample

DOWN = PlatformServerError("store down", platform="BIGCOMMERCE", status=500)
THROTTLED = PlatformRateLimited("throttled", platform="BIGCOMMERCE", status=429, retry_after=30)
CIRCUIT_OPEN = CircuitOpen(
    "circuit open", platform="BIGCOMMERCE", retry_after=10, may_have_applied=False
)


def window(api: Api) -> timedelta:
    return timedelta(seconds=api.client.server.app[SETTINGS].outbox_give_up_after_s)


async def queued_delete(api: Api, due: datetime) -> PendingExternalDelete:
    """An outbox delete of a real external cart on the fake store, due at ``due``."""
    created = await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})
    cart = await created.json()
    bag = cart["bags"][0]
    entry = PendingExternalDelete(
        id=new_id("xdel"),
        cart_id=cart["id"],
        bag_id=bag["id"],
        merchant_id=bag["merchant_id"],
        platform=BIGCOMMERCE,
        external_id=bag["external_id"],
        next_attempt_at=due,
    )
    await api.store.outbox.enqueue([entry])
    assert entry.external_id in outdoors(api).carts
    return entry


async def current(api: Api, entry_id: str) -> PendingExternalDelete:
    got = await api.store.outbox.get(entry_id)
    assert got is not None
    return got


async def test_a_5xx_past_the_window_goes_dead_exactly_once_it_passed(api: Api) -> None:
    span = window(api)
    assert span == timedelta(hours=36)  # the default
    t0 = datetime.now(UTC) - span - timedelta(hours=4)
    entry = await queued_delete(api, t0)
    fake = outdoors(api)
    fake.fail_next("delete_cart", DOWN, times=1000)

    # Two hours of failures, each retried at its backoff: far past the 20 attempts (~70 min)
    # that used to bury it, it is still pending, its clock started by the first failure.
    # A round every 5 minutes (the backoff's cap: each finds it due) for 2 hours.
    for rounds in range(1, 25):
        now = t0 + timedelta(minutes=5 * (rounds - 1))
        assert await deleter(api).run_once(now) == 0
        got = await current(api, entry.id)
        assert (got.state, got.attempts, got.first_failed_at) == ("pending", rounds, t0)
        assert got.next_attempt_at is not None
        assert now < got.next_attempt_at <= now + timedelta(minutes=5)

    # A second before the window ends: still pending, the last try set at its end exactly.
    assert await deleter(api).run_once(t0 + span - timedelta(seconds=1)) == 0
    got = await current(api, entry.id)
    assert (got.state, got.next_attempt_at) == ("pending", t0 + span)

    # The failure at the window's end: dead, kept, saying why.
    assert await deleter(api).run_once(t0 + span) == 0
    got = await current(api, entry.id)
    assert got.state == "dead" and got.first_failed_at == t0
    assert got.last_error is not None
    assert got.last_error.startswith("gave up after failing for 36.0 h")
    assert "store down" in got.last_error
    sent = deletes(fake)
    assert await deleter(api).run_once(t0 + span + timedelta(days=30)) == 0
    assert deletes(fake) == sent and entry.external_id in fake.carts  # never retried by itself

    text = await (await api.client.get("/metrics")).text()
    assert sample(text, "multicart_outbox_entries", kind="delete", state="dead") == 1
    assert sample(text, "multicart_outbox_given_up_total", reason="window") == 1
    assert sample(text, "multicart_outbox_given_up_total", reason="permanent") == 0


async def test_throttling_open_circuits_and_deadlines_never_spend_the_window(api: Api) -> None:
    span = window(api)
    t0 = datetime.now(UTC) - 3 * span
    entry = await queued_delete(api, t0)
    fake = outdoors(api)

    # 25 rounds (more than the 20 attempts that used to bury it) over twice the window, each
    # throttled or failing fast on an open circuit: no attempt counted, no clock started, each
    # tried again when the error said.
    now = t0
    for i in range(25):
        error, wait = (THROTTLED, 30) if i % 2 == 0 else (CIRCUIT_OPEN, 10)
        fake.fail_next("delete_cart", error)
        assert await deleter(api).run_once(now) == 0
        got = await current(api, entry.id)
        assert (got.state, got.attempts, got.first_failed_at) == ("pending", 0, None)
        assert got.next_attempt_at == now + timedelta(seconds=wait)
        now += span / 12
    assert now - t0 > 2 * span

    # A request's own attempt with its deadline spent: nothing sent, nothing counted.
    sent = deletes(fake)
    await deleter(api).attempt([got], time.monotonic() - 1, now=now)
    got = await current(api, entry.id)
    assert (got.state, got.attempts, got.first_failed_at) == ("pending", 0, None)
    assert deletes(fake) == sent
    assert got.next_attempt_at == now + timedelta(seconds=5)  # the worker's interval
    now = got.next_attempt_at

    # The first real failure after all that starts the clock; it does not end it.
    fake.fail_next("delete_cart", DOWN)
    assert await deleter(api).run_once(now) == 0
    got = await current(api, entry.id)
    assert (got.state, got.attempts, got.first_failed_at) == ("pending", 1, now)

    # The store back: deleted.
    assert got.next_attempt_at is not None
    assert await deleter(api).run_once(got.next_attempt_at) == 1
    assert entry.external_id not in fake.carts
    assert await api.store.outbox.get(entry.id) is None


async def listed(api: Api, query: str) -> Any:
    response = await api.client.get(f"/v1/admin/outbox{query}", headers=ADMIN)
    assert response.status == 200, await response.text()
    return await response.json()


async def test_operators_list_and_requeue_dead_letters(api: Api) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    later = datetime.now(UTC) + timedelta(hours=1)
    dead = await queued_delete(api, past)
    lost = await queued_delete(api, past)
    pending = await queued_delete(api, later)  # not due: no round touches it
    await api.store.outbox.bury(dead.id, "dead", "credentials refused: 401")
    await api.store.outbox.bury(lost.id, "undetectable", "cannot be asked")

    # Admin only.
    assert (await api.client.get("/v1/admin/outbox", headers=api.auth)).status == 401
    assert (await api.client.post(f"/v1/admin/outbox/{dead.id}/retry")).status == 401

    page = await listed(api, "?state=dead")
    assert page["next_cursor"] is None
    [shown] = page["data"]
    assert shown == {
        "id": dead.id,
        "cart_id": dead.cart_id,
        "bag_id": dead.bag_id,
        "merchant_id": dead.merchant_id,
        "platform": "BIGCOMMERCE",
        "external_id": dead.external_id,
        "kind": "delete",
        "state": "dead",
        "attempts": 1,
        "first_failed_at": None,
        "next_attempt_at": shown["next_attempt_at"],
        "last_error": "credentials refused: 401",
    }
    assert shown["next_attempt_at"].endswith("Z")
    assert [e["id"] for e in (await listed(api, "?state=pending"))["data"]] == [pending.id]

    # Paged by id, one at a time, every entry once.
    seen: list[str] = []
    query = "?limit=1"
    for _ in range(5):
        page = await listed(api, query)
        seen += [e["id"] for e in page["data"]]
        if page["next_cursor"] is None:
            break
        query = f"?limit=1&cursor={page['next_cursor']}"
    assert seen == sorted([dead.id, lost.id, pending.id])

    for bad, field in (("?state=gone", "state"), ("?limit=0", "limit"), ("?cursor=%21", "cursor")):
        response = await api.client.get(f"/v1/admin/outbox{bad}", headers=ADMIN)
        body = await response.json()
        assert response.status == 400 and body["data"]["fields"][0]["field"] == field, bad

    text = await (await api.client.get("/metrics")).text()
    assert sample(text, "multicart_outbox_entries", kind="delete", state="dead") == 1
    assert sample(text, "multicart_outbox_entries", kind="delete", state="undetectable") == 1

    # Requeue: unknown 404, pending 409, dead -> pending, due now, its clock reset.
    response = await api.client.post("/v1/admin/outbox/xdel_nope/retry", headers=ADMIN)
    assert response.status == 404
    assert (await response.json())["error"] == "outbox_entry_not_found"
    response = await api.client.post(f"/v1/admin/outbox/{pending.id}/retry", headers=ADMIN)
    body = await response.json()
    assert response.status == 409 and body["error"] == "outbox_entry_not_retryable"
    assert body["data"] == {"state": "pending"}

    before = datetime.now(UTC)
    response = await api.client.post(f"/v1/admin/outbox/{dead.id}/retry", headers=ADMIN)
    assert response.status == 200, await response.text()
    body = await response.json()
    assert (body["id"], body["state"], body["attempts"], body["first_failed_at"]) == (
        dead.id,
        "pending",
        0,
        None,
    )
    got = await current(api, dead.id)
    assert got.next_attempt_at is not None and before <= got.next_attempt_at <= datetime.now(UTC)
    again = await api.client.post(f"/v1/admin/outbox/{dead.id}/retry", headers=ADMIN)
    assert again.status == 409

    # The reconciler's next round deletes it on the platform; the entry is done.
    assert dead.external_id in outdoors(api).carts
    assert await api.client.server.app[SERVICES].reconciler.run_once() >= 1
    assert dead.external_id not in outdoors(api).carts
    assert await api.store.outbox.get(dead.id) is None
    assert (await listed(api, "?state=dead"))["data"] == []
    assert (
        "secret-token" not in await (await api.client.get("/v1/admin/outbox", headers=ADMIN)).text()
    )
