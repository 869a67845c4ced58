"""The platform table and the adapter registry: which platforms exist, and how to build one.

Why it exists: ``PLATFORMS`` is the one place a platform is declared, in the spirit of
apache/libcloud's provider table: one ``PlatformSpec`` row carries everything the rest of the
service reads about a platform (its name, its connection and ``platform_ref`` models, its
adapter class, retry rules and capabilities, its cart id format, how long it keeps a cart, and
its settings section). Adding a platform is one row (``register_platform``) plus its package
under ``adapters/`` (and its simulator under ``sandbox/``).

``AdapterRegistry`` is built once by the composition root with ``Settings``, for the rows
registered by then. It owns what is shared per process (one ``Transport`` per platform: an
aiohttp session, opened on first use inside the running loop and closed by ``aclose``; each
platform's bulkheads and circuit breakers, the call counters) and builds a ``CartPlatform``
for a merchant's decrypted connection; the orchestrator keeps the one cache of built adapters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from pydantic import BaseModel

from adapters.base import Capabilities, CartPlatform
from adapters.bigcommerce import (
    BIGCOMMERCE,
    BigCommerceAdapter,
    BigCommerceConnection,
    BigCommerceRef,
)
from adapters.bigcommerce import RETRY_RULES as BIGCOMMERCE_RETRY_RULES
from adapters.bigcommerce.adapter import CART_ID as BIGCOMMERCE_CART_ID
from adapters.calls.aiohttp_transport import AiohttpTransport
from adapters.calls.http import Transport
from adapters.calls.ids import IdFormat
from adapters.calls.policy import RetryPolicy, RetryRules
from adapters.calls.resilience import PlatformMetrics, Resilience
from adapters.elastic_path import (
    ELASTIC_PATH,
    ElasticPathAdapter,
    ElasticPathConnection,
    ElasticPathRef,
)
from adapters.elastic_path import RETRY_RULES as ELASTIC_PATH_RETRY_RULES
from adapters.elastic_path.payloads import CART_ID as ELASTIC_PATH_CART_ID
from adapters.shopify import RETRY_RULES as SHOPIFY_RETRY_RULES
from adapters.shopify import SHOPIFY, ShopifyAdapter, ShopifyConnection, ShopifyRef
from adapters.shopify.adapter import CART_ID as SHOPIFY_CART_ID
from bags import CART_LIFETIMES, Platform
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
    """One platform, as the rest of the service sees it."""

    name: Platform  # as stored and as the API writes it: ``SHOPIFY``
    connection: type[BaseModel]  # the admin route's ``connection`` for this platform
    platform_ref: type[BaseModel]  # a catalog SKU's ``platform_ref`` on this platform
    adapter: AdapterFactory
    retry: RetryRules
    capabilities: Capabilities
    # The platform's cart id format (its package's ``CART_ID``): an app's cart reference is
    # checked against it before any call, and the adapter checks every id again before it
    # puts one in a request (``adapters.calls.ids``).
    cart_id: IdFormat
    # How long the platform keeps a cart after its last change: a bag's external cart
    # expires that long after the last change the platform confirmed.
    cart_lifetime: timedelta
    # Where its overrides of the flat platform knobs are read: ``MULTICART_<SECTION>__<KNOB>``.
    settings_section: str


PLATFORMS: dict[Platform, PlatformSpec] = {}


def register_platform(spec: PlatformSpec) -> Callable[[], None]:
    """Declare a platform: its row in ``PLATFORMS`` and its cart lifetime for the domain.
    Registries built afterwards serve it. Returns the undo (a test's platform goes away)."""
    if spec.name in PLATFORMS:
        raise ValueError(f"platform {spec.name} is already registered")
    PLATFORMS[spec.name] = spec
    CART_LIFETIMES[spec.name] = spec.cart_lifetime

    def unregister() -> None:
        PLATFORMS.pop(spec.name, None)
        CART_LIFETIMES.pop(spec.name, None)

    return unregister


# Shopify keeps a cart "within 10 days" of its last update, in its staff's words
# (https://community.shopify.com/t/how-long-does-a-cart-session-live/262223; others observe
# 30 days).
register_platform(
    PlatformSpec(
        name=SHOPIFY,
        connection=ShopifyConnection,
        platform_ref=ShopifyRef,
        adapter=ShopifyAdapter,
        retry=SHOPIFY_RETRY_RULES,
        capabilities=ShopifyAdapter.capabilities,
        cart_id=SHOPIFY_CART_ID,
        cart_lifetime=timedelta(days=10),
        settings_section="shopify",
    )
)
# BigCommerce keeps a cart 30 days from its last modification
# (https://developer.bigcommerce.com/docs/rest-management/carts).
register_platform(
    PlatformSpec(
        name=BIGCOMMERCE,
        connection=BigCommerceConnection,
        platform_ref=BigCommerceRef,
        adapter=BigCommerceAdapter,
        retry=BIGCOMMERCE_RETRY_RULES,
        capabilities=BigCommerceAdapter.capabilities,
        cart_id=BIGCOMMERCE_CART_ID,
        cart_lifetime=timedelta(days=30),
        settings_section="bigcommerce",
    )
)
# Elastic Path keeps a cart 7 days after its last update by default; a store may configure
# another (https://elasticpath.dev/docs/carts/cart-management/cart-management-overview).
register_platform(
    PlatformSpec(
        name=ELASTIC_PATH,
        connection=ElasticPathConnection,
        platform_ref=ElasticPathRef,
        adapter=ElasticPathAdapter,
        retry=ELASTIC_PATH_RETRY_RULES,
        capabilities=ElasticPathAdapter.capabilities,
        cart_id=ELASTIC_PATH_CART_ID,
        cart_lifetime=timedelta(days=7),
        settings_section="elastic_path",
    )
)


class PlatformRows:
    """What a registry answers from the rows registered when it was built: which platforms
    are supported, and the models their connections and SKU refs are checked with."""

    def __init__(self) -> None:
        self._specs = dict(PLATFORMS)

    def supported_platforms(self) -> frozenset[Platform]:
        return frozenset(self._specs)

    def spec(self, platform: Platform | str) -> PlatformSpec:
        """The row of ``platform``; ``ValueError`` for a platform without one."""
        spec = self._specs.get(Platform(platform))
        if spec is None:
            raise ValueError(f"platform {platform} is not supported yet")
        return spec

    def parse_connection(self, platform: Platform | str, raw: Mapping[str, Any]) -> BaseModel:
        """The platform's connection model; pydantic ``ValidationError`` for a bad shape."""
        return self.spec(platform).connection.model_validate(dict(raw))

    def parse_platform_ref(self, platform: Platform | str, raw: Mapping[str, Any]) -> BaseModel:
        """The platform's ``platform_ref`` model; pydantic ``ValidationError`` for a bad shape."""
        return self.spec(platform).platform_ref.model_validate(dict(raw))


class AdapterRegistry(PlatformRows):
    """The process's platforms: their transports, bulkheads and breakers, and new adapters."""

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
        super().__init__()
        self._transport_factory = transport_factory
        self._transports: dict[Platform, Transport] = {}
        self._settings = {
            platform: settings.for_platform(spec.settings_section)
            for platform, spec in self._specs.items()
        }
        self.metrics = PlatformMetrics()
        self._resilience = {
            platform: Resilience(tuned, self.metrics, clock, sleep)
            for platform, tuned in self._settings.items()
        }
        self._policies = {
            platform: RetryPolicy.for_platform(self._settings[platform], spec.retry)
            for platform, spec in self._specs.items()
        }

    def cart_id_problem(self, platform: Platform | str, external_id: str) -> str | None:
        """Why ``external_id`` cannot be one of the platform's cart ids, or None."""
        return self.spec(platform).cart_id.problem(external_id)

    def resilience(self, platform: Platform) -> Resilience:
        """The platform's bulkheads and the breakers of its stores."""
        return self._resilience[platform]

    def transport(self, platform: Platform) -> Transport:
        """The platform's one transport (no I/O here: a session opens on its first request)."""
        if platform not in self._transports:
            self._transports[platform] = self._transport_factory(self._settings[platform])
        return self._transports[platform]

    def for_merchant(
        self, merchant_id: str, platform: Platform | str, connection: Mapping[str, Any]
    ) -> CartPlatform:
        """A new adapter for the merchant's connection (the caller caches it)."""
        spec = self.spec(platform)
        return spec.adapter(
            merchant_id,
            spec.connection.model_validate(dict(connection)),
            self.transport(spec.name),
            self._resilience[spec.name],
            self._policies[spec.name],
        )

    def reset_circuits(self, platform: Platform | str, connection: Mapping[str, Any]) -> int:
        """Close the circuits of the store ``connection`` calls (its ``base_url``): called when
        a merchant's connection changed, so the new one starts with a closed circuit."""
        spec = self.spec(platform)
        parsed = spec.connection.model_validate(dict(connection))
        base_url = getattr(parsed, "base_url", "")
        return self._resilience[spec.name].breakers.reset_store(base_url) if base_url else 0

    async def aclose(self) -> None:
        transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            await transport.aclose()
