"""Shopify Storefront Cart API: the adapter (calls), its documents, payloads and failures."""

from adapters.shopify.adapter import RETRY_ANSWERS_ON_CREATE, RETRY_RULES, ShopifyAdapter
from adapters.shopify.connection import ShopifyConnection, ShopifyRef
from adapters.shopify.failures import NAME as SHOPIFY

__all__ = [
    "RETRY_ANSWERS_ON_CREATE",
    "RETRY_RULES",
    "SHOPIFY",
    "ShopifyAdapter",
    "ShopifyConnection",
    "ShopifyRef",
]
