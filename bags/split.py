"""Validate requested lines against the catalog and split them into one bag per merchant.

Everything that can be known before any platform call is checked here, and every problem is
reported at once (not just the first), so the caller can fix its request in one go.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from bags.models import Bag, CatalogSku, Merchant, MerchantStatus, OrderSku
from errors import FieldProblem, InvalidRequest, InvalidSkus, SkuProblem


@dataclass(frozen=True)
class RequestedLine:
    sku_id: str
    quantity: int


@dataclass(frozen=True)
class Limits:
    max_skus: int
    max_bags: int
    max_quantity: int


def merge_duplicates(lines: Sequence[RequestedLine]) -> list[tuple[int, RequestedLine]]:
    """Merge lines with the same sku_id (quantities add), keeping first-seen order.

    Returns (index of the first occurrence in the request, merged line) pairs, so problems
    can name the field the caller sent.
    """
    merged: dict[str, tuple[int, int]] = {}
    for index, line in enumerate(lines):
        first, qty = merged.get(line.sku_id, (index, 0))
        merged[line.sku_id] = (first, qty + line.quantity)
    return [(i, RequestedLine(sku, q)) for sku, (i, q) in merged.items()]


def check_catalog(
    lines: Sequence[tuple[int, RequestedLine]],
    catalog: Mapping[str, CatalogSku],
    currency: str,
) -> None:
    """Raise InvalidSkus listing every unknown, unavailable, paused-merchant or wrong-currency
    SKU."""
    problems = [
        problem
        for index, line in lines
        if (
            problem := sku_problem(
                line.sku_id, catalog.get(line.sku_id), currency, f"skus[{index}].sku_id"
            )
        )
    ]
    if problems:
        raise InvalidSkus(problems)


def sku_problem(
    sku_id: str, sku: CatalogSku | None, currency: str, where: str
) -> SkuProblem | None:
    """Why ``sku_id`` (``sku``: its catalog entry, if any) cannot go in a ``currency`` cart."""
    if sku is None:
        return SkuProblem(sku_id, "UNKNOWN", "unknown sku_id", where)
    if not sku.available:
        return SkuProblem(sku_id, "UNAVAILABLE", "sku is not available", where)
    if sku.merchant_status is MerchantStatus.PAUSED:
        return SkuProblem(
            sku_id, "MERCHANT_PAUSED", "the sku's merchant is paused (merchant unavailable)", where
        )
    if sku.currency != currency:
        return SkuProblem(
            sku_id,
            "CURRENCY_MISMATCH",
            f"sku is priced in {sku.currency}, the cart is in {currency}",
            where,
        )
    return None


def check_lines(lines: Sequence[RequestedLine], limits: Limits) -> list[tuple[int, RequestedLine]]:
    """The bounds that need no catalog, checked before any I/O: the number of lines and each
    SKU's total quantity. Returns the merged lines (see ``merge_duplicates``)."""
    if len(lines) > limits.max_skus:
        raise InvalidRequest(
            [FieldProblem("skus", f"at most {limits.max_skus} lines per cart, got {len(lines)}")]
        )
    merged = merge_duplicates(lines)
    over = [
        FieldProblem(f"skus[{i}].quantity", f"total quantity must be at most {limits.max_quantity}")
        for i, line in merged
        if line.quantity > limits.max_quantity
    ]
    if over:
        raise InvalidRequest(over)
    return merged


def split_into_bags(
    merged: Sequence[tuple[int, RequestedLine]],
    catalog: Mapping[str, CatalogSku],
    merchants: Mapping[str, Merchant],
    currency: str,
    limits: Limits,
    new_id: Callable[[str], str],
) -> list[Bag]:
    """One PENDING bag per merchant, in first-seen order, lines priced from the catalog.

    ``merged`` comes from ``check_lines``; every catalog problem is reported at once.
    """
    check_catalog(merged, catalog, currency)

    bags: dict[str, Bag] = {}
    for _, line in merged:
        sku = catalog[line.sku_id]
        bag = bags.get(sku.merchant_id)
        if bag is None:
            bag = Bag.of_merchant(new_id("bag"), merchants[sku.merchant_id], currency)
            bags[sku.merchant_id] = bag
        bag.skus.append(
            OrderSku(
                id=new_id("osk"),
                sku_id=sku.sku_id,
                name=sku.name,
                quantity=line.quantity,
                price=sku.price,
                line_price=sku.price * line.quantity,
                platform_ref=dict(sku.platform_ref),
            )
        )
    if len(bags) > limits.max_bags:
        raise InvalidRequest(
            [FieldProblem("skus", f"at most {limits.max_bags} merchants per cart, got {len(bags)}")]
        )
    return list(bags.values())
