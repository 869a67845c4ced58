"""Shopify's cart rules: ids, lines, merging, stock warnings, userErrors, and the rendered cart.

Why this module exists: the rules read in one place, apart from GraphQL and HTTP plumbing. They
are written from Shopify's docs: https://shopify.dev/docs/api/storefront/2026-04/objects/Cart,
cart mutations (https://shopify.dev/docs/api/storefront/2026-04/mutations/cartLinesAdd ...), the
cart warnings guide
(https://shopify.dev/docs/storefronts/headless/building-with-the-storefront-api/cart/cart-warnings)
and Shopify's js-buy-sdk fixtures (https://github.com/Shopify/js-buy-sdk/tree/main/fixtures).
A mutation that fails answers ``cart: null`` with ``userErrors`` and
changes nothing; stock shortfalls are not errors since 2024-10 but warnings, the line clamped to
what is available (dropped at zero, which may leave an empty cart).
"""

from __future__ import annotations

import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sandbox.catalog import Sellable
from sandbox.state import Cart, Line, SandboxState, Store

VARIANT_GID = "gid://shopify/ProductVariant/"
MAX_LINES = 250  # "The input must not contain more than 250 values." (CartInput.lines)
# The INVALID userError on ["cartId"] integrators observe for an unknown cart. UNCONFIRMED: Shopify
# does not document it, and a 2023 changelog says mutations on a lost cart make a new cart instead
# (https://shopify.dev/changelog/cart-mutations-return-a-new-cart-on-failedtoretrievecart-error).
CART_NOT_FOUND = "The specified cart does not exist."


class ShopifyServerError(Exception):
    """Shopify failed: the whole answer is a 500 (the ``server_error`` trigger)."""


@dataclass
class Context:
    """What a resolver needs: the store, the sandbox and the shop's public base URL."""

    state: SandboxState
    store: Store
    shop_url: str
    warnings: list[dict[str, str]] = field(default_factory=list)


def decimal_string(cents: int) -> str:
    """Money as Shopify's ``Decimal`` scalar, serialized as a string without trailing zeros but
    with one decimal: "29.99", "45.5", "10.0", "0.0", as in Shopify's js-buy-sdk fixtures
    (https://shopify.dev/docs/api/storefront/latest/scalars/Decimal)."""
    whole, frac = divmod(cents, 100)
    text = f"{whole}.{frac:02d}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def shopify_time(ts: float) -> str:
    """``DateTime``: ISO 8601 UTC without fractions, e.g. "2019-09-07T15:50:00Z"."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def user_error(code: str, fields: list[str], message: str) -> dict[str, Any]:
    return {"code": code, "field": fields, "message": message}


class Rejected(Exception):
    """The mutation fails as a whole: ``cart: null`` and these ``userErrors``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"])
        self.errors = errors


def find_variant(ctx: Context, gid: object, path: list[str]) -> Sellable:
    """The variant a ``merchandiseId`` names; otherwise an INVALID userError "The merchandise
    with id ... does not exist." (as in Shopify's js-buy-sdk fixtures). ``unknown_variant_code``
    may say MERCHANDISE_NOT_APPLICABLE instead, which covers nonexistent variants from 2025-10
    (https://shopify.dev/docs/api/storefront/latest/enums/CartErrorCode); which of the two
    Shopify answers per API version is UNCONFIRMED."""
    unit = None
    if isinstance(gid, str) and gid.startswith(VARIANT_GID):
        unit = next(
            (u for u in ctx.store.on_platform() if u.platform_ref["variant_id"] == gid), None
        )
    if unit is None:
        message = f"The merchandise with id {gid} does not exist."
        raise Rejected([user_error(ctx.store.unknown_variant_code, path, message)])
    if unit.trigger == "server_error":
        raise ShopifyServerError(unit.name)
    return unit


def check_quantity(ctx: Context, unit: Sellable, quantity: int, path: list[str]) -> None:
    if quantity < 1:
        raise Rejected([user_error("INVALID", path, "The quantity must be greater than 0.")])
    product = ctx.store.products[unit.key[0]]
    if product.max_quantity is not None and quantity > product.max_quantity:
        # Quantity rules: https://shopify.dev/docs/api/storefront/2026-04/objects/QuantityRule
        message = f"The maximum quantity of {product.name} per cart line is {product.max_quantity}."
        raise Rejected([user_error("MAXIMUM_EXCEEDED", path, message)])


