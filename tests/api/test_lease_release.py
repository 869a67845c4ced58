"""A lease release that fails never replaces the answer of a change already saved: it is logged
and the lease lapses at its TTL (``cart_lock.release_quietly``). In-process, both engines."""

from __future__ import annotations

from typing import Any

import pytest

from errors import ErrorCode, Overloaded
from tests.api.conftest import Api


def break_release(api: Api, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every lease release raises, as a database wait that gave up would; the carts named."""
    tried: list[str] = []

    async def overloaded(cart_id: str, owner: str) -> None:
        tried.append(cart_id)
        raise Overloaded("no connection in time", kind=ErrorCode.OVERLOADED)

    monkeypatch.setattr(api.store.leases, "release", overloaded)
    return tried


async def test_a_line_change_answers_200_when_its_lease_release_fails(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    created = await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})
    cart = await created.json()
    tried = break_release(api, monkeypatch)
    response = await api.client.post(
        f"/v1/carts/{cart['id']}/skus",
        json={"sku_id": "sku-lamp", "quantity": 2},
        headers=api.auth,
    )
    assert response.status == 200, await response.text()
    changed: dict[str, Any] = await response.json()
    assert tried == [cart["id"]]
    saved = await api.client.get(f"/v1/carts/{cart['id']}", headers=api.auth)
    assert await saved.json() == changed
    assert {s["sku_id"] for s in changed["bags"][0]["skus"]} == {"sku-tent", "sku-lamp"}


async def test_a_delete_answers_204_when_its_lease_release_fails(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    cart = await (await api.post_cart({"skus": [{"sku_id": "sku-tent", "quantity": 1}]})).json()
    tried = break_release(api, monkeypatch)
    response = await api.client.delete(f"/v1/carts/{cart['id']}", headers=api.auth)
    assert response.status == 204, await response.text()
    assert tried == [cart["id"]]
    assert (await api.client.get(f"/v1/carts/{cart['id']}", headers=api.auth)).status == 404
    outdoors = api.platforms.for_merchant(api.merchants[0], "BIGCOMMERCE", {})
    assert outdoors.carts == {}  # type: ignore[attr-defined]
