"""What the BigCommerce adapter's tests send to and answer from the store: a line, the cart routes
and an ``ErrorResponse``.

Why a module of its own: the BigCommerce tests are split by subject (requests and error answers,
retries, connection) and all of them speak these; the carts themselves are conftest's
``bc_cart`` and ``bc_item``.
"""

from __future__ import annotations

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
