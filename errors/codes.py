"""Stable error codes, the normalized platform-failure vocabulary, and the exception classes.

The ``ErrorCode`` table is the single source for the README's and the OpenAPI document's
error-code table: ``error`` strings and numeric ``code``s never change once published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any


class ErrorCode(Enum):
    """(error, code, status, description): the published error table."""

    INVALID_REQUEST = (
        "invalid_request",
        1001,
        400,
        "A field is missing or invalid; data.fields lists each.",
    )
    MALFORMED_JSON = ("malformed_json", 1002, 400, "The body is not a JSON object.")
    UNAUTHORIZED = ("unauthorized", 1003, 401, "Missing or wrong Bearer key.")
    PAYLOAD_TOO_LARGE = ("payload_too_large", 1004, 413, "The body exceeds the size limit.")
    UNSUPPORTED_MEDIA_TYPE = (
        "unsupported_media_type",
        1005,
        415,
        "The body is not application/json.",
    )
    NOT_FOUND = ("not_found", 1404, 404, "No such route.")
    METHOD_NOT_ALLOWED = ("method_not_allowed", 1405, 405, "The route does not take this method.")
    # Idempotency-Key answers (orchestrator/http/idempotency.py): request-level, hence 1xxx
    # with the HTTP status in the last digits, as 1404 and 1405.
    IDEMPOTENCY_KEY_IN_USE = (
        "idempotency_key_in_use",
        1409,
        409,
        "A request with this Idempotency-Key is still running; retry after Retry-After.",
    )
    IDEMPOTENCY_KEY_REUSED = (
        "idempotency_key_reused",
        1422,
        422,
        "This Idempotency-Key was first used with another request (method, path or body).",
    )
    # If-Match naming another version than the cart's (RFC 9110 §13.1.1); nothing changed.
    PRECONDITION_FAILED = (
        "precondition_failed",
        1412,
        412,
        "If-Match names another version than the cart's; nothing was changed (data.version and"
        " ETag give the current one).",
    )
    INTERNAL_ERROR = (
        "internal_error",
        1500,
        500,
        "Unexpected failure; data.request_id identifies it.",
    )
    NOT_READY = ("not_ready", 1503, 503, "The service cannot reach its database.")
    # Load shedding (orchestrator/http/shedding.py): 1503 is taken by not_ready, so 1529, a 5xx
    # that says "too many requests" (429); one code for both reasons, told apart in data.reason.
    OVERLOADED = (
        "overloaded",
        1529,
        503,
        "Too many requests in flight, or no database connection within the request's deadline;"
        " retry after Retry-After (data.reason: in_flight or database_wait).",
    )
    # Fair sharing and hostile clients (orchestrator/http/fairness.py, intake.py).
    REQUEST_TIMEOUT = (
        "request_timeout",
        1408,
        408,
        "The body did not arrive within its time bound (data.timeout_s: a base plus its"
        " declared length at the minimum rate); the connection is closed.",
    )
    RATE_LIMITED = (
        "rate_limited",
        1429,
        429,
        "Too many requests: this app is over its request rate or its share of the requests in"
        " flight, or this address or key prefix over its failed authentications; retry after"
        " Retry-After (data.reason: rate, in_flight or failed_auth).",
    )
    QUOTA_EXCEEDED = (
        "quota_exceeded",
        1403,
        403,
        "This app holds as many live carts as its quota allows (data.quota); delete or let"
        " carts expire before creating more.",
    )
    INVALID_SKUS = (
        "invalid_skus",
        2001,
        400,
        "Unknown or unavailable SKUs, or a currency mismatch; data.skus lists each.",
    )
    CART_NOT_FOUND = ("cart_not_found", 2404, 404, "No such cart for this app.")
    MERCHANT_NOT_FOUND = ("merchant_not_found", 2405, 404, "No such merchant.")
    DUPLICATE_CART = ("duplicate_cart", 2409, 409, "That external cart is already referenced.")
    CART_BUSY = ("cart_busy", 2410, 409, "Another change to this cart is under way; retry shortly.")
    CART_EXPIRED = ("cart_expired", 2411, 409, "The cart has expired and cannot change.")
    ORDER_SKU_NOT_FOUND = (
        "order_sku_not_found",
        2406,
        404,
        "No such line (order SKU) in this cart.",
    )
    # The bag routes and saved references (orchestrator/service/bag_retry.py, references.py).
    BAG_NOT_FOUND = ("bag_not_found", 2420, 404, "No such bag in this cart.")
    BAG_NOT_RETRYABLE = (
        "bag_not_retryable",
        2421,
        409,
        "Only a FAILED bag can be retried (data.status is the bag's), not while an external cart"
        " it made earlier is still being removed, and never one whose first create's outcome is"
        " unknown (data.outbox, data.reason).",
    )
    # The outbox's dead letters (orchestrator/http/outbox_routes.py, `multicart outbox`).
    OUTBOX_ENTRY_NOT_FOUND = ("outbox_entry_not_found", 2440, 404, "No such outbox entry.")
    OUTBOX_ENTRY_NOT_RETRYABLE = (
        "outbox_entry_not_retryable",
        2441,
        409,
        "Only a dead or undetectable outbox entry can be requeued; this one is still pending"
        " (data.state).",
    )
    EXTERNAL_CART_NOT_FOUND = (
        "external_cart_not_found",
        2430,
        404,
        "The merchant's platform has no such cart, or the cart holds no lines.",
    )
    EXTERNAL_CART_READ_FAILURE = (
        "external_cart_read_failure",
        2502,
        502,
        "The platform did not answer the read of the external cart (502 failed, 503 throttled"
        " or unavailable).",
    )
    EXTERNAL_CART_CREATION_FAILURE = (
        "external_cart_creation_failure",
        2503,
        502,
        "The platform did not create the external cart (422 rejected, 502 failed, 503 throttled).",
    )

    def __init__(self, error: str, code: int, status: int, description: str) -> None:
        self.error = error
        self.code = code
        self.status = status
        self.description = description


class Cause(StrEnum):
    """Why a platform call failed, in one vocabulary across platforms."""

    OUT_OF_STOCK = "OUT_OF_STOCK"
    SKU_NOT_FOUND_ON_PLATFORM = "SKU_NOT_FOUND_ON_PLATFORM"
    CART_NOT_FOUND_ON_PLATFORM = "CART_NOT_FOUND_ON_PLATFORM"
    PLATFORM_REJECTED = "PLATFORM_REJECTED"
    PLATFORM_CONFLICT = "PLATFORM_CONFLICT"
    PLATFORM_ERROR = "PLATFORM_ERROR"
    PLATFORM_TIMEOUT = "PLATFORM_TIMEOUT"
    RATE_LIMITED = "RATE_LIMITED"
    PLATFORM_UNAVAILABLE = "PLATFORM_UNAVAILABLE"
    AUTH_FAILED = "AUTH_FAILED"
    # The store's host is one multicart may not call (outbound address policy, allow-list,
    # port): nothing was sent, and a retry is refused the same way. Was PLATFORM_UNAVAILABLE,
    # which the cart answer read as transient ("retryable": true, "Please retry").
    PLATFORM_HOST_REFUSED = "PLATFORM_HOST_REFUSED"
    # A line of a referenced external cart that matches no catalog SKU of its merchant.
    NOT_IN_CATALOG = "NOT_IN_CATALOG"


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True)
class SkuProblem:
    sku_id: str
    reason: str  # UNKNOWN | UNAVAILABLE | CURRENCY_MISMATCH
    message: str
    field: str

    def as_dict(self) -> dict[str, str]:
        return {"sku_id": self.sku_id, "reason": self.reason, "message": self.message}


class MulticartError(Exception):
    """Base of every error multicart raises on purpose."""

    kind: ErrorCode = ErrorCode.INTERNAL_ERROR
    retryable: bool = False

    def __init__(self, message: str, *, data: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data: dict[str, Any] = data or {}

    @property
    def status(self) -> int:
        return self.kind.status

    def envelope(self) -> dict[str, Any]:
        """The error envelope every non-2xx answer carries: message, error, code, data."""
        return {
            "message": self.message,
            "error": self.kind.error,
            "code": self.kind.code,
            "data": self.data,
        }


class ApiError(MulticartError):
    """An error answered to the caller as it is."""

    def __init__(
        self,
        message: str,
        *,
        kind: ErrorCode | None = None,
        data: dict[str, Any] | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, data=data)
        if kind is not None:
            self.kind = kind
        self._status = status
        self.headers: dict[str, str] = headers or {}

    @property
    def status(self) -> int:
        return self._status if self._status is not None else self.kind.status


class InvalidRequest(ApiError):
    kind = ErrorCode.INVALID_REQUEST

    def __init__(self, problems: list[FieldProblem], message: str | None = None) -> None:
        self.problems = problems
        text = message or "Invalid request: " + "; ".join(
            f"{p.field}: {p.message}" for p in problems[:5]
        )
        super().__init__(text, data={"fields": [p.as_dict() for p in problems]})


class MalformedJson(ApiError):
    kind = ErrorCode.MALFORMED_JSON


class InvalidSkus(ApiError):
    kind = ErrorCode.INVALID_SKUS

    def __init__(self, problems: list[SkuProblem]) -> None:
        ids = ", ".join(p.sku_id for p in problems)
        super().__init__(
            f"These SKUs cannot be added: {ids}",
            data={
                "skus": [p.as_dict() for p in problems],
                "fields": [{"field": p.field, "message": p.message} for p in problems],
            },
        )


class Unauthorized(ApiError):
    kind = ErrorCode.UNAUTHORIZED


class NotFound(ApiError):
    kind = ErrorCode.NOT_FOUND


class Conflict(ApiError):
    kind = ErrorCode.CART_BUSY


class PayloadTooLarge(ApiError):
    kind = ErrorCode.PAYLOAD_TOO_LARGE


class UnsupportedMediaType(ApiError):
    kind = ErrorCode.UNSUPPORTED_MEDIA_TYPE


class InternalError(ApiError):
    kind = ErrorCode.INTERNAL_ERROR


class Overloaded(ApiError):
    """503 ``overloaded``: shed before any work, or a database wait that would outlive the
    request's deadline (``data.reason``); always with ``Retry-After``."""

    kind = ErrorCode.OVERLOADED
    retryable = True


