"""The store: all persistence of multicart, returning ``bags`` domain objects.

``Store`` composes one small class per concern around one shared ``Database`` (engine and
transactions, ``database.py``) rather than inheriting them, so each reads alone and callers
name what they touch: ``store.carts`` (the cart aggregate), ``store.catalog`` (merchants and
SKUs), ``store.outbox`` (external deletes still to do), ``store.apps`` (tenants and key
hashes), ``store.audit`` (the admin audit log), ``store.leases`` (one change of a cart at a
time), ``store.idempotency`` (Idempotency-Key claims and stored answers) and
``store.references`` (which live bag holds an external cart).
"""

from __future__ import annotations

from typing import Self

from orchestrator.store.apps import AppStore
from orchestrator.store.audit import AuditStore
from orchestrator.store.carts import CartStore, StaleCart
from orchestrator.store.catalog import CatalogStore
from orchestrator.store.database import Database
from orchestrator.store.health import Counts, SchemaState, counts, schema_state
from orchestrator.store.idempotency import IdempotencyStore
from orchestrator.store.leases import LeaseStore
from orchestrator.store.outbox import OutboxStore, PendingExternalDelete
from orchestrator.store.references import ReferenceStore

__all__ = ["Counts", "Database", "PendingExternalDelete", "SchemaState", "StaleCart", "Store"]


class Store:
    """The per-concern stores over one ``Database``; opened once by the composition root."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.apps = AppStore(db)
        self.audit = AuditStore(db)  # the admin audit log
        self.carts = CartStore(db)
        self.catalog = CatalogStore(db)
        self.leases = LeaseStore(db)
        self.idempotency = IdempotencyStore(db)  # Idempotency-Key claims and answers
        self.outbox = OutboxStore(db)
        self.references = ReferenceStore(db)  # who holds an external cart (saved references)

    @classmethod
    def from_url(cls, url: str, *, echo: bool = False, wait_s: float | None = None) -> Self:
        """A store on a new engine for ``url`` (see ``orchestrator.store.engines.make_engine``);
        ``wait_s`` bounds database waits outside a request (``MULTICART_DB_WAIT_S``)."""
        if wait_s is None:
            return cls(Database.from_url(url, echo=echo))
        return cls(Database.from_url(url, echo=echo, wait_s=wait_s))

    async def ping(self, *, timeout_s: float = 5.0) -> None:
        """Raise if the database does not answer within ``timeout_s``."""
        await self.db.ping(timeout_s=timeout_s)

    async def schema_state(self, *, timeout_s: float = 5.0) -> SchemaState:
        """The schema's migration against the code's latest (``health.py``)."""
        return await schema_state(self.db, timeout_s=timeout_s)

    async def counts(self, *, timeout_s: float = 2.0) -> Counts:
        """Bags per status and the outbox's depth, for /metrics."""
        return await counts(self.db, timeout_s=timeout_s)

    async def close(self) -> None:
        await self.carts.group_commit.aclose()  # writes in flight end before the database
        await self.db.close()
