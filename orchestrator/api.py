"""HTTP handlers of API v1: carts for apps, catalog and tenants for admins, health for operators.

Handlers only translate: JSON in through the schemas, a use case call, JSON out. The rules live
in ``carts.py`` and ``bags``; persistence in ``store.py``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from bags.models import Merchant
from bags.split import RequestedLine
from bags.status import CartStatus, Platform
from config import Settings
from errors import ApiError, ErrorCode, FieldProblem, InvalidRequest, NotFound, Unauthorized
from orchestrator.carts import CartService, CreateCart
from orchestrator.keys import BOX, KEYS_CACHE, PLATFORMS, SERVICE, SETTINGS, STORE
from orchestrator.routes import QueryParam, Route
from orchestrator.schemas import (
    AppIn,
    AppOut,
    CartOut,
    CartPageOut,
    CreateCartIn,
    HealthOut,
    MerchantIn,
    MerchantListOut,
    MerchantOut,
    SkuIn,
    SkuListOut,
    SkuOut,
    UpsertOut,
    cart_json,
)
from orchestrator.secrets import hash_api_key, new_api_key, new_id, tokens_equal
from orchestrator.web import (
    APP_ID,
    REQUEST_ID,
    bearer_token,
    json_response,
    read_json,
    read_model,
    validation_problems,
)

MAX_SKUS_PER_UPSERT = 1000
_SKU_LIST = TypeAdapter(list[SkuIn])


async def authenticate_app(request: web.Request) -> str:
    key_hash = hash_api_key(bearer_token(request))
    cache: dict[str, str] = request.app[KEYS_CACHE]
    app_id = cache.get(key_hash)
    if app_id is None:
        app_id = await request.app[STORE].app_id_for_key_hash(key_hash)
        if app_id is None:
            raise Unauthorized("The API key is not valid.")
        cache[key_hash] = app_id
    return app_id


def authenticate_admin(request: web.Request) -> None:
    expected = request.app[SETTINGS].admin_token.get_secret_value()
    if not expected or not tokens_equal(bearer_token(request), expected):
        raise Unauthorized("The admin token is not valid.")


# --- carts -------------------------------------------------------------------------------


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


# --- admin -------------------------------------------------------------------------------


async def create_app(request: web.Request) -> web.Response:
    body = await read_model(request, AppIn)
    app_id, key = new_id("app"), new_api_key()
    await request.app[STORE].create_app(app_id, body.name, hash_api_key(key))
    return json_response(AppOut(id=app_id, name=body.name, api_key=key), status=201)


async def create_merchant(request: web.Request) -> web.Response:
    body = await read_model(request, MerchantIn)
    platforms = request.app[PLATFORMS]
    platform = Platform(body.platform)
    if platform not in platforms.supported_platforms():
        supported = ", ".join(sorted(p.value for p in platforms.supported_platforms()))
        raise InvalidRequest(
            [FieldProblem("platform", f"{platform.value} is not supported yet; use {supported}")]
        )
    try:
        connection = platforms.parse_connection(platform, body.connection)
    except ValidationError as exc:
        raise validation_problems(exc, ("connection",)) from exc
    merchant = Merchant(id=new_id("mer"), name=body.name, platform=platform)
    sealed = request.app[BOX].seal(_plain(connection.model_dump()))
    await request.app[STORE].create_merchant(merchant, sealed)
    return json_response(
        MerchantOut(id=merchant.id, name=merchant.name, platform=body.platform), status=201
    )


def _plain(value: Any) -> Any:
    """Unwrap SecretStr values so they can be encrypted (and only encrypted)."""
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


async def list_merchants(request: web.Request) -> web.Response:
    merchants = await request.app[STORE].list_merchants()
    return json_response(
        MerchantListOut(
            data=[MerchantOut(id=m.id, name=m.name, platform=m.platform.value) for m in merchants]
        )
    )


async def get_merchant(request: web.Request) -> web.Response:
    row = await request.app[STORE].get_merchant(request.match_info["merchant_id"])
    if row is None:
        raise NotFound("No such merchant.", kind=ErrorCode.MERCHANT_NOT_FOUND)
    merchant = row[0]
    return json_response(
        MerchantOut(id=merchant.id, name=merchant.name, platform=merchant.platform.value)
    )


async def put_skus(request: web.Request) -> web.Response:
    data = await read_json(request)
    if not isinstance(data, list):
        raise InvalidRequest([FieldProblem("body", "must be a JSON array of SKUs")])
    if len(data) > MAX_SKUS_PER_UPSERT:
        raise InvalidRequest([FieldProblem("body", f"at most {MAX_SKUS_PER_UPSERT} SKUs per call")])
    try:
        skus = _SKU_LIST.validate_python(data)
    except ValidationError as exc:
        raise validation_problems(exc) from exc
    try:
        count = await request.app[STORE].upsert_skus([s.to_domain() for s in skus])
    except ValueError as exc:
        raise InvalidRequest([FieldProblem("merchant_id", str(exc))]) from exc
    return json_response(UpsertOut(upserted=count))


async def list_skus(request: web.Request) -> web.Response:
    skus = await request.app[STORE].list_skus(request.query.get("merchant_id") or None)
    return json_response(SkuListOut(data=[SkuOut.of(s) for s in skus]))


# --- operations --------------------------------------------------------------------------


async def healthz(_request: web.Request) -> web.Response:
    return json_response(HealthOut(status="ok"))


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[STORE].ping()
    except Exception as exc:
        raise ApiError("The database is not reachable.", kind=ErrorCode.NOT_READY) from exc
    return json_response(HealthOut(status="ok"))


_CART_ID = "/v1/carts/{cart_id}"
_Q_LIST = (
    QueryParam("customer_id", {"type": "string"}, "Only this customer's carts."),
    QueryParam("status", {"enum": [s.value for s in CartStatus]}, "Only carts in this status."),
    QueryParam("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
    QueryParam("cursor", {"type": "string"}, "next_cursor of the previous page."),
)

ROUTES: list[Route] = [
    Route(
        "POST",
        "/v1/carts",
        create_cart,
        "Create a cart: split by merchant, create external carts",
        "app",
        CreateCartIn,
        201,
        CartOut,
        (400, 401, 413, 415, 422, 502, 503),
        operation_id="createCart",
    ),
    Route(
        "GET",
        "/v1/carts",
        list_carts,
        "List the app's carts, newest first",
        "app",
        None,
        200,
        CartPageOut,
        (400, 401),
        _Q_LIST,
        operation_id="listCarts",
    ),
    Route(
        "GET",
        _CART_ID,
        get_cart,
        "Get a cart",
        "app",
        None,
        200,
        CartOut,
        (401, 404),
        operation_id="getCart",
    ),
    Route(
        "DELETE",
        _CART_ID,
        delete_cart,
        "Delete a cart and its external carts",
        "app",
        None,
        204,
        None,
        (401, 404, 409),
        operation_id="deleteCart",
    ),
    Route(
        "POST",
        "/v1/admin/apps",
        create_app,
        "Create an app and its API key (shown once)",
        "admin",
        AppIn,
        201,
        AppOut,
        (400, 401),
        operation_id="createApp",
    ),
    Route(
        "POST",
        "/v1/admin/merchants",
        create_merchant,
        "Register a merchant and its platform connection",
        "admin",
        MerchantIn,
        201,
        MerchantOut,
        (400, 401),
        operation_id="createMerchant",
    ),
    Route(
        "GET",
        "/v1/admin/merchants",
        list_merchants,
        "List merchants",
        "admin",
        None,
        200,
        MerchantListOut,
        (401,),
        operation_id="listMerchants",
    ),
    Route(
        "GET",
        "/v1/admin/merchants/{merchant_id}",
        get_merchant,
        "Get a merchant",
        "admin",
        None,
        200,
        MerchantOut,
        (401, 404),
        operation_id="getMerchant",
    ),
    Route(
        "PUT",
        "/v1/admin/skus",
        put_skus,
        "Bulk upsert catalog SKUs (at most 1000)",
        "admin",
        list[SkuIn],
        200,
        UpsertOut,
        (400, 401, 413),
        operation_id="upsertSkus",
    ),
    Route(
        "GET",
        "/v1/admin/skus",
        list_skus,
        "List catalog SKUs",
        "admin",
        None,
        200,
        SkuListOut,
        (401,),
        (QueryParam("merchant_id", {"type": "string"}),),
        operation_id="listSkus",
    ),
    Route(
        "GET",
        "/healthz",
        healthz,
        "Process is up",
        "none",
        None,
        200,
        HealthOut,
        operation_id="healthz",
    ),
    Route(
        "GET",
        "/readyz",
        readyz,
        "Database is reachable",
        "none",
        None,
        200,
        HealthOut,
        (503,),
        operation_id="readyz",
    ),
]
