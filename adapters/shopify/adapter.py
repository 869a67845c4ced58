"""The Shopify Storefront Cart API as a ``CartPlatform``.

Why it exists: this is the one place that knows how Shopify's cart operations are called: one
GraphQL endpoint, the private token header, which operations may be repeated, and how a cart is
"deleted" on a platform without a delete (https://shopify.dev/docs/api/storefront/2026-04).
Documents live in ``adapters.shopify.documents``, payloads in ``adapters.shopify.payloads`` and
failures in ``adapters.shopify.failures``; timing, retries, the bulkhead and the shop's circuit
breaker come from ``adapters.calls``. It raises only ``errors.PlatformError`` subclasses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from adapters.base import Capabilities, CartContext, ExternalCart, LineRequest
from adapters.calls.caller import PlatformCaller, StaticAuth
from adapters.calls.http import Answer, Transport
from adapters.calls.ids import IdFormat
from adapters.calls.policy import RetryPolicy, RetryRules
from adapters.calls.resilience import Resilience
from adapters.shopify import documents
from adapters.shopify.connection import ShopifyConnection
from adapters.shopify.failures import NAME, PLATFORM, classify
from adapters.shopify.payloads import (
    MAX_LINES,
    cart_input,
    line_inputs,
    mutated_cart,
    queried_cart,
)
from errors import PlatformError, PlatformNotFound, PlatformServerError

T = TypeVar("T")

# Shopify's own GraphQL client treats 429 and 503 as retriable for every operation, mutations
# included (RETRIABLE_STATUS_CODES in
# https://github.com/Shopify/shopify-app-js/tree/main/packages/api-clients/graphql-client), so a
# 503 answer is repeated even for a create or an add. Other 5xx and timeouts leave their outcome
# unknown, and cart mutations take no idempotency key
# (https://shopify.dev/docs/api/storefront/2026-04/mutations/cartCreate): those are never
# repeated for them.
RETRY_ANSWERS_ON_CREATE = frozenset({503})
RETRY_RULES = RetryRules(retry_answers_on_create=RETRY_ANSWERS_ON_CREATE)
# An emptying delete reads and removes again while lines remain (a cart past 250 lines, or
# lines added meanwhile); it gives up after this many rounds.
_DELETE_ROUNDS = 4


class ShopifyAdapter:
    platform = NAME
    # No delete mutation (carts are emptied and expire); Shopify mints the cart ids.
    capabilities = Capabilities(can_delete_cart=False, caller_chosen_cart_ids=False)

    def __init__(
        self,
        merchant_id: str,
        connection: ShopifyConnection,
        transport: Transport,
        resilience: Resilience,
        policy: RetryPolicy,
    ) -> None:
        self.merchant_id = merchant_id
        self._base = connection.shop_url
        self._endpoint = connection.endpoint
        # Checked once, by StaticAuth, which never raises here: a token no header can carry
        # fails each call as AUTH_FAILED instead of this constructor.
        headers = {
            # Server-side access: the private token
            # (https://shopify.dev/docs/api/usage/authentication#getting-started-with-private-access).
            "Shopify-Storefront-Private-Token": connection.storefront_token.get_secret_value(),
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self._caller = PlatformCaller(
            platform=PLATFORM,
            merchant_id=merchant_id,
            store_key=self._base,
            transport=transport,
            resilience=resilience,
            policy=policy,
            classify=classify,
            auth=StaticAuth(headers),
        )

    # --- CartPlatform ----------------------------------------------------------------------

    async def create_cart(
        self,
        lines: Sequence[LineRequest],
        *,
        currency: str,  # Shopify prices in the shop's (or the buyer's market's) currency
        deadline: float,
        cart_ref: str | None = None,  # Shopify mints its own cart ids
        context: CartContext | None = None,
    ) -> ExternalCart:
        variables = {"input": cart_input(lines, context)}
        return await self._graphql(
            "create_cart",
            documents.CART_CREATE,
            variables,
            deadline=deadline,
            idempotent=False,  # a repeated cartCreate makes a second cart
            sku_ids=[ln.sku_id for ln in lines],
            parse=lambda r: mutated_cart(r, "cartCreate", lines, creating=True),
        )

    async def get_cart(self, external_id: str, *, deadline: float) -> ExternalCart:
        return await self._graphql(
            "get_cart",
            documents.CART_QUERY,
            {"id": _cart_id(external_id)},
            deadline=deadline,
            idempotent=True,
            parse=queried_cart,
        )

    async def add_lines(
        self, external_id: str, lines: Sequence[LineRequest], *, deadline: float
    ) -> ExternalCart:
        return await self._graphql(
            "add_lines",
            documents.CART_LINES_ADD,
            {"cartId": _cart_id(external_id), "lines": line_inputs(lines)},
            deadline=deadline,
            idempotent=False,  # a repeated cartLinesAdd adds the quantity again
            sku_ids=[ln.sku_id for ln in lines],
            parse=lambda r: mutated_cart(r, "cartLinesAdd", lines),
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
        asked = [LineRequest(platform_ref=platform_ref, quantity=quantity)]
        return await self._graphql(
            "update_line",
            documents.CART_LINES_UPDATE,
            {
                "cartId": _cart_id(external_id),
                "lines": [{"id": _line_id(line_id), "quantity": quantity}],
            },
            deadline=deadline,
            idempotent=True,  # an absolute quantity: the same call twice holds the same
            parse=lambda r: mutated_cart(r, "cartLinesUpdate", asked),
        )

    async def remove_line(
        self, external_id: str, line_id: str, *, deadline: float
    ) -> ExternalCart | None:
        """The cart without the line (Shopify keeps an empty cart); None when the cart is gone."""
        unknown: list[PlatformError] = []
        try:
            return await self._remove(
                "remove_line", external_id, [line_id], deadline=deadline, unknown=unknown
            )
        except PlatformNotFound as exc:
            missing = exc
        # The cart or the line is gone. Which, and did a lost answer remove the line?
        try:
            cart = await self.get_cart(external_id, deadline=deadline)
        except PlatformNotFound:
            return None
        if unknown and not any(line.external_id == line_id for line in cart.lines):
            return cart  # an attempt whose answer was lost removed it
        raise missing

    async def delete_cart(self, external_id: str, *, deadline: float) -> None:
        """Empty the cart: there is no delete mutation; an empty cart expires on its own
        (https://shopify.dev/docs/api/storefront/2026-04/mutations/cartLinesRemove).
        An unknown or expired cart is already what deleting wants."""
        for _ in range(_DELETE_ROUNDS):
            try:
                cart = await self.get_cart(external_id, deadline=deadline)
            except PlatformNotFound:
                return
            if not cart.lines:
                return
            ids = [line.external_id for line in cart.lines[:MAX_LINES]]
            try:
                left = await self._remove("delete_cart", external_id, ids, deadline=deadline)
            except PlatformNotFound:
                continue  # the cart went, or a line went meanwhile: the next read tells
            if not left.lines:
                return
        raise PlatformServerError(
            f"Shopify still holds lines after {_DELETE_ROUNDS} rounds of removing them",
            platform=PLATFORM,
            may_have_applied=True,
        )

    async def aclose(self) -> None:
        """Nothing to release: the client, bulkheads and breakers belong to the registry."""

    # --- calls ------------------------------------------------------------------------------

    async def _remove(
        self,
        op: str,
        external_id: str,
        line_ids: Sequence[str],
        *,
        deadline: float,
        unknown: list[PlatformError] | None = None,
    ) -> ExternalCart:
        return await self._graphql(
            op,
            documents.CART_LINES_REMOVE,
            {"cartId": _cart_id(external_id), "lineIds": [_line_id(i) for i in line_ids]},
            deadline=deadline,
            # Removing lines twice holds the same cart; a retry after a lost answer finds the
            # line gone (INVALID_MERCHANDISE_LINE), which remove_line resolves by reading back.
            idempotent=True,
            parse=lambda r: mutated_cart(r, "cartLinesRemove"),
            unknown=unknown,
        )

    async def _graphql(
        self,
        op: str,
        query: str,
        variables: Mapping[str, Any],
        *,
        parse: Callable[[Answer], T],
        **kwargs: Any,
    ) -> T:
        return await self._caller.call(
            op,
            "POST",
            self._endpoint,
            json={"query": query, "variables": variables},
            parse=parse,
            **kwargs,
        )


# Ids go in GraphQL variables, never in a path, but an id of any other shape is refused all
# the same (nothing sent): a cart is ``gid://shopify/Cart/<token>``, often with ``?key=``, a
# line ``gid://shopify/CartLine/<id>?cart=<token>``
# (https://shopify.dev/docs/api/storefront/latest/objects/Cart,
# https://shopify.dev/docs/api/storefront/latest/objects/CartLine).
_OPAQUE = r"[A-Za-z0-9_-]{1,200}"
CART_ID = IdFormat(
    re.compile(rf"^gid://shopify/Cart/{_OPAQUE}(?:\?key={_OPAQUE})?$"),
    "a Shopify cart id (gid://shopify/Cart/<token>, optionally ?key=<key>)",
)
LINE_ID = IdFormat(
    re.compile(rf"^gid://shopify/CartLine/{_OPAQUE}(?:\?cart={_OPAQUE})?$"),
    "a Shopify cart line id (gid://shopify/CartLine/<id>?cart=<token>)",
)


def _cart_id(external_id: str) -> str:
    return CART_ID.checked(external_id, platform=PLATFORM)


def _line_id(line_id: str) -> str:
    return LINE_ID.checked(line_id, platform=PLATFORM)
