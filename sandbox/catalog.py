"""The sandbox's store and product models, and the seed-file format that replaces the defaults.

Why this module exists: every test, the demo and the benchmark need the same known stores,
prices and stock levels, including deterministic *trigger products* that drive an integrator
through every error path through the public API alone, without the control API.
``sandbox.defaults`` holds the built-in stores of each platform; a ``--seed-file`` is a JSON list
of ``StoreSeed`` objects (the models below) replacing them.

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
``PUT /v1/admin/skus`` takes for its platform:
BigCommerce ``{"product_id": int, "variant_id"?: int}``, Shopify
``{"variant_id": "gid://shopify/ProductVariant/<n>"}`` (a simple product's single variant is its
``base_variant_id``), Elastic Path ``{"product_id": "<uuid>"}`` (a deterministic uuid5 of the store
and ids; ``{"sku": ...}`` names the same product).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

Trigger = Literal["out_of_stock", "server_error", "not_on_platform"]
Platform = Literal["BIGCOMMERCE", "SHOPIFY", "ELASTIC_PATH"]
DAY_S = 24 * 3600
# How long an idle cart lives, per platform: BigCommerce "30 days from the last modification"
# (carts.v3.yml createCart); Shopify "within 10 days" per Shopify staff
# (https://community.shopify.com/t/how-long-does-a-cart-session-live/262223; UNCONFIRMED, as
# others observe 30 days after the last update); Elastic Path "7 days after last update"
# (https://elasticpath.dev/docs/carts/cart-management/cart-management-overview).
CART_TTL_S: dict[str, int] = {
    "BIGCOMMERCE": 30 * DAY_S,
    "SHOPIFY": 10 * DAY_S,
    "ELASTIC_PATH": 7 * DAY_S,
}


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
    platform: Platform = "BIGCOMMERCE"
    # BigCommerce X-Auth-Token, Shopify storefront token, Elastic Path client_secret.
    access_token: str = Field(min_length=8)
    client_id: str | None = Field(default=None, min_length=8, description="Elastic Path")
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    quota: int = Field(default=100_000, gt=0, description="requests per rate-limit window")
    window_ms: int = Field(default=30_000, gt=0)
    # 404 or 422 for an unknown product_id: UNCONFIRMED which one BigCommerce answers
    # (its docs name neither for carts), so it is a per-store setting.
    unknown_product_status: Literal[404, 422] = 404
    cart_ttl_s: int | None = Field(default=None, gt=0, description="CART_TTL_S if absent")
    token_ttl_s: int = Field(default=3600, gt=0, description="Elastic Path token lifetime")
    products: tuple[ProductSeed, ...]

    @property
    def cart_ttl(self) -> int:
        return self.cart_ttl_s or CART_TTL_S[self.platform]

    @property
    def key(self) -> str:
        """The Elastic Path client_id (default: derived from the store name)."""
        return self.client_id or f"sbxid_{store_token(self.store)[4:28]}"

    @model_validator(mode="after")
    def _unique_ids(self) -> StoreSeed:
        products = [p.product_id for p in self.products]
        variants = [v.variant_id for p in self.products for v in p.variants]
        variants += [p.base_variant_id for p in self.products if p.base_variant_id]
        if len(set(products)) != len(products) or len(set(variants)) != len(variants):
            raise ValueError("product ids and variant ids must be unique within a store")
        if self.platform == "SHOPIFY" and any(
            not p.variants and p.base_variant_id is None for p in self.products
        ):
            raise ValueError("on Shopify every simple product needs base_variant_id")
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


def ep_product_id(store: str, key: tuple[int, int | None]) -> str:
    """The Elastic Path product UUID of a sellable: stable across restarts and resets."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"multicart-sandbox:{store}:{key[0]}:{key[1]}"))


def variant_gid(variant_id: int) -> str:
    return f"gid://shopify/ProductVariant/{variant_id}"


RefMaker = Callable[[StoreSeed, ProductSeed, "VariantSeed | None"], tuple[dict[str, Any], ...]]


def _bc_refs(seed: StoreSeed, p: ProductSeed, v: VariantSeed | None) -> tuple[dict[str, Any], ...]:
    return ({"product_id": p.product_id, **({"variant_id": v.variant_id} if v else {})},)


def _shopify_refs(
    seed: StoreSeed, p: ProductSeed, v: VariantSeed | None
) -> tuple[dict[str, Any], ...]:
    return ({"variant_id": variant_gid(v.variant_id if v else p.base_variant_id or 0)},)


def _ep_refs(seed: StoreSeed, p: ProductSeed, v: VariantSeed | None) -> tuple[dict[str, Any], ...]:
    key = (p.product_id, v.variant_id if v else None)
    return ({"product_id": ep_product_id(seed.store, key)}, {"sku": v.sku if v else p.sku})


# One row per platform: the admin routes' platform_ref shapes of a sellable, canonical first.
PLATFORM_REFS: dict[str, RefMaker] = {
    "BIGCOMMERCE": _bc_refs,
    "SHOPIFY": _shopify_refs,
    "ELASTIC_PATH": _ep_refs,
}


def sellables(seed: StoreSeed) -> list[Sellable]:
    """A store's purchasable units, in catalog order (the ``/__sandbox/stores`` products)."""
    units: list[Sellable] = []
    make_refs = PLATFORM_REFS[seed.platform]
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
