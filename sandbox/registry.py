"""The table of simulated platforms: one ``SandboxPlatform`` row each, read by the shared parts.

Why this module exists: the app mounts every platform's routes, the catalog validates a store's
platform and makes its ``platform_ref`` shapes and cart lifetime, the control API shows each
store's connection and settings, and the default stores come from every platform. Reading all of
that from one table keeps a new platform to its own package (``sandbox/<platform>/``, exposing a
``PLATFORM`` row) plus one entry in ``_built_in()``; a test adds one with ``registered(row)``.
How one platform request is served (faults, latency, request log) is ``sandbox.platform_requests``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aiohttp import web

    from sandbox.catalog import ProductSeed, StoreSeed, VariantSeed
    from sandbox.state import Line, SandboxState, Store

# The admin routes' platform_ref shapes of one sellable (a variant, or a simple product when the
# variant is None), canonical first: what ``PUT /v1/admin/skus`` takes for the platform.
RefMaker = Callable[["StoreSeed", "ProductSeed", "VariantSeed | None"], tuple[dict[str, Any], ...]]


def _no_extras(line: Line) -> dict[str, Any]:
    return {}


def _no_seed_rule(seed: StoreSeed) -> None:
    return None


@dataclass(frozen=True)
class SandboxPlatform:
    """Everything the shared sandbox reads about one simulated platform."""

    name: str  # as in a store's ``platform`` ("BIGCOMMERCE")
    # One sentence of ``python -m sandbox --help``: the API simulated, where a connection points.
    summary: str
    routes: Callable[[SandboxState], list[web.RouteDef]]  # what it mounts on the app
    cart_ttl_s: int  # how long an idle cart lives (a store's ``cart_ttl_s`` overrides it)
    platform_refs: RefMaker
    default_stores: Callable[[], list[StoreSeed]]  # its built-in stores, in listing order
    # The `connection` multicart's `POST /v1/admin/merchants` takes for a store.
    connection: Callable[[Store, str], dict[str, str]]
    # The settings a store shows in `GET stores` and answers `PUT settings` with.
    settings: Callable[[Store], dict[str, Any]]
    # The `PUT settings` fields it takes (another platform's field answers 400).
    settable: frozenset[str] = frozenset()
    # What its lines show in `GET carts` besides id, platform_ref and quantity.
    line_extras: Callable[[Line], dict[str, Any]] = field(default=_no_extras)
    # Whether `rate_limit` faults may pick among throttling answers (`form`).
    throttle_forms: bool = False
    # The platform's own rule on a seeded store (raises ValueError naming what is wrong).
    check_seed: Callable[[StoreSeed], None] = field(default=_no_seed_rule)


_TABLE: dict[str, SandboxPlatform] = {}


def _built_in() -> tuple[SandboxPlatform, ...]:
    """The platforms the sandbox ships, BigCommerce first: the demo and README.md's walk-through
    take the first default store as BigCommerce. Imported here, on first use, because every
    platform package builds on the shared modules that read this table."""
    from sandbox import bigcommerce, elastic_path, shopify

    return (bigcommerce.PLATFORM, shopify.PLATFORM, elastic_path.PLATFORM)


def platforms() -> Mapping[str, SandboxPlatform]:
    """Every registered platform by name, in registration order (read-only)."""
    if not _TABLE:
        for row in _built_in():
            _TABLE.setdefault(row.name, row)
    return MappingProxyType(_TABLE)


def platform(name: str) -> SandboxPlatform:
    """The row of a registered platform; ``KeyError`` for an unknown name."""
    return platforms()[name]


def register(row: SandboxPlatform) -> Callable[[], None]:
    """Add a platform to the table (after the built-in ones); returns the undo."""
    table = platforms()
    if row.name in table:
        raise ValueError(f"platform {row.name!r} is already registered")
    _TABLE[row.name] = row

    def undo() -> None:
        if _TABLE.get(row.name) is row:
            del _TABLE[row.name]

    return undo


@contextmanager
def registered(row: SandboxPlatform) -> Iterator[SandboxPlatform]:
    """``register(row)`` for the duration of a ``with`` block."""
    undo = register(row)
    try:
        yield row
    finally:
        undo()


def default_stores() -> list[StoreSeed]:
    """The built-in stores of every registered platform, platform by platform."""
    return [seed for row in platforms().values() for seed in row.default_stores()]
