"""Shopify's cart payloads, translated to and from ``adapters.base``: pure data, no I/O.

Why a module of its own: writing the GraphQL variables (``CartInput``, ``CartLineInput``, our
ids as cart attributes) and reading the answers (the ``Cart`` selected by
``adapters.shopify.documents``, ``MoneyV2`` decimal strings, stock ``warnings``) is translation
only; ``adapters.shopify.adapter`` makes the calls and ``adapters.shopify.failures`` reads the
failures. Reference: https://shopify.dev/docs/api/storefront/2026-04/objects/Cart
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import orjson

from adapters.base import CartContext, ExternalCart, ExternalLine, LineProblem, LineRequest
from adapters.calls.answers import minor_units, quantity_in_range
from adapters.calls.http import Answer
from adapters.calls.line_refusals import reference_refused, sku_data
from adapters.calls.platform_text import platform_text
from adapters.shopify.failures import PLATFORM, unreadable, user_errors_error
from errors import Cause, PlatformNotFound, PlatformRejected

VARIANT_GID = re.compile(r"gid://shopify/ProductVariant/[0-9]+")
# "The input must not contain more than `250` values." (CartInput.lines, cartLinesAdd.lines)
MAX_LINES = 250
# Since API 2024-10 a stock shortfall is not a userError: the mutation succeeds, the line is
# reduced or dropped, and a warning says so (https://shopify.dev/docs/storefronts/headless/
# building-with-the-storefront-api/cart/cart-warnings).
STOCK_WARNINGS = frozenset({"MERCHANDISE_NOT_ENOUGH_STOCK", "MERCHANDISE_OUT_OF_STOCK"})
# Cart attributes carrying multicart's ids (and the app's references) to the shop's orders.
ATTRIBUTE_KEYS = {
    "cart_id": "_multicart_cart_id",
    "bag_id": "_multicart_bag_id",
    "customer_id": "_multicart_customer_id",
    "name": "_multicart_name",
}
_UNREADABLE = (KeyError, TypeError, ValueError, AttributeError, ArithmeticError, IndexError)


# --- variables ------------------------------------------------------------------------------------


def merchandise_id(line: LineRequest) -> str:
    """The catalog's ``{"variant_id": "gid://shopify/ProductVariant/<n>"}``, checked."""
    value = line.platform_ref.get("variant_id")
    if not isinstance(value, str) or not VARIANT_GID.fullmatch(value):
        raise reference_refused(
            line,
            f"the catalog's Shopify ref for {line.sku_id or 'a line'} is not a"
            " gid://shopify/ProductVariant/<n> variant_id",
            platform=PLATFORM,
        )
    return value


def line_inputs(lines: Sequence[LineRequest]) -> list[dict[str, Any]]:
    """``[CartLineInput!]``: merchandiseId and quantity (which defaults to 1 when left out)."""
    if len(lines) > MAX_LINES:
        raise PlatformRejected(
            f"Shopify takes at most {MAX_LINES} lines per call, not {len(lines)}",
            platform=PLATFORM,
            data=sku_data([ln.sku_id for ln in lines]),
        )
    return [{"merchandiseId": merchandise_id(ln), "quantity": ln.quantity} for ln in lines]


def cart_input(lines: Sequence[LineRequest], context: CartContext | None) -> dict[str, Any]:
    """``CartInput`` for cartCreate: the lines and our ids as attributes.

    ``customer_id`` is the app's own reference, not a Shopify customer access token, so it is an
    attribute and never ``buyerIdentity.customerAccessToken``; we know no email, phone or
    country for ``buyerIdentity``, and a ``note`` is for the buyer, so neither is sent.
    """
    variables: dict[str, Any] = {"lines": line_inputs(lines)}
    if context is not None:
        values = {
            "cart_id": context.cart_id,
            "bag_id": context.bag_id,
            "customer_id": context.customer_id,
            "name": context.name,
        }
        attributes = [{"key": ATTRIBUTE_KEYS[k], "value": v} for k, v in values.items() if v]
        if attributes:
            variables["attributes"] = attributes
    return variables


# --- answers --------------------------------------------------------------------------------------


def root_of(response: Answer, root: str) -> Any:
    """``data.<root>`` of an answer ``classify`` let through."""
    try:
        return orjson.loads(response.body)["data"][root]
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        raise unreadable(response, f"no data.{root}") from exc


def _money(money: Mapping[str, Any], currency: str) -> int:
    """``MoneyV2``: a decimal string, read exactly to the currency's minor units."""
    if money["currencyCode"] != currency:
        raise ValueError(f"{money['currencyCode']} amount in a {currency} cart")
    return minor_units(money["amount"], currency)


def _line(node: Mapping[str, Any], currency: str) -> ExternalLine:
    variant = node["merchandise"]
    product = str((variant.get("product") or {}).get("title") or "")
    title = str(variant.get("title") or "")
    # "Default Title" is the one variant of a product without options.
    name = f"{product} - {title}" if title and title != "Default Title" else product or title
    cost = node["cost"]
    return ExternalLine(
        external_id=str(node["id"]),
        platform_ref={"variant_id": str(variant["id"])},
        quantity=quantity_in_range(int(node["quantity"])),
        unit_price=_money(cost["amountPerQuantity"], currency),
        line_price=_money(cost["totalAmount"], currency),
        name=name,
    )


