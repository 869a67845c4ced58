"""Request and response models of the cart lifecycle routes: saved references and previews.

Kept apart from ``schemas.py`` (the cart and admin models) so those routes' shapes read in one
place; the OpenAPI document is generated from these models as from the others. A saved
reference and a retried bag answer the cart itself (``schemas.CartOut``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from orchestrator.http.fields import Id, Printable
from orchestrator.http.schemas import PlatformName, Strict
from orchestrator.service.preview import Preview

EXTERNAL_ID_MAX = 255  # Shopify's cart ids (a gid and its key) run past our own ids' 64

ExternalCartId = Annotated[str, Field(min_length=1, max_length=EXTERNAL_ID_MAX), Printable(id=True)]


class SaveReferenceIn(Strict):
    cart_id: ExternalCartId = Field(
        description="The external cart's id on the platform, in that platform's id format"
        " (BigCommerce: a UUID; Shopify: gid://shopify/Cart/<token>, optionally ?key=<key>;"
        " Elastic Path: 1 to 255 ASCII letters, digits, - or _). Another answers 400 naming"
        " cart_id, before any call to the platform."
    )
    source: Id = Field(description="The merchant (its id) whose platform holds the cart.")
    customer_id: Id | None = None


class PreviewSkuOut(BaseModel):
    sku_id: str
    name: str
    quantity: int
    price: int = Field(description="The catalog's unit price, integer minor units.")
    line_price: int


class PreviewBagOut(BaseModel):
    merchant_id: str
    merchant_name: str
    platform: PlatformName
    currency: str
    sub_total: int = Field(description="At catalog prices; the platform's may differ.")
    skus: list[PreviewSkuOut]


class PreviewProblemOut(BaseModel):
    sku_id: str
    reason: Literal["UNKNOWN", "UNAVAILABLE", "MERCHANT_PAUSED", "CURRENCY_MISMATCH"]
    message: str
    field: str = Field(description="Where the request names it, e.g. skus[2].sku_id.")


class PreviewOut(BaseModel):
    currency: str
    sub_total: int = Field(description="Of every bag, at catalog prices.")
    bags: list[PreviewBagOut] = Field(description="One per merchant, as a create would split.")
    problems: list[PreviewProblemOut] = Field(
        description="Every SKU a create would refuse with 400 invalid_skus (left out of the"
        " bags); empty when the create would pass the catalog checks."
    )


def preview_json(p: Preview) -> dict[str, Any]:
    """``PreviewOut``'s shape, built as plain dicts (as ``schemas.cart_json``)."""
    return {
        "currency": p.currency,
        "sub_total": p.sub_total,
        "bags": [
            {
                "merchant_id": b.merchant_id,
                "merchant_name": b.merchant_name,
                "platform": b.platform,
                "currency": b.currency,
                "sub_total": b.sub_total,
                "skus": [
                    {
                        "sku_id": s.sku_id,
                        "name": s.name,
                        "quantity": s.quantity,
                        "price": s.price,
                        "line_price": s.line_price,
                    }
                    for s in b.skus
                ],
            }
            for b in p.bags
        ],
        "problems": p.problems,
    }
