"""The cart aggregate: Cart, Bag, OrderSku, OrderError, and the catalog's Sku.

Plain dataclasses; the orchestrator loads and saves them whole. Field names follow the cart
JSON of the HTTP API (what ``GET /v1/carts/{id}`` answers) so the API layer only has to render
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bags.status import (
    CART_LIFETIMES,
    BagStatus,
    CartStatus,
    Platform,
    check_bag_transition,
)


class MerchantStatus(StrEnum):
    """Whether a merchant's SKUs may go in new lines: PAUSED refuses them (``MERCHANT_PAUSED``),
    while carts that already hold them keep working."""

    ACTIVE = "ACTIVE"
    PAUSED = "PAUSED"


@dataclass(frozen=True)
class CatalogSku:
    """A sellable item of the orchestrator's catalog, with the platform's ids for it.

    ``merchant_status`` is its merchant's, as read with it on the create path (the catalog's
    join); elsewhere (an upsert, a listing) it is left at ACTIVE and unused.
    """

    sku_id: str
    merchant_id: str
    name: str
    price: int
    currency: str
    available: bool
    platform_ref: Mapping[str, Any]
    merchant_status: MerchantStatus = MerchantStatus.ACTIVE


@dataclass(frozen=True)
class Merchant:
    id: str
    name: str
    platform: Platform
    status: MerchantStatus = MerchantStatus.ACTIVE


@dataclass
class OrderSku:
    id: str
    sku_id: str
    name: str
    quantity: int
    price: int
    line_price: int
    platform_ref: Mapping[str, Any]
    external_id: str | None = None
    available: bool = True


@dataclass
class OrderError:
    id: str
    order_id: str
    bag_id: str | None
    entity_id: str
    type: str
    message: str
    date_created: datetime
    platform: Platform | None
    cause: str
    retryable: bool
    entity_type: str = "SKU"


@dataclass
class Bag:
    id: str
    merchant_id: str
    merchant_name: str
    platform: Platform
    currency: str
    status: BagStatus = BagStatus.PENDING
    skus: list[OrderSku] = field(default_factory=list)
    external_id: str | None = None
    checkout_url: str | None = None
    # What the platform reports; None until the external cart exists.
    platform_sub_total: int | None = None
    # When the platform last confirmed a change to the external cart (its create, or a line
    # added, updated or removed): every successful platform write sets it. The platform's
    # own expiry counts from there (``external_expires_at``).
    platform_changed_at: datetime | None = None

    @classmethod
    def of_merchant(cls, bag_id: str, merchant: Merchant, currency: str, **rest: Any) -> Bag:
        """A new bag for ``merchant``'s lines (its name and platform copied as they are now)."""
        return cls(bag_id, merchant.id, merchant.name, merchant.platform, currency, **rest)

    @property
    def sub_total(self) -> int:
        if self.platform_sub_total is not None:
            return self.platform_sub_total
        if self.status in (BagStatus.FAILED, BagStatus.DELETED):
            return 0
        return sum(s.line_price for s in self.skus)

    def move_to(self, status: BagStatus) -> None:
        check_bag_transition(self.status, status)
        self.status = status

    @property
    def is_live(self) -> bool:
        return self.status in (BagStatus.PENDING, BagStatus.IN_PROGRESS)

    @property
    def external_expires_at(self) -> datetime | None:
        """When the platform drops the external cart if nothing changes it (None: no external
        cart to expire, or nothing confirmed yet)."""
        if self.status not in (BagStatus.IN_PROGRESS, BagStatus.EXPIRED):
            return None
        if self.platform_changed_at is None:
            return None
        return self.platform_changed_at + CART_LIFETIMES[self.platform]

    def line(self, order_sku_id: str) -> OrderSku | None:
        return next((s for s in self.skus if s.id == order_sku_id), None)

    def line_for_sku(self, sku_id: str) -> OrderSku | None:
        return next((s for s in self.skus if s.sku_id == sku_id), None)


@dataclass
class Cart:
    id: str
    app_id: str
    currency: str
    date_created: datetime
    date_last_modified: datetime
    expires_at: datetime
    status: CartStatus = CartStatus.IN_PROGRESS
    customer_id: str | None = None
    name: str | None = None
    app_order_id: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    bags: list[Bag] = field(default_factory=list)
    errors: list[OrderError] = field(default_factory=list)
    version: int = 0

    @property
    def sub_total(self) -> int:
        return sum(b.sub_total for b in self.bags if b.status == BagStatus.IN_PROGRESS)

    @property
    def live_bags(self) -> list[Bag]:
        return [b for b in self.bags if b.is_live]

    def bag(self, bag_id: str) -> Bag | None:
        return next((b for b in self.bags if b.id == bag_id), None)

    def bag_of_merchant(self, merchant_id: str) -> Bag | None:
        """The merchant's bag that still counts (any status but DELETED): at most one."""
        return next(
            (
                b
                for b in self.bags
                if b.merchant_id == merchant_id and b.status != BagStatus.DELETED
            ),
            None,
        )

    def find_line(self, order_sku_id: str) -> tuple[Bag, OrderSku] | None:
        """The line ``order_sku_id`` of a bag that is not DELETED, with its bag."""
        for bag in self.bags:
            line = bag.line(order_sku_id) if bag.status != BagStatus.DELETED else None
            if line is not None:
                return bag, line
        return None

    def is_expired(self, now: datetime) -> bool:
        return self.status == CartStatus.EXPIRED or self.expires_at <= now

    def touch(self, now: datetime, ttl: timedelta) -> None:
        """A modification: the cart's last change is ``now`` and it expires ``ttl`` later."""
        self.date_last_modified = now
        self.expires_at = now + ttl
