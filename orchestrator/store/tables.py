"""The database schema as SQLAlchemy Core tables: the one description Alembic and the store share.

Core (not the ORM) because the store loads and saves the cart aggregate whole and maps rows to
the ``bags`` dataclasses itself; there is no identity map or lazy loading to reason about.
Every datetime column is ``UTCDateTime``, so both engines hand back tz-aware UTC datetimes.
Changing anything here needs a new migration in ``orchestrator/store/migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    bindparam,
)

ID = 64  # length of the ids we mint (and of caller ids the API bounds the same way)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """A tz-aware UTC datetime on every engine.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is stored as naive
    UTC (a fixed-width string that sorts correctly) and given its UTC zone back on load. Naive
    datetimes are refused: the domain never makes them, and guessing their zone hides bugs.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: multicart stores tz-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _id(name: str, *args: Any, **kw: Any) -> Column[str]:
    return Column(name, String(ID), *args, **kw)


# An app and its API keys (migration 0010): an app holds keys, each revocable on its own, and
# can be disabled whole. A key is kept only as its SHA-256 hash and a visible prefix (NULL for
# the keys made before 0010, whose prefix no hash gives back).
apps = Table(
    "apps",
    metadata,
    _id("id", primary_key=True),
    Column("name", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime, nullable=True),
)

