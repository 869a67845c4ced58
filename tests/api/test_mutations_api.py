"""Changing a cart's lines in-process, on both engines, with fake platforms (docs/api.md).

Add, set quantity and remove; the external cart first, then the record; versions, If-Match and
the ETag; the lease queueing concurrent changes; expiry; platform failures as order errors.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from adapters.fake import FakePlatform, FakeRegistry, ref_key
from errors import PlatformServerError
from orchestrator.http.app import create_app
from tests.api.conftest import PRICES, Api, EnvelopeTestServer, seed
from tests.api.conftest import test_settings as api_settings


def fake(api: Api, merchant: int) -> FakePlatform:
    return api.platforms.for_merchant(api.merchants[merchant], "BIGCOMMERCE", {})  # type: ignore[return-value]


def held(platform: FakePlatform) -> dict[str, list[tuple[str, int]]]:
    """Every external cart of ``platform``: its lines as (ref key, quantity)."""
    return {
        cid: sorted((ref_key(ln.ref), ln.quantity) for ln in cart.lines)
        for cid, cart in platform.carts.items()
    }


async def empty_cart(api: Api) -> dict[str, Any]:
    response = await api.post_cart({"customer_id": "cus-1"})
    assert response.status == 201
    return await response.json()  # type: ignore[no-any-return]


async def add(api: Api, cart_id: str, name: str, qty: int = 1, **headers: str) -> Any:
    return await api.client.post(
        f"/v1/carts/{cart_id}/skus",
        json={"sku_id": api.skus[name], "quantity": qty},
        headers={**api.auth, **headers},
    )


def line_of(cart: dict[str, Any], sku_id: str) -> dict[str, Any]:
    return next(s for b in cart["bags"] for s in b["skus"] if s["sku_id"] == sku_id)


async def test_an_empty_cart_grows_bags_and_external_carts_as_skus_are_added(api: Api) -> None:
    cart = await empty_cart(api)
    assert cart["version"] == 0 and cart["bags"] == []
    for name, qty in (("tent", 1), ("pan", 2), ("lamp", 1), ("tent", 2)):
        response = await add(api, cart["id"], name, qty)
        assert response.status == 200, await response.text()
        body = await response.json()
        assert response.headers["ETag"] == f'"{body["version"]}"'
    assert [b["merchant_name"] for b in body["bags"]] == ["Outdoors", "Kitchen"]
    assert all(b["status"] == "IN_PROGRESS" and b["external_id"] for b in body["bags"])
    assert line_of(body, "sku-tent")["quantity"] == 3  # raised, not a second line
    assert held(fake(api, 0)) == {
        body["bags"][0]["external_id"]: [("product_id=1", 3), ("product_id=2,variant_id=7", 1)]
    }
    assert held(fake(api, 1)) == {body["bags"][1]["external_id"]: [("product_id=3", 2)]}
    assert body["sub_total"] == 3 * 12999 + 2999 + 2 * 4550 and body["errors"] == []
    # The raise is an absolute update, never a second add of the same line.
    assert [op for op, _ in fake(api, 0).calls].count("update_line") == 1
    assert body["expires_at"] > cart["expires_at"] and body["version"] > cart["version"]
    again = await api.client.get(f"/v1/carts/{cart['id']}", headers=api.auth)
    assert again.headers["ETag"] == f'"{body["version"]}"' and await again.json() == body


async def test_set_quantity_and_removing_the_last_line_deletes_the_external_cart(api: Api) -> None:
    cart = await (await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})).json()
    cart = await (await add(api, cart["id"], "lamp", 1)).json()
    external_id = cart["bags"][0]["external_id"]
    tent, lamp = (line_of(cart, f"sku-{n}")["id"] for n in ("tent", "lamp"))
    url = f"/v1/carts/{cart['id']}/skus"
    patched = await api.client.patch(f"{url}/{tent}", json={"quantity": 4}, headers=api.auth)
    assert patched.status == 200
    assert line_of(await patched.json(), "sku-tent")["quantity"] == 4
    assert held(fake(api, 0))[external_id] == [
        ("product_id=1", 4),
        ("product_id=2,variant_id=7", 1),
    ]
    removed = await api.client.delete(f"{url}/{lamp}", headers=api.auth)
    assert removed.status == 200
    assert held(fake(api, 0))[external_id] == [("product_id=1", 4)]
    emptied = await api.client.patch(f"{url}/{tent}", json={"quantity": 0}, headers=api.auth)
    body = await emptied.json()
    assert emptied.status == 200 and body["bags"][0]["status"] == "DELETED"
    assert body["bags"][0]["skus"] == [] and body["sub_total"] == 0
    assert fake(api, 0).carts == {}  # deleted through the outbox, at once
    gone = await api.client.delete(f"{url}/{tent}", headers=api.auth)
    assert gone.status == 404 and (await gone.json())["error"] == "order_sku_not_found"
    # The merchant's next SKU makes a new bag (the emptied one gives way).
    again = await (await add(api, cart["id"], "tent", 1)).json()
    assert [b["status"] for b in again["bags"]] == ["IN_PROGRESS"]
    assert len(fake(api, 0).carts) == 1


async def test_delete_of_the_last_line_deletes_the_external_cart(api: Api) -> None:
    cart = await (await api.post_cart({"skus": [{"sku_id": "sku-pan", "quantity": 1}]})).json()
    line = cart["bags"][0]["skus"][0]["id"]
    response = await api.client.delete(f"/v1/carts/{cart['id']}/skus/{line}", headers=api.auth)
    assert response.status == 200
    assert fake(api, 1).carts == {}


async def test_an_out_of_stock_add_is_an_order_error_and_leaves_other_lines(api: Api) -> None:
    cart = await (await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 2}]})).json()
    before = held(fake(api, 0))
    fake(api, 0).out_of_stock.add("product_id=2,variant_id=7")
    response = await add(api, cart["id"], "lamp", 1)
    body = await response.json()
    assert response.status == 200
    [error] = body["errors"]
    assert (error["type"], error["cause"], error["entity_id"]) == (
        "EXTERNAL_ADD_ITEM",
        "OUT_OF_STOCK",
        "sku-lamp",
    )
    assert [s["sku_id"] for s in body["bags"][0]["skus"]] == ["sku-tent"]
    assert line_of(body, "sku-tent")["quantity"] == 2
    assert held(fake(api, 0)) == before


async def test_an_add_whose_answer_is_lost_is_read_back_never_sent_twice(api: Api) -> None:
    cart = await (await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})).json()
    fake(api, 0).lose_answer_next(
        "add_lines", PlatformServerError("bad gateway", platform="BIGCOMMERCE", status=502)
    )
    body = await (await add(api, cart["id"], "lamp", 2)).json()
    assert line_of(body, "sku-lamp")["quantity"] == 2 and body["errors"] == []
    assert [op for op, _ in fake(api, 0).calls].count("add_lines") == 1
    assert held(fake(api, 0))[cart["bags"][0]["external_id"]][1] == ("product_id=2,variant_id=7", 2)


async def test_a_stale_if_match_is_412_and_changes_nothing(api: Api) -> None:
    cart = await (await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})).json()
    calls = len(fake(api, 0).calls)
    stale = await add(api, cart["id"], "lamp", 1, **{"If-Match": f'"{cart["version"] + 7}"'})
    assert stale.status == 412
    body = await stale.json()
    assert (body["error"], body["code"], body["data"]) == (
        "precondition_failed",
        1412,
        {"version": cart["version"]},
    )
    weak = await add(api, cart["id"], "lamp", 1, **{"If-Match": f'W/"{cart["version"]}"'})
    assert weak.status == 412
    assert len(fake(api, 0).calls) == calls
    now = await (await api.client.get(f"/v1/carts/{cart['id']}", headers=api.auth)).json()
    assert now == cart
    fresh = await add(api, cart["id"], "lamp", 1, **{"If-Match": f'"1", "{cart["version"]}"'})
    assert fresh.status == 200
    assert (await add(api, cart["id"], "pan", 1, **{"If-Match": "*"})).status == 200
    bad = await add(api, cart["id"], "pan", 1, **{"If-Match": "3"})
    assert bad.status == 400 and (await bad.json())["data"]["fields"][0]["field"] == "If-Match"


async def test_concurrent_adds_all_land_once(api: Api) -> None:
    cart = await empty_cart(api)
    names = ["tent", "lamp", "pan"]  # two merchants: max_bags is 2 here
    answers = await asyncio.gather(*(add(api, cart["id"], n, 1) for n in names))
    assert [a.status for a in answers] == [200] * len(names)
    final = await (await api.client.get(f"/v1/carts/{cart['id']}", headers=api.auth)).json()
    assert sorted(s["sku_id"] for b in final["bags"] for s in b["skus"]) == sorted(
        f"sku-{n}" for n in names
    )
    versions = [(await a.json())["version"] for a in answers]
    assert final["version"] == max(versions) and len(set(versions)) == len(names)
    platforms = [fake(api, m) for m in range(2)]
    assert sum(len(ls) for p in platforms for ls in held(p).values()) == len(names)
    assert all(len(p.carts) == 1 for p in platforms)


@contextlib.asynccontextmanager
async def api_with_deadline(url: str, request_deadline_s: float) -> AsyncIterator[Api]:
    platforms = FakeRegistry(prices=PRICES)
    settings = api_settings(url, request_deadline_s=request_deadline_s)
    client = TestClient(
        EnvelopeTestServer(create_app(settings, platforms=platforms, run_worker=False))
    )
    await client.start_server()
    try:
        key, skus, merchants = await seed(client)
        yield Api(client, platforms, key, skus, merchants)
    finally:
        await client.close()


@pytest.fixture
async def quick(migrated_database_url: str) -> AsyncIterator[Api]:
    """The API with a 0.6 s request deadline: a wait for a cart's lease ends within it."""
    async with api_with_deadline(migrated_database_url, 0.6) as api:
        yield api


