"""HTTP plumbing shared by every route: request ids, the error envelope, auth, JSON in and out.

One middleware turns every failure into the error envelope (``{"message", "error", "code",
"data"}``, see ``errors.codes``): ``MulticartError``s as they are, aiohttp's own HTTP errors
mapped to our codes, anything else into a 500 ``internal_error`` carrying the request id (the
stack trace goes to the log, never the answer).

Apps authenticate by API key, looked up by its SHA-256 hash and cached per process
(``KEYS_CACHE``), so only a key's first request costs a database read; admins by the admin
token. ``guarded`` wraps a route's handler with the check its ``Route.auth`` names, so the
route table alone says which routes are open.
"""

from __future__ import annotations

import re
import time
from typing import Any, TypeVar

import orjson
import structlog
from aiohttp import web
from pydantic import BaseModel, ValidationError

from errors import (
    ApiError,
    ErrorCode,
    FieldProblem,
    InvalidRequest,
    MulticartError,
    PayloadTooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from orchestrator.http.jsonbody import parse_json
from orchestrator.http.keys import (
    APP_ID,
    APP_RATES,
    AUTH_THROTTLE,
    IN_FLIGHT_SHARES,
    KEYS_CACHE,
    MAX_BODY,
    REQUEST_ID,
    SETTINGS,
    STORE,
)
from orchestrator.http.routes import Handler, Route
from orchestrator.service.secrets import hash_api_key, new_id, tokens_equal

log = structlog.get_logger("multicart.http")

M = TypeVar("M", bound=BaseModel)
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_HTTP_KINDS = {
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.PAYLOAD_TOO_LARGE,
    415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
}


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    if isinstance(body, BaseModel):
        payload = orjson.dumps(body.model_dump(mode="json"))
    else:
        payload = orjson.dumps(body, option=orjson.OPT_UTC_Z)
    return web.Response(
        body=payload, status=status, content_type="application/json", headers=headers
    )


def error_response(error: MulticartError, request_id: str) -> web.Response:
    headers = dict(getattr(error, "headers", {}) or {})
    headers["X-Request-ID"] = request_id
    return json_response(error.envelope(), status=error.status, headers=headers)


# Parts of a pydantic error location naming a union member, not a field: dropped from names.
_UNION_TAG = re.compile(r"^(function-after\[.*\]|constrained-(str|int)|str|int|bool)$")


def field_name(loc: tuple[int | str, ...]) -> str:
    """('skus', 0, 'quantity') -> 'skus[0].quantity'."""
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        elif not _UNION_TAG.match(part):
            name += f".{part}" if name else str(part)
    return name or "body"


def validation_problems(exc: ValidationError, prefix: tuple[int | str, ...] = ()) -> InvalidRequest:
    """One problem per field; a union's members' messages are joined with "or"."""
    messages: dict[str, list[str]] = {}
    for err in exc.errors():
        said = messages.setdefault(field_name(prefix + tuple(err["loc"])), [])
        if err["msg"] not in said:
            said.append(err["msg"])
    return InvalidRequest([FieldProblem(f, " or ".join(m)) for f, m in messages.items()])


ABSENT: Any = object()  # read_json's answer for a request without a body


async def read_json(request: web.Request) -> Any:
    """The body as JSON (``ABSENT`` when there is none), or the right 4xx: 413 too large,
    415 not JSON typed, 400 malformed (``jsonbody.parse_json``: duplicate keys, depth)."""
    if not request.body_exists:
        return ABSENT
    if request.content_type != "application/json":
        raise UnsupportedMediaType("Send the body as application/json.")
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as exc:
        raise PayloadTooLarge(
            f"The body exceeds {request.app[MAX_BODY]} bytes.",
            data={"max_bytes": request.app[MAX_BODY]},
        ) from exc
    if not raw.strip():
        return ABSENT
    return parse_json(raw)


async def read_model(request: web.Request, model: type[M], *, empty_ok: bool = False) -> M:
    """The body validated by ``model``; ``empty_ok``: no body at all reads as ``{}``."""
    data = await read_json(request)
    if data is ABSENT:
        if not empty_ok:
            raise InvalidRequest([FieldProblem("body", "a JSON body is required")])
        data = {}
    if not isinstance(data, dict):
        raise InvalidRequest([FieldProblem("body", "must be a JSON object")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_problems(exc) from exc


_TOKEN_MAX = 1024


def bearer_token(request: web.Request) -> str:
    """The Bearer token, or 401 (absent, another scheme, not printable ASCII) or 400 (two
    ``Authorization`` headers: a proxy reading the last would disagree with us on the first)."""
    given = request.headers.getall("Authorization", [])
    if len(given) > 1:
        raise InvalidRequest(
            [FieldProblem("Authorization", "send one Authorization header, not several")]
        )
    scheme, _, token = (given[0] if given else "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send `Authorization: Bearer <key>`.")
    # Non-ASCII bytes reach us as surrogate escapes: hashing them raised UnicodeEncodeError (a
    # 500 without a login). A key or token is printable ASCII without spaces.
    if len(token) > _TOKEN_MAX or not (token.isascii() and token.isprintable()) or " " in token:
        raise Unauthorized("The credentials are malformed: send `Authorization: Bearer <key>`.")
    return token


async def _token_for(request: web.Request) -> tuple[str, str]:
    """(client address, token) once the address and the token's prefix are not throttled; a
    request without a usable token counts as a failed authentication."""
    address = request.remote or "unknown"
    throttle = request.app[AUTH_THROTTLE]
    try:
        token = bearer_token(request)
    except Unauthorized:
        await throttle.check(address, "")
        await throttle.failed(address, "")
        raise
    await throttle.check(address, token)
    return address, token


async def authenticate_app(request: web.Request) -> str:
    """The app whose key the request carries. A key this process has already seen work passes
    even from a throttled address: app keys carry 256 random bits (nothing to guess), and one
    client failing behind a shared proxy address must not lock every app out. Any other key
    waits out the throttle before the database is asked."""
    try:
        token = bearer_token(request)
    except Unauthorized:
        await _token_for(request)  # counts the failure (or answers the throttle's 429)
        raise
    key_hash = hash_api_key(token)
    cache: dict[str, str] = request.app[KEYS_CACHE]
    app_id = cache.get(key_hash)
    if app_id is None:
        address, token = await _token_for(request)
        app_id = await request.app[STORE].apps.id_for_key_hash(key_hash)
        if app_id is None:
            await request.app[AUTH_THROTTLE].failed(address, token)
            raise Unauthorized("The API key is not valid.")
        cache[key_hash] = app_id
    return app_id


async def authenticate_admin(request: web.Request) -> None:
    expected = request.app[SETTINGS].admin_token.get_secret_value()
    if not expected:
        raise Unauthorized(
            "The admin routes are off: MULTICART_ADMIN_TOKEN is not set on the server."
        )
    address, token = await _token_for(request)
    if not tokens_equal(token, expected):
        await request.app[AUTH_THROTTLE].failed(address, token)
        raise Unauthorized("The admin token is not valid.")


def guarded(route: Route) -> Handler:
    """``route.handler``, behind the authentication ``route.auth`` asks for; an app's request
    also within its rate and its share of the in-flight slots (``fairness.py``)."""
    handler = route.handler
    if route.auth == "none":
        return handler

    async def with_auth(request: web.Request) -> web.StreamResponse:
        if route.auth == "admin":
            await authenticate_admin(request)
            return await handler(request)
        app_id = request[APP_ID] = await authenticate_app(request)
        await request.app[APP_RATES].hit(app_id)
        shares = request.app[IN_FLIGHT_SHARES]
        shares.take(app_id)
        try:
            return await handler(request)
        finally:
            shares.give_back(app_id)

    with_auth.__name__ = handler.__name__
    return with_auth


QUIET_PATHS = frozenset({"/healthz", "/metrics"})  # probes and scrapes: logged at debug


def request_id_for(request: web.Request) -> str:
    """The caller's ``X-Request-ID`` when it is safe to echo and log, else a new one."""
    given = request.headers.get("X-Request-ID", "")
    return given if _SAFE_REQUEST_ID.match(given) else new_id("req")


@web.middleware
async def envelope_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = request_id_for(request)
    request[REQUEST_ID] = request_id
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)
    started = time.perf_counter()
    try:
        response = await handler(request)
        response.headers["X-Request-ID"] = request_id
    except MulticartError as exc:
        response = error_response(exc, request_id)
    except web.HTTPException as exc:
        kind = _HTTP_KINDS.get(exc.status)
        if kind is None:
            raise
        # aiohttp's 405 names the methods the route takes (RFC 9110 requires Allow).
        kept = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        error = ApiError(exc.reason, kind=kind, status=exc.status, headers=kept)
        response = error_response(error, request_id)
    except Exception:
        log.exception("unhandled_error", method=request.method, path=request.path)
        error = ApiError(
            "An unexpected error occurred; report the request_id.",
            kind=ErrorCode.INTERNAL_ERROR,
            data={"request_id": request_id},
        )
        response = error_response(error, request_id)
    if response.status >= 500:
        emit = log.warning
    elif request.path in QUIET_PATHS:
        emit = log.debug
    else:
        emit = log.info
    emit(
        "request",
        method=request.method,
        path=request.path,
        status=response.status,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    return response
