"""The catalog's version: one row whose counter every merchant or SKU change moves.

Each process keeps an in-process cache of SKUs and merchants (``store/catalog_cache.py``) off
the create path's database read; a background poll reads this one row every
``MULTICART_CATALOG_REFRESH_S`` and drops the cache when the counter moved. Every transaction
that writes ``merchants`` or ``skus`` (``store/catalog.py``) bumps it in the same transaction,
so a change and its version are committed together. The row is seeded here; the bump is an
upsert all the same, so an emptied table (the tests truncate every table) heals itself.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "catalog_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_version")),
    )
    op.bulk_insert(table, [{"id": 1, "version": 0}])


def downgrade() -> None:
    op.drop_table("catalog_version")
