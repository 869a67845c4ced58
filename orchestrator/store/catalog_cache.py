"""The catalog read off the hot path: an in-process cache of SKUs and merchants.

Every create, line add and preview reads the catalog; ``CatalogStore`` answers from here and
goes to the database only for the ids it does not hold. Positive entries only, bounded; stale
at most ``MULTICART_CATALOG_REFRESH_S`` after another process's change (the polled
``catalog_version`` row), and a fill older than an invalidation is dropped by its generation.
Why, what a stale entry can do, and the measurements: docs/decisions/0001-catalog-cache.md.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

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


EntryT = TypeVar("EntryT", _SkuEntry, _MerchantEntry)


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
        held, missing = self._held(self._skus, sku_ids)
        found = {sku_id: entry.sku for sku_id, entry in held.items()}
        owners = {entry.sku.merchant_id: entry.owner for entry in held.values()}
        return found, owners, missing

    def merchants(self, merchant_ids: Iterable[str]) -> tuple[dict[str, Owner], list[str]]:
        """(the merchants held, the ids to read from the database)."""
        held, missing = self._held(self._merchants, merchant_ids)
        return {merchant_id: entry.owner for merchant_id, entry in held.items()}, missing

    def _held(
        self, entries: OrderedDict[str, EntryT], ids: Iterable[str]
    ) -> tuple[dict[str, EntryT], list[str]]:
        """The fresh ``entries`` among ``ids`` (each now the most recently used), and the ids
        to read from the database."""
        held: dict[str, EntryT] = {}
        missing: list[str] = []
        now = self._clock()
        for entry_id in ids:
            entry = entries.get(entry_id) if self.enabled else None
            if entry is None or not self._fresh(entry.read_at, now):
                missing.append(entry_id)
                continue
            entries.move_to_end(entry_id)
            held[entry_id] = entry
        return held, missing

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
