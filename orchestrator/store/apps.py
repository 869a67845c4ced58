"""Apps (the API's tenants) and their API keys: made, listed, revoked, and apps disabled.

A key is a row of ``app_keys`` (migration 0010) kept only as its SHA-256 hash and a visible
prefix, so a leaked key is revoked alone and a client switches to a new one without downtime:
an app holds at most ``MAX_LIVE_KEYS`` live keys. Every app request resolves its key here
(``live_key``); the HTTP layer caches the answer for a bounded time (``http/key_cache.py``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from errors import ApiError, ErrorCode, NotFound
from orchestrator.store.database import Database
from orchestrator.store.tables import app_keys, apps

__all__ = ["MAX_LIVE_KEYS", "TOUCH_EVERY", "AppRow", "AppStore", "KeyRow", "LiveKey"]

MAX_LIVE_KEYS = 2  # an old and a new one while clients switch; a third waits for a revoke
TOUCH_EVERY = timedelta(minutes=1)  # last_used_at is coarse: written at most this often


@dataclass(frozen=True)
class KeyRow:
    id: str
    prefix: str | None  # None: a key made before keys had prefixes (migration 0010)
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True)
class AppRow:
    id: str
    name: str
    created_at: datetime
    disabled_at: datetime | None
    keys: tuple[KeyRow, ...]


@dataclass(frozen=True)
class LiveKey:
    """What a live key of an enabled app authenticates as."""

    app_id: str
    key_id: str


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _iso(at: datetime) -> str:
    """``at`` as the API writes times (``...Z``)."""
    return at.isoformat().replace("+00:00", "Z")


def _key(row: object) -> KeyRow:
    return KeyRow(
        id=row.id,  # type: ignore[attr-defined]
        prefix=row.prefix,  # type: ignore[attr-defined]
        created_at=row.created_at,  # type: ignore[attr-defined]
        last_used_at=row.last_used_at,  # type: ignore[attr-defined]
        revoked_at=row.revoked_at,  # type: ignore[attr-defined]
    )


class AppStore:
    """Apps and their keys, stored only as SHA-256 hashes and prefixes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(
        self,
        app_id: str,
        name: str,
        key_hash: str,
        *,
        key_id: str | None = None,
        prefix: str | None = None,
        now: datetime | None = None,
    ) -> str:
        """A new app and its first key, in one transaction; the key's id."""
        key_id = key_id or f"key_{secrets.token_hex(10)}"
        at = _now(now)
        async with self._db.write() as conn:
            await conn.execute(insert(apps).values(id=app_id, name=name, created_at=at))
            await conn.execute(
                insert(app_keys).values(
                    id=key_id, app_id=app_id, key_hash=key_hash, prefix=prefix, created_at=at
                )
            )
        return key_id

    async def live_key(self, key_hash: str) -> LiveKey | None:
        """The live key hashing to ``key_hash`` of an enabled app, or None."""
        query = (
            select(app_keys.c.app_id, app_keys.c.id)
            .join(apps, apps.c.id == app_keys.c.app_id)
            .where(
                app_keys.c.key_hash == key_hash,
                app_keys.c.revoked_at.is_(None),
                apps.c.disabled_at.is_(None),
            )
        )
        async with self._db.read(single_statement=True) as conn:
            found = (await conn.execute(query)).first()
        return None if found is None else LiveKey(app_id=found[0], key_id=found[1])

    async def id_for_key_hash(self, key_hash: str) -> str | None:
        """The id of the enabled app whose live key hashes to ``key_hash``, or None."""
        found = await self.live_key(key_hash)
        return None if found is None else found.app_id

    async def get(self, app_id: str) -> AppRow | None:
        async with self._db.read() as conn:
            found = await self._apps(conn, [app_id])
        return found[0] if found else None

    async def page(self, *, limit: int, after: str | None = None) -> list[AppRow]:
        """Up to ``limit`` apps by id, from the one after ``after``, each with every key."""
        query = select(apps.c.id).order_by(apps.c.id).limit(limit)
        if after is not None:
            query = query.where(apps.c.id > after)
        async with self._db.read() as conn:
            ids = list((await conn.scalars(query)).all())
            return await self._apps(conn, ids)

    async def _apps(self, conn: AsyncConnection, ids: Sequence[str]) -> list[AppRow]:
        if not ids:
            return []
        rows = (await conn.execute(select(apps).where(apps.c.id.in_(ids)))).all()
        keys = (
            await conn.execute(
                select(app_keys)
                .where(app_keys.c.app_id.in_(ids))
                .order_by(app_keys.c.created_at, app_keys.c.id)
            )
        ).all()
        by_app: dict[str, list[KeyRow]] = {}
        for key in keys:
            by_app.setdefault(key.app_id, []).append(_key(key))
        found = {
            row.id: AppRow(
                row.id, row.name, row.created_at, row.disabled_at, tuple(by_app.get(row.id, ()))
            )
            for row in rows
        }
        return [found[i] for i in ids if i in found]

    async def add_key(
        self, app_id: str, key_id: str, key_hash: str, prefix: str, now: datetime | None = None
    ) -> KeyRow:
        """A new key for ``app_id``: 404 for no such app, 409 for a disabled one or one already
        holding ``MAX_LIVE_KEYS`` live keys (the app's row is locked meanwhile, so two
        requests at once cannot both take the last place)."""
        at = _now(now)
        async with self._db.write() as conn:
            disabled_at = await self._locked_app(conn, app_id)
            if disabled_at is not None:
                raise ApiError(
                    "The app is disabled: it takes no new key.",
                    kind=ErrorCode.APP_DISABLED,
                    data={"disabled_at": _iso(disabled_at)},
                )
            live = await conn.scalar(
                select(func.count())
                .select_from(app_keys)
                .where(app_keys.c.app_id == app_id, app_keys.c.revoked_at.is_(None))
            )
            if (live or 0) >= MAX_LIVE_KEYS:
                raise ApiError(
                    f"The app already holds {MAX_LIVE_KEYS} live keys, the limit: revoke one"
                    " before adding another.",
                    kind=ErrorCode.APP_KEY_LIMIT,
                    data={"limit": MAX_LIVE_KEYS},
                )
            await conn.execute(
                insert(app_keys).values(
                    id=key_id, app_id=app_id, key_hash=key_hash, prefix=prefix, created_at=at
                )
            )
        return KeyRow(key_id, prefix, at, None, None)

    async def _locked_app(self, conn: AsyncConnection, app_id: str) -> datetime | None:
        """The app's ``disabled_at``, its row locked until the transaction ends; 404 when
        there is no such app."""
        found = (
            await conn.execute(
                select(apps.c.id, apps.c.disabled_at).where(apps.c.id == app_id).with_for_update()
            )
        ).first()
        if found is None:
            raise NotFound("No such app.", kind=ErrorCode.APP_NOT_FOUND)
        disabled_at: datetime | None = found[1]
        return disabled_at

    async def revoke_key(self, app_id: str, key_id: str, now: datetime | None = None) -> KeyRow:
        """``key_id`` of ``app_id`` revoked: 404 for no such app or key, 409 if it already is."""
        async with self._db.write() as conn:
            await self._locked_app(conn, app_id)
            where = (app_keys.c.id == key_id, app_keys.c.app_id == app_id)
            row = (await conn.execute(select(app_keys).where(*where))).first()
            if row is None:
                raise NotFound("The app has no such key.", kind=ErrorCode.APP_KEY_NOT_FOUND)
            if row.revoked_at is not None:
                raise ApiError(
                    "The key is already revoked.",
                    kind=ErrorCode.APP_KEY_REVOKED,
                    data={"revoked_at": _iso(row.revoked_at)},
                )
            at = _now(now)
            await conn.execute(update(app_keys).where(*where).values(revoked_at=at))
        return KeyRow(row.id, row.prefix, row.created_at, row.last_used_at, at)

    async def disable(self, app_id: str, now: datetime | None = None) -> AppRow:
        """``app_id`` disabled (every key refused); disabling it again keeps its first
        ``disabled_at``. 404 for no such app."""
        async with self._db.write() as conn:
            if await self._locked_app(conn, app_id) is None:
                await conn.execute(
                    update(apps).where(apps.c.id == app_id).values(disabled_at=_now(now))
                )
            return (await self._apps(conn, [app_id]))[0]

    async def touch(self, key_ids: Sequence[str], now: datetime | None = None) -> None:
        """``last_used_at`` = now for ``key_ids`` whose last use is older than
        ``TOUCH_EVERY`` (another process may have written it meanwhile)."""
        if not key_ids:
            return
        at = _now(now)
        async with self._db.write() as conn:
            await conn.execute(
                update(app_keys)
                .where(
                    app_keys.c.id.in_(key_ids),
                    or_(
                        app_keys.c.last_used_at.is_(None),
                        app_keys.c.last_used_at <= at - TOUCH_EVERY,
                    ),
                )
                .values(last_used_at=at)
            )
