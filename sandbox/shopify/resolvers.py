"""Shopify's cart query and mutations, as GraphQL resolvers over the sandbox's carts.

Why this module exists: each resolver is one Storefront API operation
(https://shopify.dev/docs/api/storefront/2026-04/mutations/cartCreate, ``cartLinesAdd``,
``cartLinesUpdate``, ``cartLinesRemove``, and the ``cart`` query); ``sandbox.shopify.rules``
holds the rules they apply and ``sandbox.shopify.server`` the HTTP endpoint that executes them.
A mutation runs on a copy of the cart, so a failure changes nothing and answers ``cart: null``.
"""

from __future__ import annotations

from collections.abc import Callable
from copy import copy
from typing import Any

from graphql import GraphQLSchema

from sandbox.shopify.rules import (
    CART_NOT_FOUND,
    Context,
    Rejected,
    add_lines,
    new_cart,
    remove_lines,
    render_cart,
    update_lines,
    user_error,
)
from sandbox.state import Cart, Line


def _mutation(ctx: Context, cart: Cart | None, apply: Callable[[Cart], None]) -> dict[str, Any]:
    """Run one cart mutation: a failure changes nothing and answers ``cart: null``."""
    if cart is None:
        return {"cart": None, "userErrors": [user_error("INVALID", ["cartId"], CART_NOT_FOUND)],
                "warnings": []}  # fmt: skip
    trial = Cart(
        cart.id, cart.created, cart.updated, [_copy(x) for x in cart.lines], dict(cart.attrs)
    )
    try:
        apply(trial)
    except Rejected as rejected:
        ctx.warnings.clear()
        return {"cart": None, "userErrors": rejected.errors, "warnings": []}
    cart.lines, cart.attrs = trial.lines, trial.attrs
    cart.touch(ctx.state.now())
    ctx.store.carts[cart.id] = cart
    return {"cart": render_cart(ctx, cart), "userErrors": [], "warnings": list(ctx.warnings)}


def _copy(line: Line) -> Line:
    clone = copy(line)
    clone.extra = dict(line.extra)
    return clone


def _cart(ctx: Context, cart_id: str) -> Cart | None:
    return ctx.store.cart(cart_id, ctx.state.now())


def cart_create(_: Any, info: Any, input: dict[str, Any] | None = None) -> dict[str, Any]:
    ctx: Context = info.context
    body = input or {}
    cart = new_cart(ctx, ctx.state.now())

    def apply(trial: Cart) -> None:
        if body.get("note") is not None:
            trial.attrs["note"] = body["note"]
        if body.get("attributes") is not None:
            trial.attrs["attributes"] = [dict(a) for a in body["attributes"]]
        if body.get("buyerIdentity") is not None:
            trial.attrs["buyer"] = {
                k: body["buyerIdentity"].get(k) for k in ("email", "phone", "countryCode")
            }
        add_lines(ctx, trial, body.get("lines") or [], ["input", "lines"])

    return _mutation(ctx, cart, apply)


def cart_lines_add(_: Any, info: Any, cartId: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    ctx: Context = info.context
    return _mutation(ctx, _cart(ctx, cartId), lambda c: add_lines(ctx, c, lines, ["lines"]))


def cart_lines_update(
    _: Any, info: Any, cartId: str, lines: list[dict[str, Any]]
) -> dict[str, Any]:
    ctx: Context = info.context
    return _mutation(ctx, _cart(ctx, cartId), lambda c: update_lines(ctx, c, lines))


def cart_lines_remove(_: Any, info: Any, cartId: str, lineIds: list[str]) -> dict[str, Any]:
    ctx: Context = info.context
    return _mutation(ctx, _cart(ctx, cartId), lambda c: remove_lines(ctx, c, lineIds))


def cart_query(_: Any, info: Any, id: str) -> dict[str, Any] | None:
    """``cart(id:)`` is null for an unknown, expired or foreign cart, as Hydrogen handles it
    (https://github.com/Shopify/hydrogen/pull/325)."""
    ctx: Context = info.context
    cart = _cart(ctx, id)
    return None if cart is None else render_cart(ctx, cart)


def bind(schema: GraphQLSchema) -> None:
    """Make the schema executable: its cart query and mutations resolve to the functions above."""
    mutation = schema.mutation_type
    query = schema.query_type
    assert mutation is not None and query is not None
    mutation.fields["cartCreate"].resolve = cart_create
    mutation.fields["cartLinesAdd"].resolve = cart_lines_add
    mutation.fields["cartLinesUpdate"].resolve = cart_lines_update
    mutation.fields["cartLinesRemove"].resolve = cart_lines_remove
    query.fields["cart"].resolve = cart_query
