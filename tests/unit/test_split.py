"""Splitting a requested cart into one bag per merchant, and what fails before any platform call."""

from itertools import count

import pytest

from adapters.bigcommerce import BIGCOMMERCE
from bags.models import CatalogSku, Merchant
from bags.split import Limits, RequestedLine, check_lines, split_into_bags
from bags.status import BagStatus
from errors import InvalidRequest, InvalidSkus

MERCHANTS = {
    "m1": Merchant("m1", "Outdoors", BIGCOMMERCE),
    "m2": Merchant("m2", "Kitchen", BIGCOMMERCE),
}
CATALOG = {
    "tent": CatalogSku("tent", "m1", "Tent", 12999, "USD", True, {"product_id": 1}),
    "lamp": CatalogSku("lamp", "m1", "Lamp", 2999, "USD", True, {"product_id": 2, "variant_id": 5}),
    "pan": CatalogSku("pan", "m2", "Pan", 4550, "USD", True, {"product_id": 9}),
    "gone": CatalogSku("gone", "m2", "Gone", 100, "USD", False, {"product_id": 10}),
    "euro": CatalogSku("euro", "m2", "Euro", 100, "EUR", True, {"product_id": 11}),
}
LIMITS = Limits(max_skus=10, max_bags=2, max_quantity=5)


def ids() -> object:
    counter = count()
    return lambda prefix: f"{prefix}_{next(counter)}"


def split(lines: list[RequestedLine], limits: Limits = LIMITS) -> list:  # type: ignore[type-arg]
    merged = check_lines(lines, limits)
    return split_into_bags(merged, CATALOG, MERCHANTS, "USD", limits, ids())  # type: ignore[arg-type]


def test_one_pending_bag_per_merchant_in_first_seen_order() -> None:
    bags = split([RequestedLine("pan", 1), RequestedLine("tent", 2), RequestedLine("lamp", 1)])
    assert [b.merchant_id for b in bags] == ["m2", "m1"]
    assert all(b.status is BagStatus.PENDING for b in bags)
    assert [s.sku_id for s in bags[1].skus] == ["tent", "lamp"]
    tent = bags[1].skus[0]
    assert (tent.price, tent.quantity, tent.line_price) == (12999, 2, 25998)
    assert bags[1].sub_total == 25998 + 2999


def test_duplicate_sku_ids_are_merged() -> None:
    bags = split([RequestedLine("tent", 1), RequestedLine("pan", 1), RequestedLine("tent", 2)])
    tent_lines = [s for b in bags for s in b.skus if s.sku_id == "tent"]
    assert len(tent_lines) == 1 and tent_lines[0].quantity == 3


def test_every_offending_sku_is_listed_at_once() -> None:
    with pytest.raises(InvalidSkus) as caught:
        split(
            [
                RequestedLine("nope", 1),
                RequestedLine("tent", 1),
                RequestedLine("gone", 1),
                RequestedLine("euro", 1),
            ]
        )
    skus = caught.value.data["skus"]
    assert [(s["sku_id"], s["reason"]) for s in skus] == [
        ("nope", "UNKNOWN"),
        ("gone", "UNAVAILABLE"),
        ("euro", "CURRENCY_MISMATCH"),
    ]
    assert [f["field"] for f in caught.value.data["fields"]] == [
        "skus[0].sku_id",
        "skus[2].sku_id",
        "skus[3].sku_id",
    ]


def test_merged_quantity_above_the_maximum_is_refused() -> None:
    with pytest.raises(InvalidRequest) as caught:
        split([RequestedLine("tent", 3), RequestedLine("tent", 3)])
    assert caught.value.data["fields"][0]["field"] == "skus[0].quantity"


def test_limits_on_lines_and_merchants() -> None:
    with pytest.raises(InvalidRequest):
        split([RequestedLine("tent", 1)] * 3, Limits(max_skus=2, max_bags=5, max_quantity=5))
    with pytest.raises(InvalidRequest) as caught:
        split(
            [RequestedLine("tent", 1), RequestedLine("pan", 1)],
            Limits(max_skus=5, max_bags=1, max_quantity=5),
        )
    assert "merchants" in caught.value.data["fields"][0]["message"]


def test_empty_request_gives_no_bags() -> None:
    assert split([]) == []
