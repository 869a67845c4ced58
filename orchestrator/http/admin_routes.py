"""The admin routes of API v1 for the catalog (``/v1/admin/skus``) and the operators' probes.

Admin routes take the admin token and manage the reference data carts are built from; the
merchant routes are ``merchant_routes.py``'s, the apps and their keys ``app_routes.py``'s.
``/healthz`` and ``/readyz`` are open, for load balancers and orchestration. Handlers only
translate, as the cart routes do.
"""

from __future__ import annotations

import base64
import binascii

from aiohttp import web
from pydantic import TypeAdapter, ValidationError

from errors import ApiError, Conflict, ErrorCode, FieldProblem, InvalidRequest, NotFound
from orchestrator.http.cart_routes import CURSOR_SCHEMA, query_cursor, query_id
from orchestrator.http.envelope import json_response, read_json, validation_problems
from orchestrator.http.fields import ID_MAX, ID_PATTERN, checked_id, checked_int, id_problem
from orchestrator.http.keys import METRICS, SERVICES
from orchestrator.http.merchant_routes import MERCHANT_ROUTES
from orchestrator.http.openapi import MAX_SKUS_PER_UPSERT
from orchestrator.http.routes import QueryParam, Route
from orchestrator.http.schemas import (
    HealthOut,
    SkuIn,
    SkuListOut,
    UpsertOut,
    sku_json,
)

SKU_PAGE_DEFAULT, SKU_PAGE_MAX = 100, 1000
_SKU_LIST = TypeAdapter(list[SkuIn])


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
    await _check_platform_refs(request, skus)
    try:
        count = await request.app[SERVICES].store.catalog.upsert_skus([s.to_domain() for s in skus])
    except ValueError as exc:
        raise InvalidRequest([FieldProblem("merchant_id", str(exc))]) from exc
    return json_response(UpsertOut(upserted=count))


async def _check_platform_refs(request: web.Request, skus: list[SkuIn]) -> None:
    """Each SKU's ``platform_ref`` must have its merchant's platform's shape (the registry
    table's model): a SKU no cart could be made from is refused now, not at every create.
    Unknown merchants are left to the upsert, which names them."""
    merchants = await request.app[SERVICES].store.catalog.get_merchants(
        {s.merchant_id for s in skus}
    )
    platforms = request.app[SERVICES].platforms
    problems: list[FieldProblem] = []
    for index, sku in enumerate(skus):
        row = merchants.get(sku.merchant_id)
        if row is None:
            continue
        try:
            platforms.parse_platform_ref(row[0].platform, sku.platform_ref)
        except ValidationError as exc:
            problems.extend(validation_problems(exc, (index, "platform_ref")).problems)
    if problems:
        raise InvalidRequest(problems)


async def delete_sku(request: web.Request) -> web.Response:
    """Delete a SKU no live cart holds. Refused (409, nothing deleted) while one does rather
    than turned into ``available: false``: a DELETE that answers 2xx must have deleted, and the
    count tells the operator what they wait for; ``available: false`` is the PUT's to say."""
    sku_id = checked_id(request.match_info["sku_id"], "sku_id")
    holding = await request.app[SERVICES].store.catalog.delete_sku(sku_id)
    if holding is None:
        raise NotFound("No such SKU.", kind=ErrorCode.SKU_NOT_FOUND)
    if holding:
        raise Conflict(
            f"{holding} live cart(s) hold lines of this SKU; nothing was deleted. Mark it"
            " available: false (PUT /v1/admin/skus) and delete it once they are gone.",
            kind=ErrorCode.SKU_IN_USE,
            data={"sku_id": sku_id, "live_carts": holding},
        )
    return web.Response(status=204)


def encode_sku_cursor(sku_id: str) -> str:
    return base64.urlsafe_b64encode(sku_id.encode()).decode().rstrip("=")


def decode_sku_cursor(cursor: str) -> str:
    """The last listed ``sku_id`` of a cursor ``encode_sku_cursor`` made (400 otherwise)."""
    try:
        sku_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest([FieldProblem("cursor", "is not a cursor this service made")]) from exc
    if id_problem(sku_id) is not None:
        raise InvalidRequest([FieldProblem("cursor", "is not a cursor this service made")])
    return sku_id


