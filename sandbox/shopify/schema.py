"""The slice of Shopify's Storefront GraphQL schema (API 2026-04) that carts need, executable.

Why this module exists: the Shopify simulator executes GraphQL for real (graphql-core), so field
selection, aliases, fragments, ``... on ProductVariant`` and variables behave as on Shopify and an
unknown field is a genuine validation error. The SDL is written by hand from the reference
(https://shopify.dev/docs/api/storefront/2026-04/objects/Cart and the pages it links); every
type, field and argument has the real schema's name and type, so a document valid here is valid
on Shopify (``tests/sandbox/test_shopify_spec.py`` checks it against Shopify's introspection).
Enums hold the subset of values the sandbox can produce or accept.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    ValidationRule,
    build_schema,
    get_named_type,
    parse,
    specified_rules,
    validate,
)

SDL = """
schema { query: QueryRoot mutation: Mutation }

scalar Decimal
scalar DateTime
scalar URL

enum CurrencyCode { AUD CAD EUR GBP JPY USD }
enum CountryCode { AU CA DE FR GB JP US }
enum CartErrorCode {
  CART_TOO_LARGE INVALID INVALID_MERCHANDISE_LINE LESS_THAN MAXIMUM_EXCEEDED
  MERCHANDISE_NOT_APPLICABLE MINIMUM_NOT_MET NOTE_TOO_LONG SERVICE_UNAVAILABLE
}
enum CartWarningCode { MERCHANDISE_NOT_ENOUGH_STOCK MERCHANDISE_OUT_OF_STOCK }

interface Node { id: ID! }
interface DisplayableError { field: [String!] message: String! }

type MoneyV2 { amount: Decimal! currencyCode: CurrencyCode! }
type Attribute { key: String! value: String }
type SelectedOption { name: String! value: String! }
type PageInfo {
  endCursor: String hasNextPage: Boolean! hasPreviousPage: Boolean! startCursor: String
}

type Product implements Node { handle: String! id: ID! title: String! }
type ProductVariant implements Node {
  availableForSale: Boolean!
  compareAtPrice: MoneyV2
  currentlyNotInStock: Boolean!
  id: ID!
  price: MoneyV2!
  product: Product!
  quantityAvailable: Int
  requiresShipping: Boolean!
  selectedOptions: [SelectedOption!]!
  sku: String
  title: String!
}
union Merchandise = ProductVariant

type CartLineCost {
  amountPerQuantity: MoneyV2!
  compareAtAmountPerQuantity: MoneyV2
  subtotalAmount: MoneyV2!
  totalAmount: MoneyV2!
}
interface BaseCartLine implements Node {
  attribute(key: String!): Attribute
  attributes: [Attribute!]!
  cost: CartLineCost!
  id: ID!
  merchandise: Merchandise!
  quantity: Int!
}
type CartLine implements BaseCartLine & Node {
  attribute(key: String!): Attribute
  attributes: [Attribute!]!
  cost: CartLineCost!
  id: ID!
  merchandise: Merchandise!
  quantity: Int!
}
type BaseCartLineEdge { cursor: String! node: BaseCartLine! }
type BaseCartLineConnection {
  edges: [BaseCartLineEdge!]! nodes: [BaseCartLine!]! pageInfo: PageInfo!
}

type CartCost {
  checkoutChargeAmount: MoneyV2!
  subtotalAmount: MoneyV2!
  subtotalAmountEstimated: Boolean!
  totalAmount: MoneyV2!
  totalAmountEstimated: Boolean!
}
type CartBuyerIdentity { countryCode: CountryCode email: String phone: String }
type CartDiscountCode { applicable: Boolean! code: String! }
type Cart implements Node {
  attribute(key: String!): Attribute
  attributes: [Attribute!]!
  buyerIdentity: CartBuyerIdentity!
  checkoutUrl: URL!
  cost: CartCost!
  createdAt: DateTime!
  discountCodes: [CartDiscountCode!]!
  id: ID!
  lines(after: String, before: String, first: Int, last: Int, reverse: Boolean = false):
    BaseCartLineConnection!
  note: String
  totalQuantity: Int!
  updatedAt: DateTime!
}

