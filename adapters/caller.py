"""One merchant store's calls: bulkhead, breaker, one attempt, logs, metrics and retries together.

Why a module of its own: ``PlatformCaller`` is where the pieces meet. It puts each attempt
(``adapters.http.send_once``) inside the platform's bulkhead and the store's circuit breaker
(``adapters.resilience``), logs and counts it, and hands the attempts to the retry engine
(``adapters.retry``). Adapters give it only their status mapping and their answer parser.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import structlog

from adapters.http import send_once
from adapters.resilience import CircuitOpen, Resilience
from adapters.retry import RetryPolicy, call_with_retries
from errors import PlatformError

T = TypeVar("T")

ErrorMapper = Callable[[str, httpx.Response, Sequence[str]], PlatformError]


class PlatformCaller:
    """Every call to one merchant store: bulkhead, breaker, one attempt, logs, metrics, retries.

    The adapter gives it the platform's status mapping (``map_error(op, response, sku_ids)``)
    and a parser of 2xx answers; what it returns or raises is already in the error taxonomy.
    """

    def __init__(
        self,
        *,
        platform: str,
        merchant_id: str,
        store_key: str,
        client: httpx.AsyncClient,
        resilience: Resilience,
        policy: RetryPolicy,
        map_error: ErrorMapper,
    ) -> None:
        self.platform = platform
        self._store_key = store_key  # the breaker's key: the store's base URL
        self._client = client
        self._resilience = resilience
        self.policy = policy
        self._map_error = map_error
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
        headers: Mapping[str, str] | httpx.Headers,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        sku_ids: Sequence[str] = (),
        unknown: list[PlatformError] | None = None,
    ) -> T:
        """``unknown`` collects the attempts' errors whose outcome was unknown (for read-backs)."""
        metrics, platform = self._resilience.metrics, self.platform

        async def attempt(number: int) -> T:
            started, status, outcome = time.monotonic(), None, "cancelled"
            try:
                async with self._resilience.bulkheads.slot(platform, deadline):
                    with self._resilience.breakers.guard(self._store_key, platform):
                        response = await send_once(
                            self._client,
                            method,
                            url,
                            platform=platform,
                            op=op,
                            deadline=deadline,
                            policy=self.policy,
                            headers=headers,
                            params=params,
                            json=json,
                        )
                        status = response.status_code
                        if not response.is_success:
                            raise self._map_error(op, response, sku_ids)
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
                metrics.record_call(platform, outcome)
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
