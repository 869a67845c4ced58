"""The cart API's contract in-process, on both engines, with a fake platform (docs/api.md)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.calls.address_guard import refused_error
from errors import Cause, PlatformRejected, PlatformServerError
from tests.api.conftest import ADMIN, Api
from tests.store.factories import count_carts


def lines(api: Api, *names: str, qty: int = 1) -> dict[str, Any]:
    return {"skus": [{"sku_id": api.skus[n], "quantity": qty} for n in names]}


async def test_create_multi_bag_cart_and_read_it_back(api: Api) -> None:
    response = await api.post_cart(
        {**lines(api, "tent", "pan", "lamp"), "customer_id": "c-1", "metadata": {"k": "v"}}
    )
    assert response.status == 201, await response.text()
    cart = await response.json()
    assert [b["merchant_name"] for b in cart["bags"]] == ["Outdoors", "Kitchen"]
    assert [[s["sku_id"] for s in b["skus"]] for b in cart["bags"]] == [
        ["sku-tent", "sku-lamp"],
        ["sku-pan"],
    ]
    assert all(b["status"] == "IN_PROGRESS" and b["external_id"] for b in cart["bags"])
    assert cart["sub_total"] == 12999 + 2999 + 4550
    assert (cart["currency"], cart["customer_id"], cart["metadata"]) == ("USD", "c-1", {"k": "v"})
    assert cart["date_created"].endswith("Z") or cart["date_created"].endswith("+00:00")
    again = await api.client.get(f"/v1/carts/{cart['id']}", headers=api.auth)
    assert again.status == 200 and await again.json() == cart


async def test_empty_cart_has_no_bags_and_calls_no_platform(api: Api) -> None:
    response = await api.client.post("/v1/carts", headers=api.auth)
    assert response.status == 201
    assert (await response.json())["bags"] == []
    assert all(not p.calls for p in api.platforms.platforms.values())


async def test_single_bag_failure_keeps_no_cart(api: Api) -> None:
    outdoors = api.platforms.for_merchant(api.merchants[0], "BIGCOMMERCE", {})
    outdoors.fail_next(  # type: ignore[attr-defined]
        "create_cart", PlatformServerError("down", platform="BIGCOMMERCE", status=500)
    )
    response = await api.post_cart(lines(api, "tent", "lamp"))
    assert response.status == 502
    body = await response.json()
    assert (body["code"], body["data"]["cause"]) == (2503, "PLATFORM_ERROR")
    assert {s["sku_id"] for s in body["data"]["skus"]} == {"sku-tent", "sku-lamp"}
    assert await count_carts(api.store) == 0


async def test_multi_bag_failure_is_in_the_errors_array(api: Api) -> None:
    kitchen = api.platforms.for_merchant(api.merchants[1], "BIGCOMMERCE", {})
    kitchen.fail_next(  # type: ignore[attr-defined]
        "create_cart",
        PlatformRejected("Pan is out of stock", platform="BIGCOMMERCE", cause=Cause.OUT_OF_STOCK),
    )
    response = await api.post_cart(lines(api, "tent", "pan"))
    assert response.status == 201
    cart = await response.json()
    assert [b["status"] for b in cart["bags"]] == ["IN_PROGRESS", "FAILED"]
    [error] = cart["errors"]
    assert (error["entity_id"], error["bag_id"], error["type"], error["cause"]) == (
        "sku-pan",
        cart["bags"][1]["id"],
        "EXTERNAL_CREATE_CART",
        "OUT_OF_STOCK",
    )
    assert cart["sub_total"] == 12999


async def test_all_or_nothing_deletes_what_was_created(api: Api) -> None:
    kitchen = api.platforms.for_merchant(api.merchants[1], "BIGCOMMERCE", {})
    kitchen.fail_next(  # type: ignore[attr-defined]
        "create_cart", PlatformServerError("down", platform="BIGCOMMERCE", status=500)
    )
    response = await api.post_cart({**lines(api, "tent", "pan"), "atomicity": "all_or_nothing"})
    assert response.status == 502
    outdoors = api.platforms.platforms[api.merchants[0]]
    assert outdoors.carts == {}  # the created external cart was deleted again
    assert await count_carts(api.store) == 0


async def test_unexpected_failure_is_a_clean_500(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_args: object) -> None:
        raise RuntimeError("bug with a secret-token-Outdoors")

    monkeypatch.setattr(api.store.catalog, "lookup", broken)  # a bug outside any adapter
    response = await api.post_cart(lines(api, "tent"))
    assert response.status == 500
    body = await response.json()
    assert body["error"] == "internal_error"
    assert body["data"]["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in await response.text() and "secret" not in await response.text()


async def test_an_adapter_bug_fails_only_its_bag_and_cancels_no_sibling(api: Api) -> None:
    outdoors = api.platforms.for_merchant(api.merchants[0], "BIGCOMMERCE", {})
    kitchen = api.platforms.for_merchant(api.merchants[1], "BIGCOMMERCE", {})
    outdoors.fail_next("create_cart", RuntimeError("bug with a secret-token-Outdoors"))  # type: ignore[attr-defined]
    response = await api.post_cart(lines(api, "tent", "pan"))
    assert response.status == 201
    cart = await response.json()
    broken, fine = cart["bags"]
    assert (broken["status"], fine["status"]) == ("UNKNOWN", "IN_PROGRESS")
    assert len(kitchen.carts) == 1  # type: ignore[attr-defined]
    assert {e["cause"] for e in cart["errors"]} == {"PLATFORM_ERROR"}
    assert all(e["retryable"] is False for e in cart["errors"])
    assert "secret" not in await response.text() and "Traceback" not in await response.text()

    # Once more, alone: one clean 2503.
    outdoors.fail_next("create_cart", RuntimeError("bug with a secret-token-Outdoors"))  # type: ignore[attr-defined]
    single = await api.post_cart(lines(api, "tent"))
    assert single.status == 502 and (await single.json())["code"] == 2503
    assert "secret" not in await single.text()


async def test_a_refused_store_host_is_a_permanent_failure(api: Api) -> None:
    # A store registered while private URLs were allowed, served after without them:
    # the answer said PLATFORM_UNAVAILABLE, "retryable": true and "Please retry".
    outdoors = api.platforms.for_merchant(api.merchants[0], "BIGCOMMERCE", {})
    outdoors.fail_next("create_cart", refused_error(platform="BIGCOMMERCE", op="create_cart"))  # type: ignore[attr-defined]
    response = await api.post_cart(lines(api, "tent"))
    body = await response.json()
    assert response.status == 502 and "Retry-After" not in response.headers, body
    assert (body["code"], body["data"]["cause"]) == (2503, "PLATFORM_HOST_REFUSED")
    assert body["data"]["retryable"] is False
    assert "retry" not in body["message"].lower()
    assert "MULTICART_PLATFORM_HOST_ALLOWLIST" in body["data"]["platform_message"]


async def test_other_apps_cart_is_404_like_an_unknown_one(api: Api) -> None:
    cart = await (await api.post_cart(lines(api, "tent"))).json()
    other = {"Authorization": f"Bearer {await api.new_key()}"}
    for method in ("GET", "DELETE"):
        response = await api.client.request(method, f"/v1/carts/{cart['id']}", headers=other)
        assert response.status == 404
        assert (await response.json())["error"] == "cart_not_found"
    listing = await (await api.client.get("/v1/carts", headers=other)).json()
    assert listing == {"data": [], "next_cursor": None}


async def test_delete_deletes_external_carts(api: Api) -> None:
    cart = await (await api.post_cart(lines(api, "tent", "pan"))).json()
    response = await api.client.delete(f"/v1/carts/{cart['id']}", headers=api.auth)
    assert response.status == 204
    for merchant in api.merchants[:2]:
        assert api.platforms.platforms[merchant].carts == {}
    assert (await api.client.get(f"/v1/carts/{cart['id']}", headers=api.auth)).status == 404


async def test_merchant_credentials_are_never_returned(api: Api) -> None:
    listing = await api.client.get("/v1/admin/merchants", headers=ADMIN)
    text = await listing.text()
    assert "secret-token" not in text and "access_token" not in text
    one = await api.client.get(f"/v1/admin/merchants/{api.merchants[0]}", headers=ADMIN)
    assert (await one.json()) == {
        "id": api.merchants[0],
        "name": "Outdoors",
        "platform": "BIGCOMMERCE",
        "status": "ACTIVE",
    }
    assert (await api.client.get("/v1/admin/merchants/mer_nope", headers=ADMIN)).status == 404
    skus = await (
        await api.client.get(f"/v1/admin/skus?merchant_id={api.merchants[1]}", headers=ADMIN)
    ).json()
    assert {s["sku_id"] for s in skus["data"]} == {"sku-pan", "sku-gone", "sku-euro"}


async def test_health_readiness_and_openapi(api: Api) -> None:
    from openapi_spec_validator import validate

    assert (await api.client.get("/healthz")).status == 200
    assert (await api.client.get("/readyz")).status == 200
    document = await (await api.client.get("/openapi.json")).json()
    validate(document)
    assert {"/v1/carts", "/v1/carts/{cart_id}", "/v1/admin/skus"} <= set(document["paths"])
    create = document["paths"]["/v1/carts"]["post"]
    assert {"201", "400", "401", "502", "503"} <= set(create["responses"])
    assert "external_cart_creation_failure (2503)" in create["responses"]["502"]["description"]


async def test_an_outcome_write_that_keeps_failing_is_recorded_by_its_read_back(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The outcome write raises (the group commit's batch failing, say) but the database
    still takes the read-back: the outcome is recorded there, nothing is queued for deletion,
    and the answer is the cart (tests/api/test_interleavings.py has the other readings)."""

    async def broken(_cart: object, **_: object) -> None:
        raise RuntimeError("the batch failed")

    monkeypatch.setattr(api.store.carts, "record_creation", broken)
    response = await api.post_cart(lines(api, "tent", "pan"))
    assert response.status == 201, await response.text()
    cart = await response.json()
    assert [b["status"] for b in cart["bags"]] == ["IN_PROGRESS", "IN_PROGRESS"]
    made = {
        cart_id
        for merchant in api.merchants[:2]
        for cart_id in api.platforms.for_merchant(merchant, "BIGCOMMERCE", {}).carts  # type: ignore[attr-defined]
    }
    assert made == {b["external_id"] for b in cart["bags"]}
    assert await api.store.outbox.depths() == {}


