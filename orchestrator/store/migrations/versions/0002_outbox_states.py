"""The outbox learns unknown creates, dead letters and claims.

``kind`` (``delete`` or ``unknown_create``), ``state`` (``pending``, ``dead``,
``undetectable``) and ``claimed_until`` (a worker's claim on an entry), with an index that
serves "pending entries that are due" on both engines. Existing rows are pending deletes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "external_deletes",
        sa.Column("kind", sa.String(length=16), server_default="delete", nullable=False),
    )
    op.add_column(
        "external_deletes",
        sa.Column("state", sa.String(length=16), server_default="pending", nullable=False),
    )
    op.add_column(
        "external_deletes", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True)
    )
    op.create_index(
        "ix_external_deletes_state_next_attempt_at",
        "external_deletes",
        ["state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_external_deletes_state_next_attempt_at", table_name="external_deletes")
    with op.batch_alter_table("external_deletes") as batch:  # SQLite rebuilds the table
        batch.drop_column("claimed_until")
        batch.drop_column("state")
        batch.drop_column("kind")
