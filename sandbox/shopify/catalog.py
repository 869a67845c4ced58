"""Shopify's side of the sandbox catalog: its name, cart lifetime, ``platform_ref`` shape and
built-in stores.

Why this module exists: the seeded stores and the ids an integrator registers are what the demo,
the tests and the benchmark rely on; they sit beside the simulator they feed.

Stores (``shop_url`` ``http://HOST:PORT/shopify/{store}``; ``storefront_token``
``store_token(store)``; ``platform_ref`` ``{"variant_id": "gid://shopify/ProductVariant/<n>"}``,
a simple product's single variant being its ``base_variant_id``), each with the trigger products
(variants 9000, 9010, 9990; ``sandbox.catalog``):

=========  =========================================================================
threads4   4101 Organic Tee (variants 41011 S, 41012 M, 41013 L: stock 2), 4102 Wool Socks
           (simple, variant 41020), 4103 Rain Jacket (simple, variant 41030, at most 2 a line)
coffee5    5101 House Blend Beans (variants 51011 250 g, 51012 1 kg: stock 4), 5102 Hand
           Grinder (simple, variant 51020), 5103 Pour-over Kettle (simple, variant 51030, 45.50)
=========  =========================================================================
"""

from __future__ import annotations

from typing import Any

from sandbox.catalog import ProductSeed, StoreSeed, VariantSeed, default_store

NAME = "SHOPIFY"
# An idle cart lives "within 10 days" per Shopify staff
# (https://community.shopify.com/t/how-long-does-a-cart-session-live/262223; UNCONFIRMED, as
# others observe 30 days after the last update).
CART_TTL_S = 10 * 24 * 3600


def variant_gid(variant_id: int) -> str:
    return f"gid://shopify/ProductVariant/{variant_id}"


def platform_refs(
    seed: StoreSeed, product: ProductSeed, variant: VariantSeed | None
) -> tuple[dict[str, Any], ...]:
    """``{"variant_id": gid}``: a simple product's is its ``base_variant_id``."""
    variant_id = variant.variant_id if variant else product.base_variant_id or 0
    return ({"variant_id": variant_gid(variant_id)},)


def check_seed(seed: StoreSeed) -> None:
    """Every Shopify product is sold as a variant, a simple one too."""
    if any(not p.variants and p.base_variant_id is None for p in seed.products):
        raise ValueError("on Shopify every simple product needs base_variant_id")


def default_stores() -> list[StoreSeed]:
    return [
        default_store(
            "threads4",
            NAME,
            ProductSeed(product_id=4101, name="Organic Tee", sku="TEE", price=2500, variants=(
                VariantSeed(variant_id=41011, sku="TEE-S", option="Size", value="S", stock=50),
                VariantSeed(variant_id=41012, sku="TEE-M", option="Size", value="M", stock=50),
                VariantSeed(variant_id=41013, sku="TEE-L", option="Size", value="L", stock=2),
            )),
            ProductSeed(product_id=4102, name="Wool Socks", sku="SOCKS", price=1400, stock=200,
                        base_variant_id=41020),
            ProductSeed(product_id=4103, name="Rain Jacket", sku="JACKET", price=12900, stock=30,
                        base_variant_id=41030, max_quantity=2),
        ),
        default_store(
            "coffee5",
            NAME,
            ProductSeed(product_id=5101, name="House Blend Beans", sku="BEANS", price=1600,
                        variants=(
                VariantSeed(variant_id=51011, sku="BEANS-250", option="Size", value="250 g",
                            stock=100),
                VariantSeed(variant_id=51012, sku="BEANS-1K", option="Size", value="1 kg",
                            price=5200, stock=4),
            )),
            ProductSeed(product_id=5102, name="Hand Grinder", sku="GRINDER", price=8900, stock=20,
                        base_variant_id=51020),
            ProductSeed(product_id=5103, name="Pour-over Kettle", sku="KETTLE", price=4550,
                        stock=15, base_variant_id=51030),
        ),
    ]  # fmt: skip
