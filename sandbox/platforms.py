"""The simulated platforms, one row each: what the process and the control API need of each.

Why a module of its own: the app mounts every platform's routes, and the control API shows each
store's connection and settings and lists its carts' lines; reading those from one table keeps
a new platform to its own module plus one row here (its catalog ids and default stores aside).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from sandbox import bigcommerce, elasticpath, shopify
from sandbox.state import Line, SandboxState, Store


@dataclass(frozen=True)
class SimulatedPlatform:
    name: str
    routes: Callable[[SandboxState], list[web.RouteDef]]
    # The `connection` multicart's `POST /v1/admin/merchants` takes for a store.
    connection: Callable[[Store, str], dict[str, str]]
    # The settings a store shows in `GET stores` and answers `PUT settings` with.
    settings: Callable[[Store], dict[str, Any]]
    # The `PUT settings` fields it takes (another platform's field answers 400).
    settable: frozenset[str]
    # What its lines show in `GET carts` besides id, platform_ref and quantity.
    line_extras: Callable[[Line], dict[str, Any]] = field(default=lambda line: {})
    # Whether `rate_limit` faults may pick among throttling answers (`form`).
    throttle_forms: bool = False


PLATFORMS: dict[str, SimulatedPlatform] = {
    bigcommerce.PLATFORM: SimulatedPlatform(
        name=bigcommerce.PLATFORM,
        routes=bigcommerce.routes,
        connection=bigcommerce.connection,
        settings=bigcommerce.settings,
        settable=frozenset({"unknown_product_status"}),
        # BigCommerce's cart listing was pinned before prices were listed: kept as it was.
    ),
    shopify.PLATFORM: SimulatedPlatform(
        name=shopify.PLATFORM,
        routes=shopify.routes,
        connection=shopify.connection,
        settings=shopify.settings,
        settable=frozenset({"unknown_variant_code"}),
        line_extras=lambda line: {"price": line.list_price},
        throttle_forms=True,
    ),
    elasticpath.PLATFORM: SimulatedPlatform(
        name=elasticpath.PLATFORM,
        routes=elasticpath.routes,
        connection=elasticpath.connection,
        settings=elasticpath.settings,
        settable=frozenset({"token_ttl_s", "expire_tokens", "write_conflicts"}),
        line_extras=lambda line: {"price": line.list_price, "sku": line.sku},
    ),
}
