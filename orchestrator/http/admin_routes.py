"""The admin routes of API v1 (``/v1/admin``: apps, merchants, SKUs) and the operators' probes.

Admin routes take the admin token and manage the tenants and the reference data carts are built
from; ``/healthz`` and ``/readyz`` are open, for load balancers and orchestration. Handlers
only translate, as the cart routes do; a merchant's connection is validated by its platform's
model, sealed by ``MerchantAdapters`` and never returned.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from bags.models import Merchant
from bags.status import Platform
from errors import ApiError, ErrorCode, FieldProblem, InvalidRequest, NotFound
from orchestrator.http.keys import MERCHANTS, PLATFORMS, STORE
from orchestrator.http.routes import QueryParam, Route
from orchestrator.http.schemas import (
    AppIn,
    AppOut,
    HealthOut,
    MerchantIn,
    MerchantListOut,
    MerchantOut,
    SkuIn,
    SkuListOut,
    SkuOut,
    UpsertOut,
)
from orchestrator.http.web import json_response, read_json, read_model, validation_problems
from orchestrator.service.secrets import hash_api_key, new_api_key, new_id

MAX_SKUS_PER_UPSERT = 1000
_SKU_LIST = TypeAdapter(list[SkuIn])


async def create_app(request: web.Request) -> web.Response:
    body = await read_model(request, AppIn)
    app_id, key = new_id("app"), new_api_key()
    await request.app[STORE].apps.create(app_id, body.name, hash_api_key(key))
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
    sealed = request.app[MERCHANTS].seal(_plain(connection.model_dump()))
    await request.app[STORE].catalog.create_merchant(merchant, sealed)
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
    merchants = await request.app[STORE].catalog.list_merchants()
    return json_response(
        MerchantListOut(
            data=[MerchantOut(id=m.id, name=m.name, platform=m.platform.value) for m in merchants]
        )
    )


async def get_merchant(request: web.Request) -> web.Response:
    row = await request.app[STORE].catalog.get_merchant(request.match_info["merchant_id"])
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
        count = await request.app[STORE].catalog.upsert_skus([s.to_domain() for s in skus])
    except ValueError as exc:
        raise InvalidRequest([FieldProblem("merchant_id", str(exc))]) from exc
    return json_response(UpsertOut(upserted=count))


async def list_skus(request: web.Request) -> web.Response:
    skus = await request.app[STORE].catalog.list_skus(request.query.get("merchant_id") or None)
    return json_response(SkuListOut(data=[SkuOut.of(s) for s in skus]))


async def healthz(_request: web.Request) -> web.Response:
    return json_response(HealthOut(status="ok"))


async def readyz(request: web.Request) -> web.Response:
    try:
        await request.app[STORE].ping()
    except Exception as exc:
        raise ApiError("The database is not reachable.", kind=ErrorCode.NOT_READY) from exc
    return json_response(HealthOut(status="ok"))


ADMIN_ROUTES: list[Route] = [
    Route(
        method="POST",
        path="/v1/admin/apps",
        handler=create_app,
        summary="Create an app and its API key (shown once)",
        auth="admin",
        body=AppIn,
        ok_status=201,
        ok_body=AppOut,
        errors=(400, 401),
        operation_id="createApp",
    ),
    Route(
        method="POST",
        path="/v1/admin/merchants",
        handler=create_merchant,
        summary="Register a merchant and its platform connection",
        auth="admin",
        body=MerchantIn,
        ok_status=201,
        ok_body=MerchantOut,
        errors=(400, 401),
        operation_id="createMerchant",
    ),
    Route(
        method="GET",
        path="/v1/admin/merchants",
        handler=list_merchants,
        summary="List merchants",
        auth="admin",
        ok_body=MerchantListOut,
        errors=(401,),
        operation_id="listMerchants",
    ),
    Route(
        method="GET",
        path="/v1/admin/merchants/{merchant_id}",
        handler=get_merchant,
        summary="Get a merchant",
        auth="admin",
        ok_body=MerchantOut,
        errors=(401, 404),
        operation_id="getMerchant",
    ),
    Route(
        method="PUT",
        path="/v1/admin/skus",
        handler=put_skus,
        summary="Bulk upsert catalog SKUs (at most 1000)",
        auth="admin",
        body=list[SkuIn],
        ok_body=UpsertOut,
        errors=(400, 401, 413),
        operation_id="upsertSkus",
    ),
    Route(
        method="GET",
        path="/v1/admin/skus",
        handler=list_skus,
        summary="List catalog SKUs",
        auth="admin",
        ok_body=SkuListOut,
        errors=(401,),
        query=(QueryParam("merchant_id", {"type": "string"}),),
        operation_id="listSkus",
    ),
]

OPERATION_ROUTES: list[Route] = [
    Route(
        method="GET",
        path="/healthz",
        handler=healthz,
        summary="Process is up",
        auth="none",
        ok_body=HealthOut,
        operation_id="healthz",
    ),
    Route(
        method="GET",
        path="/readyz",
        handler=readyz,
        summary="Database is reachable",
        auth="none",
        ok_body=HealthOut,
        errors=(503,),
        operation_id="readyz",
    ),
]
