"""A merchant's Elastic Path Commerce Cloud store, as the admin route accepts it.

Why a module of its own: the connection is validated once, before it is stored (encrypted) or
used, and both the adapter (``adapters.elastic_path.adapter``) and its token
(``adapters.elastic_path.auth``) read it. Its credentials are an application key's
``client_id`` and ``client_secret``
(https://elasticpath.dev/docs/authentication/application-keys/create-an-application-key).
They go into a form body, so CR/LF, control and non-ASCII characters are refused here rather
than sent, and they never appear in a repr or a validation error.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
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


class ElasticPathConnection(BaseModel):
    """``api_url``: the store's API base, e.g. https://useast.api.elasticpath.com (the sandbox's
    is http://127.0.0.1:PORT/elasticpath/{store}); ``client_id`` / ``client_secret``: the key."""

    # hide_input_in_errors: a rejected secret must not come back in the 400 naming the field.
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    api_url: str = Field(json_schema_extra=BASE_URL_SCHEMA)
    client_id: SecretStr = Field(json_schema_extra=SECRET_SCHEMA)
    client_secret: SecretStr = Field(json_schema_extra=SECRET_SCHEMA)

    @field_validator("api_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        return http_base_url(value, "https://useast.api.elasticpath.com")

    @field_validator("client_id", "client_secret")
    @classmethod
    def _credential(cls, value: SecretStr) -> SecretStr:
        return header_secret(value)

    @property
    def base_url(self) -> str:
        return self.api_url


class ElasticPathProductRef(BaseModel):
    """An Elastic Path product by its id (https://elasticpath.dev/docs/api/carts/manage-carts)."""

    model_config = ConfigDict(extra="forbid", title="ElasticPathProductRef")

    product_id: Annotated[
        str,
        StringConstraints(
            pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
        ),
    ]


# A SKU as the catalog takes ids (orchestrator.http.fields.ID_PATTERN, which adapters may not
# import): no control character, no whitespace at either end (U+0085 named: JSON Schema's \s,
# ECMA-262's, leaves it out while the server's str.isspace counts it).
SKU_PATTERN = r"^[^\s\x85\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x85\x00-\x1f\x7f])?$"


class ElasticPathSkuRef(BaseModel):
    """An Elastic Path product by its SKU (a cart item can name either)."""

    model_config = ConfigDict(extra="forbid", title="ElasticPathSkuRef")

    sku: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=SKU_PATTERN)]


class ElasticPathRef(RootModel[ElasticPathProductRef | ElasticPathSkuRef]):
    model_config = ConfigDict(title="ElasticPathPlatformRef")