async def list_skus(request: web.Request) -> web.Response:
    """One page of the catalog by ``sku_id``; ``next_cursor`` pages on (null at the end)."""
    limit = checked_int(request.query.get("limit"), "limit", SKU_PAGE_DEFAULT, 1, SKU_PAGE_MAX)
    cursor = query_cursor(request)
    skus = await request.app[SERVICES].store.catalog.list_skus(
        query_id(request, "merchant_id"),
        limit=limit + 1,
        after=decode_sku_cursor(cursor) if cursor else None,
    )
    page = skus[:limit]
    next_cursor = encode_sku_cursor(page[-1].sku_id) if len(skus) > limit else None
    return json_response({"data": [sku_json(s) for s in page], "next_cursor": next_cursor})


async def healthz(_request: web.Request) -> web.Response:
    return json_response(HealthOut(status="ok"))


async def readyz(request: web.Request) -> web.Response:
    """200 when the database answers and its schema is at the latest migration; else 503
    naming the reason (every route would answer 500 on an unmigrated database)."""
    try:
        state = await request.app[SERVICES].store.schema_state()
    except Exception as exc:
        raise ApiError(
            "The database is not reachable.",
            kind=ErrorCode.NOT_READY,
            data={"reason": f"database unreachable: {type(exc).__name__}"},
        ) from exc
    if not state.ok:
        problem = state.problem()
        raise ApiError(f"Not ready: {problem}.", kind=ErrorCode.NOT_READY, data={"reason": problem})
    return json_response(HealthOut(status="ok"))


async def metrics(request: web.Request) -> web.Response:
    return await request.app[METRICS].render(request.app[SERVICES].store)


ADMIN_ROUTES: list[Route] = [
    *MERCHANT_ROUTES,
    Route(
        method="PUT",
        path="/v1/admin/skus",
        handler=put_skus,
        summary="Bulk upsert catalog SKUs (at most 1000)",
        auth="admin",
        body=list[SkuIn],
        ok_body=UpsertOut,
        operation_id="upsertSkus",
    ),
    Route(
        method="GET",
        path="/v1/admin/skus",
        handler=list_skus,
        summary="List catalog SKUs by sku_id, a page at a time",
        auth="admin",
        ok_body=SkuListOut,
        query=(
            QueryParam(
                "merchant_id",
                {"type": "string", "maxLength": ID_MAX, "pattern": ID_PATTERN},
                "Only this merchant's SKUs.",
            ),
            QueryParam(
                "limit",
                {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": SKU_PAGE_MAX,
                    "default": SKU_PAGE_DEFAULT,
                },
            ),
            QueryParam("cursor", CURSOR_SCHEMA, "next_cursor of the previous page."),
        ),
        operation_id="listSkus",
    ),
    Route(
        method="DELETE",
        path="/v1/admin/skus/{sku_id}",
        handler=delete_sku,
        summary=(
            "Delete a catalog SKU. Refused with 409 sku_in_use (data.live_carts: how many) while"
            " a live cart (IN_PROGRESS, a bag not DELETED) holds a line of it, and nothing is"
            " deleted: mark it available: false with PUT /v1/admin/skus first, so no new line"
            " takes it, then delete it once those carts are gone. Carts keep their lines' copy"
            " (name, price, platform ids) either way"
        ),
        auth="admin",
        ok_status=204,
        errors=(ErrorCode.SKU_NOT_FOUND, ErrorCode.SKU_IN_USE),
        operation_id="deleteSku",
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
        errors=(ErrorCode.NOT_READY,),
        operation_id="readyz",
    ),
    Route(
        method="GET",
        path="/metrics",
        handler=metrics,
        summary="Prometheus metrics (text exposition format)",
        auth="none",
        ok_media="text/plain",
        # 401 without MULTICART_METRICS_TOKEN's bearer when it is set; 404 on this port when
        # MULTICART_METRICS_PORT serves it elsewhere.
        errors=(ErrorCode.UNAUTHORIZED, ErrorCode.NOT_FOUND),
        operation_id="metrics",
    ),
]
