"""The outbox's retry path (``ExternalDeleter.run_once``, docs/api.md "Unknown outcomes"): a delete
the platform fails with a 5xx is postponed with exponential backoff, attempt after attempt,
until it succeeds (the give-up window is ``test_dead_letters.py``'s). Against the fake
platforms, on both engines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from adapters.bigcommerce import BIGCOMMERCE
from adapters.fake import FakePlatform
from errors import PlatformServerError
from orchestrator.http.keys import SERVICES, SETTINGS
from orchestrator.service.deletion import ExternalDeleter
from orchestrator.store.tables import external_deletes
from tests.api.conftest import Api

DOWN = PlatformServerError("store down", platform="BIGCOMMERCE", status=503)
CAP_S = 300.0  # retry_policy.MAX_BACKOFF_S


def outdoors(api: Api) -> FakePlatform:
    fake = api.platforms.for_merchant(api.merchants[0], BIGCOMMERCE, {})
    assert isinstance(fake, FakePlatform)
    return fake


def deleter(api: Api) -> ExternalDeleter:
    return api.client.server.app[SERVICES].deleter


def backoff(api: Api, attempts_before: int) -> float:
    retry_s = api.client.server.app[SETTINGS].external_delete_retry_s
    return float(min(retry_s * 2 ** min(attempts_before, 8), CAP_S))


async def the_entry(api: Api) -> dict[str, Any]:
    async with api.store.db.read(single_statement=True) as conn:
        [row] = (await conn.execute(select(external_deletes))).mappings().all()
    return dict(row)


def deletes(fake: FakePlatform) -> int:
    return sum(op == "delete_cart" for op, _ in fake.calls)


async def deleted_while_down(api: Api) -> str:
    """A cart deleted while its store answers 5xx: 204, its delete left to the outbox."""
    created = await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})
    cart = await created.json()
    external_id = str(cart["bags"][0]["external_id"])
    outdoors(api).fail_next("delete_cart", DOWN)
    assert (await api.client.delete(f"/v1/carts/{cart['id']}", headers=api.auth)).status == 204
    assert external_id in outdoors(api).carts
    return external_id


async def test_a_failed_delete_is_postponed_by_the_backoff_then_done(api: Api) -> None:
    external_id = await deleted_while_down(api)
    before = datetime.now(UTC)
    entry = await the_entry(api)
    # The request's own try failed: the first attempt, due one backoff later.
    assert (entry["state"], entry["kind"], entry["attempts"]) == ("pending", "delete", 1)
    assert entry["external_id"] == external_id and "store down" in entry["last_error"]
    first_due = entry["next_attempt_at"]
    first_delay = timedelta(seconds=backoff(api, 0))
    assert before + first_delay - timedelta(seconds=5) <= first_due <= before + first_delay

    # Not due yet: nothing is claimed, nothing sent.
    assert await deleter(api).run_once(before) == 0
    assert deletes(outdoors(api)) == 1

    # Due, fails again: attempts 2, postponed by the doubled backoff.
    outdoors(api).fail_next("delete_cart", DOWN)
    now = first_due + timedelta(seconds=1)
    assert await deleter(api).run_once(now) == 0
    entry = await the_entry(api)
    assert (entry["state"], entry["attempts"]) == ("pending", 2)
    # Counted from the round's clock, the one the deleter is given.
    assert entry["next_attempt_at"] == now + timedelta(seconds=backoff(api, 1))
    assert backoff(api, 1) == 2 * backoff(api, 0) or backoff(api, 1) == CAP_S
    assert deletes(outdoors(api)) == 2

    # Due again, the store is back: deleted, the entry gone.
    now = entry["next_attempt_at"] + timedelta(hours=1)
    assert await deleter(api).run_once(now) == 1
    assert external_id not in outdoors(api).carts
    assert await api.store.outbox.depths() == {}
