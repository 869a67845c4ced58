"""A merchant's BigCommerce store as the admin route accepts it: API path and token.

Why a module of its own: the connection is validated once, when the merchant is registered, so
that nothing malformed reaches a URL or a header later: the token goes verbatim into
``X-Auth-Token`` (https://developer.bigcommerce.com/docs/start/authentication/api-accounts),
and ``api_url`` (``https://api.bigcommerce.com/stores/{store_hash}/v3``) prefixes every cart
route. ``BigCommerceRef`` is the catalog's ``platform_ref`` for a BigCommerce product.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictInt, field_validator
from pydantic.config import JsonDict
from pydantic.json_schema import SkipJsonSchema

from adapters.calls.connections import (
    BASE_URL_SCHEMA,
    SECRET_SCHEMA,
    header_secret,
    http_base_url,
)


class BigCommerceConnection(BaseModel):
    """A merchant's BigCommerce store: ``.../stores/{store_hash}/v3`` and its API token."""

    # hide_input_in_errors: a refused token never comes back in the 400 naming the field.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    api_url: str = Field(json_schema_extra=BASE_URL_SCHEMA)
    access_token: SecretStr = Field(json_schema_extra=SECRET_SCHEMA)

    @field_validator("api_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        return http_base_url(value, "https://api.bigcommerce.com/stores/abc/v3")

    @field_validator("access_token")
    @classmethod
    def _header_safe(cls, value: SecretStr) -> SecretStr:
        # It goes verbatim into X-Auth-Token.
        return header_secret(value)

    @property
    def base_url(self) -> str:
        return self.api_url


_RefId = Annotated[StrictInt, Field(ge=1, le=2**63 - 1)]


def _no_default(schema: JsonDict) -> None:
    schema.pop("default", None)  # None, which the schema (an integer) does not allow


class BigCommerceRef(BaseModel):
    """A BigCommerce product, and its variant when it has options
    (https://developer.bigcommerce.com/docs/rest-management/carts/items)."""

    model_config = ConfigDict(extra="forbid", title="BigCommercePlatformRef")

    product_id: _RefId
    # Optional, never null: the catalog's platform_ref holds no nulls (schemas.PlatformRef).
    variant_id: _RefId | SkipJsonSchema[None] = Field(default=None, json_schema_extra=_no_default)
