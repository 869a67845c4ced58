"""App keys as rows of their own: revocable one by one, two live at a time, and apps disabled.

Each app's one key hash moves from ``apps.key_hash`` to a row of ``app_keys`` (a new id, the
app's ``created_at``, no ``last_used_at``). Its ``prefix`` is NULL: those keys were stored only
as a hash, from which no prefix comes back, and the API lists them as legacy keys. Every key
made from now on keeps its first characters as its prefix. The legacy key's id is
``key_`` and its app's id. ``apps.disabled_at`` (NULL: the app
is enabled) refuses every key of a disabled app.

Downgrading moves each app's oldest live key back; a disabled app, or one with no live key,
gets a hash no key has, so it stays refused (newer keys and the key ids are lost).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _sqlite_foreign_keys_off() -> None:
    """SQLite drops a column by rebuilding the table (create, copy, drop, rename), and dropping
    ``apps`` while ``carts`` reference it fails with foreign keys on, which no statement inside
    a transaction turns off. So on SQLite the migrations before this one commit, foreign keys
    go off for this migration-only connection, and this one runs in a transaction of its own,
    checked by ``foreign_key_check`` before it ends (``_sqlite_check``)."""
    if op.get_context().dialect.name == "sqlite":
        op.execute("COMMIT")
        op.execute("PRAGMA foreign_keys = OFF")
        op.execute("BEGIN IMMEDIATE")


def _sqlite_check() -> None:
    """Every reference still names a row (foreign keys were off: nothing else checked them)."""
    context = op.get_context()
    if context.dialect.name == "sqlite" and not context.as_sql:
        broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").all()
        if broken:
            raise RuntimeError(f"migration 0010 broke references: {broken[:5]}")


def upgrade() -> None:
    _sqlite_foreign_keys_off()
    op.create_table(
        "app_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("app_id", sa.String(length=64), nullable=False),
        sa.Column("key_hash", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["app_id"], ["apps.id"], name=op.f("fk_app_keys_app_id_apps")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_app_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_app_keys_key_hash")),
    )
    op.create_index("ix_app_keys_app_id", "app_keys", ["app_id"])
    # The legacy key's id is its app's (minted ids are 24 characters: "key_" + 60 fits them).
    op.execute(
        "INSERT INTO app_keys (id, app_id, key_hash, prefix, created_at)"
        " SELECT 'key_' || substr(id, 1, 60), id, key_hash, NULL, created_at FROM apps"
    )
    with op.batch_alter_table("apps") as batch:  # SQLite rebuilds the table
        batch.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch.drop_constraint("uq_apps_key_hash", type_="unique")
        batch.drop_column("key_hash")
    _sqlite_check()


def downgrade() -> None:
    _sqlite_foreign_keys_off()
    with op.batch_alter_table("apps") as batch:
        batch.add_column(sa.Column("key_hash", sa.String(length=128), nullable=True))
    op.execute(
        "UPDATE apps SET key_hash = (SELECT k.key_hash FROM app_keys k"
        " WHERE k.app_id = apps.id AND k.revoked_at IS NULL"
        " ORDER BY k.created_at, k.id LIMIT 1) WHERE disabled_at IS NULL"
    )
    # No hash of a key: such an app stays refused, as it was.
    op.execute("UPDATE apps SET key_hash = 'no-key-' || id WHERE key_hash IS NULL")
    op.drop_index("ix_app_keys_app_id", table_name="app_keys")
    op.drop_table("app_keys")
    with op.batch_alter_table("apps") as batch:
        batch.alter_column("key_hash", existing_type=sa.String(length=128), nullable=False)
        batch.create_unique_constraint("uq_apps_key_hash", ["key_hash"])
        batch.drop_column("disabled_at")
    _sqlite_check()
