"""The operators' view of the external-delete outbox: list its entries, requeue dead letters.

An entry that could not be done (``dead``: given up after ``MULTICART_OUTBOX_GIVE_UP_AFTER_S``
of failures, or a permanent failure; ``undetectable``) is kept, never dropped; these routes (and
``multicart outbox``, which shares ``entry_json``) are how an operator finds it and sends it back
to the reconciler once the cause is mended. An entry shows where the external cart is and why it
failed, never the merchant's connection.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from errors import ApiError, ErrorCode, FieldProblem, InvalidRequest, NotFound
from orchestrator.http.admin_routes import decode_sku_cursor, encode_sku_cursor
from orchestrator.http.cart_routes import CURSOR_SCHEMA, query_cursor
from orchestrator.http.envelope import json_response
from orchestrator.http.fields import checked_id, checked_int
from orchestrator.http.keys import SERVICES
from orchestrator.http.routes import QueryParam, Route
from orchestrator.http.schemas import PlatformName
from orchestrator.store import PendingExternalDelete
from orchestrator.store.outbox import STATES, State

PAGE_DEFAULT, PAGE_MAX = 100, 1000


class OutboxEntryOut(BaseModel):
    id: str
    cart_id: str
    bag_id: str
    merchant_id: str
    platform: PlatformName
    external_id: str = Field(
        description="The external cart's id (for kind unknown_create, the reference the create"
        " was sent with: the bag's id)."
    )
    kind: Literal["delete", "unknown_create"]
    state: State
    attempts: int = Field(description="Real failures since it was enqueued or requeued.")
    first_failed_at: datetime | None = Field(
        description="The first real failure (the give-up window counts from it); null if none."
    )
    next_attempt_at: datetime
    last_error: str | None


class OutboxListOut(BaseModel):
    data: list[OutboxEntryOut]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


def entry_json(e: PendingExternalDelete) -> dict[str, Any]:
    """An entry as ``OutboxEntryOut``'s shape (for the API and the CLI)."""
    return {
        "id": e.id,
        "cart_id": e.cart_id,
        "bag_id": e.bag_id,
        "merchant_id": e.merchant_id,
        "platform": e.platform,
        "external_id": e.external_id,
        "kind": e.kind,
        "state": e.state,
        "attempts": e.attempts,
        "first_failed_at": e.first_failed_at,
        "next_attempt_at": e.next_attempt_at,
        "last_error": e.last_error,
    }


def query_state(raw: str | None) -> State | None:
    if raw is None:
        return None
    for state in STATES:
        if raw == state:
            return state
    raise InvalidRequest([FieldProblem("state", f"must be one of {', '.join(STATES)}")])


async def list_outbox(request: web.Request) -> web.Response:
    """One page of entries by id; ``next_cursor`` pages on (null at the end)."""
    state = query_state(request.query.get("state"))
    limit = checked_int(request.query.get("limit"), "limit", PAGE_DEFAULT, 1, PAGE_MAX)
    cursor = query_cursor(request)
    entries = await request.app[SERVICES].store.outbox.page(
        state, limit=limit + 1, after=decode_sku_cursor(cursor) if cursor else None
    )
    page = entries[:limit]
    next_cursor = encode_sku_cursor(page[-1].id) if len(entries) > limit else None
    return json_response({"data": [entry_json(e) for e in page], "next_cursor": next_cursor})


async def retry_outbox_entry(request: web.Request) -> web.Response:
    """A dead or undetectable entry back to pending, due now, its failure clock reset."""
    entry_id = checked_id(request.match_info["entry_id"], "entry_id")
    outbox = request.app[SERVICES].store.outbox
    outcome = await outbox.requeue(entry_id, datetime.now(UTC))
    entry = await outbox.get(entry_id)
    if outcome == "missing" or entry is None:  # or done already, since the requeue
        raise NotFound("No such outbox entry.", kind=ErrorCode.OUTBOX_ENTRY_NOT_FOUND)
    if outcome == "pending":
        raise ApiError(
            "This outbox entry is still pending: the reconciler works on it already.",
            kind=ErrorCode.OUTBOX_ENTRY_NOT_RETRYABLE,
            data={"state": "pending"},
        )
    return json_response(entry_json(entry))


OUTBOX_ROUTES: list[Route] = [
    Route(
        method="GET",
        path="/v1/admin/outbox",
        handler=list_outbox,
        summary="List external-delete outbox entries (dead letters with state=dead), by id",
        auth="admin",
        ok_body=OutboxListOut,
        query=(
            QueryParam(
                "state", {"type": "string", "enum": list(STATES)}, "Only entries in this state."
            ),
            QueryParam(
                "limit",
                {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": PAGE_DEFAULT},
            ),
            QueryParam("cursor", CURSOR_SCHEMA, "next_cursor of the previous page."),
        ),
        operation_id="listOutboxEntries",
    ),
    Route(
        method="POST",
        path="/v1/admin/outbox/{entry_id}/retry",
        handler=retry_outbox_entry,
        summary="Requeue a dead or undetectable outbox entry: pending, due now, clock reset",
        auth="admin",
        ok_body=OutboxEntryOut,
        errors=(ErrorCode.OUTBOX_ENTRY_NOT_FOUND, ErrorCode.OUTBOX_ENTRY_NOT_RETRYABLE),
        operation_id="retryOutboxEntry",
    ),
]
