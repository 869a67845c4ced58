"""Builders of apps, merchants and carts for the store tests (all ids unique per call), and
the tests' own read-only queries (the service has no use for them)."""

from __future__ import annotations

import itertools
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from adapters.bigcommerce import BIGCOMMERCE
from adapters.elastic_path import ELASTIC_PATH
from adapters.shopify import SHOPIFY
from bags.models import Bag, Cart, CatalogSku, Merchant, OrderError, OrderSku
from bags.status import BagStatus, CartStatus, Platform
from orchestrator.store import Store
from orchestrator.store.tables import carts

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
_seq = itertools.count(1)


def new_id(prefix: str) -> str:
    return f"{prefix}_{next(_seq):06d}"


async def count_carts(store: Store) -> int:
    """How many carts rows exist, whatever their app or status."""
    async with store.db.read(single_statement=True) as conn:
        return int(await conn.scalar(select(func.count()).select_from(carts)) or 0)


async def get_skus(store: Store, sku_ids: Collection[str]) -> dict[str, CatalogSku]:
    """The catalog SKUs among ``sku_ids`` that exist, read as the create path reads them."""
    found, _merchants = await store.catalog.lookup(sku_ids)
    return found


async def make_app(store: Store, app_id: str | None = None) -> str:
    app_id = app_id or new_id("app")
    await store.apps.create(app_id, f"name of {app_id}", f"hash-{app_id}")
    return app_id


async def make_merchant(
    store: Store, merchant_id: str | None = None, platform: Platform = BIGCOMMERCE
) -> Merchant:
    merchant = Merchant(id=merchant_id or new_id("mer"), name="Acme Store", platform=platform)
    await store.catalog.create_merchant(merchant, b"\x00sealed\xff" + merchant.id.encode())
    return merchant


def catalog_sku(merchant_id: str, sku_id: str | None = None, price: int = 2999) -> CatalogSku:
    return CatalogSku(
        sku_id=sku_id or new_id("sku"),
        merchant_id=merchant_id,
        name="Blue mug",
        price=price,
        currency="USD",
        available=True,
        platform_ref={"product_id": 111, "variant_id": 222},
    )


async def inserted_cart(store: Store) -> Cart:
    """A ``make_cart`` of a new app, inserted."""
    cart = make_cart(await make_app(store))
    await store.carts.insert(cart)
    return cart


def make_cart(
    app_id: str,
    *,
    created: datetime = T0,
    customer_id: str | None = None,
    status: CartStatus = CartStatus.IN_PROGRESS,
    bags: int = 2,
    lines: int = 2,
    errors: int = 1,
) -> Cart:
    cart_id = new_id("cart")
    cart = Cart(
        id=cart_id,
        app_id=app_id,
        currency="USD",
        date_created=created,
        date_last_modified=created,
        expires_at=created + timedelta(days=30),
        status=status,
        customer_id=customer_id,
        name="weekend",
        app_order_id="order-7",
        metadata={"channel": "web", "é": "ünïcode"},
    )
    platforms = [BIGCOMMERCE, SHOPIFY, ELASTIC_PATH]
    for b in range(bags):
        bag = Bag(
            id=new_id("bag"),
            merchant_id=new_id("mer"),
            merchant_name=f"Merchant {b}",
            platform=platforms[b % 3],
            currency="USD",
        )
        if b % 2 == 0:
            bag.move_to(BagStatus.IN_PROGRESS)
            bag.external_id = f"gid://shopify/Cart/{bag.id}?key=abc"
            bag.checkout_url = f"https://shop.example/checkout/{bag.id}"
            bag.platform_sub_total = 1000 * (b + 1)
        else:
            bag.move_to(BagStatus.FAILED)
        for n in range(lines):
            quantity = n + 1
            bag.skus.append(
                OrderSku(
                    id=new_id("osku"),
                    sku_id=new_id("sku"),
                    name=f"line {n}",
                    quantity=quantity,
                    price=2999,
                    line_price=2999 * quantity,
                    platform_ref={"variant_id": f"gid://shopify/ProductVariant/{n}"},
                    external_id=f"line-{n}" if bag.external_id else None,
                    available=n % 2 == 0,
                )
            )
        cart.bags.append(bag)
    failed = [b for b in cart.bags if b.status == BagStatus.FAILED]
    for e in range(errors):
        culprit = failed[e % len(failed)] if failed else None
        cart.errors.append(
            OrderError(
                id=new_id("err"),
                order_id=cart_id,
                bag_id=culprit.id if culprit else None,
                entity_id=culprit.skus[0].sku_id if culprit and culprit.skus else "sku_x",
                type="EXTERNAL_CREATE_CART",
                message=f"failure {e}",
                date_created=created + timedelta(seconds=e),
                platform=culprit.platform if culprit else None,
                cause="PLATFORM_ERROR",
                retryable=True,
            )
        )
    return cart