def read_cart(node: Mapping[str, Any], response: Answer) -> ExternalCart:
    """A ``Cart`` (as ``documents._CART_FIELDS`` selects it) to an ``ExternalCart``."""
    try:
        subtotal = node["cost"]["subtotalAmount"]
        currency = str(subtotal["currencyCode"])
        return ExternalCart(
            external_id=str(node["id"]),  # with its ?key=..., which Shopify needs back
            currency=currency,
            sub_total=_money(subtotal, currency),
            lines=tuple(_line(edge["node"], currency) for edge in node["lines"]["edges"]),
            checkout_url=str(node["checkoutUrl"]) if node.get("checkoutUrl") else None,
        )
    except _UNREADABLE as exc:
        raise unreadable(
            response, f"a cart this adapter cannot read ({type(exc).__name__}: {exc})"
        ) from exc


def queried_cart(response: Answer) -> ExternalCart:
    """``cart(id:)``: null for an unknown, expired or foreign cart."""
    node = root_of(response, "cart")
    if node is None:
        raise PlatformNotFound(
            "Shopify has no such cart (unknown or expired)",
            platform=PLATFORM,
            status=response.status,
        )
    if not isinstance(node, dict):
        raise unreadable(response, "a cart that is not an object")
    return read_cart(node, response)


def mutated_cart(
    response: Answer,
    root: str,
    requests: Sequence[LineRequest] = (),
    *,
    creating: bool = False,
) -> ExternalCart:
    """A mutation's ``{cart, userErrors, warnings}``: the cart, or the error it refused with."""
    payload = root_of(response, root)
    sku_ids = [r.sku_id for r in requests]
    try:
        user_errors = list(payload["userErrors"] or ())
        warnings = [w for w in payload.get("warnings") or () if isinstance(w, dict)]
        node = payload["cart"]
    except _UNREADABLE as exc:
        raise unreadable(response, f"a {root} payload this adapter cannot read") from exc
    if user_errors:
        raise user_errors_error(root, user_errors, sku_ids, response.status)
    if not isinstance(node, dict):
        raise unreadable(response, f"{root} without a cart and without userErrors")
    cart = read_cart(node, response)
    stock = [w for w in warnings if w.get("code") in STOCK_WARNINGS]
    problems = stock_problems(cart, stock, requests)
    if creating and not cart.lines:
        # Every line was dropped. The empty cart is the failure: it cannot be deleted (Shopify
        # has no delete mutation) and expires on its own, unreferenced.
        messages = "; ".join(platform_text(w.get("message") or w.get("code")) for w in stock)
        raise PlatformRejected(
            f"Shopify created the cart without any of its lines ({messages or 'no reason given'})",
            platform=PLATFORM,
            cause=Cause.OUT_OF_STOCK if stock else Cause.PLATFORM_REJECTED,
            status=response.status,
            data=sku_data(sku_ids),
        )
    return replace(cart, problems=problems) if problems else cart


def stock_problems(
    cart: ExternalCart, warnings: Sequence[Mapping[str, Any]], requests: Sequence[LineRequest]
) -> tuple[LineProblem, ...]:
    """Stock warnings as ``LineProblem``s of the lines asked for in this call.

    A warning's ``target`` is usually the CartLine id: a line still in the cart names its
    variant. A dropped line's id is in the cart no more; those warnings go, in order, to the
    requested variants the cart does not hold.
    """
    wanted: dict[str, LineRequest] = {}
    for request in requests:
        variant = request.platform_ref.get("variant_id")
        if isinstance(variant, str):
            wanted.setdefault(variant, request)
    by_line = {line.external_id: line for line in cart.lines}
    found: dict[str, str] = {}  # variant -> message
    unplaced: list[str] = []
    for warning in warnings:
        target, message = str(warning.get("target") or ""), str(warning.get("message") or "")
        line = by_line.get(target)
        variant = str(line.platform_ref["variant_id"]) if line is not None else target
        if variant in wanted:
            found[variant] = message or str(warning.get("code"))
        else:
            unplaced.append(message or str(warning.get("code")))
    if unplaced:
        dropped = [v for v in wanted if v not in found and cart.line_for({"variant_id": v}) is None]
        for at, variant in enumerate(dropped):
            found[variant] = unplaced[min(at, len(unplaced) - 1)]
    problems = []
    for variant, message in found.items():
        held = cart.line_for({"variant_id": variant})
        request = wanted[variant]
        problems.append(
            LineProblem(
                platform_ref=dict(request.platform_ref),
                cause=Cause.OUT_OF_STOCK,
                message=platform_text(message),  # stored in the cart's errors, shown to apps
                requested_quantity=request.quantity,
                held_quantity=held.quantity if held is not None else 0,
            )
        )
    return tuple(problems)
