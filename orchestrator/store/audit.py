"""The admin audit log's rows: written once after an admin action's answer, read newest first.

Kept apart from the stores of what admins change, so one append per action is all it costs and
no admin route's own transaction waits on it (an audit write that fails leaves the action done).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from orchestrator.store.database import Database
from orchestrator.store.tables import audit_log

__all__ = ["AuditEntry", "AuditFilter", "AuditStore", "NewAuditEntry"]


@dataclass(frozen=True)
class NewAuditEntry:
    token_id: str
    method: str
    route: str
    path_ids: dict[str, str]
    status: int
    resource_id: str | None
    request_id: str


@dataclass(frozen=True)
class AuditEntry(NewAuditEntry):
    seq: int
    at: datetime


@dataclass(frozen=True)
class AuditFilter:
    token_id: str | None = None
    method: str | None = None
    route: str | None = None
    resource_id: str | None = None
    since: datetime | None = None  # at >= since
    until: datetime | None = None  # at < until


class AuditStore:
    """Appends entries (time from the database's clock) and pages them newest first."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def record(self, entry: NewAuditEntry) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                insert(audit_log).values(
                    at=self._db.clock(),
                    token_id=entry.token_id,
                    method=entry.method,
                    route=entry.route,
                    path_ids=entry.path_ids,
                    status=entry.status,
                    resource_id=entry.resource_id,
                    request_id=entry.request_id,
                )
            )

    async def page(
        self, where: AuditFilter, *, limit: int, before: int | None = None
    ) -> list[AuditEntry]:
        """Up to ``limit`` entries matching ``where``, newest first, older than ``before``."""
        t = audit_log.c
        conditions: list[Any] = []
        for column, value in (
            (t.token_id, where.token_id),
            (t.method, where.method),
            (t.route, where.route),
            (t.resource_id, where.resource_id),
        ):
            if value is not None:
                conditions.append(column == value)
        if where.since is not None:
            conditions.append(t.at >= where.since)
        if where.until is not None:
            conditions.append(t.at < where.until)
        if before is not None:
            conditions.append(t.seq < before)
        query = select(audit_log).where(*conditions).order_by(t.seq.desc()).limit(limit)
        async with self._db.read() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            AuditEntry(
                seq=int(r["seq"]),
                at=r["at"],
                token_id=r["token_id"],
                method=r["method"],
                route=r["route"],
                path_ids=dict(r["path_ids"]),
                status=int(r["status"]),
                resource_id=r["resource_id"],
                request_id=r["request_id"],
            )
            for r in rows
        ]
