"""The merchant admin routes: register, list, read and change a merchant (``/v1/admin/merchants``).

A merchant's connection holds its platform credentials: it is validated by its platform's model
and the merchant URL policy, sealed by ``MerchantAdapters`` and never returned, whether it comes
with the registration or with a later change (a rotated token). Handlers only translate.
"""

from __future__ import annotations

from typing import Any

import structlog
from aiohttp import web
from pydantic import ValidationError

from adapters import UrlPolicy, resolved_problem, url_problem
from bags import Merchant, MerchantStatus, Platform
from errors import ErrorCode, FieldProblem, InvalidRequest, NotFound
from orchestrator.http.envelope import (
    ABSENT,
    json_response,
    read_json,
    read_model,
    validation_problems,
)
from orchestrator.http.fields import checked_id
from orchestrator.http.keys import SERVICES, SETTINGS
from orchestrator.http.routes import Route
from orchestrator.http.schemas import MerchantIn, MerchantListOut, MerchantOut, MerchantPatchIn
from orchestrator.service.secrets import new_id

log = structlog.get_logger("multicart.admin")


def _out(merchant: Merchant) -> MerchantOut:
    return MerchantOut(
        id=merchant.id, name=merchant.name, platform=merchant.platform, status=merchant.status
    )


async def _sealed_connection(
    request: web.Request, platform: Platform, raw: dict[str, Any]
) -> bytes:
    """``raw`` checked by ``platform``'s connection model and the merchant URL policy, sealed:
    the one check registration and a change both go through (400 naming the field)."""
    platforms = request.app[SERVICES].platforms
    try:
        connection = platforms.parse_connection(platform, raw)
    except ValidationError as exc:
        raise validation_problems(exc, ("connection",)) from exc
    base_url: str = getattr(connection, "base_url", "")
    policy = UrlPolicy.of(request.app[SETTINGS].for_platform(platform))
    # Judged as the outbound client will read it (the model stored yarl's normalised URL):
    # its text first, then the addresses its name resolves to now (bounded; the connect-time
    # guard judges them again on every connect).
    problem = url_problem(base_url, policy) or await resolved_problem(base_url, policy)
    if problem is not None:
        field = next((k for k, v in connection.model_dump().items() if v == base_url), "api_url")
        raise InvalidRequest([FieldProblem(f"connection.{field}", problem)])
    return request.app[SERVICES].merchants.seal(_plain(connection.model_dump()))


def _plain(value: Any) -> Any:
    """Unwrap SecretStr values so they can be encrypted (and only encrypted)."""
    if hasattr(value, "get_secret_value"):
        return value.get_secret_value()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


async def create_merchant(request: web.Request) -> web.Response:
    body = await read_model(request, MerchantIn)
    platforms = request.app[SERVICES].platforms
    platform = Platform(body.platform)
    if platform not in platforms.supported_platforms():
        supported = ", ".join(sorted(platforms.supported_platforms()))
        raise InvalidRequest(
            [FieldProblem("platform", f"{platform} is not supported yet; use {supported}")]
        )
    sealed = await _sealed_connection(request, platform, body.connection)
    merchant = Merchant(id=new_id("mer"), name=body.name, platform=platform)
    await request.app[SERVICES].store.catalog.create_merchant(merchant, sealed)
    return json_response(_out(merchant), status=201)


async def list_merchants(request: web.Request) -> web.Response:
    merchants = await request.app[SERVICES].store.catalog.list_merchants()
    return json_response(MerchantListOut(data=[_out(m) for m in merchants]))


async def _existing(request: web.Request) -> Merchant:
    merchant_id = checked_id(request.match_info["merchant_id"], "merchant_id")
    merchant = await request.app[SERVICES].store.catalog.read_merchant(merchant_id)
    if merchant is None:
        raise NotFound("No such merchant.", kind=ErrorCode.MERCHANT_NOT_FOUND)
    return merchant


async def get_merchant(request: web.Request) -> web.Response:
    return json_response(_out(await _existing(request)))


async def _patch_body(request: web.Request, merchant: Merchant) -> MerchantPatchIn:
    data = await read_json(request)
    if isinstance(data, dict) and "platform" in data:
        raise InvalidRequest(
            [
                FieldProblem(
                    "platform",
                    f"cannot change (the merchant is on {merchant.platform}); register a new"
                    " merchant for another platform",
                )
            ]
        )
    if data is ABSENT or data == {}:
        raise InvalidRequest(
            [FieldProblem("body", "give at least one of name, connection, status to change")]
        )
    if not isinstance(data, dict):
        raise InvalidRequest([FieldProblem("body", "must be a JSON object")])
    try:
        return MerchantPatchIn.model_validate(data)
    except ValidationError as exc:
        raise validation_problems(exc) from exc


async def patch_merchant(request: web.Request) -> web.Response:
    """Change a merchant's name, connection or status; everything is checked before the one
    write, so a refused change leaves the merchant as it was."""
    merchant = await _existing(request)
    body = await _patch_body(request, merchant)
    sealed = (
        await _sealed_connection(request, merchant.platform, body.connection)
        if body.connection is not None
        else None
    )
    changed = await request.app[SERVICES].store.catalog.update_merchant(
        merchant.id,
        name=body.name,
        status=MerchantStatus(body.status) if body.status is not None else None,
        connection_ciphertext=sealed,
    )
    if changed is None:  # deleted meanwhile: nothing was written
        raise NotFound("No such merchant.", kind=ErrorCode.MERCHANT_NOT_FOUND)
    # Which fields, never their values (a connection holds credentials).
    log.info("merchant_changed", merchant_id=merchant.id, fields=sorted(body.model_fields_set))
    return json_response(_out(changed))


_MERCHANT_ID = "/v1/admin/merchants/{merchant_id}"

MERCHANT_ROUTES: list[Route] = [
    Route(
        method="POST",
        path="/v1/admin/merchants",
        handler=create_merchant,
        summary="Register a merchant and its platform connection",
        auth="admin",
        body=MerchantIn,
        ok_status=201,
        ok_body=MerchantOut,
        operation_id="createMerchant",
        links={"GetMerchant": ("getMerchant", {"merchant_id": "$response.body#/id"})},
    ),
    Route(
        method="GET",
        path="/v1/admin/merchants",
        handler=list_merchants,
        summary="List merchants",
        auth="admin",
        ok_body=MerchantListOut,
        operation_id="listMerchants",
    ),
    Route(
        method="GET",
        path=_MERCHANT_ID,
        handler=get_merchant,
        summary="Get a merchant",
        auth="admin",
        ok_body=MerchantOut,
        errors=(ErrorCode.MERCHANT_NOT_FOUND,),
        operation_id="getMerchant",
    ),
    Route(
        method="PATCH",
        path=_MERCHANT_ID,
        handler=patch_merchant,
        summary=(
            "Change a merchant's name, connection or status (ACTIVE or PAUSED; its platform"
            " cannot change). A new connection is checked as at registration, and every"
            " process builds its new adapter, with a closed circuit, at its next call after"
            " seeing the change: at once in the process that answered, within"
            " MULTICART_CATALOG_REFRESH_S (plus one catalog poll) in the others, and never"
            " later than 3 x MULTICART_CATALOG_REFRESH_S while polls fail"
        ),
        auth="admin",
        body=MerchantPatchIn,
        ok_body=MerchantOut,
        errors=(ErrorCode.MERCHANT_NOT_FOUND,),
        operation_id="patchMerchant",
    ),
]
