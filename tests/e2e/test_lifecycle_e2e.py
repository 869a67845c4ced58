"""Reading, listing, deleting and isolating carts over real HTTP."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Stack, wait_until

pytestmark = pytest.mark.e2e


def test_delete_removes_every_external_cart(e2e: Stack) -> None:
    api = e2e.new_app()
    names = e2e.store_names()[:3]
    cart = api.create_cart([(e2e.stores[s]["skus"]["p0"], 1) for s in names])
    external = {bag["external_id"] for bag in cart["bags"]}
    assert external <= {c["id"] for c in e2e.sandbox.carts()}
    api.delete_cart(cart["id"])
    assert not external & {c["id"] for c in e2e.sandbox.carts()}
    assert api.http.get(f"/v1/carts/{cart['id']}").status_code == 404
    assert api.http.delete(f"/v1/carts/{cart['id']}").status_code == 404
    assert cart["id"] not in [c["id"] for c in api.list_carts()["data"]]


def test_failed_external_delete_is_retried_in_the_background(e2e: Stack) -> None:
    api = e2e.new_app()
    store = e2e.store_names()[0]
    cart = api.create_cart([(e2e.stores[store]["skus"]["p0"], 1)])
    external_id = cart["bags"][0]["external_id"]
    e2e.sandbox.fault(store, "error", status=500, count=4, method="DELETE")
    assert api.http.delete(f"/v1/carts/{cart['id']}").status_code == 204
    assert api.http.get(f"/v1/carts/{cart['id']}").status_code == 404
    assert wait_until(lambda: external_id not in {c["id"] for c in e2e.sandbox.carts(store)}, 15)


def test_another_apps_cart_is_not_found(e2e: Stack) -> None:
    owner, intruder = e2e.new_app("owner"), e2e.new_app("intruder")
    store = e2e.store_names()[0]
    cart = owner.create_cart([(e2e.stores[store]["skus"]["p0"], 1)])
    for response in (
        intruder.http.get(f"/v1/carts/{cart['id']}"),
        intruder.http.delete(f"/v1/carts/{cart['id']}"),
    ):
        assert response.status_code == 404
        assert response.json()["error"] == "cart_not_found"
    assert intruder.list_carts()["data"] == []
    assert owner.get_cart(cart["id"])["id"] == cart["id"]
    assert len(e2e.sandbox.carts(store)) == 1  # the intruder's delete touched nothing


def test_list_is_newest_first_and_paginates(e2e: Stack) -> None:
    api = e2e.new_app()
    store = e2e.store_names()[0]
    ids = [
        api.create_cart([(e2e.stores[store]["skus"]["p0"], 1)], customer_id="c-9")["id"]
        for _ in range(3)
    ]
    api.create_cart([], customer_id="other")
    page = api.list_carts(customer_id="c-9", limit=2)
    assert [c["id"] for c in page["data"]] == ids[::-1][:2]
    rest = api.list_carts(customer_id="c-9", limit=2, cursor=page["next_cursor"])
    assert [c["id"] for c in rest["data"]] == [ids[0]] and rest["next_cursor"] is None


def test_no_secret_reaches_answers_or_logs(e2e: Stack) -> None:
    api = e2e.new_app()
    store = e2e.store_names()[0]
    token = e2e.sandbox.stores()[0]["connection"]["access_token"]
    merchant = e2e.admin._admin.get(f"/v1/admin/merchants/{e2e.stores[store]['merchant_id']}")
    assert token not in merchant.text
    api.create_cart([(e2e.stores[store]["skus"]["p0"], 1)])
    log = e2e.api_proc.log_text()
    assert token not in log
    assert api.http.headers["Authorization"].split()[1] not in log
    assert e2e.api_proc.env["MULTICART_ADMIN_TOKEN"] not in log
