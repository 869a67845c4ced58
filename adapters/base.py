"""The ``CartPlatform`` Protocol and the platform-neutral results every adapter returns.

The orchestrator speaks only these types. Each adapter translates its platform's payloads and
errors in one place (money to integer minor units, failures to ``errors.PlatformError`` with a
normalized ``Cause``), so nothing platform-specific leaks upward.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from bags import Platform
from errors import Cause


@dataclass(frozen=True)
class LineRequest:
    """One line to put in an external cart: the catalog's platform ids and a quantity."""

    platform_ref: Mapping[str, Any]
    quantity: int
    sku_id: str = ""  # ours, for log lines and problem reports only
    name: str = ""


@dataclass(frozen=True)
class CartContext:
    """What a cart carries to the platform besides its lines: who and what it is.

    Platforms use what they can: Shopify's buyer identity and cart attributes, Elastic Path's
    cart name, description and custom attributes; BigCommerce has no place for them.
    """

    cart_id: str = ""  # multicart's cart id
    bag_id: str = ""  # multicart's bag id
    customer_id: str | None = None  # the app's customer reference
    name: str | None = None


@dataclass(frozen=True)
class ExternalLine:
    """One line as the platform holds it. ``platform_ref`` has the catalog's shape."""

    external_id: str
    platform_ref: Mapping[str, Any]
    quantity: int
    unit_price: int
    line_price: int
    name: str = ""


@dataclass(frozen=True)
class LineProblem:
    """The platform accepted a line only partly (or not at all) while creating the cart."""

    platform_ref: Mapping[str, Any]
    cause: Cause
    message: str
    requested_quantity: int
    held_quantity: int


@dataclass(frozen=True)
class ExternalCart:
    external_id: str
    currency: str
    sub_total: int
    lines: tuple[ExternalLine, ...]
    checkout_url: str | None = None
    problems: tuple[LineProblem, ...] = field(default_factory=tuple)

    def line_for(self, platform_ref: Mapping[str, Any]) -> ExternalLine | None:
        """The line holding the catalog item ``platform_ref`` (every key it names matches)."""
        for line in self.lines:
            if ref_matches(platform_ref, line.platform_ref):
                return line
        return None


def ref_matches(wanted: Mapping[str, Any], held: Mapping[str, Any]) -> bool:
    """True when every key of ``wanted`` has the same value in ``held`` (ids compared as text)."""
    return all(k in held and str(held[k]) == str(v) for k, v in wanted.items())


@dataclass(frozen=True)
class Capabilities:
    can_delete_cart: bool  # Shopify has no delete: its carts are emptied and forgotten
    caller_chosen_cart_ids: bool  # Elastic Path: a create can be retried under the same id


class CartPlatform(Protocol):
    """What the orchestrator needs from a merchant's platform, for one merchant's store.

    Every method raises ``errors.PlatformError`` subclasses and nothing else. ``deadline`` is an
    absolute ``time.monotonic()`` value: no retry or Retry-After wait goes past it.
    """

    platform: Platform
    capabilities: Capabilities

    async def create_cart(
        self,
        lines: Sequence[LineRequest],
        *,
        currency: str,
        deadline: float,
        cart_ref: str | None = None,
        context: CartContext | None = None,
    ) -> ExternalCart:
        """Create the external cart. ``cart_ref`` is a caller-chosen id (the bag's), used by
        platforms that take one (``Capabilities.caller_chosen_cart_ids``) so that a re-create
        after an unknown outcome finds the same cart instead of making a second."""
        ...

    async def get_cart(self, external_id: str, *, deadline: float) -> ExternalCart: ...

    async def add_lines(
        self, external_id: str, lines: Sequence[LineRequest], *, deadline: float
    ) -> ExternalCart: ...

    async def update_line(
        self,
        external_id: str,
        line_id: str,
        quantity: int,
        *,
        platform_ref: Mapping[str, Any],
        deadline: float,
    ) -> ExternalCart | None:
        """Set a line's quantity (>= 1). None when the platform no longer has the cart."""
        ...

    async def remove_line(
        self, external_id: str, line_id: str, *, deadline: float
    ) -> ExternalCart | None:
        """Remove a line. None when that emptied and deleted the cart (BigCommerce's 204)."""
        ...

    async def delete_cart(self, external_id: str, *, deadline: float) -> None:
        """Delete (or, where the platform cannot, empty) the cart. An absent cart is success."""
        ...

    async def aclose(self) -> None:
        """Release what this adapter holds (shared HTTP clients are closed by the registry)."""
        ...


class PlatformDirectory(Protocol):
    """What the orchestrator needs of the adapter registry (``adapters.registry``) or a fake.

    ``for_merchant`` builds the adapter for one merchant's decrypted connection; the caller
    (``orchestrator.service.merchants``) keeps the one cache of built adapters.
    """

    def for_merchant(
        self, merchant_id: str, platform: Platform, connection: Mapping[str, Any]
    ) -> CartPlatform: ...

    def reset_circuits(self, platform: Platform, connection: Mapping[str, Any]) -> int:
        """Close the circuits of the store ``connection`` calls (a merchant's new connection
        starts with a closed circuit); how many were open or counting failures."""
        ...

    def parse_connection(self, platform: Platform, raw: Mapping[str, Any]) -> BaseModel: ...

    def parse_platform_ref(self, platform: Platform, raw: Mapping[str, Any]) -> BaseModel: ...

    def supported_platforms(self) -> frozenset[Platform]: ...

    def cart_id_problem(self, platform: Platform, external_id: str) -> str | None:
        """Why ``external_id`` cannot be one of ``platform``'s cart ids, or None."""
        ...

    async def aclose(self) -> None: ...
