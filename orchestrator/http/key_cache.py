"""Each process's cache of API keys, with a stated bound on how long a revoked key still works.

Every app request names its key; reading the key's row each time would add a database read to
every request, so the answer is kept, but only for ``MULTICART_KEY_CACHE_S`` seconds: past
that the row is read again, so a revoked key or a disabled app is refused by every process
within that bound (``tests/e2e/test_key_bounds_e2e.py`` measures it across two processes).
At most ``MULTICART_KEY_CACHE_SIZE`` keys are held, the least recently used leaving first.
Unknown keys are not kept: the failed-authentication throttle bounds them.

A key's ``last_used_at`` is written at most once a minute per key and process, by a task of
its own after the request's answer is on its way: never a write on the request's path.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import OrderedDict
from collections.abc import Callable

import structlog

from config import Settings
from orchestrator.store.apps import TOUCH_EVERY, AppStore, LiveKey

log = structlog.get_logger(__name__)


class KeyCache:
    """Key hash -> the live key it names, for at most ``key_cache_s`` seconds."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = settings.key_cache_s
        self.size = settings.key_cache_size
        self._clock = clock
        self._entries: OrderedDict[str, tuple[LiveKey, float]] = OrderedDict()
        self._touched: dict[str, float] = {}  # key id -> when this process last wrote its use
        self._touching: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._entries)

    async def resolve(self, key_hash: str, store: AppStore) -> LiveKey | None:
        """The live key hashing to ``key_hash``, from the cache while its answer is fresh,
        else from ``store``; None for a key that is unknown, revoked or of a disabled app."""
        now = self._clock()
        entry = self._entries.get(key_hash)
        if entry is not None and now - entry[1] < self.ttl_s:
            self._entries.move_to_end(key_hash)
            found: LiveKey | None = entry[0]
        else:
            found = await store.live_key(key_hash)
            self._keep(key_hash, found, self._clock())
        if found is not None:
            self._note_use(found.key_id, store, now)
        return found

    def _keep(self, key_hash: str, found: LiveKey | None, now: float) -> None:
        if found is None or self.ttl_s <= 0:
            self._entries.pop(key_hash, None)
            return
        self._entries[key_hash] = (found, now)
        self._entries.move_to_end(key_hash)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget(self, app_id: str, key_id: str | None = None) -> None:
        """Drop the app's cached keys (only ``key_id`` when given): the process that revokes
        a key or disables an app refuses it at once, the others within the bound."""
        for key_hash, (found, _at) in list(self._entries.items()):
            if found.app_id == app_id and key_id in (None, found.key_id):
                del self._entries[key_hash]

    def _note_use(self, key_id: str, store: AppStore, now: float) -> None:
        """Write the key's use if this process has not in the last ``TOUCH_EVERY``."""
        last = self._touched.get(key_id)
        if last is not None and now - last < TOUCH_EVERY.total_seconds():
            return
        self._touched[key_id] = now
        if len(self._touched) > self.size:  # forget the oldest: at worst one more write
            self._touched.pop(next(iter(self._touched)))
        # A fresh context: the request's (its deadline, its budget) must not reach this write.
        task = asyncio.get_running_loop().create_task(
            self._touch(store, key_id), context=contextvars.Context()
        )
        self._touching.add(task)
        task.add_done_callback(self._touching.discard)

    async def _touch(self, store: AppStore, key_id: str) -> None:
        try:
            await store.touch([key_id])
        except Exception as exc:  # a busy or gone database: a use a minute later writes it
            log.warning("key_use_not_recorded", key_id=key_id, error=type(exc).__name__)

    async def drain(self) -> None:
        """Wait for the writes of keys' uses under way (at shutdown)."""
        if self._touching:
            await asyncio.gather(*self._touching, return_exceptions=True)
