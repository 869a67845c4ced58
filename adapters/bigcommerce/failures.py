"""BigCommerce's error answers, translated once into the error taxonomy.

Why a module of its own: every non-2xx answer is an ``ErrorResponse``
(``{status, title, type, detail?, errors?}``) whose title, field errors and rate-limit headers
say what went wrong (https://developer.bigcommerce.com/docs/start/about/status-codes); reading
them is pure translation, shared by every call the adapter makes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import orjson

from adapters.calls.http import Answer, Headers
from adapters.calls.platform_text import platform_text
from adapters.calls.statuses import error_for_status
from bags import Platform
from errors import Cause, PlatformError, PlatformRejected

NAME = Platform("BIGCOMMERCE")  # this platform's one name, in its rows and its errors
PLATFORM: str = NAME
_CREATES = frozenset({"create_cart", "add_lines"})
# 422 titles that mean "not enough stock". BigCommerce does not document the exact wording
# (https://developer.bigcommerce.com/docs/start/about/status-codes), so match the words any such
# title would use.
_STOCK_WORDS = re.compile(r"stock|available|sold out", re.IGNORECASE)
_UNKNOWN_PRODUCT = re.compile(r"(product|variant).*(not found|not exist|n't exist)", re.IGNORECASE)


def retry_after_of(headers: Headers, *, throttled: bool = True) -> float | None:
    """Seconds to wait: for a 429 the window's reset, else X-Retry-After
    (https://developer.bigcommerce.com/docs/start/best-practices/api-rate-limits). Every answer
    carries the window's reset, so for another status (a 503) only a Retry-After counts."""
    names: list[tuple[str, float]] = [("x-retry-after", 1.0), ("retry-after", 1.0)]
    if throttled:
        names.insert(0, ("x-rate-limit-time-reset-ms", 0.001))
    for name, scale in names:
        try:
            return max(float(headers[name]) * scale, 0.0)
        except (KeyError, ValueError):
            continue
    return None


def map_error(op: str, response: Answer, sku_ids: Sequence[str] = ()) -> PlatformError:
    """Every non-2xx BigCommerce answer, translated once: the shared status table, refined.

    ``ErrorResponse`` is ``{status, title, type, detail?, errors?: {field: message}}``
    (https://developer.bigcommerce.com/docs/start/about/status-codes).
    """
    status = response.status
    try:
        body = orjson.loads(response.body)  # as the answers; nesting capped at 1024 levels
    except orjson.JSONDecodeError:
        body = None
    body = body if isinstance(body, dict) else {}
    title = str(body.get("title") or "").strip()
    raw_errors = body.get("errors")
    field_errors: dict[str, Any] = raw_errors if isinstance(raw_errors, dict) else {}
    # The platform's words are sanitised (``platform_text``) as they are read; the title
    # itself, unchanged, is what the classification below matches.
    message = platform_text(title) or f"BigCommerce answered HTTP {status}"
    if body.get("detail"):
        message += f": {platform_text(body['detail'])}"
    if field_errors:
        listed = "; ".join(f"{k}: {v}" for k, v in field_errors.items())
        message += f" ({platform_text(listed)})"
    common: dict[str, Any] = {"platform": PLATFORM, "status": status}
    if sku_ids:
        common["data"] = {"sku_ids": list(sku_ids)}

    if status == 404 and op in _CREATES and not (op == "add_lines" and "cart" in title.lower()):
        # On a cart route the cart (or line) is gone; on create/add, with no mention of the cart,
        # the product is unknown (BigCommerce does not say which of 404 and 422 it uses).
        return PlatformRejected(message, cause=Cause.SKU_NOT_FOUND_ON_PLATFORM, **common)
    if status == 422 and _STOCK_WORDS.search(title):
        return PlatformRejected(message, cause=Cause.OUT_OF_STOCK, **common)
    if status == 422 and ("variant" in field_errors or _UNKNOWN_PRODUCT.search(title)):
        # "This product has options, variant ID is required"
        return PlatformRejected(message, cause=Cause.SKU_NOT_FOUND_ON_PLATFORM, **common)
    # 401/403: bad token, missing scope, wrong store hash; 409: version mismatch; 429: quota
    # spent, wait X-Rate-Limit-Time-Reset-Ms; 503: maintenance, maybe with a wait.
    wait = None
    if status in (429, 503):
        wait = retry_after_of(response.headers, throttled=status == 429)
    return error_for_status(
        status, message, platform=PLATFORM, retry_after=wait, data=common.get("data")
    )