class ExternalCartCreationFailure(ApiError):
    """The 2503 answer of cart creation: a single-bag cart whose external cart was not created
    (or, under ``all_or_nothing``, any bag's)."""

    kind = ErrorCode.EXTERNAL_CART_CREATION_FAILURE


# The longest ``PlatformError.message``. Messages quote platform texts (titles, details,
# userErrors, GraphQL errors) that multicart stores in a cart's errors and returns in answers; a
# platform, or anything posing as one, decides how long those are. Our own wording is at most
# about 120 characters, so 500 leaves a platform's text room for its first sentences or two.
MESSAGE_MAX = 500


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_PRINTABLE = re.compile(r"[^\x00-\x08\x0b-\x1f\x7f]*")


def clip(text: str, limit: int = MESSAGE_MAX) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut, and without control
    characters (PostgreSQL refuses NUL in text; SQLite would store it): the one cleaning of a
    platform's words before they are stored or returned."""
    if not _PRINTABLE.fullmatch(text):
        text = _CONTROL.sub("\ufffd", text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class PlatformError(MulticartError):
    """A failed platform call, translated once at the adapter boundary.

    ``may_have_applied`` is True when the request reached the platform and its outcome is
    unknown (5xx answer, read timeout, connection closed after sending): a create or an add
    must not be blindly repeated then. ``message`` is clipped to ``MESSAGE_MAX`` characters
    here, once for every adapter, since it often quotes the platform's own text.
    """

    cause: Cause = Cause.PLATFORM_ERROR
    may_have_applied: bool = False

    def __init__(
        self,
        message: str,
        *,
        platform: str,
        cause: Cause | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        may_have_applied: bool | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(clip(message), data=data)
        self.platform = platform
        if cause is not None:
            self.cause = cause
        if may_have_applied is not None:
            self.may_have_applied = may_have_applied
        self.platform_status = status
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.platform}, {self.cause}, status={self.platform_status},"
            f" message={self.message!r})"
        )


