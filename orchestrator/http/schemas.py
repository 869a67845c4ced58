"""Request and response models of the HTTP API (v1).

The handlers validate with these models and the OpenAPI document is generated from them, so
the document cannot drift from what the code accepts and returns.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from adapters import PLATFORMS
from bags import Bag, Cart, CatalogSku, OrderError, Platform
from orchestrator.http.fields import (
    PLATFORM_MARK,
    Currency,
    Id,
    KeysStated,
    MetadataKey,
    MetadataValue,
    Price,
    RefKey,
    RefValue,
    ShortText,
)

# A SKU's ids on its platform: a flat object of ids (strings or integers), never nested.
# Its per-platform shape is its platform's ``platform_ref`` model's, which the handler checks
# it with; the OpenAPI builder documents each platform's (openapi.py).
PlatformRef = Annotated[
    dict[RefKey, RefValue | Annotated[StrictInt, Field(ge=0, le=2**63 - 1)]],
    Field(min_length=1, max_length=8),
    KeysStated(),
]


def registered_platform(name: Platform) -> Platform:
    """``name`` if the adapters' table has its row, else the error an enum of the rows' names
    gives (``Input should be 'SHOPIFY', 'BIGCOMMERCE' or 'ELASTIC_PATH'``)."""
    if name in PLATFORMS:
        return name
    names = [f"'{known}'" for known in PLATFORMS]
    expected = " or ".join(filter(None, [", ".join(names[:-1]), names[-1]]))
    raise PydanticCustomError("enum", "Input should be {expected}", {"expected": expected})


# A platform's name with a row in the table; the document's ``Platform`` lists the rows'
# names: openapi.py puts a reference to it wherever ``PLATFORM_MARK`` is (the name type is a
# plain string to pydantic, which would otherwise write no definition for it).
PlatformName = Annotated[
    Platform,
    AfterValidator(registered_platform),
    WithJsonSchema({"type": "string", PLATFORM_MARK: True}),
]


# A page's pointer to the next one.
NextCursor = Annotated[
    str | None, Field(description="Pass as `cursor` for the next page; null at the end.")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SkuLineIn(Strict):
    sku_id: Id
    quantity: Annotated[StrictInt, Field(ge=1, le=2**31 - 1, description="1..max_quantity")]


class CreateCartIn(Strict):
    skus: list[SkuLineIn] = Field(default_factory=list, description="May be empty or absent.")
    currency: Currency | None = Field(default=None, description="Defaults to the service's.")
    customer_id: Id | None = None
    name: ShortText | None = None
    app_order_id: Id | None = None
    metadata: Annotated[dict[MetadataKey, MetadataValue], KeysStated()] = Field(
        default_factory=dict, description="String map, bounded."
    )
    atomicity: Literal["partial", "all_or_nothing"] = "partial"


class OrderSkuOut(BaseModel):
    id: str
    sku_id: str | None = Field(
        description="The catalog SKU; null for a line of a saved reference (POST"
        " /v1/cart-references) that matches no catalog SKU of its merchant, which the cart's"
        " errors name (type UNMAPPED_LINE, entity_type ORDER_SKU, entity_id this line's id)."
    )
    external_id: str | None
    name: str
    quantity: int
    price: int
    line_price: int
    available: bool


class BagOut(BaseModel):
    id: str
    merchant_id: str
    merchant_name: str
    platform: PlatformName
    status: Literal["PENDING", "IN_PROGRESS", "UNKNOWN", "FAILED", "EXPIRED", "DELETED"] = Field(
        description="PENDING: its external cart is being made; IN_PROGRESS: it exists; UNKNOWN:"
        " it may exist (being resolved); FAILED: none was made; EXPIRED: the platform has"
        " dropped it (external_expires_at passed), and the bag leaves the cart's sub_total;"
        " DELETED: deleted with its cart, or by the expiry of the cart."
    )
    external_id: str | None
    checkout_url: str | None
    currency: str
    sub_total: int
    external_expires_at: datetime | None = Field(
        description="When the platform drops the external cart if nothing changes it: its last"
        " confirmed change plus the platform's cart lifetime. Null without a live external cart."
    )
    skus: list[OrderSkuOut]


class OrderErrorOut(BaseModel):
    id: str
    order_id: str
    bag_id: str | None
    entity_id: str
    entity_type: str
    type: str
    message: str
    date_created: datetime
    platform: PlatformName | None
    cause: str
    retryable: bool


class CartOut(BaseModel):
    id: str
    app_id: str
    customer_id: str | None
    name: str | None
    status: Literal["IN_PROGRESS", "EXPIRED", "DELETED"]
    currency: str
    sub_total: int
    app_order_id: str | None
    metadata: dict[str, str]
    bags: list[BagOut]
    errors: list[OrderErrorOut]
    date_created: datetime
    date_last_modified: datetime
    expires_at: datetime
    version: int = Field(
        description='Bumped by every change; also the ETag (`"3"`) to send in If-Match.'
    )


def cart_json(c: Cart) -> dict[str, Any]:
    """The answer for a cart: ``CartOut``'s shape, built as plain dicts.

    The hot path renders every cart, and building dicts is several times cheaper than
    validating a model tree; ``CartOut`` stays the documented schema (OpenAPI) and
    tests/unit/test_render.py holds the two equal. Datetimes are left for orjson (OPT_UTC_Z).
    """
    return {
        "id": c.id,
        "app_id": c.app_id,
        "customer_id": c.customer_id,
        "name": c.name,
        "status": c.status.value,
        "currency": c.currency,
        "sub_total": c.sub_total,
        "app_order_id": c.app_order_id,
        "metadata": c.metadata,
        "bags": [bag_json(b) for b in c.bags],
        "errors": [error_json(e) for e in c.errors],
        "date_created": c.date_created,
        "date_last_modified": c.date_last_modified,
        "expires_at": c.expires_at,
        "version": c.version,
    }


def bag_json(b: Bag) -> dict[str, Any]:
    """One bag of ``cart_json``: ``BagOut``'s shape."""
    return {
        "id": b.id,
        "merchant_id": b.merchant_id,
        "merchant_name": b.merchant_name,
        "platform": b.platform,
        "status": b.status.value,
        "external_id": b.external_id,
        "checkout_url": b.checkout_url,
        "currency": b.currency,
        "sub_total": b.sub_total,
        "external_expires_at": b.external_expires_at,
        "skus": [
            {
                "id": s.id,
                "sku_id": s.sku_id or None,  # "": a referenced line not in the catalog
                "external_id": s.external_id,
                "name": s.name,
                "quantity": s.quantity,
                "price": s.price,
                "line_price": s.line_price,
                "available": s.available,
            }
            for s in b.skus
        ],
    }


