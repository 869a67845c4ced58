"""What each error answer looks like in the OpenAPI document: one schema per error code.

Why: an ``ErrorOut`` with ``data: object`` told a client nothing about what it could read,
and listing under a status every code sharing it (404 ``merchant_not_found`` on a cart route)
was untrue. Here each ``ErrorCode`` gets a component schema fixing its ``error``, ``code`` and
the shape of its ``data`` (``fields``, ``skus``, ``cause``, ``request_id``); a route lists the
codes it can really return (``Route.errors`` plus those implied by its body, auth and
parameters) and each status's answer is the ``oneOf`` of those codes' schemas.
"""

from __future__ import annotations

from typing import Any

from adapters import PLATFORM_MESSAGE_MAX
from bags import BagStatus
from errors import Cause, ErrorCode

REF = "#/components/schemas/{model}"

_FIELDS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
}
_SKU_PROBLEMS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["sku_id", "reason", "message"],
        "properties": {
            "sku_id": {"type": "string"},
            "reason": {"enum": ["UNKNOWN", "UNAVAILABLE", "MERCHANT_PAUSED", "CURRENCY_MISMATCH"]},
            "message": {"type": "string"},
        },
    },
}
_FAILED_SKUS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["sku_id", "name", "message"],
        "properties": {
            "sku_id": {"type": "string"},
            "name": {"type": "string"},
            "message": {"type": "string"},
        },
    },
}


def _obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


_EMPTY: dict[str, Any] = {"type": "object"}
_TIME = {"type": "string", "format": "date-time"}
DATA: dict[ErrorCode, dict[str, Any]] = {
    ErrorCode.INVALID_REQUEST: _obj(["fields"], fields=_FIELDS),
    ErrorCode.MALFORMED_JSON: _obj([], duplicate_key={"type": "string"}),
    ErrorCode.UNAUTHORIZED: _EMPTY,
    ErrorCode.PAYLOAD_TOO_LARGE: _obj(["max_bytes"], max_bytes={"type": "integer"}),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: _EMPTY,
    ErrorCode.NOT_FOUND: _EMPTY,
    ErrorCode.METHOD_NOT_ALLOWED: _EMPTY,
    ErrorCode.IDEMPOTENCY_KEY_IN_USE: _EMPTY,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: _EMPTY,
    ErrorCode.INTERNAL_ERROR: _obj(["request_id"], request_id={"type": "string"}),
    ErrorCode.NOT_READY: _obj(["reason"], reason={"type": "string"}),
    ErrorCode.OVERLOADED: _obj(["reason"], reason={"enum": ["in_flight", "database_wait"]}),
    ErrorCode.REQUEST_TIMEOUT: _obj(["timeout_s"], timeout_s={"type": "number"}),
    ErrorCode.RATE_LIMITED: _obj(["reason"], reason={"enum": ["rate", "in_flight", "failed_auth"]}),
    ErrorCode.QUOTA_EXCEEDED: _obj(["quota"], quota={"type": "integer"}),
    ErrorCode.INVALID_SKUS: _obj(["skus", "fields"], skus=_SKU_PROBLEMS, fields=_FIELDS),
    ErrorCode.CART_NOT_FOUND: _EMPTY,
    ErrorCode.MERCHANT_NOT_FOUND: _EMPTY,
    ErrorCode.DUPLICATE_CART: _EMPTY,
    ErrorCode.CART_BUSY: _EMPTY,
    ErrorCode.CART_EXPIRED: _EMPTY,
    ErrorCode.ORDER_SKU_NOT_FOUND: _EMPTY,
    ErrorCode.PRECONDITION_FAILED: _obj(["version"], version={"type": "integer"}),
    ErrorCode.BAG_NOT_FOUND: _EMPTY,
    ErrorCode.BAG_NOT_RETRYABLE: _obj(
        ["status"],
        status={"enum": [s.value for s in BagStatus]},
        outbox={"type": "string", "enum": ["pending", "unknown_create"]},
        reason={"type": "string"},
    ),
    ErrorCode.OUTBOX_ENTRY_NOT_FOUND: _EMPTY,
    ErrorCode.SKU_NOT_FOUND: _EMPTY,
    ErrorCode.SKU_IN_USE: _obj(
        ["sku_id", "live_carts"], sku_id={"type": "string"}, live_carts={"type": "integer"}
    ),
    ErrorCode.OUTBOX_ENTRY_NOT_RETRYABLE: _obj(["state"], state={"enum": ["pending"]}),
    ErrorCode.APP_NOT_FOUND: _EMPTY,
    ErrorCode.APP_KEY_NOT_FOUND: _EMPTY,
    ErrorCode.APP_KEY_LIMIT: _obj(["limit"], limit={"type": "integer"}),
    ErrorCode.APP_KEY_REVOKED: _obj(["revoked_at"], revoked_at=_TIME),
    ErrorCode.APP_DISABLED: _obj(["disabled_at"], disabled_at=_TIME),
    ErrorCode.EXTERNAL_CART_NOT_FOUND: _obj(
        ["platform", "merchant_id"], platform={"type": "string"}, merchant_id={"type": "string"}
    ),
    ErrorCode.EXTERNAL_CART_READ_FAILURE: _obj(
        ["cause", "platform", "merchant_id", "retryable"],
        cause={"enum": [c.value for c in Cause]},
        platform={"type": "string"},
        merchant_id={"type": "string"},
        retryable={"type": "boolean"},
    ),
    ErrorCode.EXTERNAL_CART_CREATION_FAILURE: _obj(
        ["cause", "platform", "merchant_id", "retryable", "skus"],
        cause={"enum": [c.value for c in Cause]},
        platform={"type": "string"},
        merchant_id={"type": "string"},
        retryable={"type": "boolean"},
        platform_message={
            "type": "string",
            "maxLength": PLATFORM_MESSAGE_MAX,
            "description": "The platform's error text, sanitised: printable characters only,"
            " whitespace collapsed, credential-like runs replaced by [redacted], at most"
            f" {PLATFORM_MESSAGE_MAX} characters (an ellipsis marks a cut).",
        },
        skus=_FAILED_SKUS,
        bags={"type": "array", "items": {"type": "object"}},
    ),
}

