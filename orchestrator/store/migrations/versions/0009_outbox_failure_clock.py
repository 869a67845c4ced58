"""Dead letters bounded by time: when an outbox entry started failing.

``external_deletes.first_failed_at`` is set by the entry's first real failure (a 5xx, a timeout,
a refused connection) and cleared when an operator requeues it; the entry is given up as
``dead`` once a real failure comes ``MULTICART_OUTBOX_GIVE_UP_AFTER_S`` after it. Throttling,
an open circuit and a request's own expired deadline neither set nor advance it. Pending entries
that already failed take their ``created_at``, the best record there is (their first attempt is
the request's own, right after the enqueue); NULL stays "not failing yet" for the others.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "external_deletes",
        sa.Column("first_failed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.execute(
        "UPDATE external_deletes SET first_failed_at = created_at"
        " WHERE attempts > 0 AND state = 'pending'"
    )


def downgrade() -> None:
    with op.batch_alter_table("external_deletes") as batch:  # SQLite rebuilds the table
        batch.drop_column("first_failed_at")