def _attributes(raw: object) -> list[dict[str, str]]:
    return [{"key": a["key"], "value": a["value"]} for a in raw or []]  # type: ignore[attr-defined]


def new_cart(ctx: Context, now: float) -> Cart:
    token = f"c1-{secrets.token_hex(16)}"
    key = secrets.token_hex(16)
    cart_id = f"gid://shopify/Cart/{token}?key={key}"
    return Cart(id=cart_id, created=now, updated=now, lines=[], attrs={"token": token, "key": key})


def add_line(ctx: Context, cart: Cart, unit: Sellable, quantity: int, attrs: list[Any]) -> Line:
    """Add to the line of the same variant and attributes, or a new line."""
    for line in cart.lines:
        if line.key == unit.key and line.extra["attributes"] == attrs:
            line.quantity += quantity
            return line
    line = Line(
        id=f"gid://shopify/CartLine/{uuid.uuid4()}?cart={cart.attrs['token']}",
        key=unit.key,
        platform_ref=dict(unit.platform_ref),
        quantity=quantity,
        list_price=unit.price,
        original_price=unit.price,
        name=unit.name,
        sku=unit.sku,
        extra={"attributes": attrs},
    )
    cart.lines.append(line)
    return line


def clamp(ctx: Context, cart: Cart, lines: list[Line]) -> None:
    """Hold each changed line to the stock available, with a warning: since 2024-10 stock
    shortfalls are ``MERCHANDISE_NOT_ENOUGH_STOCK`` / ``MERCHANDISE_OUT_OF_STOCK`` warnings, not
    errors (cart warnings guide, linked above). UNCONFIRMED: when Shopify lowers the quantity
    and when it drops the line, and its messages' wording."""
    seen: set[int] = set()
    for line in lines:
        if id(line) in seen or not any(line is x for x in cart.lines):
            continue
        seen.add(id(line))
        available = ctx.store.stock.get(line.key, 0)
        if line.quantity <= available:
            continue
        if available == 0:
            cart.lines = [x for x in cart.lines if x is not line]
            message = f"The merchandise {line.name} is out of stock."
            target = line.platform_ref["variant_id"]
            ctx.warnings.append(
                {"code": "MERCHANDISE_OUT_OF_STOCK", "message": message, "target": target}
            )
        else:
            line.quantity = available
            message = f"Only {available} items were added to your cart due to availability."
            ctx.warnings.append(
                {"code": "MERCHANDISE_NOT_ENOUGH_STOCK", "message": message, "target": line.id}
            )


def add_lines(ctx: Context, cart: Cart, lines: list[dict[str, Any]], prefix: list[str]) -> None:
    """Validate every line first (nothing changes on an error), then add and clamp."""
    if len(lines) > MAX_LINES:
        raise Rejected([user_error("INVALID", prefix, f"At most {MAX_LINES} lines are allowed.")])
    checked = []
    for index, raw in enumerate(lines):
        path = [*prefix, str(index)]
        unit = find_variant(ctx, raw["merchandiseId"], [*path, "merchandiseId"])
        quantity = 1 if raw.get("quantity") is None else raw["quantity"]
        held = sum(x.quantity for x in cart.lines if x.key == unit.key)
        check_quantity(ctx, unit, quantity, [*path, "quantity"])
        check_quantity(ctx, unit, held + quantity, [*path, "quantity"])
        checked.append((unit, quantity, _attributes(raw.get("attributes"))))
    changed = [add_line(ctx, cart, unit, quantity, attrs) for unit, quantity, attrs in checked]
    clamp(ctx, cart, changed)


