"""The GraphQL documents the Shopify adapter sends, as module constants.

Why a module of its own: the documents are the adapter's contract with the Storefront API
schema (2026-04, https://shopify.dev/docs/api/storefront/2026-04), and
``tests/adapters/test_shopify_documents.py`` validates every one of them against that schema.
They select only what ``adapters.shopify.payloads`` reads: the cart's id, checkout URL,
subtotal and lines, and each mutation's ``userErrors`` and ``warnings``.

They are written readable (the four mutations share one shape, ``_cart_mutation``) and sent
compacted (one line, single spaces): the same document on every call, a third of the bytes.
"""

from __future__ import annotations

# Cart.lines is a BaseCartLineConnection whose nodes are CartLine or ComponentizableCartLine
# (bundles); the interface BaseCartLine carries every field read here. Merchandise is a union
# with ProductVariant its only member
# (https://shopify.dev/docs/api/storefront/2026-04/objects/Cart#field-Cart.fields.lines).
# 250 is the largest page; a cart never receives more lines than one mutation may carry (250).
_CART_FIELDS = """
fragment MulticartCart on Cart {
  id
  checkoutUrl
  cost {
    subtotalAmount { amount currencyCode }
  }
  lines(first: 250) {
    edges {
      node {
        id
        quantity
        merchandise {
          ... on ProductVariant { id title product { title } }
        }
        cost {
          amountPerQuantity { amount currencyCode }
          totalAmount { amount currencyCode }
        }
      }
    }
  }
}
"""

# Every cart mutation's payload: {cart, userErrors, warnings}. ``warnings`` exists from API
# 2024-10 (https://shopify.dev/docs/api/storefront/2024-10/objects/CartWarning), hence the
# connection's minimum api_version.
_PAYLOAD = """
  cart { ...MulticartCart }
  userErrors { code field message }
  warnings { code message target }
"""


def _compact(document: str) -> str:
    return " ".join(document.split())


# https://shopify.dev/docs/api/storefront/2026-04/queries/cart: null for an unknown, expired or
# foreign cart.
CART_QUERY = _compact(
    """
query MulticartCart($id: ID!) {
  cart(id: $id) { ...MulticartCart }
}
"""
    + _CART_FIELDS
)


def _cart_mutation(root: str, **variables: str) -> str:
    """The cart mutation ``root``, each argument passed as the variable of its name and type,
    answering ``_PAYLOAD``: ``_cart_mutation("cartCreate", input="CartInput!")``."""
    declared = ", ".join(f"${name}: {kind}" for name, kind in variables.items())
    passed = ", ".join(f"{name}: ${name}" for name in variables)
    operation = f"Multicart{root[0].upper()}{root[1:]}"
    return _compact(
        f"mutation {operation}({declared}) {{ {root}({passed}) {{{_PAYLOAD}}} }}{_CART_FIELDS}"
    )


# https://shopify.dev/docs/api/storefront/2026-04/mutations/cartCreate
CART_CREATE = _cart_mutation("cartCreate", input="CartInput!")
# https://shopify.dev/docs/api/storefront/2026-04/mutations/cartLinesAdd
CART_LINES_ADD = _cart_mutation("cartLinesAdd", cartId="ID!", lines="[CartLineInput!]!")
# https://shopify.dev/docs/api/storefront/2026-04/mutations/cartLinesUpdate
CART_LINES_UPDATE = _cart_mutation("cartLinesUpdate", cartId="ID!", lines="[CartLineUpdateInput!]!")
# https://shopify.dev/docs/api/storefront/2026-04/mutations/cartLinesRemove
CART_LINES_REMOVE = _cart_mutation("cartLinesRemove", cartId="ID!", lineIds="[ID!]!")

# Each document and the root field its answer sits under (``data.<root>``).
DOCUMENTS: dict[str, str] = {
    "cart": CART_QUERY,
    "cartCreate": CART_CREATE,
    "cartLinesAdd": CART_LINES_ADD,
    "cartLinesUpdate": CART_LINES_UPDATE,
    "cartLinesRemove": CART_LINES_REMOVE,
}
