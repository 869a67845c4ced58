"""Elastic Path's cart rules: item bodies, products by id or SKU, stock, merging, currency lock.

Why this module exists: the rules read in one place, apart from HTTP plumbing, written from the
Carts API reference (https://elasticpath.dev/docs/api/carts/manage-carts and
https://elasticpath.dev/docs/api/carts/cart-items). Errors are
JSON:API ``{"errors": [{"status", "title", "detail", "meta"?}]}``
(https://elasticpath.dev/guides/Getting-Started/errors). Money is integer minor units.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from sandbox.catalog import Sellable
from sandbox.state import Cart, Line, Store

MAX_ITEMS = 100  # "a cart can contain a maximum of 100 unique items"
MAX_ATTRIBUTES = 20  # custom_attributes: "A cart can have a maximum of 20 custom attributes."
ATTRIBUTE_TYPES = {"string": (str,), "boolean": (bool,), "integer": (int,), "float": (int, float)}
# Cart references and names follow the "safe characters" guide
# (https://elasticpath.dev/guides/Getting-Started/safe-characters).
SAFE_REF = re.compile(r"^[A-Za-z0-9._~-]{1,255}$")


class EpError(Exception):
    """An answer in Elastic Path's error shape; ``meta`` names the item in bulk answers."""

    def __init__(
        self, status: int, title: str | None = None, detail: str | None = None, **meta: Any
    ) -> None:
        super().__init__(title)
        self.status, self.detail, self.meta = status, detail, meta
        self.title = title or HTTPStatus(status).phrase
        self.request_id: str | None = None

    def item(self) -> dict[str, Any]:
        item: dict[str, Any] = {"status": self.status, "title": self.title}
        if self.detail is not None:
            item["detail"] = self.detail
        if self.meta:
            item["meta"] = self.meta
        if self.request_id is not None:
            item["request_id"] = self.request_id
        return item

    def body(self) -> dict[str, Any]:
        return {"errors": [self.item()]}


def invalid(source: str, detail: str, status: int = 400) -> EpError:
    return EpError(status, "Failed Validation", f"{source}: {detail}")


def server_error() -> EpError:
    """500 with a ``request_id`` to report
    (https://elasticpath.dev/guides/Getting-Started/errors)."""
    error = EpError(
        500,
        "Internal Server Error",
        "There was an internal server error, you can report with your request id.",
    )
    error.request_id = str(uuid.uuid4())
    return error


def quantity(raw: object, source: str, *, minimum: int = 1) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != int(raw):
        raise invalid(source, "quantity must be an integer")
    if raw < minimum:
        raise invalid(source, f"quantity must be at least {minimum}")
    return int(raw)


@dataclass(slots=True)
class ItemRequest:
    """One validated ``cart_item`` or ``custom_item`` of an add."""

    unit: Sellable | None  # None: a custom item
    quantity: int
    name: str = ""
    sku: str = ""
    price: int = 0
    description: str = ""


def find_product(store: Store, raw: dict[str, Any]) -> Sellable:
    """A ``cart_item`` names a product by ``id`` (uuid) or ``sku``; 404 "Product not found"."""
    product_id, sku = raw.get("id"), raw.get("sku")
    if product_id is None and sku is None:
        raise invalid("data.id", "either id or sku is required")
    if product_id is not None:
        ref, meta = {"product_id": product_id}, {"id": product_id}
    else:
        ref, meta = {"sku": sku}, {"sku": sku}
    unit = next((u for u in store.on_platform() if ref in u.refs), None)
    if unit is None:
        raise EpError(404, "Product not found", "The requested product could not be found", **meta)
    if unit.trigger == "server_error":
        raise server_error()
    return unit


def parse_item(store: Store, raw: object) -> ItemRequest:
    if not isinstance(raw, dict):
        raise invalid("data", "must be an object")
    kind = raw.get("type")
    if kind == "cart_item":
        unit = find_product(store, raw)
        return ItemRequest(unit, quantity(raw.get("quantity"), "data.quantity"))
    if kind == "custom_item":
        name, price = raw.get("name"), raw.get("price")
        if not isinstance(name, str) or not name:
            raise invalid("data.name", "name is required")
        amount = price.get("amount") if isinstance(price, dict) else None
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            raise invalid("data.price.amount", "amount must be a non-negative integer")
        sku = str(raw.get("sku") or "")
        count = quantity(raw.get("quantity"), "data.quantity")
        description = str(raw.get("description") or "")
        return ItemRequest(None, count, name, sku, amount, description)
    if kind == "promotion_item":
        detail = "No promotion could be found with the given code."
        raise EpError(404, "Not Found", detail)
    raise invalid("data.type", "type must be cart_item, custom_item or promotion_item")


