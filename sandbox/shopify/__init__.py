"""The Shopify Storefront GraphQL cart simulator; ``PLATFORM`` is its row in ``sandbox.registry``.

Modules: ``server`` (the endpoint, auth, throttling), ``resolvers`` (the cart query and
mutations), ``schema`` (the executable SDL), ``rules`` (cart rules and the rendered cart),
``graphql_errors`` (Shopify's error wording), ``catalog`` (ids and built-in stores).
"""

from sandbox.registry import SandboxPlatform
from sandbox.shopify import catalog, server

PLATFORM = SandboxPlatform(
    name=catalog.NAME,
    summary=(
        "Shopify Storefront GraphQL cart: shop_url http://HOST:PORT/shopify/{shop}, endpoint "
        "{shop_url}/api/{version}/graphql.json (storefront token header)."
    ),
    routes=server.routes,
    cart_ttl_s=catalog.CART_TTL_S,
    platform_refs=catalog.platform_refs,
    default_stores=catalog.default_stores,
    connection=server.connection,
    settings=server.settings,
    settable=frozenset({"unknown_variant_code"}),
    line_extras=lambda line: {"price": line.list_price},
    throttle_forms=True,
    check_seed=catalog.check_seed,
)
