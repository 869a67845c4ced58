"""A small Shopify Storefront client for the sandbox tests, and the documents it sends."""

from __future__ import annotations

from typing import Any

from aiohttp import ClientResponse

from sandbox.catalog import store_token
from tests.sandbox.conftest import Client

CART_FIELDS = """
  id checkoutUrl createdAt updatedAt totalQuantity note
  attributes { key value }
  buyerIdentity { email countryCode }
  cost {
    subtotalAmount { amount currencyCode } totalAmount { amount currencyCode }
    checkoutChargeAmount { amount currencyCode }
  }
  lines(first: 100) {
    edges { cursor node {
      id quantity
      attributes { key value }
      merchandise { ... on ProductVariant {
        id title sku price { amount currencyCode } product { id title }
      } }
      cost {
        amountPerQuantity { amount currencyCode } subtotalAmount { amount currencyCode }
        totalAmount { amount currencyCode }
      }
    } }
    pageInfo { hasNextPage hasPreviousPage }
  }
"""
PAYLOAD = f"cart {{ {CART_FIELDS} }} userErrors {{ code field message }} warnings {{ code message target }}"  # noqa: E501
CREATE = f"mutation CartCreate($input: CartInput) {{ cartCreate(input: $input) {{ {PAYLOAD} }} }}"
ADD = (
    "mutation CartLinesAdd($cartId: ID!, $lines: [CartLineInput!]!) "
    f"{{ cartLinesAdd(cartId: $cartId, lines: $lines) {{ {PAYLOAD} }} }}"
)
UPDATE = (
    "mutation CartLinesUpdate($cartId: ID!, $lines: [CartLineUpdateInput!]!) "
    f"{{ cartLinesUpdate(cartId: $cartId, lines: $lines) {{ {PAYLOAD} }} }}"
)
REMOVE = (
    "mutation CartLinesRemove($cartId: ID!, $lineIds: [ID!]!) "
    f"{{ cartLinesRemove(cartId: $cartId, lineIds: $lineIds) {{ {PAYLOAD} }} }}"
)
GET = f"query Cart($id: ID!) {{ cart(id: $id) {{ {CART_FIELDS} }} }}"


def gid(variant_id: int) -> str:
    return f"gid://shopify/ProductVariant/{variant_id}"


def line(variant_id: int, quantity: int | None = 1, **more: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"merchandiseId": gid(variant_id), **more}
    if quantity is not None:
        entry["quantity"] = quantity
    return entry


class Shop:
    """Speaks the Storefront API to one sandbox shop, as an adapter would."""

    def __init__(self, client: Client, shop: str = "threads4", version: str = "2026-04") -> None:
        self.client, self.shop, self.version = client, shop, version
        self.token = store_token(shop)

    @property
    def path(self) -> str:
        return f"/shopify/{self.shop}/api/{self.version}/graphql.json"

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> ClientResponse:
        sent = {"Shopify-Storefront-Private-Token": self.token} if headers is None else headers
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return await self.client.post(self.path, json=body, headers=sent, **kwargs)

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.post(query, variables)
        assert response.status == 200, await response.text()
        return await response.json()  # type: ignore[no-any-return]

    async def create(self, *lines: dict[str, Any], **input: Any) -> dict[str, Any]:
        answer = await self.gql(CREATE, {"input": {"lines": list(lines), **input}})
        return answer["data"]["cartCreate"]  # type: ignore[no-any-return]

    async def mutate(self, name: str, document: str, **variables: Any) -> dict[str, Any]:
        return (await self.gql(document, variables))["data"][name]  # type: ignore[no-any-return]

    async def cart(self, cart_id: str) -> dict[str, Any] | None:
        return (await self.gql(GET, {"id": cart_id}))["data"]["cart"]  # type: ignore[no-any-return]


def nodes(cart: dict[str, Any]) -> list[dict[str, Any]]:
    return [edge["node"] for edge in cart["lines"]["edges"]]
