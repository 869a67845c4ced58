"""Cart expiry: when each platform last confirmed a change to a bag's external cart, and an
index for the expiry sweeper.

``bags.platform_changed_at`` is where the platform's own cart lifetime counts from (a bag shows
``EXPIRED`` once it has passed); existing bags with an external cart take their cart's
``date_last_modified``, the best record there is. ``ix_carts_status_expires_at`` replaces
``ix_carts_expires_at``: the sweeper asks for live carts past ``expires_at``, and an index on
``expires_at`` alone would walk every cart that ever expired or was deleted.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "bags", sa.Column("platform_changed_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE bags SET platform_changed_at = (SELECT carts.date_last_modified FROM carts"
        " WHERE carts.id = bags.cart_id) WHERE external_id IS NOT NULL"
    )
    op.create_index("ix_carts_status_expires_at", "carts", ["status", "expires_at"])
    op.drop_index("ix_carts_expires_at", table_name="carts")


def downgrade() -> None:
    op.create_index("ix_carts_expires_at", "carts", ["expires_at"])
    op.drop_index("ix_carts_status_expires_at", table_name="carts")
    with op.batch_alter_table("bags") as batch:  # SQLite rebuilds the table
        batch.drop_column("platform_changed_at")
