"""BigCommerce cart rules: line-item validation, stock checks, merging, error answers.

Why this module exists: it is the part of the BigCommerce simulator written from the Carts v3
reference (https://developer.bigcommerce.com/docs/rest-management/carts, OpenAPI
``bigcommerce/docs:reference/carts.v3.yml``), its status codes
(https://developer.bigcommerce.com/docs/start/about/status-codes) and its cart guide
(https://developer.bigcommerce.com/docs/storefront/cart-checkout/guide/rest-management),
kept apart from HTTP plumbing so the rules read in one place. Prices are integer cents;
``sandbox.bigcommerce.render`` turns carts into JSON.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from http import HTTPStatus
from typing import Any

from sandbox.catalog import ProductSeed
from sandbox.state import Cart, Key, Line, Store

# ErrorResponse.type is always the status-codes page (ErrorResponse in carts.v3.yml).
STATUS_CODES_URL = "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes"
# CartConflictErrorResponse example in carts.v3.yml.
CONFLICT_TITLE = (
    "The request cannot be processed due to a possible conflict. "
    "Please review the changes and try again."
)
# UNCONFIRMED wording: BigCommerce documents no out-of-stock title; all that is known is a 422
# with a human-readable title, so this text is ours.
NOT_ENOUGH_STOCK_TITLE = "Not enough stock: only {available} of {name} are available."
UNKNOWN_PRODUCT_TITLE = "Product {product_id} does not exist."  # UNCONFIRMED, like its status
UNKNOWN_VARIANT_TITLE = "Variant {variant_id} of product {product_id} does not exist."
# Observed on the checkout endpoint
# (https://github.com/bigcommerce/storefront-data-hooks/issues/44);
# BigCommerce's cart guide lists "This product has options; variant ID is required [422]" for
# carts (https://developer.bigcommerce.com/docs/storefront/cart-checkout/guide/rest-management).
MISSING_FIELDS_TITLE = "Missing or incorrect required fields"
VARIANT_REQUIRED = "This product has options, variant ID is required"
# Observed from the v3 gateway for a wrong JSON type
# (https://github.com/vercel/commerce/issues/635).
INVALID_JSON_DATA_TITLE = "JSON data is missing or invalid"
MISSING_LINE_ITEMS_TITLE = "Missing line_items in request body"  # a 422 title in the cart guide


class BcError(Exception):
    """An answer in BigCommerce's ``ErrorResponse`` shape."""

    def __init__(
        self,
        status: int,
        title: str | None = None,
        *,
        errors: dict[str, str] | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(title)
        self.status = status
        self.title = title or reason(status)
        self.errors = errors
        self.detail = detail

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": self.status,
            "title": self.title,
            "type": STATUS_CODES_URL,
        }
        if self.detail is not None:
            body["detail"] = self.detail
        if self.errors is not None:
            body["errors"] = self.errors
        return body


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def invalid(field: str, expected: str) -> BcError:
    return BcError(422, INVALID_JSON_DATA_TITLE, errors={field: f"error.expected.{expected}"})


def integer(value: object, field: str, *, required: bool = True) -> int | None:
    if value is None and not required:
        return None
    if value is None:
        raise BcError(422, MISSING_FIELDS_TITLE, errors={field: f"{field} is required"})
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(field, "jsnumber")
    return value


def quantity(value: object, field: str = "quantity") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise BcError(
            422, MISSING_FIELDS_TITLE, errors={field: "quantity must be a whole number, at least 1"}
        )
    return value


