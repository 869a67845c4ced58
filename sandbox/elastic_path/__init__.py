"""The Elastic Path Carts v2 simulator; ``PLATFORM`` is its row in ``sandbox.registry``.

Modules: ``server`` (routes, tokens, rate limits, write conflicts), ``operations`` (the cart
endpoints), ``rules`` (items, stock, currency), ``render`` (cart and item answers), ``catalog``
(ids and built-in stores).
"""

from sandbox.elastic_path import catalog, server
from sandbox.registry import SandboxPlatform

PLATFORM = SandboxPlatform(
    name=catalog.NAME,
    summary=(
        "Elastic Path Carts v2: api_url http://HOST:PORT/elasticpath/{store}, with "
        "{api_url}/oauth/access_token (client credentials) and {api_url}/v2/carts."
    ),
    routes=server.routes,
    cart_ttl_s=catalog.CART_TTL_S,
    platform_refs=catalog.platform_refs,
    default_stores=catalog.default_stores,
    connection=server.connection,
    settings=server.settings,
    settable=frozenset({"token_ttl_s", "expire_tokens", "write_conflicts"}),
    line_extras=lambda line: {"price": line.list_price, "sku": line.sku},
)
