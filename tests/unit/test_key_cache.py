"""The key cache's bounds on an injected clock: an answer trusted for MULTICART_KEY_CACHE_S
only, at most MULTICART_KEY_CACHE_SIZE keys, unknown keys never kept, a key's use written at
most once a minute and never awaited by the request."""

from __future__ import annotations

import asyncio
from typing import Any

from cryptography.fernet import Fernet

from config import Settings
from orchestrator.http.key_cache import KeyCache
from orchestrator.store.apps import LiveKey


class FakeApps:
    """The two ``AppStore`` methods the cache uses: ``live`` is what the database holds."""

    def __init__(self) -> None:
        self.live: dict[str, LiveKey] = {}
        self.reads = 0
        self.touched: list[str] = []
        self.touch_gate = asyncio.Event()

    async def live_key(self, key_hash: str) -> LiveKey | None:
        self.reads += 1
        return self.live.get(key_hash)

    async def touch(self, key_ids: list[str]) -> None:
        await self.touch_gate.wait()
        self.touched += key_ids


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache(clock: Clock, **overrides: Any) -> KeyCache:
    settings = Settings(encryption_key=Fernet.generate_key().decode(), **overrides)
    return KeyCache(settings, clock=clock)


async def test_an_answer_is_trusted_for_the_bound_only() -> None:
    clock, apps = Clock(), FakeApps()
    keys = cache(clock, key_cache_s=2.0)
    apps.live["h1"] = LiveKey("app_1", "key_1")
    assert await keys.resolve("h1", apps) == LiveKey("app_1", "key_1")  # type: ignore[arg-type]
    del apps.live["h1"]  # revoked in the database
    clock.now += 1.99
    assert await keys.resolve("h1", apps) == LiveKey("app_1", "key_1")  # type: ignore[arg-type]
    assert apps.reads == 1
    clock.now += 0.01  # the bound: read again, and refused
    assert await keys.resolve("h1", apps) is None  # type: ignore[arg-type]
    assert apps.reads == 2 and len(keys) == 0


async def test_no_cache_reads_every_time_and_unknown_keys_are_never_kept() -> None:
    clock, apps = Clock(), FakeApps()
    apps.live["h1"] = LiveKey("app_1", "key_1")
    off = cache(clock, key_cache_s=0)
    for _ in range(3):
        assert await off.resolve("h1", apps) is not None  # type: ignore[arg-type]
    assert apps.reads == 3 and len(off) == 0
    on = cache(clock, key_cache_s=60)
    for _ in range(3):
        assert await on.resolve("unknown", apps) is None  # type: ignore[arg-type]
    assert apps.reads == 6 and len(on) == 0


async def test_the_least_recently_used_key_leaves_past_the_size() -> None:
    clock, apps = Clock(), FakeApps()
    keys = cache(clock, key_cache_s=60, key_cache_size=2)
    for n in range(3):
        apps.live[f"h{n}"] = LiveKey(f"app_{n}", f"key_{n}")
    await keys.resolve("h0", apps)  # type: ignore[arg-type]
    await keys.resolve("h1", apps)  # type: ignore[arg-type]
    await keys.resolve("h0", apps)  # type: ignore[arg-type]  # h0 used last: h1 leaves
    await keys.resolve("h2", apps)  # type: ignore[arg-type]
    assert len(keys) == 2 and apps.reads == 3
    await keys.resolve("h0", apps)  # type: ignore[arg-type]
    assert apps.reads == 3  # still held
    await keys.resolve("h1", apps)  # type: ignore[arg-type]
    assert apps.reads == 4  # had left


async def test_a_use_is_written_once_a_minute_and_never_awaited() -> None:
    clock, apps = Clock(), FakeApps()
    keys = cache(clock, key_cache_s=2)
    apps.live["h1"] = LiveKey("app_1", "key_1")
    # The write is held back: resolving must not wait for it.
    assert await asyncio.wait_for(keys.resolve("h1", apps), 1) is not None  # type: ignore[arg-type]
    for _ in range(5):
        clock.now += 10
        await keys.resolve("h1", apps)  # type: ignore[arg-type]
    apps.touch_gate.set()
    await keys.drain()
    assert apps.touched == ["key_1"]  # 50 s of uses: one write
    clock.now += 10  # a minute after the first
    await keys.resolve("h1", apps)  # type: ignore[arg-type]
    await keys.drain()
    assert apps.touched == ["key_1", "key_1"]


async def test_the_process_that_revokes_forgets_at_once() -> None:
    clock, apps = Clock(), FakeApps()
    keys = cache(clock, key_cache_s=60)
    apps.live.update(
        h1=LiveKey("app_1", "key_1"), h2=LiveKey("app_1", "key_2"), h3=LiveKey("app_3", "key_3")
    )
    for key_hash in ("h1", "h2", "h3"):
        await keys.resolve(key_hash, apps)  # type: ignore[arg-type]
    keys.forget("app_1", "key_1")
    assert len(keys) == 2
    keys.forget("app_1")
    assert len(keys) == 1
    del apps.live["h3"]
    assert await keys.resolve("h3", apps) is not None  # type: ignore[arg-type]  # still cached
