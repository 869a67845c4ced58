"""One merchant store's calls: bulkhead, breaker, auth, one attempt, logs, metrics and retries.

Why a module of its own: ``PlatformCaller`` is where the pieces meet. It puts each attempt
(``adapters.calls.http.send_once``) inside the platform's bulkhead and the store's circuit
breaker (``adapters.calls.resilience``), logs and counts it, and hands the attempts to the retry
engine (``adapters.calls.retry``). A platform fills in two seams:

* ``classify(op, response, sku_ids)``: the error an answer means, or None for a success. REST
  platforms map non-2xx statuses (``rest_classifier``); Shopify also turns a 200 whose body says
  ``THROTTLED`` or carries top-level ``errors`` into an error.
* ``auth``: the headers of each attempt, and one ``refresh`` on a 401 before the answer is
  classified (Elastic Path's expiring tokens); a second 401 is classified as it stands, never
  looped on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

import httpx
import structlog

from adapters.calls.http import send_once
from adapters.calls.policy import RetryPolicy
from adapters.calls.resilience import CircuitOpen, Resilience
from adapters.calls.retry import call_with_retries
from errors import PlatformError

T = TypeVar("T")

Headers = Mapping[str, str] | httpx.Headers
ErrorMapper = Callable[[str, httpx.Response, Sequence[str]], PlatformError]
Classifier = Callable[[str, httpx.Response, Sequence[str]], PlatformError | None]


class Auth(Protocol):
    """Where an attempt's credentials come from."""

    async def headers(self, deadline: float) -> Headers:
        """The headers that authenticate a request (may fetch a token, within ``deadline``)."""
        ...

    async def refresh(self, rejected: Headers, deadline: float) -> bool:
        """The platform answered 401 to ``rejected``: renew; True when worth one more try."""
        ...


class StaticAuth:
    """Credentials that never change (an API token): nothing to refresh."""

    def __init__(self, headers: Headers) -> None:
        self._headers = headers

    async def headers(self, deadline: float) -> Headers:
        return self._headers

    async def refresh(self, rejected: Headers, deadline: float) -> bool:
        return False


def rest_classifier(map_error: ErrorMapper) -> Classifier:
    """The classification of a REST platform: every non-2xx answer, through ``map_error``."""

    def classify(op: str, response: httpx.Response, sku_ids: Sequence[str]) -> PlatformError | None:
        return None if response.is_success else map_error(op, response, sku_ids)

    return classify


class PlatformCaller:
    """Every call to one merchant store; what it returns or raises is in the error taxonomy."""

    def __init__(
        self,
        *,
        platform: str,
        merchant_id: str,
        store_key: str,
        client: httpx.AsyncClient,
        resilience: Resilience,
        policy: RetryPolicy,
        classify: Classifier,
        auth: Auth,
    ) -> None:
        self.platform = platform
        self._store_key = store_key  # the breaker's key: the store's base URL
        self._client = client
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
        url: str | httpx.URL,
        *,
        deadline: float,
        idempotent: bool,
        parse: Callable[[httpx.Response], T],
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

        async def send(auth_headers: Headers) -> httpx.Response:
            sent: Headers = auth_headers
            if extra_headers:
                sent = httpx.Headers(auth_headers)
                sent.update(extra_headers)
            return await send_once(
                self._client,
                method,
                url,
                platform=platform,
                op=op,
                deadline=deadline,
                policy=self.policy,
                headers=sent,
                params=params,
                json=json,
                content=content,
            )

        async def attempt(number: int) -> T:
            started, status, outcome = time.monotonic(), None, "cancelled"
            try:
                async with (
                    resilience.store_bulkheads.slot(platform, deadline, store=self._store_key),
                    resilience.bulkheads.slot(platform, deadline),
                ):
                    with resilience.breakers.guard(self._store_key, platform):
                        headers = await self._auth.headers(deadline)
                        response = await send(headers)
                        if response.status_code == 401 and await self._auth.refresh(
                            headers, deadline
                        ):
                            response = await send(await self._auth.headers(deadline))
                        status = response.status_code
                        error = self._classify(op, response, sku_ids)
                        if error is not None:
                            raise error
                        result = parse(response)
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
                    path=url.path if isinstance(url, httpx.URL) else urlsplit(url).path,
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
        )