def test_platform_text_loses_its_control_characters_before_it_is_kept() -> None:
    from errors.exceptions import clip

    assert clip("Only 2\x00 left\x1b[0m") == "Only 2\ufffd left\ufffd[0m"
    assert clip("tab\tand\nnewline stay") == "tab\tand\nnewline stay"


async def test_a_cart_priced_in_another_currency_fails_its_bag_and_is_deleted(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dataclasses

    kitchen = api.platforms.for_merchant(api.merchants[1], "BIGCOMMERCE", {})
    original = kitchen.create_cart

    async def in_cad(*args: Any, **kwargs: Any) -> Any:  # a shop that prices in its own CAD
        return dataclasses.replace(await original(*args, **kwargs), currency="CAD")

    monkeypatch.setattr(kitchen, "create_cart", in_cad)
    response = await api.post_cart(lines(api, "tent", "pan"))
    assert response.status == 201
    cart = await response.json()
    assert [b["status"] for b in cart["bags"]] == ["IN_PROGRESS", "FAILED"]
    assert [(e["entity_id"], e["cause"]) for e in cart["errors"]] == [
        ("sku-pan", "PLATFORM_REJECTED")
    ]
    assert "CAD" in cart["errors"][0]["message"]
    assert kitchen.carts == {}  # type: ignore[attr-defined]  # no amount of it was kept


async def test_a_hostile_platform_text_reaches_the_app_sanitised_and_bounded(api: Api) -> None:
    # What a hostile or compromised endpoint might answer: a terminal escape, a bidi override,
    # an echoed token and kilobytes of text.
    hostile = (
        "\x1b[2J\x1b]0;pwned\x07Out of stock\u202e\n\n X-Auth-Token: secret-token-Outdoors "
        + "spam " * 2000
    )
    outdoors = api.platforms.for_merchant(api.merchants[0], "BIGCOMMERCE", {})
    outdoors.fail_next(  # type: ignore[attr-defined]
        "create_cart",
        PlatformRejected(hostile, platform="BIGCOMMERCE", cause=Cause.OUT_OF_STOCK),
    )
    response = await api.post_cart(lines(api, "tent"))
    assert response.status == 422
    body = await response.json()
    shown = body["data"]["platform_message"]
    assert shown.startswith("Out of stock [redacted] spam")
    assert len(shown) <= 200 and shown.endswith("\u2026")
    text = await response.text()
    for bad in ("\\u001b", "\\u202e", "\\u0007", "secret-token", "pwned"):
        assert bad not in text, bad
    assert all(len(s["message"]) <= 250 for s in body["data"]["skus"])
