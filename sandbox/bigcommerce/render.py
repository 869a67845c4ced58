"""BigCommerce's answer shapes: ``Cart_Full`` with its line items, and redirect URLs.

Why this module exists: the response shape is what adapters parse, so it is written field by
field from the Carts v3 OpenAPI (``bigcommerce/docs:reference/carts.v3.yml``: ``Cart_Full``,
``LineItemsGet``, ``ItemPhysicalGet``, ``ItemCustomGet``, ``CartRedirectResponse``;
https://developer.bigcommerce.com/docs/rest-management/carts). Money is integer cents inside
and JSON numbers (27.95) on the wire.
"""

from __future__ import annotations

from typing import Any

from sandbox.state import Cart, Line, Store, iso_time


def money(cents: int) -> float:
    """Cents as a BigCommerce JSON number (27.95). ``cents / 100`` is correctly rounded, so it
    is exactly the float that ``float("27.95")`` gives: no 0.30000000000000004 artefacts."""
    return cents / 100


def render_cart(store: Store, cart: Cart, storefront: str, include: set[str]) -> dict[str, Any]:
    """``Cart_Full`` (carts.v3.yml ``Cart_Full`` / ``LineItemsGet`` / ``ItemPhysicalGet``)."""
    options = "line_items.physical_items.options" in include
    physical = [physical_item(x, storefront, options) for x in cart.lines if x.kind != "custom"]
    custom = [custom_item(line) for line in cart.lines if line.kind == "custom"]
    total = sum(line.list_price * line.quantity for line in cart.lines)
    attrs = cart.attrs
    return {
        "id": cart.id,
        "customer_id": attrs["customer_id"],
        "channel_id": attrs["channel_id"],
        "email": "",
        "currency": {"code": store.seed.currency},
        "tax_included": False,
        "base_amount": money(total),
        "discount_amount": 0,
        "manual_discount_amount": 0,
        "cart_amount": money(total),
        "coupons": [],
        "discounts": [],
        "line_items": {
            "physical_items": physical,
            "digital_items": [],
            "gift_certificates": [],
            "custom_items": custom,
        },
        "created_time": iso_time(cart.created),
        "updated_time": iso_time(cart.updated),
        "locale": attrs["locale"],
        "version": cart.version,
    }


def physical_item(line: Line, storefront: str, options: bool) -> dict[str, Any]:
    """``ItemPhysicalGet``; ``options`` only when asked (``include``)."""
    product_id = line.extra["product_id"]
    extended = line.list_price * line.quantity
    item = {
        # parent_id: the spec's example shows {} and null would be a guess (UNCONFIRMED),
        # while ItemPhysicalGet types it as a non-nullable string; we follow the schema and
        # leave it out for an item without a parent.
        "id": line.id,
        "variant_id": line.extra["variant_id"],
        "product_id": product_id,
        "sku": line.sku,
        "name": line.name,
        "url": f"{storefront}/products/{product_id}/",
        "quantity": line.quantity,
        "taxable": True,
        "image_url": f"{storefront}/images/{product_id}.png",
        "discounts": [],
        "coupons": [],
        "discount_amount": 0,
        "coupon_amount": 0,
        "original_price": money(line.original_price),
        "list_price": money(line.list_price),
        "sale_price": money(line.list_price),
        "extended_list_price": money(extended),
        "extended_sale_price": money(extended),
        "is_require_shipping": True,
        "is_mutable": True,
        "added_by_promotion": False,
    }
    if options:
        item["options"] = [line.extra["option"]] if "option" in line.extra else []
    return item


def custom_item(line: Line) -> dict[str, Any]:
    """``ItemCustomGet``: it types quantity/list_price as strings, but the spec's own example
    uses numbers: numbers it is."""
    item = {
        "id": line.id,
        "sku": line.sku,
        "name": line.name,
        "quantity": line.quantity,
        "list_price": money(line.list_price),
        "extended_list_price": money(line.list_price * line.quantity),
    }
    if line.extra.get("image_url"):
        item["image_url"] = line.extra["image_url"]
    return item


def redirect_urls(storefront: str, cart_id: str) -> dict[str, str]:
    """``CartRedirectResponse`` data, pointing at the sandbox's own tiny checkout page."""
    return {
        "cart_url": f"{storefront}/cart.php?action=load&id={cart_id}",
        "checkout_url": f"{storefront}/checkout/{cart_id}",
        "embedded_checkout_url": f"{storefront}/checkout/{cart_id}?embedded=1",
    }
