"""The soak's counting rules (``bench.soak.audit``) on hand-made states, without processes."""

from __future__ import annotations

from collections import Counter
from typing import Any

from bench.soak.audit import DbState, audit, kill_points
from bench.soak.stack import StoreInfo

STORES = [
    StoreInfo("bc", "BIGCOMMERCE", "m-bc", "bc-0"),
    StoreInfo("shop", "SHOPIFY", "m-shop", "shop-0"),
    StoreInfo("ep", "ELASTIC_PATH", "m-ep", "ep-0"),
]


def bag(bag_id: str, merchant: str, status: str, external_id: str | None, soak: str = "s1"):
    return {"id": bag_id, "merchant_id": merchant, "status": status,
            "external_id": external_id, "cart_status": "IN_PROGRESS", "soak": soak}  # fmt: skip


def entry(merchant: str, external_id: str, kind: str = "unknown_create", state: str = "pending"):
    return {"merchant_id": merchant, "external_id": external_id, "kind": kind, "state": state}


def cart(store: str, platform: str, cart_id: str, units: int = 1, bag_id: str | None = None):
    held: dict[str, Any] = {"id": cart_id, "store": store, "platform": platform,
                            "lines": [{"quantity": 1}] * units}  # fmt: skip
    if bag_id is not None:
        held["attributes"] = [{"key": "_multicart_bag_id", "value": bag_id}]
    return held


def state(bags: list[dict[str, Any]], outbox: list[dict[str, Any]]) -> DbState:
    return DbState(bags, outbox, {b["id"]: 1 for b in bags}, Counter())


def test_live_bags_and_pending_entries_account_for_their_carts() -> None:
    db = state(
        [bag("b1", "m-bc", "IN_PROGRESS", "bc-cart"), bag("b2", "m-ep", "IN_PROGRESS", "b2")],
        [entry("m-ep", "b3"), entry("m-bc", "bc-old", kind="delete")],
    )
    held = [cart("bc", "BIGCOMMERCE", "bc-cart"), cart("ep", "ELASTIC_PATH", "b2"),
            cart("ep", "ELASTIC_PATH", "b3"), cart("bc", "BIGCOMMERCE", "bc-old"),
            cart("shop", "SHOPIFY", "emptied", units=0, bag_id="b9")]  # fmt: skip
    counted = audit(db, held, STORES)
    assert (counted.accounted, counted.awaiting_delete, counted.orphans) == (2, 2, 0)
    assert counted.unresolved == 1  # the Elastic Path unknown_create still pending


def test_undetectable_entries_cover_carts_exactly_on_shopify_and_by_count_on_bigcommerce() -> None:
    db = state([], [entry("m-shop", "b1", state="undetectable"),
                    entry("m-bc", "b2", state="undetectable")])  # fmt: skip
    held = [cart("shop", "SHOPIFY", "s1", bag_id="b1"), cart("shop", "SHOPIFY", "s2", bag_id="b7"),
            cart("bc", "BIGCOMMERCE", "c1"), cart("bc", "BIGCOMMERCE", "c2")]  # fmt: skip
    counted = audit(db, held, STORES)
    assert (counted.undetectable_orphans, counted.orphans) == (2, 2)
    assert counted.undetectable_entries == 2


def test_a_second_cart_for_one_bag_is_a_duplicate_and_a_missing_one_dangles() -> None:
    db = state([bag("b1", "m-shop", "IN_PROGRESS", "s1"), bag("b2", "m-ep", "IN_PROGRESS", "b2")],
               [])  # fmt: skip
    held = [cart("shop", "SHOPIFY", "s1", bag_id="b1"), cart("shop", "SHOPIFY", "s2", bag_id="b1")]
    counted = audit(db, held, STORES)
    assert (counted.duplicates, counted.orphans, counted.dangling) == (1, 1, 1)


def test_kill_points_tell_the_three_moments_apart() -> None:
    db = state(
        [bag("e1", "m-ep", "PENDING", None, "before"), bag("e2", "m-ep", "PENDING", None, "made"),
         bag("x", "m-shop", "IN_PROGRESS", "s9", "after"), bag("c", "m-bc", "PENDING", None, "bc")],
        [],
    )  # fmt: skip
    held = [cart("ep", "ELASTIC_PATH", "e2"), cart("ep", "ELASTIC_PATH", "e1", units=0)]
    points = kill_points(db, held, {"before", "made", "after", "bc", "none"}, STORES)
    assert points == Counter({
        "before the platform call": 1, "platform created, before our commit": 1,
        "after the commit": 1, "pending on BigCommerce (cannot tell)": 1,
        "no record (before the platform call)": 1,
    })  # fmt: skip


def test_bigcommerce_carts_are_matched_to_undetectable_entries_per_store() -> None:
    stores = [*STORES, StoreInfo("bc2", "BIGCOMMERCE", "m-bc2", "bc-1")]
    db = state([], [entry("m-bc", "b1", state="undetectable")])
    # The entry is the first store's merchant's: it cannot cover a cart on the second store.
    counted = audit(db, [cart("bc2", "BIGCOMMERCE", "c1")], stores)
    assert (counted.undetectable_orphans, counted.orphans) == (0, 1)
    counted = audit(db, [cart("bc", "BIGCOMMERCE", "c1")], stores)
    assert (counted.undetectable_orphans, counted.orphans) == (1, 0)
