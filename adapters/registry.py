"""The platform table and the adapter registry: which platforms exist, and how to build one.

Why it exists: ``PLATFORMS`` is the one place a platform is declared, in the spirit of
apache/libcloud's provider table: its connection model (what the admin route accepts), its
adapter class, its retry rules and its capabilities. Adding a platform is one row here plus its
package under ``adapters/`` (and its simulator under ``sandbox/``).

``AdapterRegistry`` is built once by the composition root with ``Settings``. It owns what is
shared per process (one ``Transport`` per platform: an aiohttp session, opened on first use
inside the running loop and closed by ``aclose``; each platform's bulkheads and circuit
breakers, the call counters) and builds a ``CartPlatform`` for a merchant's decrypted
connection; the orchestrator keeps the one cache of built adapters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from pydantic import BaseModel

from adapters.base import Capabilities, CartPlatform
from adapters.bigcommerce import RETRY_RULES as BIGCOMMERCE_RETRY_RULES
from adapters.bigcommerce import BigCommerceAdapter, BigCommerceConnection, BigCommerceRef
from adapters.bigcommerce.adapter import CART_ID as BIGCOMMERCE_CART_ID
from adapters.calls.aiohttp_transport import AiohttpTransport
from adapters.calls.http import Transport
from adapters.calls.ids import IdFormat
from adapters.calls.policy import RetryPolicy, RetryRules
from adapters.calls.resilience import PlatformMetrics, Resilience
from adapters.elastic_path import RETRY_RULES as ELASTIC_PATH_RETRY_RULES
from adapters.elastic_path import ElasticPathAdapter, ElasticPathConnection, ElasticPathRef
from adapters.elastic_path.payloads import CART_ID as ELASTIC_PATH_CART_ID
from adapters.shopify import RETRY_RULES as SHOPIFY_RETRY_RULES
from adapters.shopify import ShopifyAdapter, ShopifyConnection, ShopifyRef
from adapters.shopify.adapter import CART_ID as SHOPIFY_CART_ID
from bags.status import Platform
from config import PlatformSettings, Settings


class AdapterFactory(Protocol):
    """How the registry builds a platform's adapter: every adapter class takes these."""

    def __call__(
        self,
        merchant_id: str,
        connection: Any,
        transport: Transport,
        resilience: Resilience,
        policy: RetryPolicy,
    ) -> CartPlatform: ...


@dataclass(frozen=True)
class PlatformSpec:
    connection: type[BaseModel]  # the admin route's ``connection`` for this platform
    platform_ref: type[BaseModel]  # a catalog SKU's ``platform_ref`` on this platform
    adapter: AdapterFactory
    retry: RetryRules
    capabilities: Capabilities
    # The platform's cart id format (its package's ``CART_ID``): an app's cart reference is
    # checked against it before any call, and the adapter checks every id again before it
    # puts one in a request (``adapters.calls.ids``).
    cart_id: IdFormat


PLATFORMS: dict[Platform, PlatformSpec] = {
    Platform.BIGCOMMERCE: PlatformSpec(
        connection=BigCommerceConnection,
        platform_ref=BigCommerceRef,
        adapter=BigCommerceAdapter,
        retry=BIGCOMMERCE_RETRY_RULES,
        capabilities=BigCommerceAdapter.capabilities,
        cart_id=BIGCOMMERCE_CART_ID,
    ),
    Platform.SHOPIFY: PlatformSpec(
        connection=ShopifyConnection,
        platform_ref=ShopifyRef,
        adapter=ShopifyAdapter,
        retry=SHOPIFY_RETRY_RULES,
        capabilities=ShopifyAdapter.capabilities,
        cart_id=SHOPIFY_CART_ID,
    ),
    Platform.ELASTIC_PATH: PlatformSpec(
        connection=ElasticPathConnection,
        platform_ref=ElasticPathRef,
        adapter=ElasticPathAdapter,
        retry=ELASTIC_PATH_RETRY_RULES,
        capabilities=ElasticPathAdapter.capabilities,
        cart_id=ELASTIC_PATH_CART_ID,
    ),
}


class AdapterRegistry:
    def __init__(
        self,
        settings: Settings,
        *,
        transport_factory: Callable[[PlatformSettings], Transport] = AiohttpTransport,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``transport_factory`` builds each platform's transport, owned and closed here (the
        adapter unit tests pass ``HttpxTransport.for_settings``, which respx mocks); ``clock``
        and ``sleep`` are the calls' time (``Resilience``), a test's own in the adapter tests."""
        self._settings = settings
        self._transport_factory = transport_factory
        self._transports: dict[Platform, Transport] = {}
        self.metrics = PlatformMetrics()
        self._resilience = {
            platform: Resilience(settings.for_platform(platform.value), self.metrics, clock, sleep)
            for platform in PLATFORMS
        }
        self._policies = {
            platform: RetryPolicy.for_platform(settings.for_platform(platform.value), spec.retry)
            for platform, spec in PLATFORMS.items()
        }

    def supported_platforms(self) -> frozenset[Platform]:
        return frozenset(PLATFORMS)

    def parse_connection(self, platform: Platform | str, raw: Mapping[str, Any]) -> BaseModel:
        """The platform's connection model; pydantic ``ValidationError`` for a bad shape."""
        spec = PLATFORMS.get(Platform(platform))
        if spec is None:
            raise ValueError(f"platform {platform} is not supported yet")
        return spec.connection.model_validate(dict(raw))

    def parse_platform_ref(self, platform: Platform | str, raw: Mapping[str, Any]) -> BaseModel:
        """The platform's ``platform_ref`` model; pydantic ``ValidationError`` for a bad shape."""
        return PLATFORMS[Platform(platform)].platform_ref.model_validate(dict(raw))

    def cart_id_problem(self, platform: Platform | str, external_id: str) -> str | None:
        """Why ``external_id`` cannot be one of the platform's cart ids, or None."""
        return PLATFORMS[Platform(platform)].cart_id.problem(external_id)

    def resilience(self, platform: Platform) -> Resilience:
        """The platform's bulkheads and the breakers of its stores."""
        return self._resilience[platform]

    def transport(self, platform: Platform) -> Transport:
        """The platform's one transport (no I/O here: a session opens on its first request)."""
        if platform not in self._transports:
            self._transports[platform] = self._transport_factory(
                self._settings.for_platform(platform.value)
            )
        return self._transports[platform]

    def for_merchant(
        self, merchant_id: str, platform: Platform | str, connection: Mapping[str, Any]
    ) -> CartPlatform:
        """A new adapter for the merchant's connection (the caller caches it)."""
        platform = Platform(platform)
        parsed = self.parse_connection(platform, connection)
        return PLATFORMS[platform].adapter(
            merchant_id,
            parsed,
            self.transport(platform),
            self._resilience[platform],
            self._policies[platform],
        )

    async def aclose(self) -> None:
        transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            await transport.aclose()
