"""The cart routes of API v1 (``/v1/carts``), for apps authenticated by their API key.

Handlers only translate: JSON in through the schemas, one ``CartService`` call, JSON out. The
rules live in ``orchestrator.service.carts`` and ``bags``; persistence in ``orchestrator.store``.
"""

from __future__ import annotations

from aiohttp import web

from bags.split import RequestedLine
from bags.status import CartStatus
from config import Settings
from errors import FieldProblem, InvalidRequest
from orchestrator.http.keys import APP_ID, REQUEST_ID, SERVICE, SETTINGS
from orchestrator.http.routes import QueryParam, Route
from orchestrator.http.schemas import CartOut, CartPageOut, CreateCartIn, cart_json
from orchestrator.http.web import json_response, read_model
from orchestrator.service.carts import CartService, CreateCart


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
    service: CartService = request.app[SERVICE]
    cart = await service.create(request[APP_ID], command)
    return json_response(cart_json(cart), status=201)


async def get_cart(request: web.Request) -> web.Response:
    cart = await request.app[SERVICE].get(request[APP_ID], request.match_info["cart_id"])
    return json_response(cart_json(cart))


def _query_int(request: web.Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise InvalidRequest([FieldProblem(name, f"must be an integer from {low} to {high}")])
    return int(raw)


async def list_carts(request: web.Request) -> web.Response:
    limit = _query_int(request, "limit", 20, 1, 100)
    raw_status = request.query.get("status")
    status = None
    if raw_status is not None:
        try:
            status = CartStatus(raw_status)
        except ValueError as exc:
            choices = ", ".join(s.value for s in CartStatus)
            raise InvalidRequest([FieldProblem("status", f"must be one of {choices}")]) from exc
    carts, cursor = await request.app[SERVICE].list(
        request[APP_ID],
        customer_id=request.query.get("customer_id") or None,
        status=status,
        limit=limit,
        cursor=request.query.get("cursor") or None,
    )
    return json_response({"data": [cart_json(c) for c in carts], "next_cursor": cursor})


async def delete_cart(request: web.Request) -> web.Response:
    await request.app[SERVICE].delete(
        request[APP_ID], request.match_info["cart_id"], request[REQUEST_ID]
    )
    return web.Response(status=204)


_CART_ID = "/v1/carts/{cart_id}"
_Q_LIST = (
    QueryParam("customer_id", {"type": "string"}, "Only this customer's carts."),
    QueryParam("status", {"enum": [s.value for s in CartStatus]}, "Only carts in this status."),
    QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
    QueryParam("cursor", {"type": "string"}, "next_cursor of the previous page."),
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
        errors=(400, 401, 413, 415, 422, 502, 503),
        operation_id="createCart",
    ),
    Route(
        method="GET",
        path="/v1/carts",
        handler=list_carts,
        summary="List the app's carts, newest first",
        auth="app",
        ok_body=CartPageOut,
        errors=(400, 401),
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
        errors=(401, 404),
        operation_id="getCart",
    ),
    Route(
        method="DELETE",
        path=_CART_ID,
        handler=delete_cart,
        summary="Delete a cart and its external carts",
        auth="app",
        ok_status=204,
        errors=(401, 404, 409),
        operation_id="deleteCart",
    ),
]
