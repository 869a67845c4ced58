"""Elastic Path's answer shapes: the cart (``CartResponse``) and its items (``CartsResponse``).

Why this module exists: the response shape is what adapters parse, so it is written field by
field from the Carts OpenAPI (``CartResponse``, ``CartItemObject``, ``FormattedPriceData``,
``CartItemFormattedPriceData``; https://elasticpath.dev/docs/api/carts/get-a-cart and
https://elasticpath.dev/docs/api/carts/get-cart-items). Amounts are integer minor units with a
``formatted`` string; an empty cart has ``currency: ""`` and ``formatted: "0"`` as in Elastic
Path's own sample.
"""

from __future__ import annotations

from typing import Any

from sandbox.state import Cart, Line, Store, iso_time

SYMBOLS = {"USD": "$", "CAD": "CA$", "AUD": "A$", "EUR": "€", "GBP": "£"}
PRICE_KINDS = ("with_tax", "without_tax", "tax", "discount", "without_discount")


def formatted(cents: int, currency: str) -> str:
    if not currency:
        return "0"
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), 100)
    return f"{sign}{SYMBOLS.get(currency, currency + ' ')}{whole:,}.{frac:02d}"


def price(cents: int, currency: str) -> dict[str, Any]:
    return {"amount": cents, "currency": currency, "formatted": formatted(cents, currency)}


def display_price(total: int, currency: str) -> dict[str, Any]:
    """No taxes or discounts are simulated: with and without tax agree, tax and discount 0."""
    amounts = {"with_tax": total, "without_tax": total, "tax": 0, "discount": 0}
    amounts["without_discount"] = total
    return {kind: price(amounts[kind], currency) for kind in PRICE_KINDS}


def _currency(store: Store, cart: Cart) -> str:
    return str(cart.attrs.get("currency") or store.seed.currency) if cart.lines else ""


def total(cart: Cart) -> int:
    return sum(line.list_price * line.quantity for line in cart.lines)


def timestamps(cart: Cart, ttl_s: int) -> dict[str, str]:
    return {
        "created_at": iso_time(cart.created),
        "updated_at": iso_time(cart.updated),
        "expires_at": iso_time(cart.updated + ttl_s),
    }


def render_cart(store: Store, cart: Cart, base: str) -> dict[str, Any]:
    """``CartResponse`` (``data`` of create, get and update)."""
    attrs = cart.attrs
    items = [{"type": _type(line), "id": line.id} for line in cart.lines]
    data: dict[str, Any] = {
        "id": cart.id,
        "type": "cart",
        "name": attrs.get("name", "Cart"),
        "description": attrs.get("description", ""),
        "discount_settings": attrs.get(
            "discount_settings", {"custom_discounts_enabled": False, "use_rule_promotions": False}
        ),
        "links": {"self": f"{base}/v2/carts/{cart.id}"},
        "meta": {
            "display_price": display_price(total(cart), _currency(store, cart)),
            "timestamps": timestamps(cart, store.seed.cart_ttl),
        },
        "relationships": {
            "items": {"data": items or None},
            "customers": {},
        },
    }
    for name in ("custom_attributes", "contact"):
        if name in attrs:
            data[name] = attrs[name]
    return data


def _type(line: Line) -> str:
    return "custom_item" if line.kind == "custom" else "cart_item"


def render_item(store: Store, line: Line, currency: str, base: str) -> dict[str, Any]:
    """One ``CartItemObject`` (or a custom item: no ``product_id``)."""
    value = line.list_price * line.quantity
    unit_price = {"amount": line.list_price, "currency": currency, "includes_tax": True}
    item: dict[str, Any] = {
        "id": line.id,
        "type": _type(line),
        "name": line.name,
        "description": line.extra.get("description", ""),
        "sku": line.sku,
        "quantity": line.quantity,
        "manage_stock": line.kind != "custom",
        "unit_price": unit_price,
        "value": {**unit_price, "amount": value},
        "discounts": [],
        "meta": {
            "display_price": {
                kind: {
                    "unit": price(line.list_price if kind in _PRICED else 0, currency),
                    "value": price(value if kind in _PRICED else 0, currency),
                }
                for kind in PRICE_KINDS
            },
            "timestamps": {
                "created_at": iso_time(line.extra.get("created", 0.0)),
                "updated_at": iso_time(line.extra.get("updated", 0.0)),
            },
        },
    }
    if line.kind != "custom":
        product_id = line.platform_ref["product_id"]
        item["product_id"] = product_id
        item["slug"] = line.sku.lower()
        item["links"] = {"product": f"{base}/pcm/products/{product_id}"}
        item["catalog_source"] = "pim"
    return item


_PRICED = ("with_tax", "without_tax", "without_discount")


def render_items(store: Store, cart: Cart, base: str) -> dict[str, Any]:
    """``CartsResponse``: every item of the cart, with the cart's totals and timestamps."""
    currency = _currency(store, cart)
    return {
        "data": [render_item(store, line, currency, base) for line in cart.lines],
        "meta": {
            "display_price": display_price(total(cart), currency),
            "timestamps": timestamps(cart, store.seed.cart_ttl),
        },
    }
