"""The cart routes of API v1 (``/v1/carts``), for apps authenticated by their API key.

Handlers only translate: JSON in through the schemas, one ``CartService`` call, JSON out. The
rules live in ``orchestrator.service.carts`` and ``bags``; persistence in ``orchestrator.store``.
"""

from __future__ import annotations

from aiohttp import web

from bags import CartStatus, RequestedLine
from config import Settings
from errors import ApiError, ErrorCode, FieldProblem, InvalidRequest
from orchestrator.http.envelope import json_response, read_model
from orchestrator.http.fields import ID_MAX, ID_PATTERN, checked_id, checked_int
from orchestrator.http.keys import (
    APP_ID,
    LIVE_CART_QUOTA,
    SERVICES,
    SETTINGS,
)
from orchestrator.http.routes import QueryParam, Route
from orchestrator.http.schemas import CartOut, CartPageOut, CreateCartIn, cart_json
from orchestrator.http.sku_routes import ETAG_HEADER
from orchestrator.service.carts import CartService
from orchestrator.service.creation import CreateCart
from orchestrator.service.mutations import etag

MAX_CURSOR = 512
CURSOR_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": MAX_CURSOR,
    "pattern": "^[A-Za-z0-9_-]+$",
}


def query_id(request: web.Request, name: str) -> str | None:
    """An id-like query value, checked (``None`` when absent; empty is refused)."""
    raw = request.query.get(name)
    return None if raw is None else checked_id(raw, name)


def query_cursor(request: web.Request) -> str | None:
    raw = request.query.get("cursor")
    if raw is None:
        return None
    if (
        not raw
        or len(raw) > MAX_CURSOR
        or not raw.isascii()
        or not raw.replace("-", "").replace("_", "").isalnum()
    ):
        raise InvalidRequest([FieldProblem("cursor", "is not a cursor this service made")])
    return raw


async def create_cart(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    body = await read_model(request, CreateCartIn, empty_ok=True)
    if len(body.metadata) > settings.max_metadata_entries:
        raise InvalidRequest(
            [FieldProblem("metadata", f"at most {settings.max_metadata_entries} entries")]
        )
    command = CreateCart(
        lines=[RequestedLine(line.sku_id, line.quantity) for line in body.skus],
        currency=body.currency or settings.default_currency,
        customer_id=body.customer_id,
        name=body.name,
        app_order_id=body.app_order_id,
        metadata=body.metadata,
        all_or_nothing=body.atomicity == "all_or_nothing",
    )
    service: CartService = request.app[SERVICES].carts
    async with request.app[LIVE_CART_QUOTA].reserve(request[APP_ID]) as place:
        cart = await service.create(request[APP_ID], command)  # after the quota: no call before
        place.made()
    return json_response(cart_json(cart), status=201, headers={"ETag": etag(cart.version)})


async def resume_create(request: web.Request, cart_id: str) -> web.Response | None:
    """The answer to a create retried with the Idempotency-Key of one that died after writing
    ``cart_id``: that cart, its unsettled bags settled first (as the reconciler would), never
    a second cart. None when its record is gone (a creation failure discarded it, and its
    external carts are in the outbox): the create runs again."""
    store = request.app[SERVICES].store
    stored = await store.carts.get_any(cart_id)
    if stored is None or stored.app_id != request[APP_ID]:
        return None
    if stored.status is not CartStatus.IN_PROGRESS:
        raise ApiError(
            "The cart this Idempotency-Key created has expired or was deleted.",
            kind=ErrorCode.CART_EXPIRED,
        )
    await request.app[SERVICES].reconciler.settle_now(cart_id)
    cart = await request.app[SERVICES].carts.get(request[APP_ID], cart_id)
    return json_response(cart_json(cart), status=201, headers={"ETag": etag(cart.version)})


async def get_cart(request: web.Request) -> web.Response:
    cart_id = checked_id(request.match_info["cart_id"], "cart_id")
    cart = await request.app[SERVICES].carts.get(request[APP_ID], cart_id)
    return json_response(cart_json(cart), headers={"ETag": etag(cart.version)})


async def list_carts(request: web.Request) -> web.Response:
    limit = checked_int(request.query.get("limit"), "limit", 20, 1, 100)
    raw_status = request.query.get("status")
    status = None
    if raw_status is not None:
        try:
            status = CartStatus(raw_status)
        except ValueError as exc:
            choices = ", ".join(s.value for s in CartStatus)
            raise InvalidRequest([FieldProblem("status", f"must be one of {choices}")]) from exc
    carts, cursor = await request.app[SERVICES].carts.list(
        request[APP_ID],
        customer_id=query_id(request, "customer_id"),
        status=status,
        limit=limit,
        cursor=query_cursor(request),
    )
    return json_response({"data": [cart_json(c) for c in carts], "next_cursor": cursor})


async def delete_cart(request: web.Request) -> web.Response:
    cart_id = checked_id(request.match_info["cart_id"], "cart_id")
    await request.app[SERVICES].carts.delete(request[APP_ID], cart_id)
    return web.Response(status=204)


_CART_ID = "/v1/carts/{cart_id}"
# /v1/carts/preview is POST /v1/carts/preview's path: any other method there answers 405
# (reference_routes.add_preview_405); the document's cart_id is never "preview" (openapi.py).
_PREVIEW_IS_NO_CART = (ErrorCode.METHOD_NOT_ALLOWED,)
_Q_LIST = (
    QueryParam(
        "customer_id",
        {"type": "string", "maxLength": ID_MAX, "pattern": ID_PATTERN},
        "Only this customer's carts.",
    ),
    QueryParam("status", {"enum": [s.value for s in CartStatus]}, "Only carts in this status."),
    QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
    QueryParam("cursor", CURSOR_SCHEMA, "next_cursor of the previous page."),
)

CART_ROUTES: list[Route] = [
    Route(
        method="POST",
        path="/v1/carts",
        handler=create_cart,
        summary="Create a cart: split by merchant, create external carts",
        auth="app",
        body=CreateCartIn,
        ok_status=201,
        ok_body=CartOut,
        headers_out=ETAG_HEADER,
        errors=(
            ErrorCode.INVALID_SKUS,
            ErrorCode.QUOTA_EXCEEDED,
            ErrorCode.EXTERNAL_CART_CREATION_FAILURE,
        ),
        operation_id="createCart",
        resume=resume_create,
        links={
            "GetCart": ("getCart", {"cart_id": "$response.body#/id"}),
            "DeleteCart": ("deleteCart", {"cart_id": "$response.body#/id"}),
        },
    ),
    Route(
        method="GET",
        path="/v1/carts",
        handler=list_carts,
        summary="List the app's carts, newest first",
        auth="app",
        ok_body=CartPageOut,
        query=_Q_LIST,
        operation_id="listCarts",
    ),
    Route(
        method="GET",
        path=_CART_ID,
        handler=get_cart,
        summary="Get a cart",
        auth="app",
        ok_body=CartOut,
        headers_out=ETAG_HEADER,
        errors=(ErrorCode.CART_NOT_FOUND, *_PREVIEW_IS_NO_CART),
        operation_id="getCart",
    ),
    Route(
        method="DELETE",
        path=_CART_ID,
        handler=delete_cart,
        summary="Delete a cart and its external carts",
        auth="app",
        ok_status=204,
        errors=(ErrorCode.CART_NOT_FOUND, ErrorCode.CART_BUSY, *_PREVIEW_IS_NO_CART),
        operation_id="deleteCart",
    ),
]
