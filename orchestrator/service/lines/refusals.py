"""The answers a line change refuses with, worded once for add, set quantity and remove."""

from __future__ import annotations

from config import Settings
from errors import Conflict as ConflictError
from errors import ErrorCode, FieldProblem, InvalidRequest, PlatformAuthFailed


def too_many(quantity: int, limit: int) -> InvalidRequest:
    return InvalidRequest(
        [FieldProblem("quantity", f"the line would hold {quantity}; at most {limit}")]
    )


def settling(settings: Settings) -> ConflictError:
    return _busy("This merchant's external cart is still being created or resolved", settings)


def deleting(settings: Settings) -> ConflictError:
    return _busy(
        "An external cart this merchant's bag made earlier is still being removed", settings
    )


def _busy(why: str, settings: Settings) -> ConflictError:
    """409 ``cart_busy``, retried after the background worker's next round."""
    wait = max(1, round(settings.external_delete_retry_s))
    return ConflictError(
        f"{why}; retry shortly.", kind=ErrorCode.CART_BUSY, headers={"Retry-After": str(wait)}
    )


def unreadable(platform: str) -> PlatformAuthFailed:
    return PlatformAuthFailed(
        "this merchant's credentials cannot be read by the service (its encryption key is no"
        " longer configured); nothing was sent",
        platform=platform,
        may_have_applied=False,
    )
