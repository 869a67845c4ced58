"""App keys in the store: made, limited to two live, revoked, apps disabled, uses recorded, and
migration 0010 moving each app's existing key into a row of its own (and back)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from sqlalchemy import text

from errors import ApiError, ErrorCode
from orchestrator.store import Store
from orchestrator.store.apps import MAX_LIVE_KEYS, TOUCH_EVERY, LiveKey
from orchestrator.store.migrate import downgrade, upgrade
from orchestrator.store.tables import app_keys
from tests.store.factories import T0, count_carts, make_cart, new_id


async def make_app(store: Store, app_id: str | None = None) -> str:
    """An app whose one key hashes to ``hash-<app id>`` and has the id ``key_<app id>``."""
    app_id = app_id or new_id("app")
    await store.apps.create(app_id, "shop", f"hash-{app_id}", key_id=f"key_{app_id}")
    return app_id


async def _refused(call: object, kind: ErrorCode) -> ApiError:
    with pytest.raises(ApiError) as caught:
        await call  # type: ignore[misc]
    assert caught.value.kind is kind
    return caught.value


async def test_an_app_is_made_with_its_first_key(store: Store) -> None:
    key_id = await store.apps.create("app_k1", "shop", "hash-k1", key_id="key_k1", prefix="mc_x")
    assert key_id == "key_k1"
    assert await store.apps.live_key("hash-k1") == LiveKey("app_k1", "key_k1")
    assert await store.apps.id_for_key_hash("hash-k1") == "app_k1"
    assert await store.apps.live_key("hash-unknown") is None
    app = await store.apps.get("app_k1")
    assert app is not None and app.disabled_at is None
    assert [(k.id, k.prefix, k.revoked_at, k.last_used_at) for k in app.keys] == [
        ("key_k1", "mc_x", None, None)
    ]


async def test_a_third_live_key_is_refused_until_one_is_revoked(store: Store) -> None:
    app_id = await make_app(store)
    first = (await store.apps.get(app_id)).keys[0].id  # type: ignore[union-attr]
    await store.apps.add_key(app_id, "key_second", "hash-second", "mc_2")
    refused = await _refused(
        store.apps.add_key(app_id, "key_third", "hash-third", "mc_3"), ErrorCode.APP_KEY_LIMIT
    )
    assert refused.data == {"limit": MAX_LIVE_KEYS}
    assert await store.apps.live_key("hash-third") is None
    await store.apps.revoke_key(app_id, first)
    await store.apps.add_key(app_id, "key_third", "hash-third", "mc_3")
    assert await store.apps.live_key("hash-third") == LiveKey(app_id, "key_third")


async def test_keys_added_at_once_never_pass_the_limit(store: Store) -> None:
    app_id = await make_app(store)  # one live key: one place left
    results = await asyncio.gather(
        *(store.apps.add_key(app_id, f"key_at_once_{n}", f"hash-once-{n}", "mc") for n in range(4)),
        return_exceptions=True,
    )
    added = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, ApiError)]
    assert len(added) == 1 and len(refused) == 3
    assert all(r.kind is ErrorCode.APP_KEY_LIMIT for r in refused)
    app = await store.apps.get(app_id)
    assert app is not None and sum(k.revoked_at is None for k in app.keys) == MAX_LIVE_KEYS


async def test_a_revoked_key_is_refused_and_revoking_again_says_so(store: Store) -> None:
    app_id = await make_app(store)
    await store.apps.add_key(app_id, "key_new", "hash-new", "mc_n", now=T0)
    revoked = await store.apps.revoke_key(app_id, "key_new", now=T0 + timedelta(seconds=5))
    assert revoked.revoked_at == T0 + timedelta(seconds=5)
    assert await store.apps.live_key("hash-new") is None
    assert await store.apps.live_key(f"hash-{app_id}") == LiveKey(app_id, f"key_{app_id}")
    again = await _refused(store.apps.revoke_key(app_id, "key_new"), ErrorCode.APP_KEY_REVOKED)
    assert again.data == {"revoked_at": "2026-03-01T12:00:05.123456Z"}


async def test_unknown_apps_and_keys_are_404s(store: Store) -> None:
    app_id, other = await make_app(store), await make_app(store)
    await _refused(
        store.apps.add_key("app_nobody", "key_x", "hash-x", "mc"), ErrorCode.APP_NOT_FOUND
    )
    await _refused(store.apps.revoke_key("app_nobody", "key_x"), ErrorCode.APP_NOT_FOUND)
    await _refused(store.apps.revoke_key(app_id, "key_nobody"), ErrorCode.APP_KEY_NOT_FOUND)
    # Another app's key is not this app's to revoke.
    await _refused(store.apps.revoke_key(app_id, f"key_{other}"), ErrorCode.APP_KEY_NOT_FOUND)
    assert await store.apps.live_key(f"hash-{other}") is not None
    await _refused(store.apps.disable("app_nobody"), ErrorCode.APP_NOT_FOUND)


async def test_a_disabled_app_has_every_key_refused(store: Store) -> None:
    app_id = await make_app(store)
    await store.apps.add_key(app_id, f"key_2_{app_id}", f"hash-2-{app_id}", "mc_2")
    disabled = await store.apps.disable(app_id, now=T0)
    assert disabled.disabled_at == T0 and len(disabled.keys) == 2
    assert await store.apps.live_key(f"hash-{app_id}") is None
    assert await store.apps.live_key(f"hash-2-{app_id}") is None
    again = await store.apps.disable(app_id, now=T0 + timedelta(hours=1))
    assert again.disabled_at == T0  # the first disabling stands
    refused = await _refused(store.apps.add_key(app_id, "k", "h", "p"), ErrorCode.APP_DISABLED)
    assert refused.data == {"disabled_at": "2026-03-01T12:00:00.123456Z"}


async def test_a_use_is_recorded_at_most_once_a_minute(store: Store) -> None:
    app_id = await make_app(store)
    key_id = f"key_{app_id}"

    async def last_used() -> object:
        app = await store.apps.get(app_id)
        assert app is not None
        return app.keys[0].last_used_at

    await store.apps.touch([key_id], now=T0)
    assert await last_used() == T0
    await store.apps.touch([key_id], now=T0 + TOUCH_EVERY - timedelta(seconds=1))
    assert await last_used() == T0  # too soon: not written
    await store.apps.touch([key_id], now=T0 + TOUCH_EVERY)
    assert await last_used() == T0 + TOUCH_EVERY


async def test_apps_are_paged_by_id_with_their_keys(store: Store) -> None:
    ids = sorted([await make_app(store, new_id("app_page")) for _ in range(5)])
    first = await store.apps.page(limit=3)
    assert [a.id for a in first] == ids[:3]
    rest = await store.apps.page(limit=3, after=first[-1].id)
    assert [a.id for a in rest] == ids[3:]
    assert all(len(a.keys) == 1 for a in first + rest)


async def test_migration_0010_moves_each_key_into_a_row_and_back(database_url: str) -> None:
    await upgrade(database_url, "0009")
    store = Store.from_url(database_url)
    try:
        async with store.db.write() as conn:
            await conn.execute(
                text(
                    "INSERT INTO apps (id, name, key_hash, created_at)"
                    " VALUES ('app_old', 'old', 'hash-old', :at)"
                ),
                {"at": T0.replace(tzinfo=None) if store.db.sqlite else T0},
            )
        await store.carts.insert(make_cart("app_old"))  # apps is referenced while rebuilt
    finally:
        await store.close()

    await upgrade(database_url)
    store = Store.from_url(database_url)
    try:
        assert await store.apps.live_key("hash-old") == LiveKey("app_old", "key_app_old")
        app = await store.apps.get("app_old")
        assert app is not None and app.created_at == T0 and app.disabled_at is None
        assert [(k.prefix, k.created_at) for k in app.keys] == [(None, T0)]  # legacy: no prefix
        assert await count_carts(store) == 1
        await store.apps.add_key("app_old", "key_new", "hash-new", "mc_new")
        await store.apps.revoke_key("app_old", "key_app_old")
    finally:
        await store.close()

    await downgrade(database_url, "0009")  # the oldest live key goes back
    store = Store.from_url(database_url)
    try:
        async with store.db.read() as conn:
            found = (await conn.execute(text("SELECT key_hash FROM apps"))).scalars().all()
        assert found == ["hash-new"]
        assert await count_carts(store) == 1
    finally:
        await store.close()


async def test_an_add_waits_for_the_app_row_another_transaction_holds(
    store: Store, migrated_database_url: str
) -> None:
    """PostgreSQL: the count and the insert of an add happen under the app's row lock, so an
    add racing another one waits, then counts both (SQLite's BEGIN IMMEDIATE serializes every
    write already)."""
    if store.db.sqlite:
        pytest.skip("SQLite serializes writes by BEGIN IMMEDIATE")
    app_id = await make_app(store)
    other = Store.from_url(migrated_database_url)
    try:
        async with store.db.write() as conn:
            await store.apps._locked_app(conn, app_id)  # as an add does first
            racing = asyncio.create_task(other.apps.add_key(app_id, "key_race", "hash-race", "mc"))
            ends = time.monotonic() + 10
            waiting = 0
            while not waiting and not racing.done() and time.monotonic() < ends:
                async with other.db.read(single_statement=True) as probe:
                    waiting = await probe.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE wait_event_type = 'Lock' AND datname = current_database()"
                        )
                    )
            assert waiting and not racing.done()  # the racing add waits for the row
            await conn.execute(
                app_keys.insert().values(
                    id="key_first", app_id=app_id, key_hash="hash-first", created_at=T0
                )
            )
        await _refused(racing, ErrorCode.APP_KEY_LIMIT)  # it then counted both
    finally:
        await other.close()
