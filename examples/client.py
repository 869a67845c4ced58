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

    def outbox(self, state: str = "dead") -> list[dict[str, Any]]:
        """The first page of outbox entries in ``state`` (dead letters by default)."""
        return list(self._ok(self._admin.get("/v1/admin/outbox", params={"state": state}))["data"])

    def retry_outbox_entry(self, entry_id: str) -> dict[str, Any]:
        return dict(self._ok(self._admin.post(f"/v1/admin/outbox/{entry_id}/retry")))

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

    # lines: each answers the cart; ``if_match`` (a cart's ETag, e.g. '"3"') makes the change
    # only if the cart is still at that version (else 412 precondition_failed)
    @staticmethod
    def _precondition(if_match: str | None) -> dict[str, str]:
        return {"If-Match": if_match} if if_match else {}

    def add_sku_response(
        self, cart_id: str, sku_id: str, quantity: int, *, if_match: str | None = None
    ) -> httpx.Response:
        return self.http.post(
            f"/v1/carts/{cart_id}/skus",
            json={"sku_id": sku_id, "quantity": quantity},
            headers=self._precondition(if_match),
        )

    def add_sku(
        self, cart_id: str, sku_id: str, quantity: int, *, if_match: str | None = None
    ) -> dict[str, Any]:
        """Add ``quantity`` of ``sku_id`` (to its merchant's bag, or a new bag)."""
        return self._ok(self.add_sku_response(cart_id, sku_id, quantity, if_match=if_match))  # type: ignore[no-any-return]

    def update_sku(
        self, cart_id: str, order_sku_id: str, quantity: int, *, if_match: str | None = None
    ) -> dict[str, Any]:
        """Set a line's quantity (0 removes it); ``order_sku_id`` is the line's ``id``."""
        response = self.http.patch(
            f"/v1/carts/{cart_id}/skus/{order_sku_id}",
            json={"quantity": quantity},
            headers=self._precondition(if_match),
        )
        return self._ok(response)  # type: ignore[no-any-return]

    def remove_sku(
        self, cart_id: str, order_sku_id: str, *, if_match: str | None = None
    ) -> dict[str, Any]:
        """Remove a line; an emptied bag's external cart is deleted."""
        response = self.http.delete(
            f"/v1/carts/{cart_id}/skus/{order_sku_id}", headers=self._precondition(if_match)
        )
        return self._ok(response)  # type: ignore[no-any-return]

    # saved references, bag retries, previews
    def save_reference_response(
        self, external_cart_id: str, merchant_id: str, *, customer_id: str | None = None
    ) -> httpx.Response:
        body: dict[str, Any] = {"cart_id": external_cart_id, "source": merchant_id}
        if customer_id is not None:
            body["customer_id"] = customer_id
        return self.http.post("/v1/cart-references", json=body)

    def save_reference(
        self, external_cart_id: str, merchant_id: str, *, customer_id: str | None = None
    ) -> dict[str, Any]:
        """A cart with one bag linked to an external cart already on the merchant's platform
        (409 ``duplicate_cart`` if any cart holds it already)."""
        response = self.save_reference_response(
            external_cart_id, merchant_id, customer_id=customer_id
        )
        return self._ok(response)  # type: ignore[no-any-return]

    def retry_bag_response(self, cart_id: str, bag_id: str) -> httpx.Response:
        return self.http.post(f"/v1/carts/{cart_id}/bags/{bag_id}/retry")

    def retry_bag(self, cart_id: str, bag_id: str) -> dict[str, Any]:
        """Create a FAILED bag's external cart again; answers the cart."""
        return self._ok(self.retry_bag_response(cart_id, bag_id))  # type: ignore[no-any-return]

    def preview(self, skus: list[tuple[str, int]], **fields: Any) -> dict[str, Any]:
        """The split a create of the same body would make, with its SKU ``problems``;
        nothing is written and no platform is called."""
        body = {"skus": [{"sku_id": s, "quantity": q} for s, q in skus], **fields}
        return self._ok(self.http.post("/v1/carts/preview", json=body))  # type: ignore[no-any-return]


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

    def set_stock(self, store: str, platform_ref: dict[str, Any], stock: int) -> dict[str, Any]:
        body = {"store": store, "platform_ref": platform_ref, "stock": stock}
        return self.http.put("/__sandbox/stock", json=body).raise_for_status().json()  # type: ignore[no-any-return]

    def reset(self) -> None:
        self.http.post("/__sandbox/reset").raise_for_status()


def sku_of(sku_id: str, merchant_id: str, product: dict[str, Any]) -> dict[str, Any]:
    """The catalog entry (``PUT /v1/admin/skus``) selling a sandbox store's ``product``."""
    return {
        "sku_id": sku_id,
        "merchant_id": merchant_id,
        "name": product["name"],
        "price": product["price"],
        "currency": product["currency"],
        "available": True,
        "platform_ref": product["platform_ref"],
    }


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
            skus.append(sku_of(sku_id, merchant["id"], product))
        api.upsert_skus(skus)
        registry[store["store"]] = {"merchant_id": merchant["id"], "skus": named, "prices": prices}
    return registry
