"""Shopify's failures, translated once: HTTP statuses, top-level GraphQL errors and userErrors.

Why a module of its own: the Storefront API reports failure in three layers, and each needs its
own reading (https://shopify.dev/docs/api/usage/response-codes):

* a non-2xx status: the transport refused (bad token, throttled, Shopify down);
* a 200 whose top-level ``errors`` say the document was not run: ``THROTTLED``, an invalid
  query, ``ACCESS_DENIED``; ``classify`` (the ``PlatformCaller`` seam) turns both into errors;
* a mutation that ran and refused: ``cart: null`` with ``userErrors``
  (https://shopify.dev/docs/api/storefront/2026-04/objects/CartUserError), read by
  ``user_errors_error`` when the payload is parsed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import orjson

from adapters.calls.http import Answer, Headers
from adapters.calls.line_refusals import sku_data
from adapters.calls.platform_text import platform_text
from adapters.calls.statuses import error_for_status
from bags import Platform
from errors import (
    Cause,
    PlatformAuthFailed,
    PlatformError,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
    PlatformUnavailable,
)

NAME = Platform("SHOPIFY")  # this platform's one name, in its rows and its errors
PLATFORM: str = NAME
# Shopify's own client waits 1000 ms before retrying a 429 or 503 without Retry-After
# (https://github.com/Shopify/shopify-app-js/tree/main/packages/api-clients/graphql-client).
DEFAULT_WAIT_S = 1.0
_STATUS_PHRASES = {
    402: "the shop is frozen (payment required)",
    423: "the shop is locked",
    # 430 is Shopify's security rejection (bot protection); like a 429, nothing was run.
    430: "a security rejection (throttled as a bot)",
}
_AUTH_CODES = frozenset({"ACCESS_DENIED", "UNAUTHORIZED", "FORBIDDEN"})
_CART_GONE = re.compile(r"cart.*(does not exist|doesn't exist|not found)", re.IGNORECASE)
_UNKNOWN = re.compile(r"does not exist|doesn't exist|not found|unknown", re.IGNORECASE)
# Quantity rules, selling plans, bundles, transforms: the item as asked cannot be bought.
_REJECTING_CODES = frozenset(
    {
        "MAXIMUM_EXCEEDED",
        "MINIMUM_NOT_MET",
        "INVALID_INCREMENT",
        "LESS_THAN",
        "VARIANT_REQUIRES_SELLING_PLAN",
        "SELLING_PLAN_NOT_APPLICABLE",
        "CART_TOO_LARGE",
        "MERCHANDISE_LINE_TRANSFORMERS_RUN_ERROR",
    }
)


def unreadable(response: Answer, why: str) -> PlatformServerError:
    """A 2xx this adapter cannot read: whatever it asked may have been applied."""
    return PlatformServerError(
        f"Shopify answered {response.status} with {why}",
        platform=PLATFORM,
        status=response.status,
    )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def retry_after_of(headers: Headers) -> float | None:
    """``Retry-After`` in seconds (RFC 9110: delay-seconds or an HTTP date), else None."""
    value = headers.get("retry-after")
    if value is None:
        return None
    seconds = _number(value.strip())
    if seconds is not None:
        return max(seconds, 0.0)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def classify(op: str, response: Answer, sku_ids: Sequence[str]) -> PlatformError | None:
    """The ``PlatformCaller`` seam: the error an answer means, or None when ``data`` is there."""
    if not response.is_success:
        return status_error(response, sku_ids)
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return unreadable(response, "a body that is not JSON")
    if not isinstance(body, dict):
        return unreadable(response, "JSON that is not a GraphQL response object")
    if body.get("errors"):
        return graphql_error(response, body, sku_ids)
    if not isinstance(body.get("data"), dict):
        # Shopify's client calls this "An unknown error has occurred".
        return unreadable(response, "neither data nor errors")
    return None


def _errors_text(errors: Any) -> str:
    listed = errors if isinstance(errors, list) else [errors]
    texts = [str(e.get("message") or e) if isinstance(e, dict) else str(e) for e in listed]
    return "; ".join(platform_text(t) for t in texts[:3] if t)


def status_error(response: Answer, sku_ids: Sequence[str]) -> PlatformError:
    """A non-2xx answer: the shared status table, refined where Shopify differs."""
    status = response.status
    message = f"Shopify answered HTTP {status}"
    if status in _STATUS_PHRASES:
        message += f", {_STATUS_PHRASES[status]}"
    try:
        body = orjson.loads(response.body)
    except orjson.JSONDecodeError:
        body = None  # 401/403/430 bodies are often empty or HTML
    if isinstance(body, dict) and body.get("errors"):
        message += f": {_errors_text(body['errors'])}"
    if response.headers.get("x-request-id"):  # what Shopify support asks for
        message += f" (X-Request-ID {response.headers['x-request-id']})"
    data = sku_data(sku_ids)
    if status in (429, 430):
        wait = retry_after_of(response.headers)
        return PlatformRateLimited(
            message,
            platform=PLATFORM,
            status=status,
            retry_after=DEFAULT_WAIT_S if wait is None else wait,
            data=data,
        )
    if status == 404:
        # The endpoint itself is missing (an expired cart is a 200 with cart: null): a wrong
        # shop_url or api_version. Never "cart not found", or a delete would pass for done.
        return PlatformRejected(
            message + "; no Storefront API at this URL (check shop_url and api_version)",
            platform=PLATFORM,
            status=status,
            data=data,
        )
    wait = retry_after_of(response.headers) if status == 503 else None
    return error_for_status(status, message, platform=PLATFORM, retry_after=wait, data=data)


def _throttle_wait(body: Mapping[str, Any], errors: list[Any]) -> float:
    """Seconds until the query's cost is back in the bucket, when the answer says so.

    Shopify's GraphQL APIs report ``extensions.cost.throttleStatus``
    (https://shopify.dev/docs/api/usage/limits#cost-calculation); the Storefront API usually
    says only "Throttled", so the default wait applies then.
    """
    places = [body.get("extensions")] + [e.get("extensions") for e in errors if isinstance(e, dict)]
    for ext in places:
        cost = ext.get("cost") if isinstance(ext, dict) else None
        bucket = cost.get("throttleStatus") if isinstance(cost, dict) else None
        if not isinstance(cost, dict) or not isinstance(bucket, dict):
            continue
        requested = _number(cost.get("requestedQueryCost"))
        available = _number(bucket.get("currentlyAvailable"))
        rate = _number(bucket.get("restoreRate"))
        if requested is not None and available is not None and rate:
            return max((requested - available) / rate, 0.0)
    return DEFAULT_WAIT_S


def graphql_error(
    response: Answer, body: Mapping[str, Any], sku_ids: Sequence[str]
) -> PlatformError:
    """A 200 with top-level ``errors``: the document was refused (or, with data, half run)."""
    errors = body["errors"] if isinstance(body["errors"], list) else [body["errors"]]
    codes = {
        str(e["extensions"].get("code") or "")
        for e in errors
        if isinstance(e, dict) and isinstance(e.get("extensions"), dict)
    }
    text = _errors_text(errors)
    common: dict[str, Any] = {"platform": PLATFORM, "status": response.status}
    common["data"] = sku_data(sku_ids)
    throttled = "THROTTLED" in codes or any(
        isinstance(e, dict) and str(e.get("message", "")).strip().lower() == "throttled"
        for e in errors
    )
    if throttled:  # refused before it ran: nothing applied, wait and try again
        wait = _throttle_wait(body, errors)
        return PlatformRateLimited(f"Shopify throttled: {text}", retry_after=wait, **common)
    if codes & _AUTH_CODES:
        return PlatformAuthFailed(f"Shopify denied access: {text}", **common)
    data = body.get("data")
    if "INTERNAL_SERVER_ERROR" in codes or (
        isinstance(data, dict) and any(v is not None for v in data.values())
    ):
        # Shopify failed while running it, or ran part of it: the outcome is unknown.
        return PlatformServerError(f"Shopify failed to run the document: {text}", **common)
    return PlatformRejected(f"Shopify refused the document: {text}", **common)


# --- userErrors -----------------------------------------------------------------------------------


def _line_index(field: Sequence[str]) -> int | None:
    """``["input", "lines", "0", "merchandiseId"]`` -> 0."""
    for at, part in enumerate(field[:-1]):
        if part == "lines" and field[at + 1].isdigit():
            return int(field[at + 1])
    return None


def _kind_of(code: str, field: Sequence[str], message: str) -> tuple[type[PlatformError], Cause]:
    """One ``CartUserError``'s place in the taxonomy, by its code
    (https://shopify.dev/docs/api/storefront/2026-04/enums/CartErrorCode), field and message."""
    if (field and field[-1] == "cartId") or (code == "INVALID" and _CART_GONE.search(message)):
        # Unknown or expired cart: "The specified cart does not exist." on ["cartId"].
        return PlatformNotFound, Cause.CART_NOT_FOUND_ON_PLATFORM
    if code == "INVALID_MERCHANDISE_LINE":  # "Merchandise line was not found in cart."
        return PlatformNotFound, Cause.CART_NOT_FOUND_ON_PLATFORM
    if code == "SERVICE_UNAVAILABLE":  # "An error occurred while saving the cart.": not saved
        return PlatformUnavailable, Cause.PLATFORM_UNAVAILABLE
    if code == "MERCHANDISE_NOT_APPLICABLE":
        # From 2025-10 this covers stock shortfalls and unpublished or nonexistent variants
        # (https://shopify.dev/changelog/storefront-api-cart-now-exposes-invalid-merchandise-configuration-error).
        unknown = _UNKNOWN.search(message)
        return PlatformRejected, (
            Cause.SKU_NOT_FOUND_ON_PLATFORM if unknown else Cause.OUT_OF_STOCK
        )
    if code in _REJECTING_CODES:
        return PlatformRejected, Cause.PLATFORM_REJECTED
    if (field and field[-1] == "merchandiseId") or (code == "INVALID" and _UNKNOWN.search(message)):
        # "The merchandise with id gid://shopify/ProductVariant/... does not exist."
        return PlatformRejected, Cause.SKU_NOT_FOUND_ON_PLATFORM
    return PlatformRejected, Cause.PLATFORM_REJECTED


# Among several userErrors, the one that decides: a missing cart makes the rest moot; an
# unavailable service may pass; then what is wrong with the items, most specific first.
_PRECEDENCE = (
    Cause.CART_NOT_FOUND_ON_PLATFORM,
    Cause.PLATFORM_UNAVAILABLE,
    Cause.SKU_NOT_FOUND_ON_PLATFORM,
    Cause.OUT_OF_STOCK,
    Cause.PLATFORM_REJECTED,
)


def user_errors_error(
    root: str, user_errors: Sequence[Any], sku_ids: Sequence[str], status: int
) -> PlatformError:
    """The mutation refused: one error for all its ``userErrors``, naming the SKUs they point at
    (by the ``lines`` index in ``field``) or, when none can be told, every SKU of the call."""
    read: list[tuple[type[PlatformError], Cause, int | None, str]] = []
    for error in user_errors:
        entry = error if isinstance(error, dict) else {"message": str(error)}
        code = str(entry.get("code") or "")
        raw_field = entry.get("field")
        field = [str(p) for p in raw_field] if isinstance(raw_field, list) else []
        message = str(entry.get("message") or code or "refused")
        kind, cause = _kind_of(code, field, message)
        where = f" at {platform_text('.'.join(field), 80)}" if field else ""
        shown = f"{platform_text(message)} [{platform_text(code or 'no code', 40)}{where}]"
        read.append((kind, cause, _line_index(field), shown))
    kind, cause = min(((k, c) for k, c, _, _ in read), key=lambda kc: _PRECEDENCE.index(kc[1]))
    pointed = {
        sku_ids[i] for _, c, i, _ in read if c is cause and i is not None and 0 <= i < len(sku_ids)
    }
    named = [s for s in sku_ids if s in pointed] or list(sku_ids)
    text = "; ".join(m for _, _, _, m in read[:5])
    extra: dict[str, Any] = {"may_have_applied": False} if kind is PlatformUnavailable else {}
    return kind(
        f"Shopify refused {root}: {text}",
        platform=PLATFORM,
        cause=cause,
        status=status,
        data=sku_data(named),
        **extra,
    )