type CartUserError implements DisplayableError {
  code: CartErrorCode field: [String!] message: String!
}
type CartWarning { code: CartWarningCode! message: String! target: ID! }
type CartCreatePayload { cart: Cart userErrors: [CartUserError!]! warnings: [CartWarning!]! }
type CartLinesAddPayload { cart: Cart userErrors: [CartUserError!]! warnings: [CartWarning!]! }
type CartLinesUpdatePayload {
  cart: Cart userErrors: [CartUserError!]! warnings: [CartWarning!]!
}
type CartLinesRemovePayload {
  cart: Cart userErrors: [CartUserError!]! warnings: [CartWarning!]!
}

input AttributeInput { key: String! value: String! }
input CartBuyerIdentityInput { countryCode: CountryCode email: String phone: String }
input CartLineInput {
  attributes: [AttributeInput!] merchandiseId: ID! quantity: Int
}
input CartLineUpdateInput {
  attributes: [AttributeInput!] id: ID! merchandiseId: ID quantity: Int
}
input CartInput {
  attributes: [AttributeInput!]
  buyerIdentity: CartBuyerIdentityInput
  lines: [CartLineInput!]
  note: String
}

type QueryRoot { cart(id: ID!): Cart }
type Mutation {
  cartCreate(input: CartInput): CartCreatePayload
  cartLinesAdd(cartId: ID!, lines: [CartLineInput!]!): CartLinesAddPayload
  cartLinesRemove(cartId: ID!, lineIds: [ID!]!): CartLinesRemovePayload
  cartLinesUpdate(cartId: ID!, lines: [CartLineUpdateInput!]!): CartLinesUpdatePayload
}
"""

MAX_PAGE = (
    250  # "first"/"last" take at most 250 (https://shopify.dev/docs/api/usage/pagination-graphql)
)


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:{index}".encode()).decode()


def _index(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return int(base64.b64decode(cursor).decode().removeprefix("cursor:"))
    except ValueError:
        raise GraphQLError(f"Invalid cursor for pagination: {cursor!r}") from None


def resolve_lines(cart: dict[str, Any], info: Any, **args: Any) -> dict[str, Any]:
    """A Relay connection over the cart's lines (``first``/``after``/``last``/``before``)."""
    lines = list(cart["_lines"])
    positions = list(range(len(lines)))
    if args.get("reverse"):
        positions.reverse()
    after, before = _index(args.get("after")), _index(args.get("before"))
    if after is not None:
        positions = positions[positions.index(after) + 1 :] if after in positions else []
    if before is not None:
        positions = positions[: positions.index(before)] if before in positions else positions
    window = positions
    first, last = args.get("first"), args.get("last")
    if first is not None:
        window = window[:first]
    if last is not None:
        window = window[-last:] if last else []
    edges = [{"cursor": _cursor(i), "node": lines[i]} for i in window]
    return {
        "edges": edges,
        "nodes": [edge["node"] for edge in edges],
        "pageInfo": {
            "hasNextPage": bool(window) and window[-1] != positions[-1],
            "hasPreviousPage": bool(window) and window[0] != positions[0],
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def resolve_attribute(parent: dict[str, Any], info: Any, key: str) -> Any:
    return next((a for a in parent["attributes"] if a["key"] == key), None)


class FirstOrLast(ValidationRule):
    """Shopify refuses a connection without ``first`` or ``last`` before executing anything
    (https://shopify.dev/docs/api/usage/pagination-graphql)."""

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        field = self.context.get_field_def()
        if field is None or not get_named_type(field.type).name.endswith("Connection"):
            return
        given = {arg.name.value for arg in node.arguments or ()}
        if not given & {"first", "last"}:
            self.report_error(GraphQLError("you must provide one of first or last", node))


def build() -> GraphQLSchema:
    schema = build_schema(SDL)
    types: dict[str, GraphQLNamedType] = schema.type_map
    cart = types["Cart"]
    fields = cart.fields  # type: ignore[attr-defined]
    fields["lines"].resolve = resolve_lines
    for name in ("Cart", "CartLine", "BaseCartLine"):
        types[name].fields["attribute"].resolve = resolve_attribute  # type: ignore[attr-defined]
    return schema


SCHEMA = build()
RULES = (*specified_rules, FirstOrLast)


@lru_cache(maxsize=512)
def prepare(query: str) -> tuple[DocumentNode | None, tuple[GraphQLError, ...]]:
    """Parse and validate a document once (adapters send the same few documents again and
    again); returns the document or the errors."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return None, (error,)
    errors = validate(SCHEMA, document, RULES)
    return (None, tuple(errors)) if errors else (document, ())
