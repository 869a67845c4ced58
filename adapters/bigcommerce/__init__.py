"""BigCommerce Server-to-Server Carts v3: the adapter (routes, calls) and its payloads."""

from adapters.bigcommerce.adapter import (
    RETRY_ANSWERS_ON_CREATE,
    RETRY_RULES,
    BigCommerceAdapter,
    BigCommerceConnection,
    BigCommerceRef,
)

__all__ = [
    "RETRY_ANSWERS_ON_CREATE",
    "RETRY_RULES",
    "BigCommerceAdapter",
    "BigCommerceConnection",
    "BigCommerceRef",
]
