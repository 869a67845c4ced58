"""The sandbox's store and product models, and the seed-file format that replaces the defaults.

Why this module exists: every test, the demo and the benchmark need the same known stores,
prices and stock levels, including deterministic *trigger products* that drive an integrator
through every error path through the public API alone, without the control API.
Each platform package holds its built-in stores (``default_stores`` of its row in
``sandbox.registry``); a ``--seed-file`` is a JSON list of ``StoreSeed`` objects (the models below)
replacing them.

Trigger products, the same ids (and SKUs) in every store of every platform (listed with a
``"trigger"`` key by ``GET /__sandbox/stores``):

* 900 ``out_of_stock``: "Trigger: always out of stock", stock 0, so any add fails the
  platform's way (BigCommerce 422, Shopify a ``MERCHANDISE_OUT_OF_STOCK`` warning and no line,
  Elastic Path 400 "Insufficient stock").
* 901 ``server_error``: "Trigger: always answers 500": a create or add holding it answers 500
  and changes nothing.
* 999 ``not_on_platform``: "Trigger: not on the platform": listed in ``/__sandbox/stores`` but
  unknown to the platform (BigCommerce 404 or 422 per ``unknown_product_status``, Shopify an
  ``INVALID`` userError, Elastic Path 404 "Product not found").

A sellable's ``platform_ref`` has exactly the shape multicart's admin route
``PUT /v1/admin/skus`` takes for its platform (its row's ``platform_refs``):
BigCommerce ``{"product_id": int, "variant_id"?: int}``, Shopify
``{"variant_id": "gid://shopify/ProductVariant/<n>"}`` (a simple product's single variant is its
``base_variant_id``), Elastic Path ``{"product_id": "<uuid>"}`` (a deterministic uuid5 of the store
and ids; ``{"sku": ...}`` names the same product).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator, model_validator
from pydantic_core import PydanticKnownError

from sandbox import registry

Trigger = Literal["out_of_stock", "server_error", "not_on_platform"]


def store_token(store: str) -> str:
    """The fixed access token of a default store: deterministic, so docs and scripts can use it."""
    digest = hashlib.sha256(f"multicart-sandbox:{store}".encode()).hexdigest()
    return f"sbx_{digest[:32]}"


class VariantSeed(BaseModel):
    """One purchasable variant of a product (one option, e.g. Size: Large)."""

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
    max_quantity: int | None = Field(default=None, gt=0, description="per cart line (Shopify)")

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
    platform: str = "BIGCOMMERCE"  # a registered platform's name (``sandbox.registry``)
    # BigCommerce X-Auth-Token, Shopify storefront token, Elastic Path client_secret.
    access_token: str = Field(min_length=8)
    client_id: str | None = Field(default=None, min_length=8, description="Elastic Path")
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    quota: int = Field(default=100_000, gt=0, description="requests per rate-limit window")
    window_ms: int = Field(default=30_000, gt=0)
    # 404 or 422 for an unknown product_id: UNCONFIRMED which one BigCommerce answers
    # (its docs name neither for carts), so it is a per-store setting.
    unknown_product_status: Literal[404, 422] = 404
    cart_ttl_s: int | None = Field(default=None, gt=0, description="the platform's if absent")
    token_ttl_s: int = Field(default=3600, gt=0, description="Elastic Path token lifetime")
    products: tuple[ProductSeed, ...]

    @property
    def cart_ttl(self) -> int:
        return self.cart_ttl_s or registry.platform(self.platform).cart_ttl_s

    @property
    def key(self) -> str:
        """The Elastic Path client_id (default: derived from the store name)."""
        return self.client_id or f"sbxid_{store_token(self.store)[4:28]}"

    @field_validator("platform", mode="before")
    @classmethod
    def _registered(cls, name: object) -> object:
        """Worded as pydantic words a ``Literal`` of the registered names."""
        known = registry.platforms()
        if not isinstance(name, str) or name not in known:
            names = [repr(n) for n in known]
            expected = " or ".join(filter(None, [", ".join(names[:-1]), names[-1]]))
            raise PydanticKnownError("literal_error", {"expected": expected})
        return name

    @model_validator(mode="after")
    def _unique_ids(self) -> StoreSeed:
        products = [p.product_id for p in self.products]
        variants = [v.variant_id for p in self.products for v in p.variants]
        variants += [p.base_variant_id for p in self.products if p.base_variant_id]
        if len(set(products)) != len(products) or len(set(variants)) != len(variants):
            raise ValueError("product ids and variant ids must be unique within a store")
        registry.platform(self.platform).check_seed(self)
        return self


@dataclass(frozen=True, slots=True)
class Sellable:
    """One purchasable unit as an integrator registers it: a variant, or a simple product."""

    key: tuple[int, int | None]  # (product_id, variant_id); variant None for a simple product
    platform_ref: dict[str, Any]  # exactly as ``PUT /v1/admin/skus`` takes platform_ref
    refs: tuple[dict[str, Any], ...]  # every platform_ref naming it (Elastic Path: id or sku)
    name: str
    sku: str
    price: int
    stock: int
    trigger: Trigger | None
    on_platform: bool


def sellables(seed: StoreSeed) -> list[Sellable]:
    """A store's purchasable units, in catalog order (the ``/__sandbox/stores`` products)."""
    units: list[Sellable] = []
    make_refs = registry.platform(seed.platform).platform_refs
    for p in seed.products:
        if not p.variants:
            refs = make_refs(seed, p, None)
            units.append(
                Sellable(
                    (p.product_id, None),
                    refs[0],
                    refs,
                    p.name,
                    p.sku,
                    p.price,
                    p.stock,
                    p.trigger,
                    p.on_platform,
                )
            )
        for v in p.variants:
            refs = make_refs(seed, p, v)
            units.append(
                Sellable(
                    (p.product_id, v.variant_id),
                    refs[0],
                    refs,
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


def trigger_products() -> tuple[ProductSeed, ...]:
    """The trigger products every default store holds (see the module docstring)."""
    return (
        ProductSeed(product_id=900, name="Trigger: always out of stock", sku="TRIGGER-OOS",
                    price=1000, stock=0, base_variant_id=9000, trigger="out_of_stock"),
        ProductSeed(product_id=901, name="Trigger: always answers 500", sku="TRIGGER-500",
                    price=1000, stock=1000, base_variant_id=9010, trigger="server_error"),
        ProductSeed(product_id=999, name="Trigger: not on the platform", sku="TRIGGER-404",
                    price=1000, stock=10, base_variant_id=9990, trigger="not_on_platform"),
    )  # fmt: skip


def default_store(name: str, platform: str, *products: ProductSeed) -> StoreSeed:
    """A built-in store: USD, the fixed ``store_token(name)``, its products then the triggers."""
    return StoreSeed(
        store=name,
        platform=platform,
        access_token=store_token(name),
        products=products + trigger_products(),
    )