# Codes answered with other statuses than their table entry's.
STATUSES: dict[ErrorCode, tuple[int, ...]] = {
    ErrorCode.EXTERNAL_CART_CREATION_FAILURE: (422, 502, 503),
    ErrorCode.EXTERNAL_CART_READ_FAILURE: (502, 503),
}
# The (code, status) answers carrying Retry-After.
RETRY_AFTER = {
    (ErrorCode.EXTERNAL_CART_CREATION_FAILURE, 503): "Seconds to wait before retrying "
    "(2503 when throttled).",
    (ErrorCode.EXTERNAL_CART_READ_FAILURE, 503): "Seconds to wait before retrying "
    "(2502 when throttled or unavailable).",
    (ErrorCode.IDEMPOTENCY_KEY_IN_USE, 409): "Seconds to wait before retrying "
    "(1409: the first request with this Idempotency-Key is still running).",
    (ErrorCode.RATE_LIMITED, 429): "Seconds to wait before retrying (1429: this app's rate"
    " or share, or failed authentications).",
    (ErrorCode.OVERLOADED, 503): "Seconds to wait before retrying (1529: shed under load).",
    (ErrorCode.CART_BUSY, 409): "Seconds to wait before retrying (2410: the cart is changing).",
}


def schema_name(kind: ErrorCode) -> str:
    return f"Error{kind.code}"


def component_schemas() -> dict[str, Any]:
    """``Error<code>`` for every code, and ``ErrorOut`` as the ``oneOf`` of them all."""
    schemas: dict[str, Any] = {}
    for kind in ErrorCode:
        schemas[schema_name(kind)] = {
            "title": f"{kind.error} ({kind.code})",
            "description": kind.description,
            "type": "object",
            "required": ["message", "error", "code", "data"],
            "additionalProperties": False,
            "properties": {
                "message": {"type": "string"},
                "error": {"const": kind.error},
                "code": {"const": kind.code},
                "data": DATA[kind],
            },
        }
    schemas["ErrorOut"] = {
        "title": "ErrorOut",
        "description": "The error envelope of every non-2xx answer.",
        "oneOf": [{"$ref": REF.format(model=schema_name(k))} for k in ErrorCode],
    }
    return schemas


def statuses_of(kind: ErrorCode) -> tuple[int, ...]:
    return STATUSES.get(kind, (kind.status,))


def error_responses(codes: list[ErrorCode], headers: dict[str, Any]) -> dict[str, Any]:
    """The ``responses`` entries (status -> answer) for ``codes``; ``headers`` on each."""
    by_status: dict[int, list[ErrorCode]] = {}
    for kind in codes:
        for status in statuses_of(kind):
            if kind not in by_status.setdefault(status, []):
                by_status[status].append(kind)
    responses: dict[str, Any] = {}
    for status in sorted(by_status):
        kinds = by_status[status]
        refs = [{"$ref": REF.format(model=schema_name(k))} for k in kinds]
        answer_headers = dict(headers)
        waits = [RETRY_AFTER[(k, status)] for k in kinds if (k, status) in RETRY_AFTER]
        if waits:
            answer_headers["Retry-After"] = {
                "description": " ".join(waits),
                "schema": {"type": "integer", "minimum": 1},
            }
        responses[str(status)] = {
            "description": "; ".join(f"{k.error} ({k.code}): {k.description}" for k in kinds),
            "headers": answer_headers,
            "content": {
                "application/json": {"schema": refs[0] if len(refs) == 1 else {"oneOf": refs}}
            },
        }
    return responses
