"""The catalog cache across processes (docs/api.md, the staleness sentence): two
`multicart serve` on one database; an admin change through one is seen by the other's next
creates within ``MULTICART_CATALOG_REFRESH_S`` and by the one that made it at once."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from examples.client import Multicart
from tests.e2e.conftest import Stack
from tests.support.launch import Process, running, start_orchestrator

pytestmark = pytest.mark.e2e

REFRESH_S = 1.0  # the default MULTICART_CATALOG_REFRESH_S, which both processes run with
# The poll's own read and a loaded test machine's request latency on top of the bound:
# generous, since the failure it guards against is a process that never sees the change.
MARGIN_S = 5.0


@pytest.fixture
def second(e2e: Stack, workdir: Path) -> Iterator[Process]:
    """Process B: another `multicart serve` with the stack's settings, on its database."""
    env = e2e.api_proc.env
    assert "MULTICART_CATALOG_REFRESH_S" not in env  # both at the default, REFRESH_S
    proc = start_orchestrator(workdir, env, name="second")
    try:
        yield proc
    finally:
        proc.stop()


def seen_within(check: Callable[[], bool], bound_s: float) -> float:
    """Seconds until ``check()`` first held (polled; fails the test past ``bound_s``)."""
    start = time.monotonic()
    while not check():
        elapsed = time.monotonic() - start
        assert elapsed < bound_s, f"not seen within {bound_s} s"
        time.sleep(0.02)
    return time.monotonic() - start


def new_sku(e2e: Stack) -> Callable[..., dict[str, Any]]:
    """A builder of one new SKU (a fresh id) of a BigCommerce store, with fields changed.

    Its merchant is a new one on that store: the session's merchants keep the catalog the
    other tests match against (a saved reference looks its lines up among its merchant's SKUs).
    """
    store = next(s for s in e2e.sandbox.stores() if s["platform"] == "BIGCOMMERCE")
    product = next(p for p in store["products"] if not p.get("trigger"))
    tag = f"cache-{secrets.token_hex(4)}"
    merchant = e2e.admin.create_merchant(tag, store["platform"], store["connection"])
    fields = {
        "sku_id": tag,
        "merchant_id": merchant["id"],
        "name": product["name"],
        "price": product["price"],
        "currency": product["currency"],
        "available": True,
        "platform_ref": product["platform_ref"],
    }
    return lambda **changed: {**fields, **changed}


def on(proc: Process, api: Multicart) -> Multicart:
    """``api``'s app, talking to ``proc``."""
    return Multicart(proc.url, api_key=api.http.headers["Authorization"].removeprefix("Bearer "))


def previewed_price(api: Multicart, sku_id: str) -> int:
    return int(api.preview([(sku_id, 1)])["bags"][0]["sub_total"])


def test_an_admin_change_reaches_every_process_within_the_refresh_bound(
    e2e: Stack, second: Process
) -> None:
    sku = new_sku(e2e)
    sku_id = sku()["sku_id"]
    api_a = e2e.new_app("cache-a")  # process A: the stack's; the admin writes through it
    api_b = on(second, api_a)

    e2e.admin.upsert_skus([sku(price=1000)])
    # A new SKU is seen by both at once (misses are not cached); B now holds it.
    assert previewed_price(api_b, sku_id) == 1000 and previewed_price(api_a, sku_id) == 1000
    assert api_b.create_cart([(sku_id, 1)])["status"] == "IN_PROGRESS"

    e2e.admin.upsert_skus([sku(price=2000)])
    assert previewed_price(api_a, sku_id) == 2000  # the process that made the change: at once
    took = seen_within(lambda: previewed_price(api_b, sku_id) == 2000, REFRESH_S + MARGIN_S)
    assert took <= REFRESH_S + MARGIN_S

    e2e.admin.upsert_skus([sku(price=2000, available=False)])
    refused = api_a.create_cart_response([(sku_id, 1)])  # A's next create: at once
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_skus"

    def b_refuses() -> bool:
        answer = api_b.create_cart_response([(sku_id, 1)])
        assert answer.status_code in (201, 400), answer.text
        return answer.status_code == 400

    took = seen_within(b_refuses, REFRESH_S + MARGIN_S)
    assert took <= REFRESH_S + MARGIN_S


def test_a_process_serves_its_cache_until_its_poll(e2e: Stack, workdir: Path) -> None:
    """The cache is really on in `multicart serve`: with a long refresh, process C keeps the
    price it read while A (which made the change) shows the new one; a new SKU is seen at once."""
    env = {**e2e.api_proc.env, "MULTICART_CATALOG_REFRESH_S": "60"}
    with running(proc := start_orchestrator(workdir, env, name="long-refresh")):
        sku = new_sku(e2e)
        sku_id = sku()["sku_id"]
        api_a = e2e.new_app("cache-c")
        api_c = on(proc, api_a)
        e2e.admin.upsert_skus([sku(price=1000)])
        assert previewed_price(api_c, sku_id) == 1000
        e2e.admin.upsert_skus([sku(price=3000)])
        assert previewed_price(api_a, sku_id) == 3000
        assert previewed_price(api_c, sku_id) == 1000  # stale: its poll is a minute away
        other = sku(sku_id=f"{sku_id}-new", price=4000)
        e2e.admin.upsert_skus([other])
        assert previewed_price(api_c, other["sku_id"]) == 4000  # an unknown id: read at once