def price_cents(value: object, field: str) -> int | None:
    """A ``list_price`` override (a JSON number) as cents, rounded half-up."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise invalid(field, "jsnumber")
    try:
        cents = (Decimal(str(value)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise invalid(field, "jsnumber") from None
    if cents < 0:
        raise BcError(422, MISSING_FIELDS_TITLE, errors={field: "list_price must not be negative"})
    return int(cents)


@dataclass(slots=True)
class ItemRequest:
    """One validated ``line_items`` entry: a catalog product, and its variant when it has some."""

    product: ProductSeed
    key: Key
    variant_id: int
    quantity: int
    list_price: int | None
    name: str | None


def parse_item(store: Store, raw: object, field: str) -> ItemRequest:
    """Validate one ``cart_PostVariant`` / ``cart_PostModifier`` item against the catalog.

    ``option_selections`` are accepted and ignored: the sandbox's products have variants but no
    modifiers, so a product with variants needs ``variant_id``.
    """
    if not isinstance(raw, dict):
        raise invalid(field, "jsobject")
    product_id = integer(raw.get("product_id"), "product_id")
    variant_id = integer(raw.get("variant_id"), "variant_id", required=False)
    count = quantity(raw.get("quantity"))
    override = price_cents(raw.get("list_price"), "list_price")
    name = raw.get("name")
    if name is not None and not isinstance(name, str):
        raise invalid("name", "jsstring")
    product = store.products.get(product_id or 0)
    if product is None:
        raise _not_found(store, "product_id", UNKNOWN_PRODUCT_TITLE.format(product_id=product_id))
    if product.trigger == "server_error":  # the trigger product: a platform failure, nothing kept
        raise BcError(500, reason(500))
    if product.variants:
        if variant_id is None:
            # The cart guide lists "This product has options; variant ID is required [422]".
            raise BcError(422, MISSING_FIELDS_TITLE, errors={"variant": VARIANT_REQUIRED})
        if all(v.variant_id != variant_id for v in product.variants):
            raise _unknown_variant(store, product_id or 0, variant_id)
        return ItemRequest(
            product, (product.product_id, variant_id), variant_id, count, override, name
        )
    base = product.base_variant_id or 0
    if variant_id is not None and variant_id != base:
        raise _unknown_variant(store, product.product_id, variant_id)
    return ItemRequest(product, (product.product_id, None), base, count, override, name)


def _unknown_variant(store: Store, product_id: int, variant_id: int) -> BcError:
    title = UNKNOWN_VARIANT_TITLE.format(variant_id=variant_id, product_id=product_id)
    return _not_found(store, "variant_id", title)


def _not_found(store: Store, field: str, title: str) -> BcError:
    if store.unknown_product_status == 422:
        return BcError(422, title, errors={field: title})
    return BcError(404, title)


def parse_custom_items(raw: object) -> list[dict[str, Any]]:
    """``custom_items`` (``cart_PostCustomItem``): not in the catalog, no stock, never merged."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid("custom_items", "jsarray")
    items = []
    for index, item in enumerate(raw):
        field = f"custom_items[{index}]"
        if not isinstance(item, dict):
            raise invalid(field, "jsobject")
        name, sku = item.get("name"), item.get("sku")
        if not isinstance(name, str) or not 1 <= len(name) <= 250:
            raise BcError(
                422, MISSING_FIELDS_TITLE, errors={f"{field}.name": "1 to 250 characters"}
            )
        if sku is not None and not isinstance(sku, str):
            raise invalid(f"{field}.sku", "jsstring")
        price = price_cents(item.get("list_price"), f"{field}.list_price")
        items.append(
            {
                "name": name,
                "sku": sku or "",
                "quantity": quantity(item.get("quantity")),
                "list_price": price or 0,
                "image_url": item.get("image_url"),
            }
        )
    return items


def check_stock(store: Store, cart: Cart | None, items: list[ItemRequest]) -> None:
    """Stock is checked against the quantity the cart would hold for each line."""
    wanted: dict[Key, int] = {}
    if cart is not None:
        for line in cart.lines:
            if line.kind == "physical":
                wanted[line.key] = line.quantity
    for item in items:
        wanted[item.key] = wanted.get(item.key, 0) + item.quantity
    for item in items:
        check_quantity(store, item.key, wanted[item.key])


def check_quantity(store: Store, key: Key, wanted: int) -> None:
    available = store.stock.get(key, 0)
    if wanted > available:
        name = store.sellables[key].name
        raise BcError(422, NOT_ENOUGH_STOCK_TITLE.format(available=available, name=name))


def add_items(
    store: Store, cart: Cart, items: list[ItemRequest], customs: list[dict[str, Any]]
) -> None:
    """Apply validated items: the same product and variant merge into one line."""
    for item in items:
        line = next((x for x in cart.lines if x.kind == "physical" and x.key == item.key), None)
        if line is not None:
            line.quantity += item.quantity
            if item.list_price is not None:
                line.list_price = item.list_price
            if item.name:
                line.name = item.name
            continue
        unit = store.sellables[item.key]
        variant = next((v for v in item.product.variants if v.variant_id == item.variant_id), None)
        extra: dict[str, Any] = {
            "product_id": item.product.product_id,
            "variant_id": item.variant_id,
        }
        if variant is not None:
            extra["option"] = {
                "name": variant.option,
                "nameId": variant.variant_id * 10,
                "value": variant.value,
                "valueId": variant.variant_id,
            }
        cart.lines.append(
            Line(
                id=str(uuid.uuid4()),
                key=item.key,
                platform_ref=dict(unit.platform_ref),
                quantity=item.quantity,
                original_price=unit.price,
                list_price=unit.price if item.list_price is None else item.list_price,
                name=item.name or item.product.name,
                sku=unit.sku,
                extra=extra,
            )
        )
    for custom in customs:
        line_id = str(uuid.uuid4())
        cart.lines.append(
            Line(
                id=line_id,
                key=("custom", line_id),
                platform_ref={"custom_sku": custom["sku"]},
                quantity=custom["quantity"],
                list_price=custom["list_price"],
                original_price=custom["list_price"],
                name=custom["name"],
                sku=custom["sku"],
                kind="custom",
                extra={"image_url": custom["image_url"]},
            )
        )
