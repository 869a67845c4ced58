"""Elastic Path Carts v2 bodies and answers, translated to and from ``adapters.base``.

Why a module of its own: writing cart and cart-item bodies and reading the JSON:API-like answers
(integer minor-unit money, ``cart_item`` / ``custom_item`` entries, per-item ``errors``) is pure
data translation with no I/O; ``adapters.elastic_path.adapter`` keeps the routes and the calls
(https://elasticpath.dev/docs/api/carts/cart-management).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from adapters.base import CartContext, ExternalCart, ExternalLine, LineRequest
from adapters.calls.answers import amount_in_range, quantity_in_range
from adapters.calls.http import Answer
from adapters.calls.ids import UUID, IdFormat
from adapters.calls.line_refusals import reference_refused
from adapters.elastic_path.failures import PLATFORM, ItemError, body_of, error_items
from errors import PlatformRejected, PlatformServerError

# A cart id of our choosing must use the safe characters ``a-zA-Z0-9_-``
# (https://elasticpath.dev/docs/api/carts/create-a-cart, "Custom identifier for the cart").
# The same rule holds every cart id put in a path (an app's reference, an answer's id; a cart
# made by ``POST /v2/carts`` has a UUID, which fits): no dot, so never a dot segment.
CART_REF = re.compile(r"[A-Za-z0-9_-]{1,255}")
CART_ID = IdFormat(CART_REF, "1 to 255 ASCII letters, digits, - or _ (an Elastic Path cart id)")
# Cart item ids are UUIDs (https://elasticpath.dev/docs/api/carts/get-cart-items).
ITEM_ID = IdFormat(UUID, "a UUID (an Elastic Path cart item id)")
NAME_MAX = 255  # "A cart name must contain 1 to 255 characters"


# --- bodies ---------------------------------------------------------------------------------------


def cart_ref_of(cart_ref: str | None) -> str:
    """The cart's id: the caller's reference (the bag id), or a fresh one."""
    if cart_ref is None:
        return uuid.uuid4().hex
    if not CART_REF.fullmatch(cart_ref):
        raise PlatformRejected(
            "an Elastic Path cart reference may use only a-z, A-Z, 0-9, '_' and '-'",
            platform=PLATFORM,
        )
    return cart_ref


def cart_fields(cart_ref: str, context: CartContext | None) -> dict[str, Any]:
    """The cart's name, description and custom attributes (``CartsRequest.data``).

    The default name has no whitespace: the docs say a name "cannot use whitespace characters"
    (https://elasticpath.dev/docs/api/carts/update-a-cart). Custom attributes take typed values,
    at most 20 per cart.
    """
    context = context or CartContext()
    cart_id = context.cart_id or cart_ref
    name = (context.name or "").strip() or f"multicart-{cart_id}"
    attributes = {
        "multicart_cart_id": context.cart_id,
        "multicart_bag_id": context.bag_id or cart_ref,
        "multicart_customer_id": context.customer_id or "",
    }
    return {
        "name": name[:NAME_MAX],
        "description": f"multicart cart {cart_id}, bag {context.bag_id or cart_ref}",
        "custom_attributes": {
            key: {"type": "string", "value": value} for key, value in attributes.items() if value
        },
    }


def cart_item(line: LineRequest) -> dict[str, Any]:
    """A ``CartItemObjectData``: a product by its UUID (``id``) or by its ``sku``."""
    ref = line.platform_ref
    try:
        if ref.get("product_id") is not None:
            product = str(uuid.UUID(str(ref["product_id"])))
            return {"type": "cart_item", "id": product, "quantity": line.quantity}
        if isinstance(ref.get("sku"), str) and ref["sku"].strip():
            return {"type": "cart_item", "sku": ref["sku"], "quantity": line.quantity}
    except ValueError:
        pass
    raise reference_refused(
        line,
        f"the catalog's Elastic Path reference for {line.sku_id or 'a line'} is neither a"
        " product_id UUID nor a sku",
        platform=PLATFORM,
    )


def bulk_add(lines: Sequence[LineRequest]) -> dict[str, Any]:
    """A ``BulkAddItemsRequest``. ``add_all_or_nothing: false`` (the documented default, sent
    explicitly): the valid items are added and each refused one is reported on its own
    (https://elasticpath.dev/docs/carts-orders/bulk-add-to-cart)."""
    return {
        "data": [cart_item(line) for line in lines],
        "options": {"add_all_or_nothing": False},
    }


def quantity_update(item_id: str, quantity: int) -> dict[str, Any]:
    """``UpdateCartsItems``: ``data.id`` is the *cart item* id, as in the path
    (https://elasticpath.dev/docs/api/carts/update-a-cart-item)."""
    return {"data": {"type": "cart_item", "id": item_id, "quantity": quantity}}


# --- answers --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CartState:
    """What ``GET /v2/carts/{id}`` says: our fields as the cart holds them, and whether it has
    items (None when the answer does not say)."""

    fields: dict[str, Any]
    has_items: bool | None


def _unreadable(response: Answer, what: str, exc: Exception) -> PlatformServerError:
    return PlatformServerError(
        f"Elastic Path answered {response.status} with {what} this adapter cannot read"
        f" ({type(exc).__name__}: {exc})",
        platform=PLATFORM,
        status=response.status,
    )


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TypeError(f"expected an object, got {type(value).__name__}")
    return value


def cart_state(response: Answer) -> CartState:
    """A ``CartEntityResponse`` (https://elasticpath.dev/docs/api/carts/get-a-cart)."""
    try:
        data = _object(_object(body_of(response))["data"])
        items = (data.get("relationships") or {}).get("items")
        if isinstance(items, dict) and "data" in items:
            has_items: bool | None = bool(items["data"])  # null or [] when empty
        else:
            has_items = None
        return CartState(
            fields={
                "name": data.get("name"),
                "description": data.get("description"),
                "custom_attributes": data.get("custom_attributes") or {},
            },
            has_items=has_items,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _unreadable(response, "a cart", exc) from exc


def _amount(price: Any) -> int:
    """An integer minor-unit ``amount``: never a float, never the ``formatted`` string."""
    value = _object(price)["amount"]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"amount {value!r} is not an integer of minor units")
    return amount_in_range(value)  # orjson reads up to 2**64 - 1; the store holds 2**63 - 1


def _quantity(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f"quantity {value!r} is not a count")
    return quantity_in_range(value)


def _id(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"id {value!r} is not a string")
    return value


def _line(item: dict[str, Any]) -> ExternalLine | None:
    kind = item.get("type")
    sku = item.get("sku")
    if kind == "cart_item":
        ref: dict[str, Any] = {"product_id": _id(item["product_id"])}
        if isinstance(sku, str) and sku:
            ref["sku"] = sku  # the catalog may name the product either way
    elif kind == "custom_item":
        ref = {"sku": str(sku or "")}
    else:
        return None  # promotion, subscription and tax entries are not catalog lines
    return ExternalLine(
        external_id=_id(item["id"]),
        platform_ref=ref,
        quantity=_quantity(item["quantity"]),
        unit_price=_amount(item["unit_price"]),
        line_price=_amount(item["value"]),
        name=str(item.get("name") or ""),
    )


def items_cart(
    response: Answer, cart_id: str, currency: str = ""
) -> tuple[ExternalCart, list[ItemError]]:
    """A cart-items collection (``CartsResponse``) as the cart, and any per-item ``errors`` it
    carries (a partly successful bulk add). Every add, update and read of items answers it
    (https://elasticpath.dev/docs/api/carts/get-cart-items).

    The cart's total is ``meta.display_price.with_tax`` (integer minor units); an answer without
    ``meta`` (the spec's ``CartItemsResponse`` has none) totals its lines' ``value``.
    """
    body = body_of(response)
    try:
        entries = _object(body)["data"]
        if not isinstance(entries, list):
            raise TypeError("data is not an array")
        pairs = [(line, _object(item)) for item in entries if (line := _line(_object(item)))]
        lines = tuple(line for line, _ in pairs)
        meta = body.get("meta")
        total = _object(_object(meta)["display_price"])["with_tax"] if meta else None
        said = [str(_object(item["unit_price"]).get("currency") or "") for _, item in pairs]
        if total is not None and total.get("currency"):
            said.insert(0, str(total["currency"]))
        held = next((c for c in said if c), currency)
        sub_total = (
            _amount(total)
            if total is not None
            else amount_in_range(sum(ln.line_price for ln in lines))
        )
        cart = ExternalCart(external_id=cart_id, currency=held, sub_total=sub_total, lines=lines)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _unreadable(response, "cart items", exc) from exc
    return cart, error_items(body, response.status)
