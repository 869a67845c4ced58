"""The built-in stores of every simulated platform, with the trigger products (``sandbox.catalog``).

Why this module exists: the demo, README.md's walk-through, the tests and the benchmark rely on
the same stores, in the same order: the three BigCommerce stores first (the walk-through and the
demo take the first store as BigCommerce), then Shopify's, then Elastic Path's. All are USD.

BigCommerce (``api_url`` ``http://HOST:PORT/bigcommerce/stores/{store}/v3``; token
``store_token(store)``):

=========  =========================================================================
outdoors1  113 Camp Mug (simple, base variant 1130), 112 Trail Tent (variants 77 2-person,
           78 4-person: stock 3), 114 Headlamp (simple)
kitchen2   210 Chef's Knife (simple), 211 Cast Iron Skillet (variants 301 10-inch, 302 12-inch),
           212 Espresso Cups (simple, 27.95)
books3     310 The Pragmatic Hiker (simple), 311 Field Guide to Mushrooms (variants 401
           paperback, 402 hardcover), 312 Pocket Atlas (simple, stock 3)
=========  =========================================================================

Shopify (``shop_url`` ``http://HOST:PORT/shopify/{store}``; ``storefront_token``
``store_token(store)``; ``platform_ref`` ``{"variant_id": "gid://shopify/ProductVariant/<n>"}``):

=========  =========================================================================
threads4   4101 Organic Tee (variants 41011 S, 41012 M, 41013 L: stock 2), 4102 Wool Socks
           (simple, variant 41020), 4103 Rain Jacket (simple, variant 41030, at most 2 a line)
coffee5    5101 House Blend Beans (variants 51011 250 g, 51012 1 kg: stock 4), 5102 Hand
           Grinder (simple, variant 51020), 5103 Pour-over Kettle (simple, variant 51030, 45.50)
=========  =========================================================================

Elastic Path (``api_url`` ``http://HOST:PORT/elasticpath/{store}``; ``client_id``
``StoreSeed.key``, ``client_secret`` ``store_token(store)``; ``platform_ref``
``{"product_id": "<uuid>"}`` or ``{"sku": ...}``, uuids from ``catalog.ep_product_id``):

=========  =========================================================================
garden6    SKUs SEEDS-TOMATO (simple), PLANTER-S / PLANTER-L (variants of Planter; L stock 3),
           GLOVES (simple)
games7     SKUs PUZZLE-1000 (simple), MEEPLES-RED / MEEPLES-BLUE (variants of Meeple Pack),
           DICE-SET (simple, stock 5)
=========  =========================================================================

Every store also holds the trigger products 900, 901 and 999 (SKUs TRIGGER-OOS, TRIGGER-500,
TRIGGER-404; Shopify variants 9000, 9010, 9990).
"""

from __future__ import annotations

from sandbox.catalog import Platform, ProductSeed, StoreSeed, VariantSeed, store_token


def _triggers() -> tuple[ProductSeed, ...]:
    return (
        ProductSeed(product_id=900, name="Trigger: always out of stock", sku="TRIGGER-OOS",
                    price=1000, stock=0, base_variant_id=9000, trigger="out_of_stock"),
        ProductSeed(product_id=901, name="Trigger: always answers 500", sku="TRIGGER-500",
                    price=1000, stock=1000, base_variant_id=9010, trigger="server_error"),
        ProductSeed(product_id=999, name="Trigger: not on the platform", sku="TRIGGER-404",
                    price=1000, stock=10, base_variant_id=9990, trigger="not_on_platform"),
    )  # fmt: skip


def _store(name: str, *products: ProductSeed, platform: Platform = "BIGCOMMERCE") -> StoreSeed:
    return StoreSeed(
        store=name,
        platform=platform,
        access_token=store_token(name),
        products=products + _triggers(),
    )


def bigcommerce_stores() -> list[StoreSeed]:
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


def shopify_stores() -> list[StoreSeed]:
    return [
        _store(
            "threads4",
            ProductSeed(product_id=4101, name="Organic Tee", sku="TEE", price=2500, variants=(
                VariantSeed(variant_id=41011, sku="TEE-S", option="Size", value="S", stock=50),
                VariantSeed(variant_id=41012, sku="TEE-M", option="Size", value="M", stock=50),
                VariantSeed(variant_id=41013, sku="TEE-L", option="Size", value="L", stock=2),
            )),
            ProductSeed(product_id=4102, name="Wool Socks", sku="SOCKS", price=1400, stock=200,
                        base_variant_id=41020),
            ProductSeed(product_id=4103, name="Rain Jacket", sku="JACKET", price=12900, stock=30,
                        base_variant_id=41030, max_quantity=2),
            platform="SHOPIFY",
        ),
        _store(
            "coffee5",
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
            platform="SHOPIFY",
        ),
    ]  # fmt: skip


def elastic_path_stores() -> list[StoreSeed]:
    return [
        _store(
            "garden6",
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
            platform="ELASTIC_PATH",
        ),
        _store(
            "games7",
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
            platform="ELASTIC_PATH",
        ),
    ]  # fmt: skip


def default_stores() -> list[StoreSeed]:
    """The built-in stores (see the module docstring): BigCommerce's first, unchanged."""
    return bigcommerce_stores() + shopify_stores() + elastic_path_stores()
