"""What the BigCommerce adapter's tests send to and answer from the store: a line, the cart routes,
``Cart_Full`` bodies and an ``ErrorResponse``.

Why a module of its own: the BigCommerce tests are split by subject (requests and error answers,
retries, connection) and all of them, with the boundary, id and resilience tests, speak these.
"""

from __future__ import annotations

from typing import Any

from adapters.base import LineRequest
from tests.adapters.conftest import CART_ID, ITEM_ID, STORE

LINE = LineRequest(platform_ref={"product_id": 191, "variant_id": 362}, quantity=5, sku_id="sku_a")
CARTS = f"{STORE}/carts"
CART = f"{STORE}/carts/{CART_ID}"
ITEM = f"{STORE}/carts/{CART_ID}/items/{ITEM_ID}"


def error_body(status: int, title: str, **extra: object) -> dict[str, object]:
    return {
        "status": status,
        "title": title,
        "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
        **extra,
    }


def bc_item(
    item_id: str = ITEM_ID,
    product_id: int = 191,
    variant_id: int | None = 362,
    quantity: int = 5,
    price: float = 27.95,
    extended: float = 139.75,
    name: str = "Openhouse No. 3",
) -> dict[str, Any]:
    return {
        "id": item_id,
        "parent_id": None,
        "variant_id": variant_id,
        "product_id": product_id,
        "sku": "OPENHOUSE-3",
        "name": name,
        "quantity": quantity,
        "taxable": True,
        "discounts": [],
        "coupons": [],
        "discount_amount": 0,
        "coupon_amount": 0,
        "original_price": price,
        "list_price": price,
        "sale_price": price,
        "extended_list_price": extended,
        "extended_sale_price": extended,
        "is_require_shipping": True,
        "is_mutable": True,
        "added_by_promotion": False,
    }


def bc_cart(
    *,
    cart_id: str = CART_ID,
    physical: list[dict[str, Any]] | None = None,
    digital: list[dict[str, Any]] | None = None,
    amount: float = 139.75,
    currency: str = "USD",
    checkout_url: str | None = "https://store.test/cart.php?action=load&id=x&token=t",
) -> dict[str, Any]:
    """A ``{data, meta}`` Cart_Full body, as BigCommerce documents it for GET /v3/carts/{cartId}
    (https://developer.bigcommerce.com/docs/rest-management/carts)."""
    data: dict[str, Any] = {
        "id": cart_id,
        "customer_id": 0,
        "channel_id": 1,
        "currency": {"code": currency},
        "tax_included": False,
        "base_amount": amount,
        "discount_amount": 0,
        "cart_amount": amount,
        "coupons": [],
        "discounts": [],
        "line_items": {
            "physical_items": [bc_item()] if physical is None else physical,
            "digital_items": digital or [],
            "gift_certificates": [],
            "custom_items": [],
        },
        "created_time": "2018-09-17T14:27:39.000Z",
        "updated_time": "2018-09-17T14:53:40.000Z",
        "locale": "en-US",
        "version": 1,
    }
    if checkout_url is not None:
        data["redirect_urls"] = {
            "cart_url": "https://store.test/cart.php",
            "checkout_url": checkout_url,
            "embedded_checkout_url": "https://store.test/embedded",
        }
    return {"data": data, "meta": {}}