class PlatformRejected(PlatformError):
    cause = Cause.PLATFORM_REJECTED


class PlatformAuthFailed(PlatformError):
    cause = Cause.AUTH_FAILED


class PlatformNotFound(PlatformError):
    cause = Cause.CART_NOT_FOUND_ON_PLATFORM


class PlatformConflict(PlatformError):
    cause = Cause.PLATFORM_CONFLICT


class PlatformRateLimited(PlatformError):
    cause = Cause.RATE_LIMITED
    retryable = True


class PlatformUnavailable(PlatformError):
    cause = Cause.PLATFORM_UNAVAILABLE
    retryable = True


class PlatformAddressRefused(PlatformError):
    """The store's host resolves only to addresses multicart may not call (loopback, private,
    link-local, metadata...): refused at connect time, before a byte was sent. Not retried and
    not a transient failure (no circuit trips): the same name gives the same refusal until DNS
    or the operator's policy changes."""

    cause = Cause.PLATFORM_HOST_REFUSED
    retryable = False
    may_have_applied = False


class PlatformServerError(PlatformError):
    cause = Cause.PLATFORM_ERROR
    retryable = True
    may_have_applied = True


class PlatformTimeout(PlatformError):
    cause = Cause.PLATFORM_TIMEOUT
    retryable = True
    may_have_applied = True
