"""Apps (the API's tenants) and their API keys.

Apps are kept with only their API key's hash (every app request resolves its key here; the HTTP
layer caches the answer).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select

from orchestrator.store.database import Database
from orchestrator.store.tables import apps

__all__ = ["AppStore"]


class AppStore:
    """Apps (the API's tenants) and their API keys, stored only as SHA-256 hashes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, app_id: str, name: str, key_hash: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                insert(apps).values(
                    id=app_id, name=name, key_hash=key_hash, created_at=datetime.now(UTC)
                )
            )

    async def id_for_key_hash(self, key_hash: str) -> str | None:
        """The id of the app whose API key hashes to ``key_hash``, or None."""
        async with self._db.read() as conn:
            found = await conn.scalar(select(apps.c.id).where(apps.c.key_hash == key_hash))
        return None if found is None else str(found)
