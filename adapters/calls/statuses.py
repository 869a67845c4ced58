"""The one table from an HTTP status to the error taxonomy, shared by every REST platform.

Why a module of its own: 401/403, 404, 409, 429 and 5xx mean the same thing on BigCommerce and
Elastic Path (and on Shopify's transport-level answers); each platform's ``map_error`` starts
from ``error_for_status`` and refines only what its documentation says differs (a 404 that
means "unknown product", a 422 that means "out of stock").
"""

from __future__ import annotations

from typing import Any

from errors import (
    PlatformAuthFailed,
    PlatformConflict,
    PlatformError,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
)

# status -> error class; anything else 4xx is a rejection, anything 5xx a server error.
STATUS_ERRORS: dict[int, type[PlatformError]] = {
    401: PlatformAuthFailed,
    403: PlatformAuthFailed,
    404: PlatformNotFound,
    409: PlatformConflict,
    429: PlatformRateLimited,
}


def error_for_status(
    status: int,
    message: str,
    *,
    platform: str,
    retry_after: float | None = None,
    data: dict[str, Any] | None = None,
) -> PlatformError:
    """The default mapping of a non-2xx answer; adapters refine it where their platform differs.

    ``retry_after`` is kept only where it means "not applied, come back then": 429 and 5xx.
    """
    kind = STATUS_ERRORS.get(status)
    if kind is None:
        kind = PlatformServerError if status >= 500 else PlatformRejected
    kwargs: dict[str, Any] = {"platform": platform, "status": status, "data": data}
    if kind in (PlatformRateLimited, PlatformServerError):
        kwargs["retry_after"] = retry_after
    if status == 503:
        # Service Unavailable: the server did not take the request (RFC 9110 §15.6.4), which
        # is why a create may be sent again after it. Not an unknown outcome.
        kwargs["may_have_applied"] = False
    return kind(message, **kwargs)
