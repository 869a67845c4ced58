"""The admin audit log: every admin request that changes something, recorded after its answer.

``recorded`` is called from the one place every admin route passes (``auth.guarded``), after
the admin token was accepted, so a route added later is recorded without a line of its own.
An entry says who (the token's id, ``admin_identity.py``), what (method, route template, the
path's ids, the status, the id the answer created), when (the database's time) and the request
id; never a body, a query string or a header (admin bodies carry credentials and keys).

Refused authentications are not recorded: they are throttled and logged already, and recording
them would let anyone who reaches the port write rows. Recording is best-effort: a failed write
is logged at error level and counted (``multicart_audit_write_failures_total``), and the
action's own answer goes out unchanged.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import orjson
import structlog
from aiohttp import web
from pydantic import BaseModel, Field

from errors import ApiError, FieldProblem, InvalidRequest
from orchestrator.http.admin_identity import TOKEN_ID_LENGTH
from orchestrator.http.envelope import json_response
from orchestrator.http.fields import (
    ID_MAX,
    ID_PATTERN,
    TEXT_PATTERN,
    checked_id,
    checked_int,
    text_problem,
)
from orchestrator.http.keys import METRICS, REQUEST_ID, SERVICES
from orchestrator.http.routes import QueryParam, Route
from orchestrator.store.audit import AuditEntry, AuditFilter, NewAuditEntry

log = structlog.get_logger("multicart.audit")

READS = frozenset({"GET", "HEAD", "OPTIONS"})
CHANGES = ("POST", "PUT", "PATCH", "DELETE")
ID_KEPT = 64  # a path id longer than the ids we accept is kept cut (it was refused anyway)
PAGE_DEFAULT, PAGE_MAX = 100, 1000
ROUTE_MAX = 255
CURSOR_MAX = 32
TIME_MAX = 40
ROUTE_PATTERN = "^/" + TEXT_PATTERN[1:]  # a template: no control characters
_TOKEN_ID = re.compile(rf"^[0-9a-f]{{{TOKEN_ID_LENGTH}}}$")
_CLIENT_GONE = 499


def changes_something(method: str) -> bool:
    return method.upper() not in READS


def _created_id(response: web.StreamResponse) -> str | None:
    """The ``id`` a 201 answer's JSON object names, if any (nothing else of the body is read:
    a new app's answer holds its key)."""
    if response.status != 201 or not isinstance(response, web.Response):
        return None
    if not isinstance(response.body, bytes):
        return None
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return None
    found = body.get("id") if isinstance(body, dict) else None
    return found[:ID_KEPT] if isinstance(found, str) else None


def _entry(
    request: web.Request, route: str, token_id: str, status: int, created: str | None
) -> NewAuditEntry:
    path_ids = {name: value[:ID_KEPT] for name, value in request.match_info.items()}
    return NewAuditEntry(
        token_id=token_id,
        method=request.method,
        route=route,
        path_ids=path_ids,
        status=status,
        resource_id=created or (list(path_ids.values())[-1] if path_ids else None),
        request_id=request.get(REQUEST_ID, ""),
    )


async def _write(request: web.Request, entry: NewAuditEntry) -> None:
    """Best-effort: a failure is logged and counted, never raised into the action's answer."""
    try:
        await request.app[SERVICES].store.audit.record(entry)
    except Exception as exc:
        request.app[METRICS].audit_failures.inc()
        log.error(
            "audit_write_failed",
            method=entry.method,
            route=entry.route,
            status=entry.status,
            error=type(exc).__name__,
        )


async def recorded(
    request: web.Request, route: str, token_id: str, work: Awaitable[web.StreamResponse]
) -> web.StreamResponse:
    """``work``'s answer, once its audit entry is written (whatever the outcome)."""
    try:
        response = await work
    except ApiError as exc:
        await _write(request, _entry(request, route, token_id, exc.status, None))
        raise
    except web.HTTPException as exc:
        await _write(request, _entry(request, route, token_id, exc.status, None))
        raise
    except asyncio.CancelledError:  # the client went away mid-action
        await _write(request, _entry(request, route, token_id, _CLIENT_GONE, None))
        raise
    except Exception:  # the envelope answers it 500
        await _write(request, _entry(request, route, token_id, 500, None))
        raise
    created = _created_id(response)
    await _write(request, _entry(request, route, token_id, response.status, created))
    return response


class AuditEntryOut(BaseModel):
    seq: int = Field(description="The entry's place in the log (larger: later).")
    at: datetime = Field(description="When it was written, by the database's clock.")
    token_id: str = Field(
        description="The admin token's id: the first 12 hex characters of its SHA-256."
    )
    method: str
    route: str = Field(description="The route template, e.g. /v1/admin/merchants/{merchant_id}.")
    path_ids: dict[str, str] = Field(description="The path's ids by name.")
    status: int = Field(description="The answer's status (499: the client went away).")
    resource_id: str | None = Field(
        description="The id the answer created, else the path's last id; null if neither."
    )
    request_id: str


