"""Saved references: an external cart the shopper made elsewhere, adopted as a multicart cart.

Why: an app can hand multicart the id of a cart that already exists on a merchant's platform
(a shopper's cart from the storefront) so it can be resumed later. The merchant's adapter reads
the cart; multicart answers a cart with one ``IN_PROGRESS`` bag linked to it, holding the lines
and prices the platform holds, each line mapped back to a catalog SKU of that merchant by
``platform_ref``. A line no catalog SKU matches is kept, not dropped: an order SKU with no
``sku_id`` (stored as ``""``, answered as ``null``) and an ``UNMAPPED_LINE`` order error naming
it. An external cart is held by at most one live bag, whoever made it (a saved reference, or a
cart multicart created): the store's unique index decides concurrent saves (409
``duplicate_cart``). A cart deleted whose platform delete is still pending in the outbox holds
its external cart too (409 ``duplicate_cart``, saying so): the outbox's next round would delete
the external cart under the new bag. An empty external cart counts as absent (404): Elastic
Path answers an unknown id with an empty cart, so an empty cart cannot be told from none there.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from adapters import ExternalCart, ExternalLine, platform_text, ref_matches
from bags import Bag, BagStatus, Cart, CatalogSku, Merchant, OrderError, OrderSku
from errors import (
    ApiError,
    Cause,
    Conflict,
    ErrorCode,
    FieldProblem,
    InvalidRequest,
    NotFound,
    PlatformAddressRefused,
    PlatformError,
    PlatformNotFound,
    PlatformRejected,
    PlatformTimeout,
    clip,
)
from orchestrator.service.context import UseCaseContext
from orchestrator.service.secrets import CredentialsUnreadable, new_id
from orchestrator.store.references import DuplicateReference

UNMAPPED_SKU_ID = ""  # an order SKU of a referenced cart that matches no catalog SKU
UNMAPPED_LINE = "UNMAPPED_LINE"
_CATALOG_PAGE = 1000
_THROTTLED = frozenset({Cause.RATE_LIMITED, Cause.PLATFORM_UNAVAILABLE})


@dataclass(frozen=True)
class SaveReference:
    external_id: str  # the platform's cart id
    merchant_id: str  # the merchant whose platform holds it (the API's ``source``)
    customer_id: str | None = None


def duplicate(*, deleting: bool = False) -> Conflict:
    if deleting:
        return Conflict(
            "That external cart belonged to a deleted cart and its delete on the platform is"
            " still pending (retried in the background); it will be deleted, so it cannot be"
            " saved.",
            kind=ErrorCode.DUPLICATE_CART,
        )
    return Conflict(
        "That external cart is already referenced by a cart.", kind=ErrorCode.DUPLICATE_CART
    )


def read_failure(error: PlatformError, merchant_id: str) -> ApiError:
    """The 2502 answer: 503 with Retry-After when throttled or unavailable for now, else 502
    (a host resolving to a refused address is unavailable for good)."""
    throttled = error.cause in _THROTTLED and error.retryable  # a refused address is permanent
    headers = {"Retry-After": str(max(1, math.ceil(error.retry_after or 1)))} if throttled else {}
    return ApiError(
        f"{error.platform} did not answer the read of the external cart:"
        f" {platform_text(error.message)}",
        kind=ErrorCode.EXTERNAL_CART_READ_FAILURE,
        status=503 if throttled else 502,
        headers=headers,
        data={
            "cause": str(error.cause),
            "platform": error.platform,
            "merchant_id": merchant_id,
            "retryable": error.cause is not Cause.AUTH_FAILED
            and not isinstance(error, PlatformAddressRefused),
        },
    )


def best_match(line: ExternalLine, catalog: Sequence[CatalogSku]) -> CatalogSku | None:
    """The catalog SKU naming ``line``'s item, the most specific one (most ref keys) first."""
    found = [s for s in catalog if ref_matches(s.platform_ref, line.platform_ref)]
    return max(found, key=lambda s: len(s.platform_ref), default=None)


