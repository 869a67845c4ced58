"""A merchant's change across processes (docs/api.md, PATCH /v1/admin/merchants/{id}): two
`multicart serve` on one database; a rotated token or a pause made through one is used by the
other's next creates within ``MULTICART_CATALOG_REFRESH_S`` (plus one poll), and at once by the
one that answered."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from examples.client import Multicart
from tests.conftest import one_engine
from tests.e2e.conftest import Stack
from tests.e2e.test_catalog_cache_e2e import MARGIN_S, REFRESH_S, on, seen_within
from tests.support.launch import Process, start_orchestrator

pytestmark = pytest.mark.e2e


@pytest.fixture(autouse=True)
def _one_engine(db_engine: str) -> None:
    """Bounds across processes, not the database's: one engine (``tests.conftest.one_engine``);
    the merchant routes' API and store tests run on both."""
    if db_engine != one_engine():
        pytest.skip("a process bound: run on one engine (tests.conftest.one_engine)")


BOUND_S = REFRESH_S + MARGIN_S


@pytest.fixture
def second(e2e: Stack, workdir: Path) -> Iterator[Process]:
    """Process B: another `multicart serve` with the stack's settings, on its database."""
    env = e2e.api_proc.env
    assert "MULTICART_CATALOG_REFRESH_S" not in env  # both at the default, REFRESH_S
    proc = start_orchestrator(workdir, env, name="second-merchants")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def admin(e2e: Stack) -> Iterator[httpx.Client]:
    """The admin token's client on process A (the stack's)."""
    token = e2e.api_proc.env["MULTICART_ADMIN_TOKEN"]
    with httpx.Client(
        base_url=e2e.api_proc.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        yield client


def merchant_with_sku(e2e: Stack, connection: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """A new merchant of a BigCommerce sandbox store with ``connection``, and one SKU of it."""
    store = next(s for s in e2e.sandbox.stores() if s["platform"] == "BIGCOMMERCE")
    product = next(p for p in store["products"] if not p.get("trigger"))
    tag = f"rotate-{secrets.token_hex(4)}"
    merchant = e2e.admin.create_merchant(tag, "BIGCOMMERCE", connection)
    e2e.admin.upsert_skus(
        [
            {
                "sku_id": tag,
                "merchant_id": merchant["id"],
                "name": product["name"],
                "price": product["price"],
                "currency": product["currency"],
                "available": True,
                "platform_ref": product["platform_ref"],
            }
        ]
    )
    return merchant["id"], tag, store


def bag_status(api: Multicart, sku_id: str) -> str:
    """The status of the one bag a create of ``sku_id`` made (the create's answer)."""
    answer = api.create_cart_response([(sku_id, 1)])
    assert answer.status_code in (201, 400, 422, 502, 503), answer.text
    body = answer.json()
    if answer.status_code != 201:
        return str(body.get("data", {}).get("cause") or body["error"])
    [bag] = body["bags"]
    return str(bag["status"])


def test_a_rotated_token_is_used_by_every_process_within_the_bound(
    e2e: Stack, second: Process, admin: httpx.Client
) -> None:
    store = next(s for s in e2e.sandbox.stores() if s["platform"] == "BIGCOMMERCE")
    stale = {**store["connection"], "access_token": "revoked-token-0123456789"}
    merchant_id, sku_id, _ = merchant_with_sku(e2e, stale)
    api_a = e2e.new_app("rotate-a")
    api_b = on(second, api_a)
    # Both processes hold the revoked token's adapter: the store refuses it.
    assert bag_status(api_a, sku_id) != "IN_PROGRESS"
    assert bag_status(api_b, sku_id) != "IN_PROGRESS"

    changed = admin.patch(
        f"/v1/admin/merchants/{merchant_id}", json={"connection": store["connection"]}
    )
    assert changed.status_code == 200, changed.text
    assert store["connection"]["access_token"] not in changed.text
    assert bag_status(api_a, sku_id) == "IN_PROGRESS"  # the process that answered: at once
    took = seen_within(lambda: bag_status(api_b, sku_id) == "IN_PROGRESS", BOUND_S)
    assert took <= BOUND_S
    logs = second.log_text() + e2e.api_proc.log_text()
    assert "revoked-token" not in logs
    assert store["connection"]["access_token"] not in logs


def test_a_pause_reaches_every_process_within_the_bound_and_a_resume_too(
    e2e: Stack, second: Process, admin: httpx.Client
) -> None:
    store = next(s for s in e2e.sandbox.stores() if s["platform"] == "BIGCOMMERCE")
    merchant_id, sku_id, _ = merchant_with_sku(e2e, store["connection"])
    api_a = e2e.new_app("pause-a")
    api_b = on(second, api_a)
    held = api_b.create_cart([(sku_id, 1)])  # B now caches the merchant ACTIVE
    assert held["bags"][0]["status"] == "IN_PROGRESS"

    url = f"/v1/admin/merchants/{merchant_id}"
    assert admin.patch(url, json={"status": "PAUSED"}).json()["status"] == "PAUSED"

    def refused(api: Multicart) -> bool:
        answer = api.create_cart_response([(sku_id, 1)])
        assert answer.status_code in (201, 400), answer.text
        if answer.status_code == 201:
            return False
        assert [s["reason"] for s in answer.json()["data"]["skus"]] == ["MERCHANT_PAUSED"]
        return True

    assert refused(api_a)
    assert seen_within(lambda: refused(api_b), BOUND_S) <= BOUND_S
    assert api_b.get_cart(held["id"])["bags"][0]["status"] == "IN_PROGRESS"  # kept
    api_b.delete_cart(held["id"])

    assert admin.patch(url, json={"status": "ACTIVE"}).json()["status"] == "ACTIVE"
    assert seen_within(lambda: not refused(api_b), BOUND_S) <= BOUND_S


def test_a_new_connection_starts_with_a_closed_circuit_in_another_process(
    e2e: Stack, workdir: Path, admin: httpx.Client
) -> None:
    """Process C opens its circuit for a Shopify store (5xx, then a long reset); the fault
    gone, C still fails fast. A new connection for the merchant (another API version, the same
    store) made through A: C's next creates, within the bound, run on a closed circuit."""
    env = {
        **e2e.api_proc.env,
        "MULTICART_CIRCUIT_FAILURE_THRESHOLD": "2",
        "MULTICART_CIRCUIT_RESET_S": "600",  # never half-open within this test
    }
    store = next(s for s in e2e.sandbox.stores() if s["platform"] == "SHOPIFY")
    product = next(p for p in store["products"] if not p.get("trigger"))
    old = {**store["connection"], "api_version": "2025-01"}
    tag = f"circuit-{secrets.token_hex(4)}"
    merchant = e2e.admin.create_merchant(tag, "SHOPIFY", old)
    sku = {
        "sku_id": tag,
        "merchant_id": merchant["id"],
        "name": product["name"],
        "price": product["price"],
        "currency": product["currency"],
        "available": True,
        "platform_ref": product["platform_ref"],
    }
    e2e.admin.upsert_skus([sku])
    proc = start_orchestrator(workdir, env, name="circuit")
    try:
        api_c = on(proc, e2e.new_app("circuit-c"))
        assert bag_status(api_c, tag) == "IN_PROGRESS"
        e2e.sandbox.fault(store["store"], "error", status=500, count=100)

        def circuit_open() -> bool:
            return "circuit is open" in api_c.create_cart_response([(tag, 1)]).text

        seen_within(circuit_open, BOUND_S)  # two 5xx in a row: C's circuit opens
        e2e.sandbox.clear_faults()
        assert circuit_open()  # the store is back, but C fails fast for 600 s

        changed = admin.patch(
            f"/v1/admin/merchants/{merchant['id']}", json={"connection": store["connection"]}
        )
        assert changed.status_code == 200, changed.text
        took = seen_within(lambda: bag_status(api_c, tag) == "IN_PROGRESS", BOUND_S)
        assert took <= BOUND_S
    finally:
        proc.stop()
