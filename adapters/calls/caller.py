"""One merchant store's calls: bulkhead, breaker, auth, one attempt, logs, metrics and retries.

Why a module of its own: ``PlatformCaller`` is where the pieces meet. It puts each attempt
(``adapters.calls.http.prepare_request``, then the platform's ``Transport``) inside the
platform's bulkhead and the store's circuit breaker (``adapters.calls.resilience``), logs and
counts it, and hands the attempts to the retry engine (``adapters.calls.retry``). A platform
fills in two seams:

* ``classify(op, answer, sku_ids)``: the error an answer means, or None for a success. REST
  platforms map non-2xx statuses (``rest_classifier``); Shopify also turns a 200 whose body says
  ``THROTTLED`` or carries top-level ``errors`` into an error.
* ``auth``: the headers of each attempt, and one ``refresh`` on a 401 before the answer is
  classified (Elastic Path's expiring tokens); a second 401 is classified as it stands, never
  looped on.

It is also the adapter boundary's last line: any other ``Exception`` an attempt raises (a bug in
a parser, a value the transport refuses, an amount ``decimal`` cannot hold) becomes one
``PlatformError`` here, by how far the attempt had got (``_Stage``), and is logged once as
``platform_adapter_bug``. ``BaseException``s (cancellation) pass through untouched.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from enum import Enum
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import structlog

from adapters.calls.http import (
    Answer,
    Headers,
    Transport,
    UnsendableHeader,
    check_header_values,
    prepare_request,
)
from adapters.calls.policy import RetryPolicy
from adapters.calls.resilience import CircuitOpen, Resilience
from adapters.calls.retry import call_with_retries
from adapters.calls.statuses import error_for_status
from errors import PlatformAuthFailed, PlatformError, PlatformServerError

T = TypeVar("T")

ErrorMapper = Callable[[str, Answer, Sequence[str]], PlatformError]
Classifier = Callable[[str, Answer, Sequence[str]], PlatformError | None]


class Auth(Protocol):
    """Where an attempt's credentials come from."""

    async def headers(self, deadline: float) -> Headers:
        """The headers that authenticate a request (may fetch a token, within ``deadline``)."""
        ...

    async def refresh(self, rejected: Headers, deadline: float) -> bool:
        """The platform answered 401 to ``rejected``: renew; True when worth one more try."""
        ...


class StaticAuth:
    """Credentials that never change (an API token): nothing to refresh.

    The headers are checked once, here. A value no header can carry (non-ASCII,
    CR/LF: a token pasted with its line break) never raises out of an adapter's constructor;
    each call then fails with ``UnsendableHeader``, which the caller reports as AUTH_FAILED
    (nothing sent) for that merchant alone.
    """

    def __init__(self, headers: Headers) -> None:
        self._headers: Headers | None
        try:
            check_header_values(headers)
        except UnsendableHeader:
            self._headers = None
        else:
            self._headers = dict(headers)

    async def headers(self, deadline: float) -> Headers:
        if self._headers is None:
            raise UnsendableHeader("a credential holds characters no HTTP header can carry")
        return self._headers

    async def refresh(self, rejected: Headers, deadline: float) -> bool:
        return False


def rest_classifier(map_error: ErrorMapper) -> Classifier:
    """The classification of a REST platform: every non-2xx answer, through ``map_error``."""

    def classify(op: str, answer: Answer, sku_ids: Sequence[str]) -> PlatformError | None:
        return None if answer.is_success else map_error(op, answer, sku_ids)

    return classify


def with_extra(headers: Headers, extra: Mapping[str, str]) -> Headers:
    """``headers`` with ``extra`` added, a name in both (in any case) taking ``extra``'s value."""
    replaced = {name.lower() for name in extra}
    merged = {name: value for name, value in headers.items() if name.lower() not in replaced}
    merged.update(extra)
    return merged


class _Stage(Enum):
    """How far an attempt got: what an unexpected exception there means for the platform."""

    AUTH = "auth"  # getting (or renewing) credentials: nothing of this request was sent
    PREPARE = "prepare"  # building the request: nothing sent
    SEND = "send"  # inside the transport: it may have reached the platform
    ANSWER = "answer"  # classifying or parsing the answer that came


