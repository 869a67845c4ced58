"""HTTP plumbing shared by every route: request ids, the error envelope, JSON in and out.

One middleware turns every failure into the error envelope (``{"message", "error", "code",
"data"}``, see ``errors.exceptions.MulticartError.envelope``): ``MulticartError``s as they
are, aiohttp's own HTTP errors mapped to our codes, anything else into a 500
``internal_error`` carrying the request id (the stack trace goes to the log, never the answer).

Authentication, and the order in which a request earns its slot, are ``auth.py``'s.
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
    UnsupportedMediaType,
)
from orchestrator.http.jsonbody import parse_json
from orchestrator.http.keys import MAX_BODY, REQUEST_ID
from orchestrator.http.routes import Handler
from orchestrator.service.secrets import new_id

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
        if getattr(exc, "close_connection", False):  # intake.BodyRefused: its rest unread
            response.force_close()
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
