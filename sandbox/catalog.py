"""The sandbox's seeded stores and products, and the seed-file format that can replace them.

Why this module exists: every test, the demo and the benchmark need the same known stores,
prices and stock levels, including deterministic *trigger products* that drive an integrator
through every error path through the public API alone (design §5).

Default BigCommerce stores (all USD; a store's base URL is
``http://HOST:PORT/bigcommerce/stores/{store}/v3``; tokens are ``store_token(store)``):

=========  =========================================================================
outdoors1  113 Camp Mug (simple, base variant 1130), 112 Trail Tent (variants 77 2-person,
           78 4-person: stock 3), 114 Headlamp (simple)
kitchen2   210 Chef's Knife (simple), 211 Cast Iron Skillet (variants 301 10-inch, 302 12-inch),
           212 Espresso Cups (simple, 27.95)
books3     310 The Pragmatic Hiker (simple), 311 Field Guide to Mushrooms (variants 401
           paperback, 402 hardcover), 312 Pocket Atlas (simple, stock 3)
=========  =========================================================================

Trigger products, the same ids in every store (listed with a ``"trigger"`` key by
``GET /__sandbox/stores``):

* 900 ``out_of_stock``: "Trigger: always out of stock", stock 0, so any add answers 422.
* 901 ``server_error``: "Trigger: always answers 500": a create or add holding it answers 500
  and changes nothing.
* 999 ``not_on_platform``: "Trigger: not on the platform": listed in ``/__sandbox/stores`` but
  unknown to the platform, which answers 404 (or 422, per the store's
  ``unknown_product_status``).

A ``--seed-file`` is a JSON list of ``StoreSeed`` objects (the models below) replacing these.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

Trigger = Literal["out_of_stock", "server_error", "not_on_platform"]


def store_token(store: str) -> str:
    """The fixed access token of a default store: deterministic, so docs and scripts can use it."""
    digest = hashlib.sha256(f"multicart-sandbox:{store}".encode()).hexdigest()
    return f"sbx_{digest[:32]}"


class VariantSeed(BaseModel):
    """One purchasable variant of a BigCommerce product (one option, e.g. Size: Large)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variant_id: int = Field(gt=0)
    sku: str
    option: str = "Option"
    value: str
    price: int | None = Field(default=None, ge=0, description="cents; the product's if absent")
    stock: int = Field(ge=0)


class ProductSeed(BaseModel):
    """A product: simple (``base_variant_id``, ``stock``) or with ``variants``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: int = Field(gt=0)
    name: str = Field(min_length=1)
    sku: str
    price: int = Field(ge=0, description="integer cents")
    stock: int = Field(default=0, ge=0)
    base_variant_id: int | None = Field(default=None, gt=0)
    variants: tuple[VariantSeed, ...] = ()
    trigger: Trigger | None = None

    @model_validator(mode="after")
    def _simple_has_base_variant(self) -> ProductSeed:
        if not self.variants and self.base_variant_id is None and self.on_platform:
            raise ValueError("a simple product needs base_variant_id")
        return self

    @property
    def on_platform(self) -> bool:
        return self.trigger != "not_on_platform"


class StoreSeed(BaseModel):
    """A store as seeded: connection, settings and catalog."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,40}$")
    platform: Literal["BIGCOMMERCE"] = "BIGCOMMERCE"
    access_token: str = Field(min_length=8)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    quota: int = Field(default=100_000, gt=0, description="requests per rate-limit window")
    window_ms: int = Field(default=30_000, gt=0)
    # 404 or 422 for an unknown product_id: UNCONFIRMED which one BigCommerce answers
    # (platforms README §2.6), so it is a per-store setting.
    unknown_product_status: Literal[404, 422] = 404
    # "Carts are valid for 30 days from the last modification" (carts.v3.yml, createCart).
    cart_ttl_s: int = Field(default=30 * 24 * 3600, gt=0)
    products: tuple[ProductSeed, ...]

    @model_validator(mode="after")
    def _unique_ids(self) -> StoreSeed:
        products = [p.product_id for p in self.products]
        variants = [v.variant_id for p in self.products for v in p.variants]
        variants += [p.base_variant_id for p in self.products if p.base_variant_id]
        if len(set(products)) != len(products) or len(set(variants)) != len(variants):
            raise ValueError("product ids and variant ids must be unique within a store")
        return self


