"""The adapter registry: which platforms are supported, and one adapter per merchant store.

Why it exists: the composition root builds it once with ``Settings``; it owns what must be shared
per process (one HTTP client per platform, the bulkheads, circuit breakers and call metrics) and
hands the orchestrator a ``CartPlatform`` for a merchant's decrypted connection. Shopify and
Elastic Path adapters plug in here when they exist.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
from pydantic import BaseModel

from adapters.base import CartPlatform
from adapters.bigcommerce import RETRY_ANSWERS_ON_CREATE, BigCommerceAdapter, BigCommerceConnection
from adapters.http import build_client
from adapters.resilience import PlatformMetrics, Resilience
from adapters.retry import RetryPolicy
from bags.status import Platform
from config import Settings

_CONNECTIONS: dict[Platform, type[BaseModel]] = {Platform.BIGCOMMERCE: BigCommerceConnection}


class AdapterRegistry:
    def __init__(
        self,
        settings: Settings,
        *,
        client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``client`` (shared by all platforms, never closed here) or ``transport``: for tests."""
        self._settings = settings
        self._shared_client = client
        self._transport = transport
        self._clients: dict[Platform, httpx.AsyncClient] = {}
        self._adapters: dict[str, tuple[str, CartPlatform]] = {}
        self.resilience = Resilience(settings, clock)
        self._policies: dict[Platform, RetryPolicy] = {
            Platform.BIGCOMMERCE: RetryPolicy.from_settings(
                settings, retry_answers_on_create=RETRY_ANSWERS_ON_CREATE
            ),
        }

    @property
    def metrics(self) -> PlatformMetrics:
        return self.resilience.metrics

    def circuit_states(self) -> dict[str, str]:
        """Circuit state per merchant store base URL: ``closed``, ``open`` or ``half_open``."""
        return self.resilience.states()

    def supported_platforms(self) -> frozenset[Platform]:
        return frozenset(_CONNECTIONS)

    def parse_connection(self, platform: Platform | str, raw: Mapping[str, Any]) -> BaseModel:
        """The platform's connection model; pydantic ``ValidationError`` for a bad shape."""
        model = _CONNECTIONS.get(Platform(platform))
        if model is None:
            raise ValueError(f"platform {platform} is not supported yet")
        return model.model_validate(dict(raw))

    def client(self, platform: Platform) -> httpx.AsyncClient:
        if self._shared_client is not None:
            return self._shared_client
        if platform not in self._clients:
            self._clients[platform] = build_client(self._settings, transport=self._transport)
        return self._clients[platform]

    def for_merchant(
        self, merchant_id: str, platform: Platform | str, connection: Mapping[str, Any]
    ) -> CartPlatform:
        """The merchant's adapter, reused while its connection stays the same."""
        platform = Platform(platform)
        fingerprint = _fingerprint(platform, connection)
        cached = self._adapters.get(merchant_id)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        parsed = self.parse_connection(platform, connection)
        assert isinstance(parsed, BigCommerceConnection)  # the only platform so far
        adapter = BigCommerceAdapter(
            merchant_id,
            parsed,
            self.client(platform),
            self.resilience,
            self._policies[platform],
        )
        self._adapters[merchant_id] = (fingerprint, adapter)
        return adapter

    async def aclose(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        self._adapters.clear()
        for client in clients:
            await client.aclose()


def _fingerprint(platform: Platform, connection: Mapping[str, Any]) -> str:
    """A digest of the connection, so the cache key holds no credential in clear."""
    canonical = json.dumps([platform.value, dict(connection)], sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
