"""The cart aggregate: Cart, Bag, OrderSku, OrderError, and the catalog's Sku.

Plain dataclasses; the orchestrator loads and saves them whole. Field names follow the cart
JSON of the HTTP API (what ``GET /v1/carts/{id}`` answers) so the API layer only has to render
them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bags.status import BagStatus, CartStatus, Platform, check_bag_transition


@dataclass(frozen=True)
class CatalogSku:
    """A sellable item of the orchestrator's catalog, with the platform's ids for it."""

    sku_id: str
    merchant_id: str
    name: str
    price: int
    currency: str
    available: bool
    platform_ref: Mapping[str, Any]


@dataclass(frozen=True)
class Merchant:
    id: str
    name: str
    platform: Platform


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