app_keys = Table(
    "app_keys",
    metadata,
    _id("id", primary_key=True),
    _id("app_id", ForeignKey("apps.id"), nullable=False),
    Column("key_hash", String(128), nullable=False, unique=True),
    Column("prefix", String(32), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime, nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
    Index("ix_app_keys_app_id", "app_id"),
)

merchants = Table(
    "merchants",
    metadata,
    _id("id", primary_key=True),
    Column("name", Text, nullable=False),
    Column("platform", String(32), nullable=False),
    Column("connection_ciphertext", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    # ACTIVE or PAUSED (migration 0011): a paused merchant's SKUs go in no new line.
    Column("status", String(16), nullable=False, server_default="ACTIVE"),
)

skus = Table(
    "skus",
    metadata,
    _id("sku_id", primary_key=True),
    _id("merchant_id", ForeignKey("merchants.id"), nullable=False),
    Column("name", Text, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("available", Boolean, nullable=False),
    Column("platform_ref", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_skus_merchant_id", "merchant_id"),
)

# The catalog's version (migration 0006): one row (id 1) whose counter every transaction that
# writes ``merchants`` or ``skus`` bumps; each process's catalog cache polls it
# (``store/catalog_cache.py``) and drops its entries when it moved.
CATALOG_VERSION_ROW = 1
catalog_version = Table(
    "catalog_version",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("version", BigInteger, nullable=False),
)

# Listing is newest first: (app_id, [customer_id,] date_created, id) scanned backwards serves
# ORDER BY date_created DESC, id DESC on both engines, so the indexes can stay ascending.
carts = Table(
    "carts",
    metadata,
    _id("id", primary_key=True),
    _id("app_id", ForeignKey("apps.id"), nullable=False),
    _id("customer_id"),
    Column("name", Text),
    Column("status", String(16), nullable=False),
    Column("currency", String(3), nullable=False),
    _id("app_order_id"),
    Column("metadata", JSON, nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("date_last_modified", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("version", Integer, nullable=False),
    Column("lease_owner", String(128)),
    Column("lease_until", UTCDateTime),
    Index("ix_carts_app_id_date_created_id", "app_id", "date_created", "id"),
    Index("ix_carts_app_id_customer_id", "app_id", "customer_id", "date_created", "id"),
    # The expiry sweeper's scan: live carts whose expires_at has passed (migration 0005; on
    # expires_at alone it would walk every cart that ever expired or was deleted).
    Index("ix_carts_status_expires_at", "status", "expires_at"),
)

bags = Table(
    "bags",
    metadata,
    _id("id", primary_key=True),
    _id("cart_id", ForeignKey("carts.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    _id("merchant_id", nullable=False),
    Column("merchant_name", Text, nullable=False),
    Column("platform", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("status", String(16), nullable=False),
    Column("external_id", Text),
    Column("checkout_url", Text),
    Column("platform_sub_total", BigInteger),
    # The platform's last confirmed change to the external cart (migration 0005): its own
    # cart expiry counts from there.
    Column("platform_changed_at", UTCDateTime),
    Index("ix_bags_cart_id_position", "cart_id", "position"),
    Index("ix_bags_merchant_id_external_id", "merchant_id", "external_id"),
)

# One live bag per external cart (migration 0004): a saved reference and a cart multicart made
# both count, so ``POST /v1/cart-references`` of a cart some bag already holds is a 409 however
# many requests race (``store/references.py``). A DELETED bag lets go of its external cart.
LIVE_EXTERNAL_CART = bags.c.external_id.is_not(None) & (bags.c.status != "DELETED")
Index(
    "uq_bags_merchant_id_external_id",
    bags.c.merchant_id,
    bags.c.external_id,
    unique=True,
    sqlite_where=LIVE_EXTERNAL_CART,
    postgresql_where=LIVE_EXTERNAL_CART,
)

# The reconciler's scan (migration 0007): only unsettled bags are in it. The statuses are
# rendered into the SQL (``literal_execute``): SQLite uses a partial index only for a query
# whose WHERE names the same constants, never for bound parameters.
UNSETTLED_BAG = bags.c.status.in_(
    bindparam("unsettled_statuses", ["PENDING", "UNKNOWN"], expanding=True, literal_execute=True)
)
Index(
    "ix_bags_unsettled_cart_id",
    bags.c.cart_id,
    sqlite_where=UNSETTLED_BAG,
    postgresql_where=UNSETTLED_BAG,
)

order_skus = Table(
    "order_skus",
    metadata,
    _id("id", primary_key=True),
    _id("bag_id", ForeignKey("bags.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    _id("sku_id", nullable=False),
    Column("name", Text, nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("line_price", BigInteger, nullable=False),
    Column("platform_ref", JSON, nullable=False),
    Column("external_id", Text),
    Column("available", Boolean, nullable=False),
    Index("ix_order_skus_bag_id_position", "bag_id", "position"),
)

order_errors = Table(
    "order_errors",
    metadata,
    _id("id", primary_key=True),
    _id("cart_id", ForeignKey("carts.id", ondelete="CASCADE"), nullable=False),
    Column("position", Integer, nullable=False),
    _id("bag_id"),
    Column("entity_id", Text, nullable=False),
    Column("entity_type", String(32), nullable=False),
    Column("type", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("date_created", UTCDateTime, nullable=False),
    Column("platform", String(32)),
    Column("cause", String(64), nullable=False),
    Column("retryable", Boolean, nullable=False),
    Index("ix_order_errors_cart_id_position", "cart_id", "position"),
)

# The outbox of external carts still to delete. No foreign keys on purpose: an entry must
# outlive its cart's record (a cart is hard-deleted while its external carts are still queued).
# ``kind`` is ``delete`` (the external id is known) or ``unknown_create`` (a create whose
# outcome is unknown: ``external_id`` is the reference it was sent with, the bag's id).
# ``state`` is ``pending`` (worked on), ``dead`` (a permanent failure: kept, counted, not
# retried) or ``undetectable`` (the platform cannot be asked whether the cart exists).
# ``claimed_until``: a worker's claim, so two processes never work the same entry.
external_deletes = Table(
    "external_deletes",
    metadata,
    _id("id", primary_key=True),
    _id("cart_id", nullable=False),
    _id("bag_id", nullable=False),
    _id("merchant_id", nullable=False),
    Column("platform", String(32), nullable=False),
    Column("external_id", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False, server_default="delete"),
    Column("state", String(16), nullable=False, server_default="pending"),
    Column("claimed_until", UTCDateTime),
    # Set by the first real failure; the entry is given up once a failure comes
    # MULTICART_OUTBOX_GIVE_UP_AFTER_S after it (migration 0009).
    Column("first_failed_at", UTCDateTime),
    Index("ix_external_deletes_next_attempt_at", "next_attempt_at"),
    Index("ix_external_deletes_state_next_attempt_at", "state", "next_attempt_at"),
)

# Idempotency-Key records (``store/idempotency.py``): one per (scope, key), the primary key being
# the unique constraint that lets exactly one request claim a key on both engines. ``scope`` is
# the app's id, or ``admin`` for the admin routes. While the first request runs, ``status`` is
# NULL and ``locked_until`` bounds the claim (a crashed process's key frees itself); then the
# answer is kept until ``expires_at`` (24 h after the claim). No foreign key: the admin scope is
# no app, and purging must never wait on the apps table.
idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(ID), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("locked_until", UTCDateTime),
    Column("status", Integer),
    Column("headers", JSON),
    Column("body", LargeBinary),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    # The cart the claim's request wrote, and how far it got (migration 0008).
    Column("cart_id", String(ID)),
    Column("phase", String(16)),
    Index("ix_idempotency_keys_expires_at", "expires_at"),
)

# The admin audit log (migration 0012, ``store/audit.py``): one row per admin request that
# changes something, written after its answer. ``seq`` orders it (newest first pages backwards
# on it); ``at`` is the database's time; ``token_id`` names the admin token, never holds it
# (``http/admin_identity.py``); ``resource_id`` is the id the answer created, else the path's
# last id. No body is kept: admin bodies carry credentials. No foreign key: entries outlive what
# they name.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("token_id", String(16), nullable=False),
    Column("method", String(8), nullable=False),
    Column("route", String(255), nullable=False),
    Column("path_ids", JSON, nullable=False),
    Column("status", Integer, nullable=False),
    _id("resource_id"),
    Column("request_id", String(128), nullable=False),
    Index("ix_audit_log_token_id_seq", "token_id", "seq"),
    Index("ix_audit_log_route_seq", "route", "seq"),
    Index("ix_audit_log_resource_id_seq", "resource_id", "seq"),
    Index("ix_audit_log_at", "at"),
)

# Children first: the order in which rows can be deleted without breaking a foreign key.
ALL_TABLES: tuple[Table, ...] = (
    audit_log,
    idempotency_keys,
    catalog_version,
    external_deletes,
    order_errors,
    order_skus,
    bags,
    carts,
    skus,
    merchants,
    app_keys,
    apps,
)
