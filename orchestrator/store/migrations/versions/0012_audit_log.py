"""The admin audit log: who changed what through the admin routes, and when.

One row per admin request that changes something (any method but GET/HEAD), written after its
answer: the admin token's id (never the token), method, route template, the path's ids, the
status, the id the answer created, the request id and the database's time. Indexed for the
filters of ``GET /v1/admin/audit`` (token, route, resource, each newest first; time range).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("token_id", sa.String(16), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("route", sa.String(255), nullable=False),
        sa.Column("path_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("resource_id", sa.String(64), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_token_id_seq", "audit_log", ["token_id", "seq"])
    op.create_index("ix_audit_log_route_seq", "audit_log", ["route", "seq"])
    op.create_index("ix_audit_log_resource_id_seq", "audit_log", ["resource_id", "seq"])
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
