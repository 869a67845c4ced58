"""What operators ask of the database: is its schema at the latest migration, and how many bags
per status and external deletes are waiting (for ``/readyz`` and ``/metrics``).

Why: on a database never migrated (or migrated by an older release) ``/readyz`` answered 200
while every route answered 500. ``schema_state`` compares the ``alembic_version`` row with the
head of ``migrations/``; ``counts`` is two cheap aggregate queries run on each scrape.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import cache

from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from orchestrator.store.database import Database
from orchestrator.store.migrate import alembic_config
from orchestrator.store.tables import bags, external_deletes


@cache
def head_revision() -> str:
    """The latest migration shipped with this code."""
    script = ScriptDirectory.from_config(alembic_config("sqlite+aiosqlite:///unused.db"))
    head = script.get_current_head()
    assert head is not None
    return head


@dataclass(frozen=True)
class SchemaState:
    current: str | None  # None: never migrated
    head: str

    @property
    def ok(self) -> bool:
        return self.current == self.head

    def problem(self) -> str:
        """One sentence saying what is wrong and what to run."""
        where = "has no schema" if self.current is None else f"is at {self.current}"
        return (
            f"the database {where}, the latest migration is {self.head}: "
            "run `multicart db upgrade` (or `multicart serve --migrate`)"
        )


@dataclass(frozen=True)
class Counts:
    bags_by_status: dict[str, int]
    outbox_depth: int  # entries still worked on (pending)
    # (kind, state) -> entries: the dead letters and the creates no platform can tell about
    outbox_entries: dict[tuple[str, str], int] = field(default_factory=dict)


async def schema_state(db: Database, *, timeout_s: float = 5.0) -> SchemaState:
    """The schema's revision against the code's head (raises if the database does not answer)."""
    async with asyncio.timeout(timeout_s), db.engine.connect() as conn:
        try:
            current = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:  # no alembic_version table: never migrated
            current = None
        await conn.rollback()
    return SchemaState(current=None if current is None else str(current), head=head_revision())


async def counts(db: Database, *, timeout_s: float = 2.0) -> Counts:
    """Bags per status and external deletes still to do."""
    async with asyncio.timeout(timeout_s), db.read() as conn:
        rows = await conn.execute(select(bags.c.status, func.count()).group_by(bags.c.status))
        by_status = {str(status): int(n) for status, n in rows}
        t = external_deletes.c
        entries = {
            (str(kind), str(state)): int(n)
            for kind, state, n in await conn.execute(
                select(t.kind, t.state, func.count()).group_by(t.kind, t.state)
            )
        }
    pending = sum(n for (_, state), n in entries.items() if state == "pending")
    return Counts(bags_by_status=by_status, outbox_depth=pending, outbox_entries=entries)
