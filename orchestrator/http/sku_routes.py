"""The line routes of a cart (``/v1/carts/{cart_id}/skus``): add a SKU, set a quantity, remove.

Handlers only translate: the body through its schema, ``If-Match`` into an ``IfMatch``, one
``CartMutations`` call, the cart out with its version as the ``ETag``. The rules live in
``orchestrator.service.mutations`` and ``lines``.

``If-Match`` follows RFC 9110 §13.1.1: ``*`` or a list of entity tags; a weak tag (``W/"3"``)
never matches (If-Match compares strongly); a list naming no current version answers 412
``precondition_failed`` before anything changes. A header that is not that syntax is a 400.
"""

from __future__ import annotations

import re
from typing import Annotated

from aiohttp import web
from pydantic import Field, StrictInt

from bags import Cart
from errors import ErrorCode, FieldProblem, InvalidRequest
from orchestrator.http.envelope import json_response, read_model
from orchestrator.http.fields import checked_id
from orchestrator.http.keys import APP_ID, SERVICES
from orchestrator.http.routes import QueryParam, Route
from orchestrator.http.schemas import CartOut, SkuLineIn, Strict, cart_json
from orchestrator.service.expiry import show_platform_expiry
from orchestrator.service.mutations import IfMatch, etag

_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e]*)"')
_TAGS_PATTERN = r'^(\*|[ \t]*(W/)?"[\x21\x23-\x7e]*"[ \t]*(,[ \t]*(W/)?"[\x21\x23-\x7e]*"[ \t]*)*)$'
_TAGS = re.compile(_TAGS_PATTERN)
IF_MATCH = QueryParam(
    "If-Match",
    {"type": "string", "maxLength": 1024, "pattern": _TAGS_PATTERN},
    'The cart\'s version as its ETag (`"3"`), or `*`: the change is made only if the cart is '
    "still at that version, else 412 precondition_failed and nothing changes.",
)
ETAG_HEADER = {
    "ETag": {
        "description": 'The cart\'s version, quoted (`"3"`): send it back in If-Match.',
        "schema": {"type": "string"},
    }
}


class SkuQuantityIn(Strict):
    quantity: Annotated[StrictInt, Field(ge=0, le=2**31 - 1, description="0 removes the line.")]


def if_match(request: web.Request) -> IfMatch | None:
    """The request's ``If-Match`` (None when absent); 400 naming it when malformed."""
    values = request.headers.getall("If-Match", [])
    if not values:
        return None
    raw = ", ".join(values)
    if not _TAGS.fullmatch(raw.strip(" \t")):
        raise InvalidRequest(
            [FieldProblem("If-Match", 'must be * or a list of entity tags such as "3"')]
        )
    if raw.strip(" \t") == "*":
        return IfMatch(any=True)
    versions = {
        int(tag.group(2))
        for tag in _TAG.finditer(raw)
        # A weak tag never matches (If-Match compares strongly); ours are decimal versions.
        if tag.group(1) is None and tag.group(2).isdigit() and len(tag.group(2)) <= 18
    }
    return IfMatch(versions=frozenset(versions))


def _answer(request: web.Request, cart: Cart) -> web.Response:
    """The changed cart as a read would show it (platform-expired bags read EXPIRED)."""
    shown = show_platform_expiry(cart, request.app[SERVICES].clock())
    return json_response(cart_json(shown), headers={"ETag": etag(cart.version)})


async def add_sku(request: web.Request) -> web.Response:
    cart_id = checked_id(request.match_info["cart_id"], "cart_id")
    precondition = if_match(request)
    body = await read_model(request, SkuLineIn)
    cart = await request.app[SERVICES].mutations.add_sku(
        request[APP_ID], cart_id, body.sku_id, body.quantity, precondition
    )
    return _answer(request, cart)


async def update_sku(request: web.Request) -> web.Response:
    cart_id = checked_id(request.match_info["cart_id"], "cart_id")
    line_id = checked_id(request.match_info["order_sku_id"], "order_sku_id")
    precondition = if_match(request)
    body = await read_model(request, SkuQuantityIn)
    cart = await request.app[SERVICES].mutations.set_quantity(
        request[APP_ID], cart_id, line_id, body.quantity, precondition
    )
    return _answer(request, cart)


async def remove_sku(request: web.Request) -> web.Response:
    cart_id = checked_id(request.match_info["cart_id"], "cart_id")
    line_id = checked_id(request.match_info["order_sku_id"], "order_sku_id")
    precondition = if_match(request)
    cart = await request.app[SERVICES].mutations.remove_sku(
        request[APP_ID], cart_id, line_id, precondition
    )
    return _answer(request, cart)


_LINE = "/v1/carts/{cart_id}/skus/{order_sku_id}"
_CHANGE_CODES = (
    ErrorCode.CART_NOT_FOUND,
    ErrorCode.PRECONDITION_FAILED,
    ErrorCode.CART_BUSY,
    ErrorCode.CART_EXPIRED,
)
_LINE_LINKS = {
    "UpdateSku": (
        "updateCartSku",
        {"cart_id": "$response.body#/id", "order_sku_id": "$response.body#/bags/0/skus/0/id"},
    ),
    "RemoveSku": (
        "removeCartSku",
        {"cart_id": "$response.body#/id", "order_sku_id": "$response.body#/bags/0/skus/0/id"},
    ),
}

SKU_ROUTES: list[Route] = [
    Route(
        method="POST",
        path="/v1/carts/{cart_id}/skus",
        handler=add_sku,
        summary="Add a SKU: to its merchant's bag, or a new bag and external cart",
        auth="app",
        body=SkuLineIn,
        ok_body=CartOut,
        errors=(*_CHANGE_CODES, ErrorCode.INVALID_SKUS),
        headers_in=(IF_MATCH,),
        headers_out=ETAG_HEADER,
        operation_id="addCartSku",
        links=_LINE_LINKS,
    ),
    Route(
        method="PATCH",
        path=_LINE,
        handler=update_sku,
        summary="Set a line's quantity (0 removes it)",
        auth="app",
        body=SkuQuantityIn,
        ok_body=CartOut,
        errors=(*_CHANGE_CODES, ErrorCode.ORDER_SKU_NOT_FOUND),
        headers_in=(IF_MATCH,),
        headers_out=ETAG_HEADER,
        operation_id="updateCartSku",
    ),
    Route(
        method="DELETE",
        path=_LINE,
        handler=remove_sku,
        summary="Remove a line (an emptied bag's external cart is deleted)",
        auth="app",
        ok_body=CartOut,
        errors=(*_CHANGE_CODES, ErrorCode.ORDER_SKU_NOT_FOUND),
        headers_in=(IF_MATCH,),
        headers_out=ETAG_HEADER,
        operation_id="removeCartSku",
    ),
]
