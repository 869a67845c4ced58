"""The exceptions multicart raises on purpose, and the one cleaning of a platform's words.

Why a module of its own: ``errors.codes`` is the published table (codes, causes), and this is
what carries them: ``ApiError``s answered to the caller as the error envelope, and the
``PlatformError``s the adapters raise, each failure translated once at their boundary. The tree
is drawn in ``errors``' docstring.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from errors.codes import Cause, ErrorCode


@dataclass(frozen=True)
class FieldProblem:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


@dataclass(frozen=True)
class SkuProblem:
    sku_id: str
    reason: str  # UNKNOWN | UNAVAILABLE | MERCHANT_PAUSED | CURRENCY_MISMATCH
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
