"""One live bag per external cart: a partial unique index on bags (merchant_id, external_id).

``POST /v1/cart-references`` answers 409 ``duplicate_cart`` when a live bag (any app's, a
saved reference or a cart multicart made) already holds the external cart; this index makes
that hold under concurrent saves on both engines (both support partial indexes). DELETED bags
and bags without an external cart are left out.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = sa.text("external_id IS NOT NULL AND status != 'DELETED'")


def upgrade() -> None:
    op.create_index(
        "uq_bags_merchant_id_external_id",
        "bags",
        ["merchant_id", "external_id"],
        unique=True,
        sqlite_where=_LIVE,
        postgresql_where=_LIVE,
    )


def downgrade() -> None:
    op.drop_index("uq_bags_merchant_id_external_id", table_name="bags")
