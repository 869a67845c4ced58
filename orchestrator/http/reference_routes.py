"""The cart lifecycle routes beyond create/read/delete: saved references, bag retries, previews.

Handlers only translate, as in ``cart_routes.py``: JSON in through the models, one service call
(``service/references.py``, ``service/bag_retry.py``, ``service/preview.py``), JSON out. The
services are built per request from the app's shared objects (store, adapters, settings): they
hold nothing of their own. ``/v1/carts/preview`` is listed before ``/v1/carts/{cart_id}`` in
``app.ROUTES`` so the router never takes ``preview`` for a cart id.
"""

from __future__ import annotations

from aiohttp import web

from bags import RequestedLine
from config import Settings
from errors import ErrorCode, FieldProblem, InvalidRequest
from orchestrator.http.envelope import json_response, read_model
from orchestrator.http.fields import checked_id
from orchestrator.http.keys import APP_ID, LIVE_CART_QUOTA, SERVICES, SETTINGS
from orchestrator.http.reference_schemas import PreviewOut, SaveReferenceIn, preview_json
from orchestrator.http.routes import Route
from orchestrator.http.schemas import CartOut, CreateCartIn, cart_json
from orchestrator.service.expiry import show_platform_expiry
from orchestrator.service.references import SaveReference


async def save_reference(request: web.Request) -> web.Response:
    body = await read_model(request, SaveReferenceIn)
    app = request.app
    service = app[SERVICES].references
    async with app[LIVE_CART_QUOTA].reserve(request[APP_ID]) as place:
        cart = await service.save(
            request[APP_ID],
            SaveReference(
                external_id=body.cart_id, merchant_id=body.source, customer_id=body.customer_id
            ),
        )
        place.made()
    return json_response(cart_json(cart), status=201)


async def retry_bag(request: web.Request) -> web.Response:
    cart_id = checked_id(request.match_info["cart_id"], "cart_id")
    bag_id = checked_id(request.match_info["bag_id"], "bag_id")
    app = request.app
    service = app[SERVICES].bag_retry
    cart = await service.retry(request[APP_ID], cart_id, bag_id)
    return json_response(cart_json(show_platform_expiry(cart, app[SERVICES].clock())))


async def preview_cart(request: web.Request) -> web.Response:
    settings: Settings = request.app[SETTINGS]
    body = await read_model(request, CreateCartIn)
    if len(body.metadata) > settings.max_metadata_entries:  # the create's own 400
        raise InvalidRequest(
            [FieldProblem("metadata", f"at most {settings.max_metadata_entries} entries")]
        )
    preview = await request.app[SERVICES].preview.preview(
        [RequestedLine(line.sku_id, line.quantity) for line in body.skus],
        body.currency or settings.default_currency,
    )
    return json_response(preview_json(preview))


PREVIEW_PATH = "/v1/carts/preview"


def add_preview_405(router: web.UrlDispatcher) -> None:
    """Any other method of ``/v1/carts/preview`` answers 405 ``Allow: POST`` (a GET is never
    a read of a cart named ``preview``). Without this the router's 405 would also name
    ``/v1/carts/{cart_id}``'s methods, whose path ``preview`` fits. Added after every route."""

    async def only_post(request: web.Request) -> web.StreamResponse:
        raise web.HTTPMethodNotAllowed(request.method, ["POST"])

    router.add_route("*", PREVIEW_PATH, only_post)


_GET_CART = {
    "GetCart": ("getCart", {"cart_id": "$response.body#/id"}),
    "DeleteCart": ("deleteCart", {"cart_id": "$response.body#/id"}),
}

# Before CART_ROUTES in app.ROUTES: /v1/carts/preview is not a cart id.
LIFECYCLE_ROUTES: list[Route] = [
    Route(
        method="POST",
        path=PREVIEW_PATH,
        handler=preview_cart,
        summary="Preview a create: the bags, catalog prices and SKU problems, with no platform"
        " call and nothing written",
        auth="app",
        body=CreateCartIn,
        ok_body=PreviewOut,
        operation_id="previewCart",
    ),
    Route(
        method="POST",
        path="/v1/carts/{cart_id}/bags/{bag_id}/retry",
        handler=retry_bag,
        summary="Retry a FAILED bag's external cart creation; answers the cart",
        auth="app",
        ok_body=CartOut,
        errors=(
            ErrorCode.CART_NOT_FOUND,
            ErrorCode.BAG_NOT_FOUND,
            ErrorCode.BAG_NOT_RETRYABLE,
            ErrorCode.CART_BUSY,
            ErrorCode.CART_EXPIRED,
        ),
        operation_id="retryBag",
    ),
    Route(
        method="POST",
        path="/v1/cart-references",
        handler=save_reference,
        summary="Save an external cart by reference: a cart with one bag linked to it",
        auth="app",
        body=SaveReferenceIn,
        ok_status=201,
        ok_body=CartOut,
        errors=(
            ErrorCode.MERCHANT_NOT_FOUND,
            ErrorCode.QUOTA_EXCEEDED,
            ErrorCode.EXTERNAL_CART_NOT_FOUND,
            ErrorCode.DUPLICATE_CART,
            ErrorCode.EXTERNAL_CART_READ_FAILURE,
        ),
        operation_id="saveCartReference",
        links=_GET_CART,
    ),
]