def update_lines(ctx: Context, cart: Cart, lines: list[dict[str, Any]]) -> None:
    plan = []
    for index, raw in enumerate(lines):
        path = ["lines", str(index)]
        line = cart.line(raw["id"])
        if line is None:
            message = f"The merchandise line with id {raw['id']} does not exist."
            raise Rejected([user_error("INVALID_MERCHANDISE_LINE", [*path, "id"], message)])
        unit = ctx.store.sellables[line.key]
        if raw.get("merchandiseId") is not None:
            unit = find_variant(ctx, raw["merchandiseId"], [*path, "merchandiseId"])
        quantity = line.quantity if raw.get("quantity") is None else raw["quantity"]
        if quantity < 0:
            message = "The quantity must be greater than or equal to 0."
            raise Rejected([user_error("INVALID", [*path, "quantity"], message)])
        if quantity:
            check_quantity(ctx, unit, quantity, [*path, "quantity"])
        plan.append((line, unit, quantity, raw.get("attributes")))
    changed = []
    for line, unit, quantity, attrs in plan:
        if quantity == 0:  # removes the line (UNCONFIRMED: widely assumed, not in the schema)
            if line in cart.lines:
                cart.lines.remove(line)
            continue
        line.quantity = quantity
        if unit.key != line.key:
            line.key, line.platform_ref = unit.key, dict(unit.platform_ref)
            line.list_price = line.original_price = unit.price
            line.name, line.sku = unit.name, unit.sku
        if attrs is not None:
            line.extra["attributes"] = _attributes(attrs)
        changed.append(line)
    clamp(ctx, cart, changed)


def remove_lines(ctx: Context, cart: Cart, line_ids: list[str]) -> None:
    for index, line_id in enumerate(line_ids):
        if cart.line(line_id) is None:
            message = f"The merchandise line with id {line_id} does not exist."
            raise Rejected(
                [user_error("INVALID_MERCHANDISE_LINE", ["lineIds", str(index)], message)]
            )
    cart.lines = [line for line in cart.lines if line.id not in set(line_ids)]


def money(ctx: Context, cents: int) -> dict[str, str]:
    return {"amount": decimal_string(cents), "currencyCode": ctx.store.seed.currency}


def render_variant(ctx: Context, unit: Sellable) -> dict[str, Any]:
    product = ctx.store.products[unit.key[0]]
    variant = next((v for v in product.variants if v.variant_id == unit.key[1]), None)
    options = [{"name": variant.option, "value": variant.value}] if variant else []
    stock = ctx.store.stock.get(unit.key, 0)
    return {
        "__typename": "ProductVariant",
        "id": unit.platform_ref["variant_id"],
        "title": variant.value if variant else "Default Title",
        "sku": unit.sku,
        "price": money(ctx, unit.price),
        "compareAtPrice": None,
        "availableForSale": stock > 0,
        "currentlyNotInStock": stock == 0,
        "quantityAvailable": stock,
        "requiresShipping": True,
        "selectedOptions": options or [{"name": "Title", "value": "Default Title"}],
        "product": {
            "id": f"gid://shopify/Product/{product.product_id}",
            "title": product.name,
            "handle": product.sku.lower(),
        },
    }


def render_cart(ctx: Context, cart: Cart) -> dict[str, Any]:
    lines, total = [], 0
    for line in cart.lines:
        amount = line.list_price * line.quantity
        total += amount
        lines.append(
            {
                "__typename": "CartLine",
                "id": line.id,
                "quantity": line.quantity,
                "merchandise": render_variant(ctx, ctx.store.sellables[line.key]),
                "attributes": line.extra["attributes"],
                "cost": {
                    "amountPerQuantity": money(ctx, line.list_price),
                    "compareAtAmountPerQuantity": None,
                    "subtotalAmount": money(ctx, amount),
                    "totalAmount": money(ctx, amount),
                },
            }
        )
    attrs = cart.attrs
    return {
        "id": cart.id,
        "checkoutUrl": f"{ctx.shop_url}/cart/c/{attrs['token']}?key={attrs['key']}",
        "createdAt": shopify_time(cart.created),
        "updatedAt": shopify_time(cart.updated),
        "totalQuantity": sum(line.quantity for line in cart.lines),
        "_lines": lines,
        "cost": {
            "subtotalAmount": money(ctx, total),
            "totalAmount": money(ctx, total),
            "checkoutChargeAmount": money(ctx, total),
            "subtotalAmountEstimated": False,
            "totalAmountEstimated": False,
        },
        "buyerIdentity": attrs.get("buyer", {}),
        "attributes": attrs.get("attributes", []),
        "note": attrs.get("note"),
        "discountCodes": [],
    }
