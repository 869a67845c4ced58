"""Idempotency-Key on the POST routes, in-process on both engines (docs/api.md: Idempotency-Key).

Each rule of Stripe's contract as multicart keeps it: replay, reuse, in flight, what is and is
not stored, the header's own rules, scoping per app, a restart, expiry and purge on an injected
clock (the database's, moved through ``Database.clock_offset_s``), the statements it
costs, and 50 concurrent creates with one key.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import event, func, select

from adapters.fake import FakeRegistry
from errors import Cause, ErrorCode, Overloaded, PlatformRateLimited, PlatformServerError
from orchestrator.http.app import create_app
from orchestrator.http.idempotency import IDEMPOTENCY, KEEP_FOR, Idempotency, fingerprint
from orchestrator.http.keys import SERVICES, SETTINGS
from orchestrator.service.secrets import hash_api_key
from orchestrator.store.tables import idempotency_keys
from tests.api.conftest import ADMIN, PRICES, Api, EnvelopeTestServer
from tests.store.factories import count_carts

Answer = tuple[int, dict[str, str], Any]


def body(api: Api, *names: str, qty: int = 1) -> dict[str, Any]:
    return {"skus": [{"sku_id": api.skus[n], "quantity": qty} for n in names]}


async def post(api: Api, key: str | None, payload: Any, path: str = "/v1/carts") -> Answer:
    headers = dict(api.auth if path == "/v1/carts" else ADMIN)
    if key is not None:
        headers["Idempotency-Key"] = key
    response = await api.client.post(path, json=payload, headers=headers)
    return response.status, dict(response.headers), await response.json()


def keys_of(api: Api) -> Idempotency:
    return api.client.server.app[IDEMPOTENCY]


def creates(api: Api) -> int:
    """create_cart calls on every fake platform (one per external cart attempted)."""
    return sum(
        1 for p in api.platforms.platforms.values() for op, _ in p.calls if op == "create_cart"
    )


async def key_rows(api: Api) -> int:
    async with api.store.db.read(single_statement=True) as conn:
        return int(await conn.scalar(select(func.count()).select_from(idempotency_keys)) or 0)


async def test_a_retry_replays_the_first_answer_unchanged(api: Api) -> None:
    status, headers, first = await post(api, "k-1", body(api, "tent", "pan"))
    assert status == 201 and "Idempotent-Replayed" not in headers
    made = creates(api)
    # Same request, keys reordered: the canonical body is the same.
    swapped = {"skus": [{"quantity": 1, "sku_id": s["sku_id"]} for s in first["bags"][0]["skus"]]}
    swapped["skus"].append({"quantity": 1, "sku_id": api.skus["pan"]})
    for again in (body(api, "tent", "pan"), swapped):
        status, headers, replayed = await post(api, "k-1", again)
        assert (status, headers["Idempotent-Replayed"], replayed) == (201, "true", first)
        assert headers["Content-Type"].startswith("application/json")
    assert creates(api) == made and await count_carts(api.store) == 1


async def test_the_same_key_with_another_body_is_422(api: Api) -> None:
    assert (await post(api, "k-2", body(api, "tent")))[0] == 201
    status, headers, answer = await post(api, "k-2", body(api, "pan"))
    assert (status, answer["error"], answer["code"]) == (422, "idempotency_key_reused", 1422)
    assert "Idempotent-Replayed" not in headers
    assert await count_carts(api.store) == 1


async def test_a_key_in_flight_elsewhere_is_409_until_its_claim_lapses(api: Api) -> None:
    """Another process holds the key (its claim inserted directly); then it dies."""
    app_id = await api.store.apps.id_for_key_hash(hash_api_key(api.key))
    assert app_id is not None
    keys = keys_of(api)
    payload = body(api, "tent")
    claimed = await keys.store.claim(
        app_id,
        "k-3",
        fingerprint("POST", "/v1/carts", payload),
        now=keys.clock(),
        lock_for=keys.lock_for,
        keep_for=KEEP_FOR,
    )
    status, headers, answer = await post(api, "k-3", payload)
    assert (status, answer["error"], answer["code"]) == (409, "idempotency_key_in_use", 1409)
    assert headers["Retry-After"] == "1"
    assert (await post(api, "k-3", body(api, "pan")))[0] == 422  # another body: reused
    assert creates(api) == 0 and claimed

    # The holder died: its claim lapses, on the database's clock.
    api.store.db.clock_offset_s = (keys.lock_for + timedelta(seconds=1)).total_seconds()
    status, headers, cart = await post(api, "k-3", payload)
    assert status == 201 and "Idempotent-Replayed" not in headers
    assert (await post(api, "k-3", payload))[2] == cart


async def test_a_500_is_not_stored_and_the_retry_runs(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = api.client.server.app[SERVICES].carts
    real = service.create
    calls: list[int] = []

    async def once_broken(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug")
        return await real(*args)

    monkeypatch.setattr(service, "create", once_broken)
    status, _, answer = await post(api, "k-4", body(api, "tent"))
    assert (status, answer["error"]) == (500, "internal_error")
    assert await key_rows(api) == 0  # released
    status, headers, _ = await post(api, "k-4", body(api, "tent"))
    assert status == 201 and "Idempotent-Replayed" not in headers


@pytest.mark.parametrize(
    "failure",
    [RuntimeError("a bug"), Overloaded("the database is busy", kind=ErrorCode.OVERLOADED)],
    ids=["500", "503"],
)
async def test_a_5xx_after_the_external_carts_were_made_is_stored_never_run_again(
    api: Api, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    """The fan-out made the external cart, then its outcome could not be written: a retry with
    the key replays that 5xx instead of creating a second external cart."""

    async def unrecordable(*_: Any, **__: Any) -> Any:
        raise failure

    # Neither the outcome write nor its read-back can be written: the database is gone.
    monkeypatch.setattr(api.store.carts, "record_creation", unrecordable)
    monkeypatch.setattr(api.store.carts, "queue_unkept", unrecordable)
    status, headers, first = await post(api, "k-4b", body(api, "tent"))
    assert status >= 500 and "Idempotent-Replayed" not in headers
    assert creates(api) == 1
    outdoors = api.platforms.for_merchant(api.merchants[0], "BIGCOMMERCE", {})
    held = dict(outdoors.carts)  # type: ignore[attr-defined]
    assert len(held) <= 1  # made once (the create may have queued it for deletion)

    monkeypatch.undo()  # the database is well again: a rerun would succeed, and must not run
    status_again, headers_again, again = await post(api, "k-4b", body(api, "tent"))
    assert (status_again, headers_again["Idempotent-Replayed"], again) == (status, "true", first)
    assert headers_again.get("Retry-After") == headers.get("Retry-After")
    assert creates(api) == 1 and dict(outdoors.carts) == held  # type: ignore[attr-defined]


async def test_a_503_before_anything_was_written_releases_the_key(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = api.store.carts.insert

    async def busy_once(*args: Any, **kwargs: Any) -> None:
        monkeypatch.setattr(api.store.carts, "insert", real)
        raise Overloaded("the database is busy", kind=ErrorCode.OVERLOADED)

    monkeypatch.setattr(api.store.carts, "insert", busy_once)
    status, _, answer = await post(api, "k-4c", body(api, "tent"))
    assert (status, answer["error"]) == (503, "overloaded")
    assert await key_rows(api) == 0 and creates(api) == 0  # released: nothing was made
    status, headers, _ = await post(api, "k-4c", body(api, "tent"))
    assert status == 201 and "Idempotent-Replayed" not in headers


async def test_a_2503_is_a_complete_answer_and_is_replayed(api: Api) -> None:
    outdoors = api.platforms.for_merchant(api.merchants[0], "BIGCOMMERCE", {})
    outdoors.fail_next(  # type: ignore[attr-defined]
        "create_cart", PlatformServerError("down", platform="BIGCOMMERCE", status=500)
    )
    status, _, first = await post(api, "k-5", body(api, "tent"))
    assert (status, first["code"]) == (502, 2503)
    status, headers, again = await post(api, "k-5", body(api, "tent"))
    assert (status, headers["Idempotent-Replayed"], again) == (502, "true", first)
    assert creates(api) == 1


async def test_a_throttled_2503_replays_its_retry_after(api: Api) -> None:
    outdoors = api.platforms.for_merchant(api.merchants[0], "BIGCOMMERCE", {})
    throttled = PlatformRateLimited(
        "slow down", platform="BIGCOMMERCE", cause=Cause.RATE_LIMITED, retry_after=3
    )
    outdoors.fail_next("create_cart", throttled, times=5)  # type: ignore[attr-defined]
    status, headers, first = await post(api, "k-6", body(api, "tent"))
    assert (status, first["code"]) == (503, 2503)
    status, replayed_headers, again = await post(api, "k-6", body(api, "tent"))
    assert (status, again) == (503, first)
    assert replayed_headers["Retry-After"] == headers["Retry-After"]


async def test_a_refused_body_is_not_stored_and_the_key_stays_usable(api: Api) -> None:
    status, _, answer = await post(api, "k-7", {"skus": [{"sku_id": "x", "quantity": 0}]})
    assert (status, answer["error"]) == (400, "invalid_request")
    response = await api.client.post(
        "/v1/carts",
        data=b'{"skus": [}',
        headers={**api.auth, "Idempotency-Key": "k-7", "Content-Type": "application/json"},
    )
    assert (response.status, (await response.json())["error"]) == (400, "malformed_json")
    assert await key_rows(api) == 0
    assert (await post(api, "k-7", body(api, "tent")))[0] == 201


async def test_an_invalid_sku_answer_is_stored(api: Api) -> None:
    status, _, first = await post(api, "k-8", body(api, "gone"))
    assert (status, first["error"]) == (400, "invalid_skus")
    status, headers, again = await post(api, "k-8", body(api, "gone"))
    assert (status, headers["Idempotent-Replayed"], again) == (400, "true", first)


@pytest.mark.parametrize("key", ["", "x" * 256, "caf\u00e9", "tab\there"])
async def test_a_bad_key_is_400_naming_the_header(api: Api, key: str) -> None:
    response = await api.client.post(
        "/v1/carts",
        json=body(api, "tent"),
        headers={**api.auth, "Idempotency-Key": key},
    )
    answer = await response.json()
    assert (response.status, answer["error"]) == (400, "invalid_request")
    assert answer["data"]["fields"][0]["field"] == "Idempotency-Key"
    assert await count_carts(api.store) == 0


async def test_the_header_sent_twice_is_400(api: Api) -> None:
    response = await api.client.post(
        "/v1/carts",
        json=body(api, "tent"),
        headers=[*api.auth.items(), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
    )
    assert response.status == 400
    assert (await response.json())["data"]["fields"][0]["field"] == "Idempotency-Key"


async def test_keys_are_per_app(api: Api) -> None:
    other = {"Authorization": f"Bearer {await api.new_key()}", "Idempotency-Key": "shared"}
    status, _, mine = await post(api, "shared", body(api, "tent"))
    response = await api.client.post("/v1/carts", json=body(api, "tent"), headers=other)
    theirs = await response.json()
    assert (status, response.status) == (201, 201)
    assert "Idempotent-Replayed" not in response.headers and mine["id"] != theirs["id"]
    assert await count_carts(api.store) == 2


async def test_a_new_process_on_the_same_database_replays(api: Api) -> None:
    status, _, first = await post(api, "k-9", body(api, "tent"))
    assert status == 201
    fresh = FakeRegistry(prices=PRICES)
    app = create_app(api.client.server.app[SETTINGS], platforms=fresh, run_worker=False)
    client = TestClient(EnvelopeTestServer(app))
    await client.start_server()
    try:
        response = await client.post(
            "/v1/carts", json=body(api, "tent"), headers={**api.auth, "Idempotency-Key": "k-9"}
        )
        assert (response.status, await response.json()) == (201, first)
        assert response.headers["Idempotent-Replayed"] == "true"
        assert not fresh.platforms  # no platform was called
    finally:
        await client.close()


async def test_admin_posts_take_the_key_and_their_answers_are_sealed(api: Api) -> None:
    status, _, created = await post(api, "adm-1", {"name": "retried"}, "/v1/admin/apps")
    assert status == 201
    status, headers, again = await post(api, "adm-1", {"name": "retried"}, "/v1/admin/apps")
    assert (status, headers["Idempotent-Replayed"], again) == (201, "true", created)
    async with api.store.db.read(single_statement=True) as conn:
        stored = await conn.scalar(select(idempotency_keys.c.body))
    assert created["api_key"].encode() not in stored  # the key shown once is never plaintext
    # The admin scope is its own: an app using the same key string is not affected.
    assert (await post(api, "adm-1", body(api, "tent")))[0] == 201


async def test_answers_expire_after_24_hours_and_are_purged(api: Api) -> None:
    assert (await post(api, "k-10", body(api, "tent")))[0] == 201
    keys = keys_of(api)
    # Expiry is the database's clock, moved through the store's seam.
    api.store.db.clock_offset_s = (KEEP_FOR - timedelta(seconds=5)).total_seconds()
    assert await keys.run_once() == 0
    assert (await post(api, "k-10", body(api, "pan")))[0] == 422  # still held
    api.store.db.clock_offset_s = (KEEP_FOR + timedelta(seconds=5)).total_seconds()
    assert await keys.run_once() == 1 and await key_rows(api) == 0
    status, headers, _ = await post(api, "k-10", body(api, "pan"))  # the key is free again
    assert status == 201 and "Idempotent-Replayed" not in headers


async def test_the_served_app_purges_in_the_background(api: Api) -> None:
    """``create_app`` starts the purge with its workers: an expired key goes at start-up."""
    keys = keys_of(api)
    api.store.db.clock_offset_s = -(KEEP_FOR + timedelta(hours=1)).total_seconds()  # long ago
    claimed = await keys.store.claim(
        "app_gone", "old", "fp", now=keys.clock(), lock_for=keys.lock_for, keep_for=KEEP_FOR
    )
    assert claimed and await key_rows(api) == 1
    settings = api.client.server.app[SETTINGS]
    app = create_app(settings, platforms=FakeRegistry(prices=PRICES), run_worker=True)
    client = TestClient(EnvelopeTestServer(app))
    await client.start_server()
    try:
        async with asyncio.timeout(10):
            while await key_rows(api):
                await asyncio.sleep(0.02)  # polling the database, bounded by the timeout
    finally:
        await client.close()


async def test_statements_without_the_header_none_more_with_it_one_insert_one_update(
    api: Api,
) -> None:
    """The hot path's cost (BENCHMARKS.md): counted, not timed."""
    await post(api, None, body(api, "tent"))  # warm: the API key is cached from here on
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()))

    engine = api.store.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        await post(api, None, body(api, "tent"))
        plain, seen[:] = list(seen), []
        await post(api, "k-11", body(api, "tent"))
        keyed = list(seen)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert not any("idempotency_keys" in s for s in plain)
    ours = [s.split()[0] for s in keyed if "idempotency_keys" in s]
    # The claim, then the cart's name written inside the cart's own insert (no transaction of
    # its own; SQLite runs it on the group commit's writer thread, unseen here), then the
    # answer stored.
    binds = [s for s in keyed if s.startswith("UPDATE idempotency_keys SET cart_id")]
    assert ours == ["INSERT", *["UPDATE"] * len(binds), "UPDATE"] and len(binds) <= 1
    others = [s for s in keyed if "idempotency_keys" not in s]
    assert len(others) - len(plain) == 2 * (1 if api.store.db.sqlite else 0)
    # (SQLite: each of the two write transactions also begins with BEGIN IMMEDIATE.)


