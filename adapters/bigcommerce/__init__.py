"""BigCommerce Server-to-Server Carts v3: the adapter (routes, calls), its connection, payloads
and failures."""

from adapters.bigcommerce.adapter import RETRY_ANSWERS_ON_CREATE, RETRY_RULES, BigCommerceAdapter
from adapters.bigcommerce.connection import BigCommerceConnection, BigCommerceRef
from adapters.bigcommerce.failures import NAME as BIGCOMMERCE

__all__ = [
    "BIGCOMMERCE",
    "RETRY_ANSWERS_ON_CREATE",
    "RETRY_RULES",
    "BigCommerceAdapter",
    "BigCommerceConnection",
    "BigCommerceRef",
]
