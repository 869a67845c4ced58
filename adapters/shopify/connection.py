"""A merchant's Shopify shop as the admin route accepts it: base URL, private token, version.

Why a module of its own: the connection is validated once, when the merchant is registered, so
that nothing malformed reaches a URL or a header later: the token goes verbatim into
``Shopify-Storefront-Private-Token`` (https://shopify.dev/docs/api/usage/authentication), and
the shop URL and API version build ``{shop_url}/api/{api_version}/graphql.json``
(https://shopify.dev/docs/api/storefront#endpoints).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

# The documents read ``warnings``, which cart payloads carry from 2024-10
# (https://shopify.dev/changelog/cart-warnings-in-storefront-api-cart).
MIN_API_VERSION = "2024-10"
DEFAULT_API_VERSION = "2026-04"


class ShopifyConnection(BaseModel):
    """``shop_url`` such as https://shop.myshopify.com (the sandbox's:
    http://127.0.0.1:PORT/shopify/{shop}), a Storefront private token and an API version."""

    # hide_input_in_errors: a refused token (or a URL with a password) never reaches a log line.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    shop_url: str
    storefront_token: SecretStr
    api_version: str = Field(default=DEFAULT_API_VERSION, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")

    @field_validator("shop_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        value = value.strip()
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://shop.myshopify.com")
        if parts.query or parts.fragment or "?" in value or "#" in value:
            raise ValueError("must not carry a query or fragment")
        if "@" in parts.netloc:
            raise ValueError("must not carry user info")
        _ = parts.port  # raises ValueError for a port that is not a number in range
        if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ValueError("must not contain whitespace or control characters")
        if parts.path.rstrip("/").endswith(".json"):
            raise ValueError("must be the shop's base URL, not the GraphQL endpoint")
        return value.rstrip("/")

    @field_validator("storefront_token")
    @classmethod
    def _header_safe(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        if not token.strip():
            raise ValueError("must not be empty")
        # Visible ASCII only: a CR/LF would split the header, other bytes cannot be sent.
        if not all(0x21 <= ord(c) <= 0x7E for c in token):
            raise ValueError("must be visible ASCII, without spaces or control characters")
        return value

    @field_validator("api_version")
    @classmethod
    def _with_warnings(cls, value: str) -> str:
        if value < MIN_API_VERSION:
            raise ValueError(f"must be {MIN_API_VERSION} or later (cart warnings)")
        return value

    @property
    def endpoint(self) -> str:
        return f"{self.shop_url}/api/{self.api_version}/graphql.json"
