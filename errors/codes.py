"""Stable error codes and the normalized platform-failure vocabulary.

Why a module of its own: the ``ErrorCode`` table is the single source for the README's and the
OpenAPI document's error-code table: ``error`` strings and numeric ``code``s never change once
published. ``Cause`` is the one vocabulary every platform's failures are told in. The
exceptions that carry them are in ``errors.exceptions``.
"""

from __future__ import annotations

from enum import Enum, StrEnum


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
    # The catalog's admin routes (orchestrator/http/admin_routes.py).
    SKU_NOT_FOUND = ("sku_not_found", 2450, 404, "No such SKU in the catalog.")
    SKU_IN_USE = (
        "sku_in_use",
        2451,
        409,
        "Live carts hold lines of this SKU (data.live_carts counts them); nothing was deleted."
        " Mark it available: false (PUT /v1/admin/skus) so no new line takes it, and delete it"
        " once those carts are gone.",
    )
    # Apps and their keys (orchestrator/http/app_routes.py).
    APP_NOT_FOUND = ("app_not_found", 2460, 404, "No such app.")
    APP_KEY_NOT_FOUND = ("app_key_not_found", 2461, 404, "The app has no such key.")
    APP_KEY_LIMIT = (
        "app_key_limit",
        2462,
        409,
        "The app already holds as many live keys as allowed (data.limit, 2); revoke one first.",
    )
    APP_KEY_REVOKED = (
        "app_key_revoked",
        2463,
        409,
        "The key is already revoked (data.revoked_at).",
    )
    APP_DISABLED = (
        "app_disabled",
        2464,
        409,
        "The app is disabled (data.disabled_at): it takes no new key.",
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
