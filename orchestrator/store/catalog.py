"""Reference data: the merchants and SKU catalog carts are built from.

A merchant's connection is stored as the ciphertext the caller sealed; the store never sees
credentials in the clear. ``upsert_skus`` is one transaction that first checks every merchant
exists (a clear ``ValueError`` listing the unknown ids instead of a foreign-key error), then
inserts or updates with the engine's ``INSERT ... ON CONFLICT DO UPDATE``.

``lookup`` and ``get_merchants`` (the per-request reads: every create, line add and preview)
answer from an in-process ``CatalogCache`` when the composition root turns it on
(``use_cache``); every write here bumps the ``catalog_version`` row in its own transaction and
drops this process's cache once committed, and ``refresh_cache`` (a background round) drops it
when another process's write moved the version. Bounds and what a stale entry can do:
``catalog_cache.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Row, bindparam, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bags import BagStatus, CartStatus, CatalogSku, Merchant, MerchantStatus, Platform
from orchestrator.store.catalog_cache import CatalogCache, Owner
from orchestrator.store.columns import copied
from orchestrator.store.database import Database
from orchestrator.store.tables import (
    CATALOG_VERSION_ROW,
    bags,
    carts,
    catalog_version,
    merchants,
    order_skus,
    skus,
)

# Ids per IN (...) and rows per upsert statement: well under both engines' parameter limits.
CHUNK = 500

T = TypeVar("T")
# The skus columns holding the ``CatalogSku`` field of the same name as it is.
_SKU_COPIED = ("sku_id", "merchant_id", "name", "price", "currency", "available")
AnyRow = Row[*tuple[Any, ...]]


def chunked(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _merchant(row: AnyRow) -> Merchant:
    return Merchant(
        id=row.id,
        name=row.name,
        platform=Platform(row.platform),
        status=MerchantStatus(row.status),
    )


def _sku(row: AnyRow, merchant_status: str = MerchantStatus.ACTIVE) -> CatalogSku:
    return CatalogSku(
        **copied(row, _SKU_COPIED),
        platform_ref=row.platform_ref,
        merchant_status=MerchantStatus(merchant_status),
    )


# The create path's read, built once (an expanding IN takes any number of ids).
_CATALOG_QUERY = (
    select(
        skus,
        merchants.c.name.label("merchant_name"),
        merchants.c.platform.label("merchant_platform"),
        merchants.c.status.label("merchant_status"),
        merchants.c.connection_ciphertext,
    )
    .join(merchants, merchants.c.id == skus.c.merchant_id)
    .where(skus.c.sku_id.in_(bindparam("ids", expanding=True)))
)


# How many live carts hold a line of one SKU (what refuses its delete).
_LIVE_CARTS_HOLDING = (
    select(func.count(func.distinct(carts.c.id)))
    .select_from(
        carts.join(bags, bags.c.cart_id == carts.c.id).join(
            order_skus, order_skus.c.bag_id == bags.c.id
        )
    )
    .where(order_skus.c.sku_id == bindparam("sku_id"))
    .where(carts.c.status == CartStatus.IN_PROGRESS.value)
    .where(bags.c.status != BagStatus.DELETED.value)
)


class CatalogStore:
    """Merchants and SKUs; ``lookup``/``get_merchants`` through the cache once it is on."""

    def __init__(self, db: Database, cache: CatalogCache | None = None) -> None:
        self._db = db
        self.cache = cache if cache is not None else CatalogCache(refresh_s=0)  # off

    def use_cache(self, *, refresh_s: float, max_entries: int) -> CatalogCache:
        """Turn the cache on (``refresh_s`` > 0; 0 leaves it off): the caller must then run
        ``refresh_cache`` every ``refresh_s`` (the composition root's background worker)."""
        self.cache = CatalogCache(refresh_s=refresh_s, max_entries=max_entries)
        return self.cache

    async def refresh_cache(self) -> bool:
        """One poll: drop the cache if the catalog's version moved; True when it did."""
        if not self.cache.enabled:
            return False
        ticket = self.cache.begin()
        version = await self.version()
        return self.cache.observe(version, ticket[1])

    async def version(self) -> int:
        """The catalog's version counter (0 before any write)."""
        async with self._db.read(single_statement=True) as conn:
            found = await conn.scalar(
                select(catalog_version.c.version).where(catalog_version.c.id == CATALOG_VERSION_ROW)
            )
        return 0 if found is None else int(found)

    @contextlib.asynccontextmanager
    async def _catalog_write(self, *, bump: bool = True) -> AsyncIterator[AsyncConnection]:
        """A write transaction that changes the catalog: the version moves in it (``bump``
        False: the caller bumps it before its first change), and this process's cache is
        dropped once it has ended (committed or not)."""
        try:
            async with self._db.write() as conn:
                if bump:
                    await self._bump(conn)
                yield conn
        finally:
            self.cache.invalidate()

    async def _bump(self, conn: AsyncConnection) -> None:
        # An upsert, not an UPDATE: a missing row (an emptied table) is made again. Taken first
        # in merchant and SKU writes, so on PostgreSQL they queue on this one row lock (admin
        # writes are rare) and never deadlock on each other's SKU rows; a reseal takes it after
        # a merchant row's NO KEY UPDATE lock, which an upsert's foreign-key check (KEY SHARE)
        # does not wait for.
        row = {"id": CATALOG_VERSION_ROW, "version": 1}
        bumped = {"version": catalog_version.c.version + 1}
        if self._db.sqlite:
            lite = sqlite.insert(catalog_version).values(row)
            await conn.execute(lite.on_conflict_do_update(index_elements=["id"], set_=bumped))
        else:
            pg = postgresql.insert(catalog_version).values(row)
            await conn.execute(pg.on_conflict_do_update(index_elements=["id"], set_=bumped))

    # -- merchants ----------------------------------------------------------------------------

    async def create_merchant(self, merchant: Merchant, connection_ciphertext: bytes) -> None:
        async with self._catalog_write() as conn:
            await conn.execute(
                insert(merchants).values(
                    id=merchant.id,
                    name=merchant.name,
                    platform=merchant.platform,
                    connection_ciphertext=bytes(connection_ciphertext),
                    created_at=datetime.now(UTC),
                    status=merchant.status,
                )
            )

    async def read_merchant(self, merchant_id: str) -> Merchant | None:
        """The merchant as stored now, past the cache (the admin routes' read)."""
        async with self._db.read(single_statement=True) as conn:
            row = (
                await conn.execute(select(merchants).where(merchants.c.id == merchant_id))
            ).first()
        return None if row is None else _merchant(row)

    async def get_merchant(self, merchant_id: str) -> tuple[Merchant, bytes] | None:
        return (await self.get_merchants([merchant_id])).get(merchant_id)

    async def get_merchants(
        self, merchant_ids: Collection[str]
    ) -> dict[str, tuple[Merchant, bytes]]:
        """The merchants among ``merchant_ids`` that exist, with their sealed connections."""
        found, missing = self.cache.merchants(sorted(set(merchant_ids)))
        if not missing:
            return found
        ticket = self.cache.begin()
        read: dict[str, Owner] = {}
        async with self._db.read(single_statement=len(missing) <= CHUNK) as conn:
            for part in chunked(missing):
                result = await conn.execute(select(merchants).where(merchants.c.id.in_(part)))
                for row in result:
                    read[row.id] = (_merchant(row), bytes(row.connection_ciphertext))
        self.cache.put_merchants(ticket, read.values())
        found.update(read)
        return found

    async def lookup(
        self, sku_ids: Collection[str]
    ) -> tuple[dict[str, CatalogSku], dict[str, tuple[Merchant, bytes]]]:
        """The SKUs among ``sku_ids`` and their merchants, in one query (the create path's read)."""
        found, owners, missing = self.cache.skus(sorted(set(sku_ids)))
        if not missing:
            return found, owners
        ticket = self.cache.begin()  # before the read: an invalidation meanwhile voids the fill
        read: list[tuple[CatalogSku, Owner]] = []
        async with self._db.read(single_statement=len(missing) <= CHUNK) as conn:
            for part in chunked(missing):
                for row in await conn.execute(_CATALOG_QUERY, {"ids": list(part)}):
                    owner = owners.get(row.merchant_id)
                    if owner is None:
                        merchant = Merchant(
                            id=row.merchant_id,
                            name=row.merchant_name,
                            platform=Platform(row.merchant_platform),
                            status=MerchantStatus(row.merchant_status),
                        )
                        owner = owners[row.merchant_id] = (
                            merchant,
                            bytes(row.connection_ciphertext),
                        )
                    sku = found[row.sku_id] = _sku(row, row.merchant_status)
                    read.append((sku, owner))
        self.cache.put_skus(ticket, read)
        return found, owners

    async def list_merchants(self) -> list[Merchant]:
        async with self._db.read() as conn:
            result = await conn.execute(
                select(
                    merchants.c.id, merchants.c.name, merchants.c.platform, merchants.c.status
                ).order_by(merchants.c.created_at, merchants.c.id)
            )
            return [_merchant(row) for row in result]

    async def update_merchant(
        self,
        merchant_id: str,
        *,
        name: str | None = None,
        status: MerchantStatus | None = None,
        connection_ciphertext: bytes | None = None,
    ) -> Merchant | None:
        """Change what is given (None: keep it) in one transaction that moves the catalog's
        version, so every process's cache drops the old merchant (and its sealed connection,
        hence its adapter) within its refresh bound. None when there is no such merchant."""
        values: dict[str, Any] = {}
        if name is not None:
            values["name"] = name
        if status is not None:
            values["status"] = str(status)
        if connection_ciphertext is not None:
            values["connection_ciphertext"] = bytes(connection_ciphertext)
        async with self._catalog_write() as conn:
            if values:
                await conn.execute(
                    update(merchants).where(merchants.c.id == merchant_id).values(**values)
                )
            row = (
                await conn.execute(select(merchants).where(merchants.c.id == merchant_id))
            ).first()
        return None if row is None else _merchant(row)

    async def reseal_connections(
        self, reseal: Callable[[str, bytes], bytes | None], *, batch: int = 100
    ) -> int:
        """Pass every merchant's sealed connection through ``reseal(merchant_id, sealed)`` and
        store what it returns (None: leave it); returns how many were rewritten.

        For key rotation: ``reseal`` re-encrypts, so the store still never sees a credential.
        Merchants go by id, ``batch`` per write transaction, so no transaction holds more than
        that many rows however many merchants there are. Each write is a compare-and-set on the
        old ciphertext: a connection replaced meanwhile is kept as it is.
        """
        rewritten, after = 0, ""
        while True:
            async with self._catalog_write(bump=False) as conn:
                bumped = False
                rows = (
                    await conn.execute(
                        select(merchants.c.id, merchants.c.connection_ciphertext)
                        .where(merchants.c.id > after)
                        .order_by(merchants.c.id)
                        .limit(batch)
                    )
                ).all()
                for row in rows:
                    old = bytes(row.connection_ciphertext)
                    new = reseal(row.id, old)
                    if new is None:
                        continue
                    if not bumped:  # a run that rewrites nothing writes nothing
                        await self._bump(conn)
                        bumped = True
                    done = await conn.execute(
                        update(merchants)
                        .where(merchants.c.id == row.id)
                        .where(merchants.c.connection_ciphertext == old)
                        .values(connection_ciphertext=new)
                    )
                    rewritten += done.rowcount
            if len(rows) < batch:
                return rewritten
            after = rows[-1].id

    # -- catalog ------------------------------------------------------------------------------

    async def upsert_skus(self, items: Sequence[CatalogSku]) -> int:
        """Insert or update ``items`` in one transaction; returns how many distinct SKUs.

        A ``sku_id`` given twice keeps its last entry. ``ValueError`` (nothing written) names
        every merchant id that does not exist.
        """
        latest = {item.sku_id: item for item in items}
        if not latest:
            return 0
        now = datetime.now(UTC)
        rows = [
            {
                **copied(item, _SKU_COPIED),
                "platform_ref": dict(item.platform_ref),
                "updated_at": now,
            }
            # sorted: concurrent upserts lock rows in one order (no PostgreSQL deadlock)
            for item in sorted(latest.values(), key=lambda sku: sku.sku_id)
        ]
        wanted = sorted({item.merchant_id for item in latest.values()})
        async with self._catalog_write() as conn:
            known: set[str] = set()
            for part in chunked(wanted):
                known.update(
                    await conn.scalars(select(merchants.c.id).where(merchants.c.id.in_(part)))
                )
            unknown = [m for m in wanted if m not in known]
            if unknown:
                raise ValueError(f"unknown merchant ids: {', '.join(unknown)}")
            for batch in chunked(rows):
                await self._upsert(conn, batch)
        return len(rows)

    async def _upsert(self, conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
        updated = [c.name for c in skus.columns if c.name != "sku_id"]
        if self._db.sqlite:
            lite = sqlite.insert(skus)
            lite_stmt = lite.on_conflict_do_update(
                index_elements=[skus.c.sku_id],
                set_={name: lite.excluded[name] for name in updated},
            )
            await conn.execute(lite_stmt, list(rows))
        else:
            pg = postgresql.insert(skus)
            pg_stmt = pg.on_conflict_do_update(
                index_elements=[skus.c.sku_id],
                set_={name: pg.excluded[name] for name in updated},
            )
            await conn.execute(pg_stmt, list(rows))

    async def delete_sku(self, sku_id: str) -> int | None:
        """Delete the SKU unless a live cart holds it: None when there is no such SKU, else the
        number of live carts (IN_PROGRESS, with a bag not DELETED holding one of its lines)
        that hold it; it was deleted only when that is 0. Counted and deleted in one
        transaction; the SKU row is locked first (PostgreSQL), so two deletes queue."""
        async with self._catalog_write() as conn:
            lock = select(skus.c.sku_id).where(skus.c.sku_id == sku_id)
            found = await conn.scalar(lock if self._db.sqlite else lock.with_for_update())
            if found is None:
                return None
            holding = await conn.scalar(_LIVE_CARTS_HOLDING, {"sku_id": sku_id})
            if holding:
                return int(holding)
            await conn.execute(delete(skus).where(skus.c.sku_id == sku_id))
        return 0

    async def list_skus(
        self, merchant_id: str | None = None, *, limit: int = 1000, after: str | None = None
    ) -> list[CatalogSku]:
        """The catalog by ``sku_id``, optionally of one merchant, at most ``limit`` SKUs whose
        ``sku_id`` sorts after ``after`` (keyset paging: ``after`` is the last page's last)."""
        query = select(skus).order_by(skus.c.sku_id).limit(max(0, limit))
        if merchant_id is not None:
            query = query.where(skus.c.merchant_id == merchant_id)
        if after is not None:
            query = query.where(skus.c.sku_id > after)
        async with self._db.read() as conn:
            return [_sku(row) for row in await conn.execute(query)]
