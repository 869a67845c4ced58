"""A merchant's Shopify shop as the admin route accepts it: base URL, private token, version.

Why a module of its own: the connection is validated once, when the merchant is registered, so
that nothing malformed reaches a URL or a header later: the token goes verbatim into
``Shopify-Storefront-Private-Token`` (https://shopify.dev/docs/api/usage/authentication), and
the shop URL and API version build ``{shop_url}/api/{api_version}/graphql.json``
(https://shopify.dev/docs/api/storefront#endpoints).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StringConstraints,
    field_validator,
)

from adapters.calls.connections import (
    BASE_URL_SCHEMA,
    SECRET_SCHEMA,
    header_secret,
    http_base_url,
)

# The documents read ``warnings``, which cart payloads carry from 2024-10
# (https://shopify.dev/changelog/cart-warnings-in-storefront-api-cart).
MIN_API_VERSION = "2024-10"
DEFAULT_API_VERSION = "2026-04"
# A version (YYYY-MM) from MIN_API_VERSION on, as a pattern: the document states the minimum.
API_VERSION_PATTERN = (
    r"^(2024-1[0-2]|(202[5-9]|20[3-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})-(0[1-9]|1[0-2]))$"
)


class ShopifyConnection(BaseModel):
    """``shop_url`` such as https://shop.myshopify.com (the sandbox's:
    http://127.0.0.1:PORT/shopify/{shop}), a Storefront private token and an API version."""

    # hide_input_in_errors: a refused token (or a URL with a password) never reaches a log line.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    shop_url: str = Field(
        json_schema_extra=BASE_URL_SCHEMA,
        description="The shop's, not its GraphQL endpoint's: the path does not end in .json.",
    )
    storefront_token: SecretStr = Field(json_schema_extra=SECRET_SCHEMA)
    api_version: str = Field(default=DEFAULT_API_VERSION, pattern=API_VERSION_PATTERN)

    @field_validator("shop_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        value = http_base_url(value, "https://shop.myshopify.com")
        if urlsplit(value).path.endswith(".json"):
            raise ValueError("must be the shop's base URL, not the GraphQL endpoint")
        return value

    @field_validator("storefront_token")
    @classmethod
    def _header_safe(cls, value: SecretStr) -> SecretStr:
        return header_secret(value)

    @field_validator("api_version")
    @classmethod
    def _with_warnings(cls, value: str) -> str:
        if value < MIN_API_VERSION:
            raise ValueError(f"must be {MIN_API_VERSION} or later (cart warnings)")
        return value

    @property
    def base_url(self) -> str:
        return self.shop_url

    @property
    def endpoint(self) -> str:
        return f"{self.shop_url}/api/{self.api_version}/graphql.json"


class ShopifyRef(BaseModel):
    """A Shopify product variant's global id, the cart line's merchandise
    (https://shopify.dev/docs/api/storefront/latest/input-objects/CartLineInput)."""

    model_config = ConfigDict(extra="forbid", title="ShopifyPlatformRef")

    variant_id: Annotated[
        str, StringConstraints(pattern=r"^gid://shopify/ProductVariant/[0-9]{1,20}$")
    ]