def _gate(api: Api, *indexes: int) -> asyncio.Event:
    """Hold every create_cart on these merchants until the returned event is set."""
    gate = asyncio.Event()
    for index in indexes:
        platform = api.platforms.for_merchant(api.merchants[index], "BIGCOMMERCE", {})
        real = platform.create_cart

        async def held(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            await gate.wait()
            return await _real(*args, **kwargs)

        platform.create_cart = held  # type: ignore[method-assign]
    return gate


async def _retry_until_replayed(api: Api, payload: Any, key: str, bound_s: float = 30) -> Answer:
    async with asyncio.timeout(bound_s):
        while True:
            answer = await post(api, key, payload)
            if answer[0] != 409:
                return answer
            await asyncio.sleep(0.01)  # the answer said Retry-After: shortened, bounded


async def test_50_concurrent_creates_while_the_first_runs_make_one_cart(api: Api) -> None:
    payload = body(api, "tent", "pan")  # two bags, two external carts
    gate = _gate(api, 0, 1)  # Outdoors and Kitchen
    tasks = [asyncio.create_task(post(api, "k-50", payload)) for _ in range(50)]
    pending: set[asyncio.Task[Answer]] = set(tasks)
    async with asyncio.timeout(60):
        while len(pending) > 1:  # all but the one holding the key answer while it is held
            _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    gate.set()
    answers = [await t for t in tasks]
    fresh = [a for a in answers if a[0] == 201]
    busy = [a for a in answers if a[0] == 409]
    assert len(fresh) == 1 and len(busy) == 49
    assert all(a[2]["code"] == 1409 and a[1]["Retry-After"] == "1" for a in busy)
    retried = await asyncio.gather(*(post(api, "k-50", payload) for _ in busy))
    assert all(r[0] == 201 and r[1]["Idempotent-Replayed"] == "true" for r in retried)
    assert all(r[2] == fresh[0][2] for r in retried)
    assert await count_carts(api.store) == 1
    assert creates(api) == 2
    assert sum(len(p.carts) for p in api.platforms.platforms.values()) == 2


async def test_50_concurrent_creates_racing_make_one_cart(api: Api) -> None:
    payload = body(api, "lamp", "book")  # two bags (the settings allow two)
    answers = await asyncio.gather(*(post(api, "k-race", payload) for _ in range(50)))
    first = [a for a in answers if a[0] == 201 and "Idempotent-Replayed" not in a[1]]
    assert len(first) == 1
    for status, headers, answer in answers:
        if status == 201 and "Idempotent-Replayed" in headers:
            assert answer == first[0][2]
        elif status != 201:
            assert (status, answer["code"]) == (409, 1409)
            final = await _retry_until_replayed(api, payload, "k-race")
            assert final[2] == first[0][2] and final[1]["Idempotent-Replayed"] == "true"
    assert await count_carts(api.store) == 1
    assert creates(api) == 2


def test_the_document_states_the_header_codes_and_replay_on_every_post() -> None:
    from cryptography.fernet import Fernet

    from config import Settings
    from orchestrator.http.app import ROUTES, service_version
    from orchestrator.http.openapi import build_openapi

    settings = Settings(encryption_key=Fernet.generate_key().decode())
    doc = build_openapi(ROUTES, service_version(), settings)
    schemas = doc["components"]["schemas"]
    posts = 0
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            header = [p for p in op.get("parameters", []) if p["name"] == "Idempotency-Key"]
            if method != "post":
                assert not header, (path, method)
                continue
            posts += 1
            assert header and header[0]["in"] == "header" and not header[0]["required"]
            assert header[0]["schema"]["maxLength"] == 255
            answers = op["responses"]
            assert "Retry-After" in answers["409"]["headers"], path
            conflict = str(answers["409"]["content"]["application/json"]["schema"])
            assert "Error1409" in conflict and "Error1422" in str(answers["422"]), path
            assert all("Idempotent-Replayed" in a["headers"] for a in answers.values()), path
    assert posts >= 3  # the create, and the admin's apps and merchants
    assert schemas["Error1409"]["properties"]["code"]["const"] == 1409
