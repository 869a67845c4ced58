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
``PlatformError`` here, by how far the attempt had got (``adapters.calls.boundary``), and is
logged once as ``platform_adapter_bug``. ``BaseException``s (cancellation) pass through
untouched. ``_CallAttempts`` holds one call's attempts: what they send, how far the current one
got.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar
from urllib.parse import urlsplit

import structlog

from adapters.calls.boundary import FailedAttempt, Stage, boundary_error
from adapters.calls.http import (
    Answer,
    Headers,
    RequestParts,
    Transport,
    UnsendableHeader,
    check_header_values,
    prepare_request,
    send_prepared,
)
from adapters.calls.policy import RetryPolicy
from adapters.calls.resilience import CircuitOpen, Resilience
from adapters.calls.retry import call_with_retries
from errors import PlatformError

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
        attempts = _CallAttempts(
            self,
            op,
            RequestParts(method, url, params, json, content),
            deadline=deadline,
            parse=parse,
            extra_headers=extra_headers,
            sku_ids=sku_ids,
            unknown=unknown,
        )
        resilience, platform = self._resilience, self.platform
        metrics = resilience.metrics
        return await call_with_retries(
            attempts.attempt,
            op=op,
            idempotent=idempotent,
            deadline=deadline,
            policy=attempts.policy,
            log=self.log,
            on_retry=lambda _exc: metrics.record_retry(platform, op),
            clock=resilience.clock,
            sleep=resilience.sleep,
        )


class _CallAttempts(Generic[T]):
    """One call's attempts: what each sends, and how far the current one got.

    ``stage`` and ``response`` belong to the attempt under way: an unexpected exception is read
    by them (``adapters.calls.boundary``), and the attempt's log line reports the status.
    """

    def __init__(
        self,
        caller: PlatformCaller,
        op: str,
        parts: RequestParts,
        *,
        deadline: float,
        parse: Callable[[Answer], T],
        extra_headers: Mapping[str, str] | None,
        sku_ids: Sequence[str],
        unknown: list[PlatformError] | None,
    ) -> None:
        self.caller, self.op, self.parts = caller, op, parts
        self.policy = caller.policy
        self.deadline = deadline
        self.parse = parse
        self.extra_headers = extra_headers
        self.sku_ids = sku_ids
        self.unknown = unknown
        self.stage = Stage.AUTH
        self.response: Answer | None = None

    async def attempt(self, number: int) -> T:
        """Attempt ``number``, inside the bulkheads and the store's breaker, logged and counted."""
        started, outcome, error_status = time.monotonic(), "cancelled", None
        self.stage, self.response = Stage.AUTH, None
        try:
            result = await self._guarded(number)
            outcome = "ok"
            return result
        except PlatformError as exc:
            error_status = exc.platform_status
            outcome = "circuit_open" if isinstance(exc, CircuitOpen) else exc.cause.lower()
            if exc.may_have_applied and self.unknown is not None:
                self.unknown.append(exc)
            raise
        finally:
            answered = self.response.status if self.response is not None else None
            self._record(number, outcome, error_status or answered, started)

    async def _guarded(self, number: int) -> T:
        caller, deadline = self.caller, self.deadline
        resilience, platform, store = caller._resilience, caller.platform, caller._store_key
        async with (
            resilience.store_bulkheads.slot(platform, deadline, store=store),
            resilience.bulkheads.slot(platform, deadline),
        ):
            with resilience.breakers.guard(store, platform):
                try:
                    return await self._exchange()
                except PlatformError:
                    raise
                except Exception as exc:  # never BaseException: cancellation passes
                    at = FailedAttempt(
                        platform, self.op, self.stage, self.response, self.sku_ids, number
                    )
                    # Logged once, with its traceback, just now: not chained again.
                    raise boundary_error(exc, at, caller.log) from None

    async def _exchange(self) -> T:
        """Authenticate, send, renew once on a 401, then classify and parse the answer."""
        auth, deadline = self.caller._auth, self.deadline
        headers = await auth.headers(deadline)
        response = self.response = await self._send(headers)
        if response.status == 401:
            self.stage = Stage.AUTH  # a 401 applied nothing
            if await auth.refresh(headers, deadline):
                response = self.response = await self._send(await auth.headers(deadline))
        self.stage = Stage.ANSWER
        error = self.caller._classify(self.op, response, self.sku_ids)
        if error is not None:
            raise error
        return self.parse(response)

    async def _send(self, auth_headers: Headers) -> Answer:
        caller, extra = self.caller, self.extra_headers
        self.stage = Stage.PREPARE
        sent = with_extra(auth_headers, extra) if extra else auth_headers
        request, budget = prepare_request(
            self.parts,
            headers=sent,
            platform=caller.platform,
            op=self.op,
            deadline=self.deadline,
            policy=self.policy,
        )
        self.stage = Stage.SEND
        return await send_prepared(
            caller._transport,
            request,
            budget,
            policy=self.policy,
            platform=caller.platform,
            op=self.op,
        )

    def _record(self, number: int, outcome: str, status: int | None, started: float) -> None:
        """The attempt's counter and its one ``platform_call`` log line."""
        caller = self.caller
        caller._resilience.metrics.record_call(
            caller.platform, outcome, op=self.op, store=caller._store_key
        )
        caller.log.info(
            "platform_call",
            op=self.op,
            method=self.parts.method,
            path=urlsplit(self.parts.url).path,
            status=status,
            attempt=number,
            outcome=outcome,
            elapsed_ms=round((time.monotonic() - started) * 1000, 1),
        )
