"""A merchant can be paused: ``merchants.status``, ACTIVE or PAUSED.

An operator pauses a merchant (``PATCH /v1/admin/merchants/{id}``) to stop its SKUs going in
new lines while the carts that hold them keep working. Every existing merchant is ACTIVE (the
server default fills the column on both engines).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "merchants",
        sa.Column("status", sa.String(16), nullable=False, server_default="ACTIVE"),
    )


def downgrade() -> None:
    with op.batch_alter_table("merchants") as batch:  # SQLite rebuilds the table
        batch.drop_column("status")
