"""BigCommerce Server-to-Server Carts v3 as a ``CartPlatform``.

Why it exists: this is the one place that knows BigCommerce's cart routes and how its calls are
made (https://developer.bigcommerce.com/docs/rest-management/carts); its payloads and JSON-number
money are translated in ``adapters.bigcommerce.payloads``, its error answers in
``adapters.bigcommerce.failures`` and its connection checked in ``.connection``. It speaks
``adapters.base`` types upward and raises only ``errors.PlatformError`` subclasses; timing,
retries, the bulkhead and the store's circuit breaker come from ``adapters.calls``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from adapters.base import Capabilities, CartContext, ExternalCart, LineRequest
from adapters.bigcommerce.connection import BigCommerceConnection
from adapters.bigcommerce.failures import NAME, PLATFORM, map_error
from adapters.bigcommerce.payloads import cart_of, cart_or_none, line_item
from adapters.calls.caller import PlatformCaller, StaticAuth, rest_classifier
from adapters.calls.http import Answer, Transport
from adapters.calls.ids import UUID, IdFormat
from adapters.calls.policy import RetryPolicy, RetryRules
from adapters.calls.resilience import Resilience
from errors import PlatformError, PlatformNotFound

T = TypeVar("T")

# BigCommerce's status-code guide says to retry a 500 "3-5 times with increasing delays" and that
# a 503 means the store is down for maintenance
# (https://developer.bigcommerce.com/docs/start/about/status-codes).
# A 503 (maintenance: the store did not take the request) is retried even for creates and
# adds. A 500 is not, for them: measured with the sandbox's apply_then_error fault (the cart is
# made, then the answer is a 500), retrying the create made a second cart. Like 502, 504 and
# timeouts, a 500 on a create leaves the outcome unknown; the reconciler settles it. Reads,
# absolute PUTs and deletes still retry 500s, as the guide asks.
RETRY_ANSWERS_ON_CREATE = frozenset({503})
RETRY_RULES = RetryRules(retry_answers_on_create=RETRY_ANSWERS_ON_CREATE)


class BigCommerceAdapter:
    platform = NAME
    capabilities = Capabilities(can_delete_cart=True, caller_chosen_cart_ids=False)

    def __init__(
        self,
        merchant_id: str,
        connection: BigCommerceConnection,
        transport: Transport,
        resilience: Resilience,
        policy: RetryPolicy,
    ) -> None:
        self.merchant_id = merchant_id
        self._base = connection.api_url
        # Checked once per adapter (by StaticAuth, which never raises here: a token no header
        # can carry fails each call as AUTH_FAILED), and the create's URL built once.
        headers = {
            # X-Auth-Token; Accept is required by the spec
            # (https://developer.bigcommerce.com/docs/start/authentication/api-accounts).
            "X-Auth-Token": connection.access_token.get_secret_value(),
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        self._create_url = f"{self._base}/carts?include=redirect_urls"
        self._caller = PlatformCaller(
            platform=PLATFORM,
            merchant_id=merchant_id,
            store_key=self._base,
            transport=transport,
            resilience=resilience,
            policy=policy,
            classify=rest_classifier(map_error),
            auth=StaticAuth(headers),
        )

    # --- CartPlatform ----------------------------------------------------------------------

    async def create_cart(
        self,
        lines: Sequence[LineRequest],
        *,
        currency: str,
        deadline: float,
        cart_ref: str | None = None,  # BigCommerce mints its own cart ids
        context: CartContext | None = None,  # and has no field for names or our ids
    ) -> ExternalCart:
        body = {
            "line_items": [line_item(line) for line in lines],
            "currency": {"code": currency},
            "channel_id": 1,
        }
        return await self._caller.call(
            "create_cart",
            "POST",
            self._create_url,  # /carts?include=redirect_urls
            deadline=deadline,
            idempotent=False,
            json=body,
            sku_ids=[ln.sku_id for ln in lines],
            parse=cart_of,
        )

    async def get_cart(self, external_id: str, *, deadline: float) -> ExternalCart:
        return await self._call(
            "get_cart",
            "GET",
            f"/carts/{_seg(external_id)}",
            deadline=deadline,
            idempotent=True,
            params={"include": "redirect_urls"},
            parse=cart_of,
        )

    async def add_lines(
        self, external_id: str, lines: Sequence[LineRequest], *, deadline: float
    ) -> ExternalCart:
        return await self._call(
            "add_lines",
            "POST",
            f"/carts/{_seg(external_id)}/items",
            deadline=deadline,
            idempotent=False,
            json={"line_items": [line_item(line) for line in lines]},
            sku_ids=[ln.sku_id for ln in lines],
            parse=cart_of,
        )

    async def update_line(
        self,
        external_id: str,
        line_id: str,
        quantity: int,
        *,
        platform_ref: Mapping[str, Any],
        deadline: float,
    ) -> ExternalCart | None:
        # The spec's Cart_Line_Item_Update_Put takes a singular ``line_item``.
        item = line_item(LineRequest(platform_ref=platform_ref, quantity=quantity))
        return await self._call(
            "update_line",
            "PUT",
            f"/carts/{_seg(external_id)}/items/{_item(line_id)}",
            deadline=deadline,
            idempotent=True,
            json={"line_item": item},
            parse=cart_of,
        )

    async def remove_line(
        self, external_id: str, line_id: str, *, deadline: float
    ) -> ExternalCart | None:
        # 200 with the cart, or 204 when that was the last line: the cart is deleted
        # (https://developer.bigcommerce.com/docs/rest-management/carts/items#delete-cart-line-item).
        unknown: list[PlatformError] = []
        try:
            return await self._call(
                "remove_line",
                "DELETE",
                f"/carts/{_seg(external_id)}/items/{_item(line_id)}",
                deadline=deadline,
                idempotent=True,
                parse=cart_or_none,
                unknown=unknown,
            )
        except PlatformNotFound as exc:
            if not unknown:
                raise
            missing = exc
        # A retry found the line gone after an attempt whose answer was lost: that attempt
        # applied. Read the cart back (absent: the lost answer was the 204).
        try:
            cart = await self.get_cart(external_id, deadline=deadline)
        except PlatformNotFound:
            return None
        if any(line.external_id == line_id for line in cart.lines):
            raise missing
        return cart

    async def delete_cart(self, external_id: str, *, deadline: float) -> None:
        try:
            await self._call(
                "delete_cart",
                "DELETE",
                f"/carts/{_seg(external_id)}",
                deadline=deadline,
                idempotent=True,
                parse=lambda _response: None,
            )
        except PlatformNotFound:
            return  # already gone: what deleting wanted

    async def aclose(self) -> None:
        """Nothing to release: the client, bulkheads and breakers belong to the registry."""

    async def _call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        parse: Callable[[Answer], T],
        **kwargs: Any,
    ) -> T:
        return await self._caller.call(op, method, self._base + path, parse=parse, **kwargs)


# Cart ids are UUIDs: the Carts v3 spec's ``cartId`` path parameter is ``format: UUID``
# (https://developer.bigcommerce.com/docs/rest-management/carts/carts-single#get-a-cart). Line
# item ids are UUIDs too in every answer (the items' ``id``,
# https://developer.bigcommerce.com/docs/rest-management/carts/items), although the spec's
# ``itemId`` path parameter says ``format: number``; the answers are what is put in paths.
CART_ID = IdFormat(UUID, "a UUID (a BigCommerce cart id)")
LINE_ID = IdFormat(UUID, "a UUID (a BigCommerce line item id)")


def _seg(external_id: str) -> str:
    """A cart id as one path segment: ids come from callers (cart references) and from
    answers, and only a UUID is put in a path (``adapters.calls.ids``)."""
    return CART_ID.segment(external_id, platform=PLATFORM)


def _item(line_id: str) -> str:
    return LINE_ID.segment(line_id, platform=PLATFORM)
