"""The BigCommerce Carts v3 simulator; ``PLATFORM`` is its row in ``sandbox.registry``.

Modules: ``server`` (routes, auth, rate limits, headers, fault answers), ``operations`` (the cart
endpoints), ``rules`` (line items, stock, merging, errors), ``render`` (``Cart_Full``),
``catalog`` (ids and built-in stores).
"""

from sandbox.bigcommerce import catalog, server
from sandbox.registry import SandboxPlatform

PLATFORM = SandboxPlatform(
    name=catalog.NAME,
    summary=(
        "BigCommerce Carts v3: api_url http://HOST:PORT/bigcommerce/stores/{store_hash}/v3 "
        "(X-Auth-Token)."
    ),
    routes=server.routes,
    cart_ttl_s=catalog.CART_TTL_S,
    platform_refs=catalog.platform_refs,
    default_stores=catalog.default_stores,
    connection=server.connection,
    settings=server.settings,
    settable=frozenset({"unknown_product_status"}),
    # BigCommerce's cart listing was pinned before prices were listed: no line extras.
)