@pytest.fixture
async def patient(migrated_database_url: str) -> AsyncIterator[Api]:
    """The API with a 20 s request deadline: a wait that must succeed has room on a loaded
    machine (0.6 s left too little for a refusal, a release and the next poll under load)."""
    async with api_with_deadline(migrated_database_url, 20.0) as api:
        yield api


def count_refusals(quick: Api, monkeypatch: pytest.MonkeyPatch) -> asyncio.Queue[str]:
    """Each lease the app's store refused, as it happens (the request is then waiting)."""
    refused: asyncio.Queue[str] = asyncio.Queue()
    acquire = quick.store.leases.acquire

    async def counted(cart_id: str, owner: str, ttl_s: float) -> bool:
        got = await acquire(cart_id, owner, ttl_s)
        if not got:
            refused.put_nowait(owner)
        return got

    monkeypatch.setattr(quick.store.leases, "acquire", counted)
    return refused


async def test_a_change_waits_for_another_processs_lease_then_lands(
    patient: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    cart = await empty_cart(patient)
    assert await patient.store.leases.acquire(cart["id"], "lease_elsewhere", 30)
    refused = count_refusals(patient, monkeypatch)

    async def release_once_waited_for() -> None:
        # Another process finishing its change while the request waits: released on the
        # request's first refusal, not after a sleep that a loaded machine can outlast.
        await refused.get()
        await patient.store.leases.release(cart["id"], "lease_elsewhere")

    answer, _ = await asyncio.gather(add(patient, cart["id"], "tent"), release_once_waited_for())
    assert answer.status == 200


async def test_cart_busy_only_when_the_wait_would_pass_the_deadline(
    quick: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    cart = await empty_cart(quick)
    assert await quick.store.leases.acquire(cart["id"], "lease_elsewhere", 30)
    refused = count_refusals(quick, monkeypatch)
    started = time.monotonic()
    answer = await add(quick, cart["id"], "tent")
    assert answer.status == 409 and answer.headers["Retry-After"] == "1"
    assert (await answer.json())["error"] == "cart_busy"
    assert refused.qsize() >= 1  # it polled the lease, and waited (a lower bound holds on
    # any machine), then gave up within its 0.6 s deadline, not the lease's 30 s: generously
    assert 0.1 < time.monotonic() - started < 0.6 + 5.0
    assert all(not p.calls for p in quick.platforms.platforms.values())


async def test_bad_adds_are_refused_before_any_platform_call(api: Api) -> None:
    cart = await (await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 9}]})).json()
    calls = sum(len(p.calls) for p in api.platforms.platforms.values())
    url = f"/v1/carts/{cart['id']}/skus"
    for body, status, error in (
        ({"sku_id": "sku-gone", "quantity": 1}, 400, "invalid_skus"),
        ({"sku_id": "sku-euro", "quantity": 1}, 400, "invalid_skus"),
        ({"sku_id": "nope", "quantity": 1}, 400, "invalid_skus"),
        ({"sku_id": "sku-tent", "quantity": 2}, 400, "invalid_request"),  # 11 > max 10
        ({"sku_id": "sku-lamp", "quantity": 11}, 400, "invalid_request"),
        ({"sku_id": "sku-lamp", "quantity": 0}, 400, "invalid_request"),
    ):
        response = await api.client.post(url, json=body, headers=api.auth)
        assert (response.status, (await response.json())["error"]) == (status, error), body
    third = await (await add(api, cart["id"], "pan", 1)).json()
    assert len(third["bags"]) == 2
    over = await add(api, cart["id"], "book", 1)  # a third merchant: max_bags is 2
    assert over.status == 400
    missing = await api.client.post(
        "/v1/carts/cart_nope/skus", json={"sku_id": "sku-pan", "quantity": 1}, headers=api.auth
    )
    assert missing.status == 404
    assert sum(len(p.calls) for p in api.platforms.platforms.values()) == calls + 1


async def test_an_expired_cart_cannot_change(api: Api) -> None:
    cart = await (await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})).json()
    stored = await api.store.carts.get_any(cart["id"])
    assert stored is not None
    stored.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    await api.store.carts.save(stored)
    line = cart["bags"][0]["skus"][0]["id"]
    url = f"/v1/carts/{cart['id']}/skus"
    for response in (
        await add(api, cart["id"], "lamp", 1),
        await api.client.patch(f"{url}/{line}", json={"quantity": 2}, headers=api.auth),
        await api.client.delete(f"{url}/{line}", headers=api.auth),
    ):
        assert response.status == 409
        assert (await response.json())["error"] == "cart_expired"


async def test_another_apps_cart_is_404(api: Api) -> None:
    cart = await (await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})).json()
    other = {"Authorization": f"Bearer {await api.new_key()}"}
    response = await api.client.post(
        f"/v1/carts/{cart['id']}/skus", json={"sku_id": "sku-lamp", "quantity": 1}, headers=other
    )
    assert response.status == 404 and (await response.json())["error"] == "cart_not_found"
