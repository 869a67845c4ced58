"""The catalog read off the hot path: an in-process cache of SKUs and merchants.

Why: every create (and every line add, every preview) read its SKUs joined with their merchants
in a read transaction of its own: 11% of the event loop's busy time under the benchmark.
``CatalogStore`` (``catalog.py``) now answers ``lookup`` and ``get_merchants`` from here and
goes to the database only for the ids it does not hold.

What it holds, and when it is wrong. Positive entries only: an id the database did not have is
never remembered, so a SKU or merchant added anywhere is visible to the next read at once.
Entries are bounded (``MULTICART_CATALOG_CACHE_SIZE`` SKUs, as many merchants; least recently
used first out). An entry can be stale only after a change made by another process, and only
until this process's poll of the ``catalog_version`` row (migration 0006, bumped in the same
transaction as every merchant or SKU write) sees the counter move: at most
``MULTICART_CATALOG_REFRESH_S`` (default 1 s) plus one poll's read. A change made through this
process's ``CatalogStore`` drops the cache as soon as it commits. If the poll fails (database
unreachable), an entry is used for at most ``STALE_FACTOR`` (3) x the refresh interval after
it was read or last confirmed, then every read goes to the database again. ``refresh_s`` 0
turns the cache off (every read goes to the database).

Races. A fill that began before an invalidation must not store what it read (possibly the old
rows): ``begin`` hands out the cache's generation, every invalidation moves it, and ``put_*``
drops rows whose generation is not the current one. The first poll of a process only learns
the version, so it drops whatever was filled before it.

What a stale entry can do (within the bound above), each checked against the code:

- price, name, currency, ``platform_ref`` or ``available`` changed: a create in that window is
  validated, split and sent as if it had arrived just before the change. A made bag's lines
  then show the prices the platform really holds (``service/merge.py``), so a stale catalog
  price never outlives the create's answer; a SKU the platform now refuses fails its bag as any
  refusal does, and one newly unavailable is refused (400) only after the window.
- a SKU moved to another merchant (``upsert_skus`` may change ``merchant_id``): a create in the
  window puts it in the old merchant's bag, as it would have just before.
- a merchant's connection re-sealed by ``multicart keys rotate``: the old ciphertext still opens
  while the old key is in ``MULTICART_ENCRYPTION_KEYS_OLD`` (``MultiFernet`` decrypts with every
  configured key), and the rotation is run while every process still has it there; both
  ciphertexts open to the same connection, so the adapter cache
  (``service/merchants.py``, keyed by merchant and ciphertext) builds the same adapter. Removing
  the old key means restarting the processes, which empties their caches.
- deletion: nothing deletes a merchant or a SKU (no route, no store method; ``skus`` holds a
  foreign key to ``merchants``), so there is no deleted row to serve. Should a delete ever be
  written it must go through ``CatalogStore._catalog_write`` like every other write.

Cached ``CatalogSku``/``Merchant`` objects are shared between callers: both are frozen, and no
caller mutates a ``platform_ref`` in place (they pass it on or copy it with ``dict(...)``).

Decision record (``CatalogStore.lookup`` of the same 3 SKUs 2000 times, SQLite file, one
process, this shared 2-core machine, three runs each): the code before the cache 1.5-2.2 s CPU,
1.6-2.5 s wall (0.75-1.1 ms CPU per lookup; the cache turned off measures the same); with the
cache 0.004 s CPU and wall (2 us per lookup). The poll costs one such read per second per
process (about 0.1% of a core).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from bags import CatalogSku, Merchant

STALE_FACTOR = 3.0  # an entry unconfirmed for this many refresh intervals is not used
DEFAULT_REFRESH_S = 1.0
DEFAULT_MAX_ENTRIES = 10_000

Owner = tuple[Merchant, bytes]  # a merchant and its sealed connection


@dataclass(frozen=True, slots=True)
class _SkuEntry:
    sku: CatalogSku
    owner: Owner
    read_at: float  # monotonic time the fill that read it began


@dataclass(frozen=True, slots=True)
class _MerchantEntry:
    owner: Owner
    read_at: float


class CatalogCache:
    """SKU and merchant entries, invalidated by generation; see the module docstring."""

    def __init__(
        self,
        *,
        refresh_s: float = DEFAULT_REFRESH_S,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if refresh_s < 0 or max_entries < 1:
            raise ValueError("refresh_s must be >= 0 and max_entries >= 1")
        self.refresh_s = refresh_s
        self.max_age_s = STALE_FACTOR * refresh_s
        self._max_entries = max_entries
        self._clock = clock
        self._skus: OrderedDict[str, _SkuEntry] = OrderedDict()
        self._merchants: OrderedDict[str, _MerchantEntry] = OrderedDict()
        self._generation = 0
        self._version: int | None = None  # the catalog version the entries are at, once polled
        self._confirmed_at = clock()  # when a poll last found the version unchanged

    @property
    def enabled(self) -> bool:
        return self.refresh_s > 0

    @property
    def generation(self) -> int:
        return self._generation

    def __len__(self) -> int:
        return len(self._skus) + len(self._merchants)

    def _fresh(self, read_at: float, now: float) -> bool:
        return now - max(read_at, self._confirmed_at) <= self.max_age_s

    # -- reads --------------------------------------------------------------------------------

    def skus(
        self, sku_ids: Iterable[str]
    ) -> tuple[dict[str, CatalogSku], dict[str, Owner], list[str]]:
        """(the SKUs held, their owners, the ids to read from the database)."""
        found: dict[str, CatalogSku] = {}
        owners: dict[str, Owner] = {}
        missing: list[str] = []
        now = self._clock()
        for sku_id in sku_ids:
            entry = self._skus.get(sku_id) if self.enabled else None
            if entry is None or not self._fresh(entry.read_at, now):
                missing.append(sku_id)
                continue
            self._skus.move_to_end(sku_id)
            found[sku_id] = entry.sku
            owners[entry.sku.merchant_id] = entry.owner
        return found, owners, missing

    def merchants(self, merchant_ids: Iterable[str]) -> tuple[dict[str, Owner], list[str]]:
        """(the merchants held, the ids to read from the database)."""
        found: dict[str, Owner] = {}
        missing: list[str] = []
        now = self._clock()
        for merchant_id in merchant_ids:
            entry = self._merchants.get(merchant_id) if self.enabled else None
            if entry is None or not self._fresh(entry.read_at, now):
                missing.append(merchant_id)
                continue
            self._merchants.move_to_end(merchant_id)
            found[merchant_id] = entry.owner
        return found, missing

    # -- fills --------------------------------------------------------------------------------

    def begin(self) -> tuple[int, float]:
        """Call before reading the database for a fill: (generation, time) to hand to ``put_*``."""
        return self._generation, self._clock()

    def put_skus(self, ticket: tuple[int, float], rows: Iterable[tuple[CatalogSku, Owner]]) -> None:
        """Keep ``rows`` read since ``ticket = begin()``, unless the cache was invalidated since."""
        generation, read_at = ticket
        if not self.enabled or generation != self._generation:
            return
        for sku, owner in rows:
            self._skus[sku.sku_id] = _SkuEntry(sku, owner, read_at)
            self._skus.move_to_end(sku.sku_id)
        _trim(self._skus, self._max_entries)

    def put_merchants(self, ticket: tuple[int, float], owners: Iterable[Owner]) -> None:
        generation, read_at = ticket
        if not self.enabled or generation != self._generation:
            return
        for owner in owners:
            self._merchants[owner[0].id] = _MerchantEntry(owner, read_at)
            self._merchants.move_to_end(owner[0].id)
        _trim(self._merchants, self._max_entries)

    # -- invalidation -------------------------------------------------------------------------

    def invalidate(self) -> None:
        """Drop every entry; fills begun before this store nothing."""
        self._generation += 1
        self._skus.clear()
        self._merchants.clear()

    def observe(self, version: int, read_at: float) -> bool:
        """A poll read ``version`` (the read began at ``read_at``, from ``begin()``); drops the
        cache when the version moved or is the first one seen. True when it dropped."""
        moved = version != self._version
        if moved:
            self.invalidate()
            self._version = version
        self._confirmed_at = max(self._confirmed_at, read_at)
        return moved


def _trim(entries: OrderedDict[str, Any], limit: int) -> None:
    while len(entries) > limit:
        entries.popitem(last=False)