class AuditListOut(BaseModel):
    data: list[AuditEntryOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next (older) page; null at the end."
    )


def entry_json(e: AuditEntry) -> dict[str, Any]:
    return {
        "seq": e.seq,
        "at": e.at,
        "token_id": e.token_id,
        "method": e.method,
        "route": e.route,
        "path_ids": e.path_ids,
        "status": e.status,
        "resource_id": e.resource_id,
        "request_id": e.request_id,
    }


def _query_time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:  # RFC 3339 allows a lower-case t and z
        when = datetime.fromisoformat(raw.upper()) if len(raw) <= TIME_MAX else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None or when.utcoffset() is None:
        problem = "must be an RFC 3339 date-time with its offset, e.g. 2026-12-07T15:00:00Z"
        raise InvalidRequest([FieldProblem(name, problem)])
    return when


def _query_filter(request: web.Request) -> AuditFilter:
    """The filters of the query, each checked (400 naming it)."""
    q = request.query
    token_id, method, route = q.get("token_id"), q.get("method"), q.get("route")
    if token_id is not None and not _TOKEN_ID.match(token_id):
        problem = f"must be {TOKEN_ID_LENGTH} lowercase hex characters"
        raise InvalidRequest([FieldProblem("token_id", problem)])
    if method is not None and method not in CHANGES:
        raise InvalidRequest([FieldProblem("method", f"must be one of {', '.join(CHANGES)}")])
    if route is not None and not (
        route.startswith("/") and len(route) <= ROUTE_MAX and text_problem(route) is None
    ):
        problem = f"must be a route template starting with / (at most {ROUTE_MAX} characters)"
        raise InvalidRequest([FieldProblem("route", problem)])
    resource = q.get("resource")
    return AuditFilter(
        token_id=token_id,
        method=method,
        route=route,
        resource_id=None if resource is None else checked_id(resource, "resource"),
        since=_query_time(request, "since"),
        until=_query_time(request, "until"),
    )


def _cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(str(seq).encode()).decode().rstrip("=")


def _query_cursor(raw: str | None) -> int | None:
    """The ``seq`` a ``_cursor`` holds (the next page is older than it); 400 otherwise."""
    if raw is None:
        return None
    try:
        if not 0 < len(raw) <= CURSOR_MAX or not raw.isascii():
            raise ValueError(raw)
        seq = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        seq = ""
    if not (seq.isascii() and seq.isdigit() and len(seq) <= 18):
        raise InvalidRequest([FieldProblem("cursor", "is not a cursor this service made")])
    return int(seq)


async def list_audit(request: web.Request) -> web.Response:
    """One page of the log, newest first; ``next_cursor`` pages on to older entries."""
    where = _query_filter(request)
    limit = checked_int(request.query.get("limit"), "limit", PAGE_DEFAULT, 1, PAGE_MAX)
    before = _query_cursor(request.query.get("cursor"))
    entries = await request.app[SERVICES].store.audit.page(where, limit=limit + 1, before=before)
    page = entries[:limit]
    next_cursor = _cursor(page[-1].seq) if len(entries) > limit else None
    return json_response({"data": [entry_json(e) for e in page], "next_cursor": next_cursor})


_TIME = {"type": "string", "format": "date-time", "maxLength": TIME_MAX}
CURSOR_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": CURSOR_MAX,
    "pattern": "^[A-Za-z0-9_-]+$",
}
AUDIT_ROUTES: list[Route] = [
    Route(
        method="GET",
        path="/v1/admin/audit",
        handler=list_audit,
        summary="The admin audit log, newest first: who changed what, when",
        auth="admin",
        ok_body=AuditListOut,
        query=(
            QueryParam(
                "token_id",
                {"type": "string", "pattern": _TOKEN_ID.pattern},
                "Only this admin token's actions (its id, as entries show it).",
            ),
            QueryParam("method", {"type": "string", "enum": list(CHANGES)}, "Only this method."),
            QueryParam(
                "route",
                {"type": "string", "maxLength": ROUTE_MAX, "pattern": ROUTE_PATTERN},
                "Only this route template, e.g. /v1/admin/merchants.",
            ),
            QueryParam(
                "resource",
                {"type": "string", "maxLength": ID_MAX, "pattern": ID_PATTERN},
                "Only entries naming this id (created, else the path's last id).",
            ),
            QueryParam("since", _TIME, "Only entries written at or after this time."),
            QueryParam("until", _TIME, "Only entries written before this time."),
            QueryParam(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": PAGE_DEFAULT},
            ),
            QueryParam("cursor", CURSOR_SCHEMA, "next_cursor of the previous page."),
        ),
        operation_id="listAuditEntries",
    ),
]
