"""The adapter boundary's last line: an exception that is not a ``PlatformError`` becomes one.

Why a module of its own: what an unexpected exception (a bug in a parser, a value the transport
refuses, an amount ``decimal`` cannot hold) means for the platform depends only on how far the
attempt had got (``Stage``): before sending, nothing was sent; inside the transport, or reading
a 2xx answer, the platform may have applied it; a non-2xx answer keeps what its status says.
``adapters.calls.caller`` tracks the stage of each attempt and calls ``boundary_error`` once.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from adapters.calls.http import Answer, UnsendableHeader
from adapters.calls.line_refusals import sku_data
from adapters.calls.statuses import error_for_status
from errors import PlatformAuthFailed, PlatformError, PlatformServerError


class Stage(Enum):
    """How far an attempt got: what an unexpected exception there means for the platform."""

    AUTH = "auth"  # getting (or renewing) credentials: nothing of this request was sent
    PREPARE = "prepare"  # building the request: nothing sent
    SEND = "send"  # inside the transport: it may have reached the platform
    ANSWER = "answer"  # classifying or parsing the answer that came


@dataclass(frozen=True, slots=True)
class FailedAttempt:
    """Where an unexpected exception happened: the call, the attempt and how far it got."""

    platform: str
    op: str
    stage: Stage
    response: Answer | None
    sku_ids: Sequence[str]
    attempt: int


def boundary_error(exc: Exception, at: FailedAttempt, log: Any) -> PlatformError:
    """The one ``PlatformError`` for an exception that is not one, by ``at.stage``.

    Its message names the exception's type only: its text may quote a credential or a
    megabyte of answer. The full exception goes to ``log`` once, as ``platform_adapter_bug``,
    its traceback already formatted as text (``exception``, the key structlog's
    ``format_exc_info`` writes). Not ``exc_info=exc``: an unconfigured structlog renders
    that with rich, *local variables included*, and a test run printed a merchant's
    token from ``check_header_values``' frame. No header or token is put in the event.
    """
    data = sku_data(at.sku_ids)
    if isinstance(exc, UnsendableHeader) and at.stage is Stage.AUTH:
        # The merchant's stored credentials, not a bug: the operator must replace them.
        log.warning("platform_credentials_unsendable", op=at.op, stage=at.stage.value)
        return PlatformAuthFailed(
            f"{at.platform}: the merchant's credentials cannot be sent in an HTTP header"
            f" ({exc}); nothing was sent",
            platform=at.platform,
            may_have_applied=False,
            data=data,
        )
    log.error(
        "platform_adapter_bug",
        op=at.op,
        stage=at.stage.value,
        status=at.response.status if at.response is not None else None,
        attempt=at.attempt,
        exception="".join(traceback.format_exception(exc)),
    )
    return _error_for_bug(type(exc).__name__, at, data)


def _error_for_bug(kind: str, at: FailedAttempt, data: dict[str, Any] | None) -> PlatformError:
    """The error for a bug of type ``kind``: certainly not sent, maybe applied, or as answered."""
    platform, op, response = at.platform, at.op, at.response
    if at.stage in (Stage.AUTH, Stage.PREPARE):
        # Our failure, not the platform's refusal (which would answer 422 "rejected the
        # items"): a platform error, certainly not sent, and not retried (the same request
        # would fail the same way).
        return PlatformServerError(
            f"multicart could not build the {platform} request for {op} ({kind}); nothing was sent",
            platform=platform,
            may_have_applied=False,
            data=data,
        )
    if at.stage is Stage.SEND or response is None:
        return PlatformServerError(
            f"sending the {platform} request for {op} failed ({kind}); it may have been applied",
            platform=platform,
            may_have_applied=True,
            data=data,
        )
    message = (
        f"{platform} answered {response.status} to {op} with a body this adapter"
        f" cannot read ({kind})"
    )
    if response.is_success:  # it was applied, or may have been: never "not sent"
        return PlatformServerError(
            message, platform=platform, status=response.status, may_have_applied=True, data=data
        )
    # A refusal or failure whose body could not be read: the status alone still says
    # what it means (a 4xx applied nothing; a 5xx left the outcome unknown).
    return error_for_status(response.status, message, platform=platform, data=data)