class ReferenceService:
    def __init__(self, context: UseCaseContext) -> None:
        self._ctx = context

    async def save(self, app_id: str, command: SaveReference) -> Cart:
        deadline = time.monotonic() + self._ctx.settings.request_deadline_s
        row = await self._ctx.store.catalog.get_merchant(command.merchant_id)
        if row is None:
            raise NotFound(
                f"No merchant {command.merchant_id!r}.", kind=ErrorCode.MERCHANT_NOT_FOUND
            )
        merchant, sealed = row
        # An id that is not one of the platform's cart ids (``..``, ``a/b``, ``%2e%2e``) is
        # refused before anything is sent: it would otherwise end up in a credentialed path.
        problem = self._ctx.merchants.cart_id_problem(merchant, command.external_id)
        if problem is not None:
            raise InvalidRequest([FieldProblem("cart_id", problem)])
        # Asked before the platform: a cart already held is a 409 without any call.
        held = await self._ctx.store.references.hold(merchant.id, command.external_id)
        if held is not None:
            raise duplicate(deleting=held.deleting)
        external = await self._read(merchant, sealed, command.external_id, deadline)
        cart = await self._cart(app_id, merchant, external, command)
        try:
            await self._ctx.store.references.insert(cart)
        except DuplicateReference as exc:
            raise duplicate(deleting=exc.deleting) from None
        return cart

    async def _read(
        self, merchant: Merchant, sealed: bytes, external_id: str, deadline: float
    ) -> ExternalCart:
        platform = str(merchant.platform)
        try:
            adapter = self._ctx.merchants.adapter_for(merchant, sealed)
            async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                external = await adapter.get_cart(external_id, deadline=deadline)
        except CredentialsUnreadable:
            raise read_failure(
                PlatformError(
                    "this merchant's credentials cannot be read by the service; nothing was sent",
                    platform=platform,
                    cause=Cause.AUTH_FAILED,
                ),
                merchant.id,
            ) from None
        except (PlatformNotFound, PlatformRejected):
            external = None
        except PlatformError as exc:
            raise read_failure(exc, merchant.id) from None
        except TimeoutError:
            late = PlatformTimeout(f"{platform} did not answer in time", platform=platform)
            raise read_failure(late, merchant.id) from None
        if external is None or not external.lines:
            raise NotFound(
                f"{platform} has no cart {external_id!r} with lines for this merchant.",
                kind=ErrorCode.EXTERNAL_CART_NOT_FOUND,
                data={"platform": platform, "merchant_id": merchant.id},
            )
        return external

    async def _catalog_for(
        self, merchant_id: str, lines: Sequence[ExternalLine]
    ) -> dict[str, CatalogSku]:
        """External line id -> its catalog SKU, paging through the merchant's catalog only
        until every line has a match (the most specific match within the pages read)."""
        matched: dict[str, CatalogSku] = {}
        after: str | None = None
        while True:
            page = await self._ctx.store.catalog.list_skus(
                merchant_id, limit=_CATALOG_PAGE, after=after
            )
            for line in lines:
                found = best_match(line, page)
                held = matched.get(line.external_id)
                if found is not None and (
                    held is None or len(found.platform_ref) > len(held.platform_ref)
                ):
                    matched[line.external_id] = found
            if len(page) < _CATALOG_PAGE or len(matched) == len(lines):
                return matched
            after = page[-1].sku_id

    async def _cart(
        self,
        app_id: str,
        merchant: Merchant,
        external: ExternalCart,
        command: SaveReference,
    ) -> Cart:
        now = self._ctx.clock()
        currency = external.currency or self._ctx.settings.default_currency
        matched = await self._catalog_for(merchant.id, external.lines)
        bag = Bag.of_merchant(
            new_id("bag"),
            merchant,
            currency,
            status=BagStatus.IN_PROGRESS,
            external_id=external.external_id,
            checkout_url=external.checkout_url,
            platform_sub_total=external.sub_total,
            # Read now: its last change on the platform is no later (none of the platforms
            # says when it was), so its platform expiry counts from here at the latest.
            platform_changed_at=now,
        )
        cart = Cart(
            id=new_id("cart"),
            app_id=app_id,
            currency=currency,
            date_created=now,
            date_last_modified=now,
            expires_at=now + timedelta(days=self._ctx.settings.cart_ttl_days),
            customer_id=command.customer_id,
            bags=[bag],
        )
        for line in external.lines:
            sku = matched.get(line.external_id)
            ref: Mapping[str, Any] = sku.platform_ref if sku else line.platform_ref
            order_sku = OrderSku(
                id=new_id("osk"),
                sku_id=sku.sku_id if sku else UNMAPPED_SKU_ID,
                name=(sku.name if sku else "") or line.name or "(unnamed item)",
                quantity=line.quantity,
                price=line.unit_price,
                line_price=line.line_price,
                platform_ref=dict(ref),
                external_id=line.external_id,
            )
            bag.skus.append(order_sku)
            if sku is None:
                cart.errors.append(_unmapped(cart, bag, order_sku, line, now))
        return cart


def _unmapped(
    cart: Cart, bag: Bag, order_sku: OrderSku, line: ExternalLine, now: datetime
) -> OrderError:
    return OrderError(
        id=new_id("err"),
        order_id=cart.id,
        bag_id=bag.id,
        entity_id=order_sku.id,
        entity_type="ORDER_SKU",
        type=UNMAPPED_LINE,
        message=clip(
            f"{bag.platform} holds {line.quantity} of {line.name or 'an item'}"
            f" ({dict(line.platform_ref)}) that matches no catalog SKU of this merchant;"
            " the line is kept with sku_id null"
        ),
        date_created=now,
        platform=bag.platform,
        cause=Cause.NOT_IN_CATALOG.value,
        retryable=False,
    )
