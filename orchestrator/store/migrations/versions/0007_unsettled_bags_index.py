"""The reconciler's scan as an index: bags still ``PENDING`` or ``UNKNOWN``, by cart.

Every process's reconciler asks every ``MULTICART_EXTERNAL_DELETE_RETRY_S`` (5 s) for live
carts with such a bag. Before this index SQLite's plan was ``SCAN bags`` (every bag ever made)
and a search of every ``IN_PROGRESS`` cart; a partial index holds only the few unsettled bags,
so a round costs the same at 100 or 1,000,000 carts (``EXPLAIN QUERY PLAN`` in the store tests).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNSETTLED = sa.text("status IN ('PENDING', 'UNKNOWN')")


def upgrade() -> None:
    op.create_index(
        "ix_bags_unsettled_cart_id",
        "bags",
        ["cart_id"],
        sqlite_where=_UNSETTLED,
        postgresql_where=_UNSETTLED,
    )


def downgrade() -> None:
    op.drop_index("ix_bags_unsettled_cart_id", table_name="bags")
