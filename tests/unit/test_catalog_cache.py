"""The catalog cache alone: fills, the generation guard, eviction, staleness and the off switch."""

from __future__ import annotations

import pytest

from adapters.bigcommerce import BIGCOMMERCE
from bags.models import CatalogSku, Merchant
from orchestrator.store.catalog_cache import STALE_FACTOR, CatalogCache, Owner


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def owner(merchant_id: str = "mer_a") -> Owner:
    return Merchant(merchant_id, "A", BIGCOMMERCE), b"sealed-" + merchant_id.encode()


def sku(sku_id: str, merchant_id: str = "mer_a", price: int = 100) -> CatalogSku:
    return CatalogSku(sku_id, merchant_id, sku_id, price, "USD", True, {"product_id": 1})


def cache(clock: Clock, *, refresh_s: float = 1.0, max_entries: int = 100) -> CatalogCache:
    return CatalogCache(refresh_s=refresh_s, max_entries=max_entries, clock=clock)


def test_a_fill_is_served_and_an_unknown_id_always_goes_to_the_database() -> None:
    catalog = cache(Clock())
    assert catalog.skus(["s1"]) == ({}, {}, ["s1"])

    catalog.put_skus(catalog.begin(), [(sku("s1"), owner()), (sku("s2", "mer_b"), owner("mer_b"))])
    found, owners, missing = catalog.skus(["s1", "s2", "s_unknown"])
    assert found == {"s1": sku("s1"), "s2": sku("s2", "mer_b")}
    assert owners == {"mer_a": owner(), "mer_b": owner("mer_b")}
    assert missing == ["s_unknown"]  # misses are never remembered

    catalog.put_merchants(catalog.begin(), [owner("mer_c")])
    assert catalog.merchants(["mer_c", "mer_x"]) == ({"mer_c": owner("mer_c")}, ["mer_x"])


def test_a_fill_begun_before_an_invalidation_stores_nothing() -> None:
    catalog = cache(Clock())
    ticket = catalog.begin()  # a lookup starts reading the old rows...
    catalog.invalidate()  # ...a write commits meanwhile
    catalog.put_skus(ticket, [(sku("s1", price=100), owner())])
    catalog.put_merchants(ticket, [owner()])
    assert catalog.skus(["s1"])[2] == ["s1"]
    assert catalog.merchants(["mer_a"])[1] == ["mer_a"]

    after = catalog.begin()  # a fill begun after the invalidation is kept
    catalog.put_skus(after, [(sku("s1", price=200), owner())])
    assert catalog.skus(["s1"])[0] == {"s1": sku("s1", price=200)}


def test_the_poll_drops_the_cache_when_the_version_moves_and_on_its_first_read() -> None:
    catalog = cache(Clock())
    catalog.put_skus(catalog.begin(), [(sku("s1"), owner())])
    assert catalog.observe(7, catalog.begin()[1]) is True  # first poll: filled before, dropped
    assert len(catalog) == 0

    catalog.put_skus(catalog.begin(), [(sku("s1"), owner())])
    assert catalog.observe(7, catalog.begin()[1]) is False  # unchanged: kept
    assert catalog.skus(["s1"])[0] == {"s1": sku("s1")}

    ticket = catalog.begin()
    assert catalog.observe(8, catalog.begin()[1]) is True  # another process wrote
    catalog.put_skus(ticket, [(sku("s1"), owner())])  # a fill that straddled the poll
    assert catalog.skus(["s1"])[2] == ["s1"]


def test_entries_unconfirmed_for_three_refresh_intervals_are_not_used() -> None:
    clock = Clock()
    catalog = cache(clock, refresh_s=1.0)
    catalog.observe(1, clock())
    catalog.put_skus(catalog.begin(), [(sku("s1"), owner())])
    catalog.put_merchants(catalog.begin(), [owner()])

    clock.now += STALE_FACTOR * 1.0  # the poll has failed since: still within the bound
    assert catalog.skus(["s1"])[2] == []
    clock.now += 0.01
    assert catalog.skus(["s1"])[2] == ["s1"]
    assert catalog.merchants(["mer_a"])[1] == ["mer_a"]

    catalog.observe(1, clock())  # the poll answers again, version unchanged: confirmed
    assert catalog.skus(["s1"])[2] == []
    assert catalog.merchants(["mer_a"])[1] == []


def test_least_recently_used_entries_go_first() -> None:
    catalog = cache(Clock(), max_entries=2)
    catalog.put_skus(catalog.begin(), [(sku("s1"), owner()), (sku("s2"), owner())])
    catalog.skus(["s1"])  # s1 used: s2 is now the oldest
    catalog.put_skus(catalog.begin(), [(sku("s3"), owner())])
    assert catalog.skus(["s1", "s2", "s3"])[2] == ["s2"]

    catalog.put_merchants(catalog.begin(), [owner("m1"), owner("m2"), owner("m3")])
    assert catalog.merchants(["m1", "m2", "m3"])[1] == ["m1"]


def test_refresh_zero_turns_the_cache_off() -> None:
    catalog = cache(Clock(), refresh_s=0)
    assert not catalog.enabled
    catalog.put_skus(catalog.begin(), [(sku("s1"), owner())])
    catalog.put_merchants(catalog.begin(), [owner()])
    assert catalog.skus(["s1"])[2] == ["s1"]
    assert catalog.merchants(["mer_a"])[1] == ["mer_a"]
    assert len(catalog) == 0


@pytest.mark.parametrize(("refresh_s", "max_entries"), [(-1.0, 10), (1.0, 0)])
def test_bad_bounds_are_refused(refresh_s: float, max_entries: int) -> None:
    with pytest.raises(ValueError):
        CatalogCache(refresh_s=refresh_s, max_entries=max_entries)
