"""Rows <-> the cart aggregate: how a ``Cart`` with its bags, lines and errors is written and read.

Split from ``carts.py`` so that ``CartStore`` stays about transactions and this module about
shape. Everything here runs on a connection ``CartStore`` already opened inside a transaction;
nothing here commits. Children keep their order through ``position`` columns. Loading a page of
carts takes a fixed number of queries (carts, bags, order skus, errors), never one per cart.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Executable, Row, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bags import Bag, BagStatus, Cart, CartStatus, OrderError, OrderSku, Platform
from orchestrator.store.tables import bags, order_errors, order_skus


def cart_values(cart: Cart) -> dict[str, Any]:
    """The carts row of ``cart`` except ``version`` and the lease columns."""
    return {
        "id": cart.id,
        "app_id": cart.app_id,
        "customer_id": cart.customer_id,
        "name": cart.name,
        "status": cart.status.value,
        "currency": cart.currency,
        "app_order_id": cart.app_order_id,
        "metadata": dict(cart.metadata),
        "date_created": cart.date_created,
        "date_last_modified": cart.date_last_modified,
        "expires_at": cart.expires_at,
    }


def bag_rows(cart: Cart) -> list[dict[str, Any]]:
    return [
        {
            "id": bag.id,
            "cart_id": cart.id,
            "position": i,
            "merchant_id": bag.merchant_id,
            "merchant_name": bag.merchant_name,
            "platform": bag.platform.value,
            "currency": bag.currency,
            "status": bag.status.value,
            "external_id": bag.external_id,
            "checkout_url": bag.checkout_url,
            "platform_sub_total": bag.platform_sub_total,
            "platform_changed_at": bag.platform_changed_at,
        }
        for i, bag in enumerate(cart.bags)
    ]


def sku_rows(cart: Cart) -> list[dict[str, Any]]:
    return [
        {
            "id": line.id,
            "bag_id": bag.id,
            "position": i,
            "sku_id": line.sku_id,
            "name": line.name,
            "quantity": line.quantity,
            "price": line.price,
            "line_price": line.line_price,
            "platform_ref": dict(line.platform_ref),
            "external_id": line.external_id,
            "available": line.available,
        }
        for bag in cart.bags
        for i, line in enumerate(bag.skus)
    ]


def error_rows(cart: Cart) -> list[dict[str, Any]]:
    return [
        {
            "id": err.id,
            "cart_id": cart.id,
            "position": i,
            "bag_id": err.bag_id,
            "entity_id": err.entity_id,
            "entity_type": err.entity_type,
            "type": err.type,
            "message": err.message,
            "date_created": err.date_created,
            "platform": err.platform.value if err.platform is not None else None,
            "cause": err.cause,
            "retryable": err.retryable,
        }
        for i, err in enumerate(cart.errors)
    ]


async def insert_children(conn: AsyncConnection, cart: Cart) -> None:
    """Insert the bags, order skus and errors of ``cart`` (their rows must not exist)."""
    for statement, rows in (
        (INSERT_BAGS, bag_rows(cart)),
        (INSERT_LINES, sku_rows(cart)),
        (INSERT_ERRORS, error_rows(cart)),
    ):
        if rows:
            await conn.execute(statement, rows)


INSERT_BAGS, INSERT_LINES, INSERT_ERRORS = insert(bags), insert(order_skus), insert(order_errors)

# Targeted updates for a cart whose bags and lines already exist (the end of a create):
# fewer statements and no index churn, compared with deleting and re-inserting the children.
BAG_OUTCOME = (
    update(bags)
    .where(bags.c.id == bindparam("row_id"))
    .values(
        status=bindparam("status"),
        external_id=bindparam("external_id"),
        checkout_url=bindparam("checkout_url"),
        platform_sub_total=bindparam("platform_sub_total"),
        platform_changed_at=bindparam("platform_changed_at"),
    )
)
LINE_OUTCOME = (
    update(order_skus)
    .where(order_skus.c.id == bindparam("row_id"))
    .values(
        quantity=bindparam("quantity"),
        price=bindparam("price"),
        line_price=bindparam("line_price"),
        external_id=bindparam("external_id"),
        available=bindparam("available"),
    )
)


_OUTCOME_FIELDS = {
    BAG_OUTCOME: (
        "status",
        "external_id",
        "checkout_url",
        "platform_sub_total",
        "platform_changed_at",
    ),
    LINE_OUTCOME: ("quantity", "price", "line_price", "external_id", "available"),
}


def children_rows(cart: Cart) -> dict[Executable, list[dict[str, Any]]]:
    """The rows ``insert_children`` writes, per statement (for the group commit)."""
    return {
        INSERT_BAGS: bag_rows(cart),
        INSERT_LINES: sku_rows(cart),
        INSERT_ERRORS: error_rows(cart),
    }


def outcome_rows(cart: Cart) -> dict[Executable, list[dict[str, Any]]]:
    """Bag and line outcomes over their existing rows, and the cart's errors to insert: what
    the end of a create writes, per statement (for the group commit)."""
    out: dict[Executable, list[dict[str, Any]]] = {}
    for statement, rows in ((BAG_OUTCOME, bag_rows(cart)), (LINE_OUTCOME, sku_rows(cart))):
        fields = _OUTCOME_FIELDS[statement]
        out[statement] = [{"row_id": r["id"], **{k: r[k] for k in fields}} for r in rows]
    out[INSERT_ERRORS] = error_rows(cart)
    return out


async def delete_children(conn: AsyncConnection, cart_id: str) -> None:
    """Delete the bags, order skus and errors of one cart (not relying on ON DELETE CASCADE)."""
    bag_ids = select(bags.c.id).where(bags.c.cart_id == cart_id).scalar_subquery()
    await conn.execute(delete(order_skus).where(order_skus.c.bag_id.in_(bag_ids)))
    await conn.execute(delete(bags).where(bags.c.cart_id == cart_id))
    await conn.execute(delete(order_errors).where(order_errors.c.cart_id == cart_id))


async def load_carts(
    conn: AsyncConnection, cart_rows: Sequence[Row[*tuple[Any, ...]]]
) -> list[Cart]:
    """Build the aggregates of ``cart_rows`` (in their order) with three more queries."""
    if not cart_rows:
        return []
    ids = [row.id for row in cart_rows]
    bag_result = await conn.execute(
        select(bags).where(bags.c.cart_id.in_(ids)).order_by(bags.c.cart_id, bags.c.position)
    )
    sku_result = await conn.execute(
        select(order_skus)
        .join(bags, bags.c.id == order_skus.c.bag_id)
        .where(bags.c.cart_id.in_(ids))
        .order_by(order_skus.c.bag_id, order_skus.c.position)
    )
    error_result = await conn.execute(
        select(order_errors)
        .where(order_errors.c.cart_id.in_(ids))
        .order_by(order_errors.c.cart_id, order_errors.c.position)
    )
    lines: defaultdict[str, list[OrderSku]] = defaultdict(list)
    for row in sku_result:
        lines[row.bag_id].append(
            OrderSku(
                id=row.id,
                sku_id=row.sku_id,
                name=row.name,
                quantity=row.quantity,
                price=row.price,
                line_price=row.line_price,
                platform_ref=row.platform_ref,
                external_id=row.external_id,
                available=row.available,
            )
        )
    cart_bags: defaultdict[str, list[Bag]] = defaultdict(list)
    for row in bag_result:
        cart_bags[row.cart_id].append(
            Bag(
                id=row.id,
                merchant_id=row.merchant_id,
                merchant_name=row.merchant_name,
                platform=Platform(row.platform),
                currency=row.currency,
                status=BagStatus(row.status),
                skus=lines.get(row.id, []),
                external_id=row.external_id,
                checkout_url=row.checkout_url,
                platform_sub_total=row.platform_sub_total,
                platform_changed_at=row.platform_changed_at,
            )
        )
    errors: defaultdict[str, list[OrderError]] = defaultdict(list)
    for row in error_result:
        errors[row.cart_id].append(
            OrderError(
                id=row.id,
                order_id=row.cart_id,
                bag_id=row.bag_id,
                entity_id=row.entity_id,
                type=row.type,
                message=row.message,
                date_created=row.date_created,
                platform=Platform(row.platform) if row.platform is not None else None,
                cause=row.cause,
                retryable=row.retryable,
                entity_type=row.entity_type,
            )
        )
    return [
        Cart(
            id=row.id,
            app_id=row.app_id,
            currency=row.currency,
            date_created=row.date_created,
            date_last_modified=row.date_last_modified,
            expires_at=row.expires_at,
            status=CartStatus(row.status),
            customer_id=row.customer_id,
            name=row.name,
            app_order_id=row.app_order_id,
            metadata=dict(row.metadata),
            bags=cart_bags.get(row.id, []),
            errors=errors.get(row.id, []),
            version=row.version,
        )
        for row in cart_rows
    ]


def encode_cursor(date_created: datetime, cart_id: str) -> str:
    """An opaque urlsafe cursor holding the last listed cart's (date_created, id)."""
    raw = json.dumps([date_created.isoformat(), cart_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (date_created, id) of ``cursor``; ``ValueError`` if this module did not make it.

    A cursor is the caller's input: deep JSON (``RecursionError``), a date that overflows when
    moved to UTC (``OverflowError``) or a NUL in the id (PostgreSQL refuses it) are all
    "malformed", never a 500.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
        if not (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, str) for v in value)
            and value[1]
            and len(value[1]) <= 64
            and value[1].isprintable()
        ):
            raise ValueError("not a cursor")
        stamp = datetime.fromisoformat(value[0])
        if stamp.tzinfo is None:
            raise ValueError("not a cursor")
        stamp = stamp.astimezone(UTC)
    except (
        ValueError,
        TypeError,
        binascii.Error,
        UnicodeDecodeError,
        RecursionError,
        OverflowError,
    ) as exc:
        raise ValueError(f"malformed cursor {cursor[:80]!r}") from exc
    return stamp, value[1]
