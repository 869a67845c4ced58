"""BigCommerce's side of the sandbox catalog: its name, cart lifetime, ``platform_ref`` shape and
built-in stores.

Why this module exists: the seeded stores and the ids an integrator registers are what the demo,
README.md's walk-through, the tests and the benchmark rely on; they sit beside the simulator they
feed. The walk-through and the demo take the first default store, ``outdoors1``, as BigCommerce.

Stores (``api_url`` ``http://HOST:PORT/bigcommerce/stores/{store}/v3``; token
``store_token(store)``; ``platform_ref`` ``{"product_id": int, "variant_id"?: int}``), each with
the trigger products 900, 901 and 999 (``sandbox.catalog``):

=========  =========================================================================
outdoors1  113 Camp Mug (simple, base variant 1130), 112 Trail Tent (variants 77 2-person,
           78 4-person: stock 3), 114 Headlamp (simple)
kitchen2   210 Chef's Knife (simple), 211 Cast Iron Skillet (variants 301 10-inch, 302 12-inch),
           212 Espresso Cups (simple, 27.95)
books3     310 The Pragmatic Hiker (simple), 311 Field Guide to Mushrooms (variants 401
           paperback, 402 hardcover), 312 Pocket Atlas (simple, stock 3)
=========  =========================================================================
"""

from __future__ import annotations

from typing import Any

from sandbox.catalog import ProductSeed, StoreSeed, VariantSeed, default_store

NAME = "BIGCOMMERCE"
# "30 days from the last modification" (createCart,
# https://developer.bigcommerce.com/docs/rest-management/carts).
CART_TTL_S = 30 * 24 * 3600


def platform_refs(
    seed: StoreSeed, product: ProductSeed, variant: VariantSeed | None
) -> tuple[dict[str, Any], ...]:
    """``{"product_id", "variant_id"?}``: the variant only for a product with variants."""
    return (
        {
            "product_id": product.product_id,
            **({"variant_id": variant.variant_id} if variant else {}),
        },
    )


def default_stores() -> list[StoreSeed]:
    return [
        default_store(
            "outdoors1",
            NAME,
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
        default_store(
            "kitchen2",
            NAME,
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
        default_store(
            "books3",
            NAME,
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
