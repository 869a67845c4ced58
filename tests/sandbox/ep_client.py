"""A small Elastic Path client for the sandbox tests: a token, then Carts v2 calls."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse

from sandbox.catalog import store_token
from sandbox.elastic_path.catalog import ep_product_id
from tests.sandbox.conftest import Client


def product(store: str, product_id: int, variant_id: int | None = None) -> str:
    return ep_product_id(store, (product_id, variant_id))


def cart_item(product_id: str | None = None, quantity: int = 1, **more: Any) -> dict[str, Any]:
    item: dict[str, Any] = {"type": "cart_item", "quantity": quantity, **more}
    if product_id is not None:
        item["id"] = product_id
    return item


class EP:
    """Speaks Elastic Path to one sandbox store, as an adapter would."""

    def __init__(self, client: Client, store: str = "garden6") -> None:
        self.client, self.store = client, store
        self.token: str | None = None

    @property
    def base(self) -> str:
        return f"/elasticpath/{self.store}"

    async def credentials(self) -> dict[str, str]:
        listed = await (await self.client.get("/__sandbox/stores")).json()
        connection: dict[str, str] = next(s for s in listed if s["store"] == self.store)[
            "connection"
        ]
        return connection

    async def authenticate(self) -> dict[str, Any]:
        connection = await self.credentials()
        form = {
            "grant_type": "client_credentials",
            "client_id": connection["client_id"],
            "client_secret": connection["client_secret"],
        }
        response = await self.client.post(self.base + "/oauth/access_token", data=form)
        assert response.status == 200, await response.text()
        body: dict[str, Any] = await response.json()
        self.token = body["access_token"]
        return body

    async def call(
        self, method: str, suffix: str, body: Any = None, *, headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> ClientResponse:  # fmt: skip
        if self.token is None:
            await self.authenticate()
        sent = {"Authorization": f"Bearer {self.token}"}
        sent.update(headers or {})
        return await self.client.request(
            method, self.base + suffix, json=body, headers=sent, **kwargs
        )

    async def add(self, ref: str, *items: dict[str, Any], **kwargs: Any) -> ClientResponse:
        data: Any = items[0] if len(items) == 1 else list(items)
        return await self.call("POST", f"/v2/carts/{ref}/items", {"data": data}, **kwargs)


def secret(store: str) -> str:
    return store_token(store)