def _triggers() -> tuple[ProductSeed, ...]:
    return (
        ProductSeed(product_id=900, name="Trigger: always out of stock", sku="TRIGGER-OOS",
                    price=1000, stock=0, base_variant_id=9000, trigger="out_of_stock"),
        ProductSeed(product_id=901, name="Trigger: always answers 500", sku="TRIGGER-500",
                    price=1000, stock=1000, base_variant_id=9010, trigger="server_error"),
        ProductSeed(product_id=999, name="Trigger: not on the platform", sku="TRIGGER-404",
                    price=1000, stock=10, trigger="not_on_platform"),
    )  # fmt: skip


def _store(name: str, *products: ProductSeed) -> StoreSeed:
    return StoreSeed(store=name, access_token=store_token(name), products=products + _triggers())


def default_stores() -> list[StoreSeed]:
    """The built-in stores (see the module docstring)."""
    return [
        _store(
            "outdoors1",
            ProductSeed(product_id=113, name="Camp Mug", sku="MUG-ENAMEL", price=1299,
                        stock=500, base_variant_id=1130),
            ProductSeed(product_id=112, name="Trail Tent", sku="TENT", price=18999, variants=(
                VariantSeed(variant_id=77, sku="TENT-2P", option="Size", value="2-person",
                            stock=40),
                VariantSeed(variant_id=78, sku="TENT-4P", option="Size", value="4-person",
                            price=25999, stock=3),
            )),
            ProductSeed(product_id=114, name="Headlamp", sku="HEADLAMP", price=2499, stock=80,
                        base_variant_id=1140),
        ),
        _store(
            "kitchen2",
            ProductSeed(product_id=210, name="Chef's Knife", sku="KNIFE-8", price=7995, stock=60,
                        base_variant_id=2100),
            ProductSeed(product_id=211, name="Cast Iron Skillet", sku="SKILLET", price=3495,
                        variants=(
                VariantSeed(variant_id=301, sku="SKILLET-10", option="Size", value="10 inch",
                            stock=25),
                VariantSeed(variant_id=302, sku="SKILLET-12", option="Size", value="12 inch",
                            price=4495, stock=15),
            )),
            ProductSeed(product_id=212, name="Espresso Cups (set of 4)", sku="CUPS-4", price=2795,
                        stock=120, base_variant_id=2120),
        ),
        _store(
            "books3",
            ProductSeed(product_id=310, name="The Pragmatic Hiker", sku="BOOK-HIKER", price=1899,
                        stock=300, base_variant_id=3100),
            ProductSeed(product_id=311, name="Field Guide to Mushrooms", sku="BOOK-FUNGI",
                        price=2450, variants=(
                VariantSeed(variant_id=401, sku="BOOK-FUNGI-PB", option="Format",
                            value="Paperback", stock=30),
                VariantSeed(variant_id=402, sku="BOOK-FUNGI-HC", option="Format",
                            value="Hardcover", price=3995, stock=5),
            )),
            ProductSeed(product_id=312, name="Pocket Atlas", sku="BOOK-ATLAS", price=995, stock=3,
                        base_variant_id=3120),
        ),
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Sellable:
    """One purchasable unit as an integrator registers it: a variant, or a simple product."""

    key: tuple[int, int | None]  # (product_id, variant_id); variant None for a simple product
    platform_ref: dict[str, int]  # exactly the admin routes' BigCommerce platform_ref shape
    name: str
    sku: str
    price: int
    stock: int
    trigger: Trigger | None
    on_platform: bool


def sellables(seed: StoreSeed) -> list[Sellable]:
    """A store's purchasable units, in catalog order (the ``/__sandbox/stores`` products)."""
    units: list[Sellable] = []
    for p in seed.products:
        if not p.variants:
            units.append(
                Sellable(
                    (p.product_id, None),
                    {"product_id": p.product_id},
                    p.name,
                    p.sku,
                    p.price,
                    p.stock,
                    p.trigger,
                    p.on_platform,
                )
            )
        for v in p.variants:
            ref = {"product_id": p.product_id, "variant_id": v.variant_id}
            units.append(
                Sellable(
                    (p.product_id, v.variant_id),
                    ref,
                    f"{p.name} ({v.value})",
                    v.sku,
                    p.price if v.price is None else v.price,
                    v.stock,
                    p.trigger,
                    p.on_platform,
                )
            )
    return units


_SEEDS = TypeAdapter(list[StoreSeed])


def load_seed_file(path: str | Path) -> list[StoreSeed]:
    """Read a JSON list of stores; raises ``ValueError`` (pydantic) naming the bad field."""
    stores = _SEEDS.validate_json(Path(path).read_bytes())
    names = [s.store for s in stores]
    if len(set(names)) != len(names):
        raise ValueError("store names must be unique")
    return stores
