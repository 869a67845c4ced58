"""Elastic Path's side of the sandbox catalog: its name, cart lifetime, ``platform_ref`` shapes
and built-in stores.

Why this module exists: the seeded stores and the ids an integrator registers are what the demo,
the tests and the benchmark rely on; they sit beside the simulator they feed.

Stores (``api_url`` ``http://HOST:PORT/elasticpath/{store}``; ``client_id`` ``StoreSeed.key``,
``client_secret`` ``store_token(store)``; ``platform_ref`` ``{"product_id": "<uuid>"}`` or
``{"sku": ...}``, uuids from ``ep_product_id``), each with the trigger products (SKUs
TRIGGER-OOS, TRIGGER-500, TRIGGER-404; ``sandbox.catalog``):

=========  =========================================================================
garden6    SKUs SEEDS-TOMATO (simple), PLANTER-S / PLANTER-L (variants of Planter; L stock 3),
           GLOVES (simple)
games7     SKUs PUZZLE-1000 (simple), MEEPLES-RED / MEEPLES-BLUE (variants of Meeple Pack),
           DICE-SET (simple, stock 5)
=========  =========================================================================
"""

from __future__ import annotations

import uuid
from typing import Any

from sandbox.catalog import ProductSeed, StoreSeed, VariantSeed, default_store

NAME = "ELASTIC_PATH"
# "7 days after last update"
# (https://elasticpath.dev/docs/carts/cart-management/cart-management-overview).
CART_TTL_S = 7 * 24 * 3600


def ep_product_id(store: str, key: tuple[int, int | None]) -> str:
    """The Elastic Path product UUID of a sellable: stable across restarts and resets."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"multicart-sandbox:{store}:{key[0]}:{key[1]}"))


def platform_refs(
    seed: StoreSeed, product: ProductSeed, variant: VariantSeed | None
) -> tuple[dict[str, Any], ...]:
    """``{"product_id": uuid}`` first, then ``{"sku": ...}``: both name the same product."""
    key = (product.product_id, variant.variant_id if variant else None)
    sku = variant.sku if variant else product.sku
    return ({"product_id": ep_product_id(seed.store, key)}, {"sku": sku})


def default_stores() -> list[StoreSeed]:
    return [
        default_store(
            "garden6",
            NAME,
            ProductSeed(product_id=6101, name="Tomato Seeds", sku="SEEDS-TOMATO", price=399,
                        stock=400, base_variant_id=61010),
            ProductSeed(product_id=6102, name="Planter", sku="PLANTER", price=2900, variants=(
                VariantSeed(variant_id=61021, sku="PLANTER-S", option="Size", value="Small",
                            stock=60),
                VariantSeed(variant_id=61022, sku="PLANTER-L", option="Size", value="Large",
                            price=4900, stock=3),
            )),
            ProductSeed(product_id=6103, name="Garden Gloves", sku="GLOVES", price=1850,
                        stock=90, base_variant_id=61030),
        ),
        default_store(
            "games7",
            NAME,
            ProductSeed(product_id=7101, name="1000-piece Puzzle", sku="PUZZLE-1000",
                        price=2299, stock=70, base_variant_id=71010),
            ProductSeed(product_id=7102, name="Meeple Pack", sku="MEEPLES", price=899, variants=(
                VariantSeed(variant_id=71021, sku="MEEPLES-RED", option="Colour", value="Red",
                            stock=40),
                VariantSeed(variant_id=71022, sku="MEEPLES-BLUE", option="Colour", value="Blue",
                            stock=40),
            )),
            ProductSeed(product_id=7103, name="Dice Set", sku="DICE-SET", price=1250, stock=5,
                        base_variant_id=71030),
        ),
    ]  # fmt: skip
