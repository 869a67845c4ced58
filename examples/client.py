"""A minimal synchronous client of multicart's API and of the sandbox's control API.

It is what an integrator would write in a few lines of httpx; the demo and the end-to-end
tests use it, so it stays true to the API.
"""

from __future__ import annotations

from typing import Any

import httpx


class ApiFailure(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"{response.status_code}: {response.text[:500]}")
        self.response = response


class Multicart:
    """Talks to multicart as one app (``api_key``) or as the admin (``admin_token``)."""

    def __init__(self, base_url: str, *, api_key: str = "", admin_token: str = "") -> None:
        self.base_url = base_url
        self._api_key = api_key
        self._admin = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {admin_token}"}, timeout=30
        )
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        )

    def as_app(self, api_key: str) -> Multicart:
        other = Multicart(self.base_url, api_key=api_key)
        other._admin = self._admin
        return other

    @staticmethod
    def _ok(response: httpx.Response) -> Any:
        if response.status_code >= 400:
            raise ApiFailure(response)
        return response.json() if response.content else None

    # admin
    def create_app(self, name: str) -> dict[str, Any]:
        return self._ok(self._admin.post("/v1/admin/apps", json={"name": name}))  # type: ignore[no-any-return]

    def create_merchant(
        self, name: str, platform: str, connection: dict[str, Any]
    ) -> dict[str, Any]:
        body = {"name": name, "platform": platform, "connection": connection}
        return self._ok(self._admin.post("/v1/admin/merchants", json=body))  # type: ignore[no-any-return]

    def upsert_skus(self, skus: list[dict[str, Any]]) -> int:
        return int(self._ok(self._admin.put("/v1/admin/skus", json=skus))["upserted"])

    # carts
    def create_cart_response(self, skus: list[tuple[str, int]], **fields: Any) -> httpx.Response:
        body = {"skus": [{"sku_id": s, "quantity": q} for s, q in skus], **fields}
        return self.http.post("/v1/carts", json=body)

    def create_cart(self, skus: list[tuple[str, int]], **fields: Any) -> dict[str, Any]:
        return self._ok(self.create_cart_response(skus, **fields))  # type: ignore[no-any-return]

    def get_cart(self, cart_id: str) -> dict[str, Any]:
        return self._ok(self.http.get(f"/v1/carts/{cart_id}"))  # type: ignore[no-any-return]

    def list_carts(self, **query: Any) -> dict[str, Any]:
        return self._ok(self.http.get("/v1/carts", params=query))  # type: ignore[no-any-return]

    def delete_cart(self, cart_id: str) -> None:
        self._ok(self.http.delete(f"/v1/carts/{cart_id}"))


class Sandbox:
    """The sandbox's control API under /__sandbox/."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def stores(self) -> list[dict[str, Any]]:
        return self.http.get("/__sandbox/stores").raise_for_status().json()  # type: ignore[no-any-return]

    def fault(self, store: str, mode: str, **params: Any) -> dict[str, Any]:
        response = self.http.post(
            "/__sandbox/faults", json={"store": store, "mode": mode, **params}
        )
        return response.raise_for_status().json()  # type: ignore[no-any-return]

    def clear_faults(self) -> None:
        self.http.delete("/__sandbox/faults").raise_for_status()

    def carts(self, store: str | None = None) -> list[dict[str, Any]]:
        params = {"store": store} if store else {}
        return self.http.get("/__sandbox/carts", params=params).raise_for_status().json()  # type: ignore[no-any-return]

    def requests(self, store: str | None = None) -> list[dict[str, Any]]:
        params = {"store": store} if store else {}
        return self.http.get("/__sandbox/requests", params=params).raise_for_status().json()  # type: ignore[no-any-return]

    def reset(self) -> None:
        self.http.post("/__sandbox/reset").raise_for_status()


def register_sandbox(
    api: Multicart, sandbox: Sandbox, platforms: tuple[str, ...] = ("BIGCOMMERCE",)
) -> dict[str, Any]:
    """Register every sandbox store as a merchant and its products as SKUs, as an integrator would.

    Returns ``{store: {"merchant_id", "skus": {trigger-or-name: sku_id}, "products": [...]}}``.
    """
    registry: dict[str, Any] = {}
    for store in sandbox.stores():
        if store["platform"] not in platforms:
            continue
        merchant = api.create_merchant(store["store"], store["platform"], store["connection"])
        skus, named, prices = [], {}, {}
        ordinary = 0
        for index, product in enumerate(store["products"]):
            sku_id = f"{store['store']}-{index}"
            name = product.get("trigger")
            if not name:
                name, ordinary = f"p{ordinary}", ordinary + 1
            named[name], prices[name] = sku_id, product["price"]
            skus.append(
                {
                    "sku_id": sku_id,
                    "merchant_id": merchant["id"],
                    "name": product["name"],
                    "price": product["price"],
                    "currency": product["currency"],
                    "available": True,
                    "platform_ref": product["platform_ref"],
                }
            )
        api.upsert_skus(skus)
        registry[store["store"]] = {"merchant_id": merchant["id"], "skus": named, "prices": prices}
    return registry