def error_json(e: OrderError) -> dict[str, Any]:
    """One error of ``cart_json``: ``OrderErrorOut``'s shape."""
    return {
        "id": e.id,
        "order_id": e.order_id,
        "bag_id": e.bag_id,
        "entity_id": e.entity_id,
        "entity_type": e.entity_type,
        "type": e.type,
        "message": e.message,
        "date_created": e.date_created,
        "platform": e.platform,
        "cause": e.cause,
        "retryable": e.retryable,
    }


class CartPageOut(BaseModel):
    data: list[CartOut]
    next_cursor: NextCursor


class ErrorOut(BaseModel):
    message: str
    error: str
    code: int
    data: dict[str, Any]


class AppIn(Strict):
    name: ShortText


class MerchantIn(Strict):
    name: ShortText
    platform: PlatformName
    connection: dict[str, Any] = Field(
        description="The platform's connection, in its platform's shape. Encrypted at rest,"
        " never returned."
    )


MerchantStatusName = Literal["ACTIVE", "PAUSED"]


def _at_least_one_change(schema: dict[str, Any]) -> None:
    """The document says what the route enforces: no field is null, at least one is given."""
    schema["minProperties"] = 1
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)
        variants = [v for v in prop.pop("anyOf", []) if v.get("type") != "null"]
        if variants:
            prop.update(variants[0])


class MerchantPatchIn(Strict):
    """What ``PATCH /v1/admin/merchants/{merchant_id}`` changes: at least one field, none null.
    ``platform`` is not among them (a merchant's platform never changes)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_at_least_one_change)

    name: ShortText | None = None
    connection: dict[str, Any] | None = Field(
        default=None,
        description="A new connection in the merchant's platform's shape (checked as at"
        " registration, URL rules included); encrypted at rest, never returned.",
    )
    status: MerchantStatusName | None = Field(
        default=None,
        description="PAUSED: its SKUs go in no new line (reason MERCHANT_PAUSED); carts holding"
        " them keep working. ACTIVE resumes it.",
    )

    @field_validator("name", "connection", "status", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:  # only a given null reaches here (defaults are not validated)
            raise ValueError("must not be null: leave the field out to keep it")
        return value


class MerchantOut(BaseModel):
    id: str
    name: str
    platform: PlatformName
    status: MerchantStatusName


class MerchantListOut(BaseModel):
    data: list[MerchantOut]


class SkuIn(Strict):
    sku_id: Id
    merchant_id: Id
    name: ShortText
    price: Price
    currency: Currency
    available: StrictBool = True
    platform_ref: PlatformRef = Field(
        description="The SKU's ids on its merchant's platform, in that platform's shape."
    )

    def to_domain(self) -> CatalogSku:
        return CatalogSku(
            sku_id=self.sku_id,
            merchant_id=self.merchant_id,
            name=self.name,
            price=self.price,
            currency=self.currency,
            available=self.available,
            platform_ref=self.platform_ref,
        )


class SkuOut(SkuIn):
    model_config = ConfigDict(extra="ignore")


def sku_json(s: CatalogSku) -> dict[str, Any]:
    """A stored SKU as ``SkuOut``'s shape, built without validation: a row stored before a
    rule was tightened must still list (a model validation would answer 500)."""
    return {
        "sku_id": s.sku_id,
        "merchant_id": s.merchant_id,
        "name": s.name,
        "price": s.price,
        "currency": s.currency,
        "available": s.available,
        "platform_ref": dict(s.platform_ref),
    }


class SkuListOut(BaseModel):
    data: list[SkuOut]
    next_cursor: NextCursor


class UpsertOut(BaseModel):
    upserted: int


class HealthOut(BaseModel):
    status: Literal["ok"]