def check_currency(store: Store, cart: Cart, requested: str | None) -> str:
    """The cart's currency is fixed by its first item, and an item with no price in it is a 400
    (https://elasticpath.dev/docs/api/carts/cart-management); ``X-MOLTIN-CURRENCY`` chooses it,
    and a product has prices in the store's currency only."""
    wanted = (requested or cart.attrs.get("currency") or store.seed.currency).upper()
    if cart.lines and cart.attrs.get("currency") not in (None, wanted):
        detail = f"The cart currency is {cart.attrs['currency']}; items cannot be added in {wanted}"
        raise EpError(400, "Currency mismatch", detail)
    if wanted != store.seed.currency:
        raise EpError(400, "Currency not found", f"The product has no price in {wanted}")
    return wanted


def check_stock(store: Store, cart: Cart, item: ItemRequest, extra: int = 0) -> None:
    """400 "Insufficient stock" with ``meta {id, sku}``
    (https://elasticpath.dev/docs/carts-orders/bulk-add-to-cart)."""
    unit = item.unit
    if unit is None:
        return
    held = sum(line.quantity for line in cart.lines if line.key == unit.key)
    if held + extra + item.quantity > store.stock.get(unit.key, 0):
        detail = f"There is not enough stock to add {unit.name} to your cart"
        product_id = unit.platform_ref["product_id"]
        raise EpError(400, "Insufficient stock", detail, id=product_id, sku=unit.sku)


def add_item(cart: Cart, item: ItemRequest, now: float) -> None:
    """Identical products (and custom items with the same SKU) merge into one line."""
    unit = item.unit
    key: tuple[Any, ...] = unit.key if unit else ("custom", item.sku or str(uuid.uuid4()))
    line = next((x for x in cart.lines if x.key == key), None)
    if line is not None:
        line.quantity += item.quantity
        line.extra["updated"] = now
        return
    if len({x.key for x in cart.lines}) >= MAX_ITEMS:
        raise EpError(400, "Cart item limit", f"A cart can hold at most {MAX_ITEMS} unique items")
    cart.lines.append(
        Line(
            id=str(uuid.uuid4()),
            key=key,
            platform_ref=dict(unit.platform_ref) if unit else {"custom_sku": item.sku},
            quantity=item.quantity,
            list_price=unit.price if unit else item.price,
            original_price=unit.price if unit else item.price,
            name=unit.name if unit else item.name,
            sku=unit.sku if unit else item.sku,
            kind="physical" if unit else "custom",
            extra={"created": now, "updated": now, "description": item.description},
        )
    )


def custom_attributes(raw: object, source: str) -> dict[str, Any]:
    """``custom_attributes``: ``{key: {type, value}}``, values of the declared type, at most 20."""
    if not isinstance(raw, dict):
        raise invalid(source, "must be an object")
    if len(raw) > MAX_ATTRIBUTES:
        raise invalid(source, f"at most {MAX_ATTRIBUTES} custom attributes")
    for key, attr in raw.items():
        kind = attr.get("type") if isinstance(attr, dict) else None
        if kind not in ATTRIBUTE_TYPES:
            raise invalid(f"{source}.{key}.type", "one of string, boolean, integer, float")
        value = attr.get("value")
        bad_bool = isinstance(value, bool) and kind != "boolean"
        if bad_bool or not isinstance(value, ATTRIBUTE_TYPES[kind]):
            raise invalid(f"{source}.{key}.value", f"must be of type {kind}")
    return dict(raw)


def cart_fields(store: Store, body: object, *, status: int) -> dict[str, Any]:
    """The settable fields of ``CartsRequest.data`` (name, description, custom_attributes,
    contact, discount_settings), validated; ``status`` is 400 on create and 422 on update."""
    if body is None:
        return {}
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise invalid("data", "a data object is required", status)
    fields: dict[str, Any] = {}
    if "name" in data:
        name = data["name"]
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            raise invalid("data.name", "a cart name has 1 to 255 characters", status)
        fields["name"] = name
    if "description" in data:
        if not isinstance(data["description"], str):
            raise invalid("data.description", "must be a string", status)
        fields["description"] = data["description"]
    if "custom_attributes" in data:
        attrs = custom_attributes(data["custom_attributes"], "data.custom_attributes")
        fields["custom_attributes"] = attrs
    for name in ("contact", "discount_settings"):
        if name in data:
            if not isinstance(data[name], dict):
                raise invalid(f"data.{name}", "must be an object", status)
            fields[name] = dict(data[name])
    return fields
