"""An Idempotency-Key names the cart its request wrote, in the same transaction.

Why: a create with a key was in flight when the process was killed; after the restart the
client retried with the same key once the key's lock had lapsed, and got a second cart beside
the first. The key's record now names the cart (``cart_id``) and the phase
reached (``phase``: ``cart_written`` once the cart's ``PENDING`` rows are committed; the rest
of its progress is read from the cart's bags), written by the cart's own insert. A retry that
takes over a lapsed claim naming a cart answers that cart instead of making another.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("cart_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("phase", sa.String(16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("phase")
        batch.drop_column("cart_id")