class PlatformCaller:
    """Every call to one merchant store; what it returns or raises is in the error taxonomy."""

    def __init__(
        self,
        *,
        platform: str,
        merchant_id: str,
        store_key: str,
        transport: Transport,
        resilience: Resilience,
        policy: RetryPolicy,
        classify: Classifier,
        auth: Auth,
    ) -> None:
        self.platform = platform
        self._store_key = store_key  # the breaker's key: the store's base URL
        self._transport = transport
        self._resilience = resilience
        self.policy = policy
        self._classify = classify
        self._auth = auth
        self.log = structlog.get_logger("multicart.adapters").bind(
            platform=platform, merchant_id=merchant_id
        )

    async def call(
        self,
        op: str,
        method: str,
        url: str,
        *,
        deadline: float,
        idempotent: bool,
        parse: Callable[[Answer], T],
        params: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | None = None,
        extra_headers: Mapping[str, str] | None = None,
        sku_ids: Sequence[str] = (),
        unknown: list[PlatformError] | None = None,
    ) -> T:
        """``unknown`` collects the attempts' errors whose outcome was unknown (for read-backs).

        ``content`` is a body sent as it is (a form); ``extra_headers`` are added to the auth's."""
        resilience, platform = self._resilience, self.platform
        metrics = resilience.metrics
        stage = _Stage.AUTH
        response: Answer | None = None
        policy = self.policy

        async def send(auth_headers: Headers) -> Answer:
            nonlocal stage
            stage = _Stage.PREPARE
            sent = with_extra(auth_headers, extra_headers) if extra_headers else auth_headers
            request, budget = prepare_request(
                method,
                url,
                platform=platform,
                op=op,
                deadline=deadline,
                policy=policy,
                headers=sent,
                params=params,
                json=json,
                content=content,
            )
            stage = _Stage.SEND
            return await self._transport.send(
                request,
                budget=budget,
                connect_timeout=min(policy.connect_timeout_s, budget),
                max_answer_bytes=policy.max_answer_bytes,
                platform=platform,
                op=op,
            )

        async def exchange() -> T:
            nonlocal stage, response
            stage, response = _Stage.AUTH, None
            headers = await self._auth.headers(deadline)
            response = await send(headers)
            if response.status == 401:
                stage = _Stage.AUTH  # a 401 applied nothing
                if await self._auth.refresh(headers, deadline):
                    response = await send(await self._auth.headers(deadline))
            stage = _Stage.ANSWER
            error = self._classify(op, response, sku_ids)
            if error is not None:
                raise error
            return parse(response)

        async def attempt(number: int) -> T:
            started, status, outcome = time.monotonic(), None, "cancelled"
            try:
                async with (
                    resilience.store_bulkheads.slot(platform, deadline, store=self._store_key),
                    resilience.bulkheads.slot(platform, deadline),
                ):
                    with resilience.breakers.guard(self._store_key, platform):
                        try:
                            result = await exchange()
                        except PlatformError:
                            raise
                        except Exception as exc:  # never BaseException: cancellation passes
                            raise self._boundary_error(
                                exc, stage, op, response, sku_ids, number
                            ) from None  # logged once, with its traceback, just now
                        finally:
                            status = response.status if response is not None else None
                outcome = "ok"
                return result
            except PlatformError as exc:
                status = exc.platform_status or status
                outcome = "circuit_open" if isinstance(exc, CircuitOpen) else exc.cause.lower()
                if exc.may_have_applied and unknown is not None:
                    unknown.append(exc)
                raise
            finally:
                metrics.record_call(platform, outcome, op=op, store=self._store_key)
                self.log.info(
                    "platform_call",
                    op=op,
                    method=method,
                    path=urlsplit(url).path,
                    status=status,
                    attempt=number,
                    outcome=outcome,
                    elapsed_ms=round((time.monotonic() - started) * 1000, 1),
                )

        return await call_with_retries(
            attempt,
            op=op,
            idempotent=idempotent,
            deadline=deadline,
            policy=self.policy,
            log=self.log,
            on_retry=lambda _exc: metrics.record_retry(platform, op),
            clock=resilience.clock,
            sleep=resilience.sleep,
        )

    def _boundary_error(
        self,
        exc: Exception,
        stage: _Stage,
        op: str,
        response: Answer | None,
        sku_ids: Sequence[str],
        number: int,
    ) -> PlatformError:
        """The one ``PlatformError`` for an exception that is not one, by ``stage``.

        Its message names the exception's type only: its text may quote a credential or a
        megabyte of answer. The full exception goes to the log once, as ``platform_adapter_bug``,
        its traceback already formatted as text (``exception``, the key structlog's
        ``format_exc_info`` writes). Not ``exc_info=exc``: an unconfigured structlog renders
        that with rich, *local variables included*, and a test run printed a merchant's
        token from ``check_header_values``' frame. No header or token is put in the event.
        """
        platform = self.platform
        data = {"sku_ids": [s for s in sku_ids if s]} if any(sku_ids) else None
        kind = type(exc).__name__
        if isinstance(exc, UnsendableHeader) and stage is _Stage.AUTH:
            # The merchant's stored credentials, not a bug: the operator must replace them.
            self.log.warning("platform_credentials_unsendable", op=op, stage=stage.value)
            return PlatformAuthFailed(
                f"{platform}: the merchant's credentials cannot be sent in an HTTP header"
                f" ({exc}); nothing was sent",
                platform=platform,
                may_have_applied=False,
                data=data,
            )
        status = response.status if response is not None else None
        self.log.error(
            "platform_adapter_bug",
            op=op,
            stage=stage.value,
            status=status,
            attempt=number,
            exception="".join(traceback.format_exception(exc)),
        )
        if stage in (_Stage.AUTH, _Stage.PREPARE):
            # Our failure, not the platform's refusal (which would answer 422 "rejected the
            # items"): a platform error, certainly not sent, and not retried (the same request
            # would fail the same way).
            return PlatformServerError(
                f"multicart could not build the {platform} request for {op} ({kind});"
                " nothing was sent",
                platform=platform,
                may_have_applied=False,
                data=data,
            )
        if stage is _Stage.SEND or response is None:
            return PlatformServerError(
                f"sending the {platform} request for {op} failed ({kind}); it may have been"
                " applied",
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
                message, platform=platform, status=status, may_have_applied=True, data=data
            )
        # A refusal or failure whose body could not be read: the status alone still says
        # what it means (a 4xx applied nothing; a 5xx left the outcome unknown).
        return error_for_status(response.status, message, platform=platform, data=data)
