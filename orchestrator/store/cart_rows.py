"""Rows <-> the cart aggregate: how a ``Cart`` with its bags, lines and errors is written and read.

Split from ``carts.py`` so that ``CartStore`` stays about transactions and this module about
shape. Everything here runs on a connection ``CartStore`` already opened inside a transaction;
nothing here commits. Children keep their order through ``position`` columns. Loading a page of
carts takes a fixed number of queries (carts, bags, order skus, errors), never one per cart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Executable, Row, Table, Update, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bags import Bag, BagStatus, Cart, CartStatus, OrderError, OrderSku, Platform
from orchestrator.store.columns import copied
from orchestrator.store.tables import bags, order_errors, order_skus

# Columns holding the domain object's attribute of the same name as it is, written and read
# alike; each table's other columns (its parent, position, enums, JSON) are spelled out below.
_CART_COPIED = (
    "id",
    "app_id",
    "customer_id",
    "name",
    "currency",
    "app_order_id",
    "date_created",
    "date_last_modified",
    "expires_at",
)
_BAG_COPIED = (
    "id",
    "merchant_id",
    "merchant_name",
    "currency",
    "external_id",
    "checkout_url",
    "platform_sub_total",
    "platform_changed_at",
)
_LINE_COPIED = (
    "id",
    "sku_id",
    "name",
    "quantity",
    "price",
    "line_price",
    "external_id",
    "available",
)
_ERROR_COPIED = (
    "id",
    "bag_id",
    "entity_id",
    "entity_type",
    "type",
    "message",
    "date_created",
    "cause",
    "retryable",
)

AnyRow = Row[*tuple[Any, ...]]
T = TypeVar("T")


def cart_values(cart: Cart) -> dict[str, Any]:
    """The carts row of ``cart`` except ``version`` and the lease columns."""
    return {
        **copied(cart, _CART_COPIED),
        "status": cart.status.value,
        "metadata": dict(cart.metadata),
    }


def changeable_values(cart: Cart) -> dict[str, Any]:
    """``cart_values`` without the columns that never change (the key and the owning app)."""
    return {k: v for k, v in cart_values(cart).items() if k not in ("id", "app_id")}


def bag_rows(cart: Cart) -> list[dict[str, Any]]:
    return [
        {
            **copied(bag, _BAG_COPIED),
            "cart_id": cart.id,
            "position": i,
            "platform": bag.platform,
            "status": bag.status.value,
        }
        for i, bag in enumerate(cart.bags)
    ]


def sku_rows(cart: Cart) -> list[dict[str, Any]]:
    return [
        {
            **copied(line, _LINE_COPIED),
            "bag_id": bag.id,
            "position": i,
            "platform_ref": dict(line.platform_ref),
        }
        for bag in cart.bags
        for i, line in enumerate(bag.skus)
    ]


def error_rows(cart: Cart) -> list[dict[str, Any]]:
    return [
        {
            **copied(err, _ERROR_COPIED),
            "cart_id": cart.id,
            "position": i,
            "platform": err.platform,
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
_BAG_OUTCOME_FIELDS = (
    "status",
    "external_id",
    "checkout_url",
    "platform_sub_total",
    "platform_changed_at",
)
_LINE_OUTCOME_FIELDS = ("quantity", "price", "line_price", "external_id", "available")


def _outcome_update(table: Table, fields: Sequence[str]) -> Update:
    """An UPDATE of ``fields`` of the row whose id is ``row_id``, each from its own parameter."""
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({field: bindparam(field) for field in fields})
    )


BAG_OUTCOME = _outcome_update(bags, _BAG_OUTCOME_FIELDS)
LINE_OUTCOME = _outcome_update(order_skus, _LINE_OUTCOME_FIELDS)
_OUTCOME_FIELDS = {BAG_OUTCOME: _BAG_OUTCOME_FIELDS, LINE_OUTCOME: _LINE_OUTCOME_FIELDS}


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


async def load_carts(conn: AsyncConnection, cart_rows: Sequence[AnyRow]) -> list[Cart]:
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
    lines = _grouped(sku_result, "bag_id", _line)
    cart_bags = _grouped(bag_result, "cart_id", lambda row: _bag(row, lines.get(row.id, [])))
    errors = _grouped(error_result, "cart_id", _error)
    return [_cart(row, cart_bags.get(row.id, []), errors.get(row.id, [])) for row in cart_rows]


def _grouped(
    rows: Iterable[AnyRow], parent: str, build: Callable[[AnyRow], T]
) -> defaultdict[str, list[T]]:
    """``build`` of each row, listed under the row's ``parent`` column, in the rows' order."""
    grouped: defaultdict[str, list[T]] = defaultdict(list)
    for row in rows:
        grouped[getattr(row, parent)].append(build(row))
    return grouped


def _line(row: AnyRow) -> OrderSku:
    return OrderSku(**copied(row, _LINE_COPIED), platform_ref=row.platform_ref)


def _bag(row: AnyRow, lines: list[OrderSku]) -> Bag:
    return Bag(
        **copied(row, _BAG_COPIED),
        platform=Platform(row.platform),
        status=BagStatus(row.status),
        skus=lines,
    )


def _error(row: AnyRow) -> OrderError:
    return OrderError(
        **copied(row, _ERROR_COPIED),
        order_id=row.cart_id,
        platform=Platform(row.platform) if row.platform is not None else None,
    )


def _cart(row: AnyRow, cart_bags: list[Bag], errors: list[OrderError]) -> Cart:
    return Cart(
        **copied(row, _CART_COPIED),
        status=CartStatus(row.status),
        metadata=dict(row.metadata),
        bags=cart_bags,
        errors=errors,
        version=row.version,
    )
