"""Elastic Path Commerce Cloud Carts v2 as a ``CartPlatform``.

Why it exists: this is the one place that knows Elastic Path's cart routes and how its calls are
made (https://elasticpath.dev/docs/api/carts/cart-management); bodies and answers are translated
in ``adapters.elastic_path.payloads``, errors in ``...failures``, the bearer token is
``...auth``. It speaks ``adapters.base`` types upward and raises only ``errors.PlatformError``
subclasses; timing, retries, bulkheads and the store's breaker come from ``adapters.calls``.

A create is idempotent per cart reference (the bag id). ``GET /v2/carts/{ref}`` returns the cart
of that id and makes an empty one when there is none ("If a cart ID does not exist, a new cart
will be automatically created", https://elasticpath.dev/docs/api/carts/get-a-cart); this is the
documented way to a caller-chosen id. ``POST /v2/carts`` is not idempotent: its OpenAPI body has
no ``id`` (one docs page, https://elasticpath.dev/docs/api/carts/create-a-cart, lists an optional
one) and what it answers for an id that exists is not documented. So a create reads the cart,
sets its name and attributes (an absolute PUT), and adds only the lines the cart does not hold
yet: re-creating after an unknown outcome finds the same cart and never adds a line twice.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from adapters.base import Capabilities, CartContext, ExternalCart, LineRequest
from adapters.calls.caller import PlatformCaller, StaticAuth, rest_classifier
from adapters.calls.http import Answer, Transport
from adapters.calls.policy import RetryPolicy, RetryRules
from adapters.calls.resilience import Bulkheads, Resilience
from adapters.elastic_path.auth import FORM_HEADERS, ClientCredentialsAuth
from adapters.elastic_path.connection import ElasticPathConnection
from adapters.elastic_path.failures import (
    NAME,
    PLATFORM,
    ItemsRejected,
    line_problems,
    map_error,
    rejection,
    token_error,
)
from adapters.elastic_path.payloads import (
    CART_ID,
    ITEM_ID,
    CartState,
    bulk_add,
    cart_fields,
    cart_item,
    cart_ref_of,
    cart_state,
    items_cart,
    quantity_update,
)
from errors import PlatformConflict, PlatformError, PlatformNotFound

T = TypeVar("T")

# Elastic Path documents no 5xx as "not applied, retry": a 5xx to an add leaves its outcome
# unknown, and a create is then resolved by re-creating under the same reference.
RETRY_RULES = RetryRules()
# 409 "Write conflict detected": a concurrent write to the same cart won and this one was not
# applied (https://elasticpath.dev/guides/Getting-Started/errors), so it is sent once more.
CONFLICT_PAUSE_S = 0.05


class ElasticPathAdapter:
    platform = NAME
    capabilities = Capabilities(can_delete_cart=True, caller_chosen_cart_ids=True)

    def __init__(
        self,
        merchant_id: str,
        connection: ElasticPathConnection,
        transport: Transport,
        resilience: Resilience,
        policy: RetryPolicy,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.merchant_id = merchant_id
        self._base = connection.api_url
        # The token fetch runs inside a carts call's bulkhead slots (a 401's refresh does):
        # taking a slot of the same bulkheads could wait on itself, so it has its own, and its
        # own breaker key; calls and failures are still counted with the platform's.
        token_resilience = copy.copy(resilience)
        token_resilience.bulkheads = Bulkheads(2)
        token_resilience.store_bulkheads = Bulkheads(2)
        self.auth = ClientCredentialsAuth(
            connection,
            PlatformCaller(
                platform=PLATFORM,
                merchant_id=merchant_id,
                store_key=f"{self._base}/oauth/access_token",
                transport=transport,
                resilience=token_resilience,
                policy=policy,
                classify=rest_classifier(token_error),
                auth=StaticAuth(FORM_HEADERS),
            ),
            clock=clock,
        )
        self._caller = PlatformCaller(
            platform=PLATFORM,
            merchant_id=merchant_id,
            store_key=self._base,
            transport=transport,
            resilience=resilience,
            policy=policy,
            classify=rest_classifier(map_error),
            auth=self.auth,
        )

    # --- CartPlatform ----------------------------------------------------------------------

    async def create_cart(
        self,
        lines: Sequence[LineRequest],
        *,
        currency: str,
        deadline: float,
        cart_ref: str | None = None,
        context: CartContext | None = None,
    ) -> ExternalCart:
        ref = cart_ref_of(cart_ref)
        for line in lines:
            cart_item(line)  # every catalog reference is checked before any call
        wanted = cart_fields(ref, context)
        sku_ids = [line.sku_id for line in lines if line.sku_id]
        state: CartState = await self._call(
            "create_cart", "GET", _cart(ref), deadline=deadline, idempotent=True,
            sku_ids=sku_ids, parse=cart_state,
        )  # fmt: skip
        held: ExternalCart | None = None
        try:
            if state.fields != wanted:
                await self._call(
                    "create_cart", "PUT", _cart(ref), deadline=deadline, idempotent=True,
                    json={"data": wanted}, sku_ids=sku_ids, parse=lambda _response: None,
                )  # fmt: skip
            if state.has_items is False:
                held = ExternalCart(external_id=ref, currency=currency, sub_total=0, lines=())
            else:  # a re-create: read what an earlier attempt added
                held = await self._items("create_cart", ref, currency, deadline)
            cart, refused = await self._fill(ref, held, lines, currency, deadline)
            if refused is not None and not cart.lines:
                raise refused
            return cart
        except PlatformError as exc:
            empty = state.has_items is False if held is None else not held.lines
            if empty and not exc.may_have_applied:
                await self._discard(ref, deadline)  # no empty cart left behind
            raise

    async def get_cart(self, external_id: str, *, deadline: float) -> ExternalCart:
        # The items collection carries the cart's lines and its display_price totals; an
        # unknown id is an empty cart, never a 404 (https://elasticpath.dev/docs/api/carts/get-cart-items).
        return await self._items("get_cart", external_id, "", deadline)

    async def add_lines(
        self, external_id: str, lines: Sequence[LineRequest], *, deadline: float
    ) -> ExternalCart:
        current = ExternalCart(external_id=external_id, currency="", sub_total=0, lines=())
        cart, refused = await self._add("add_lines", external_id, current, lines, "", deadline)
        if refused is not None:
            raise refused
        return cart

    async def update_line(
        self,
        external_id: str,
        line_id: str,
        quantity: int,
        *,
        platform_ref: Mapping[str, Any],
        deadline: float,
    ) -> ExternalCart | None:
        return await self._set_quantity("update_line", external_id, line_id, quantity, deadline)

    async def remove_line(
        self, external_id: str, line_id: str, *, deadline: float
    ) -> ExternalCart | None:
        # The OpenAPI answers 200 with the items, newer docs 204 (on which the cart is read)
        # (https://elasticpath.dev/docs/api/carts/delete-a-cart-item). An Elastic Path cart
        # outlives its last item, so this never returns None.
        unknown: list[PlatformError] = []
        try:
            cart = await self._call(
                "remove_line", "DELETE", f"{_cart(external_id)}/items/{_seg(line_id)}",
                deadline=deadline, idempotent=True, unknown=unknown,
                parse=lambda r: items_cart(r, external_id)[0] if r.body.strip() else None,
            )  # fmt: skip
        except PlatformNotFound:
            if not unknown:
                raise
            # A retry found the item gone after an attempt whose answer was lost: it applied.
            cart = await self.get_cart(external_id, deadline=deadline)
            if any(line.external_id == line_id for line in cart.lines):
                raise
        return cart if cart is not None else await self.get_cart(external_id, deadline=deadline)

    async def delete_cart(self, external_id: str, *, deadline: float) -> None:
        try:
            await self._call(
                "delete_cart", "DELETE", _cart(external_id), deadline=deadline,
                idempotent=True, parse=lambda _response: None,
            )  # fmt: skip
        except PlatformNotFound:
            return  # already gone: what deleting wanted

    async def aclose(self) -> None:
        """Nothing to release: the client, bulkheads and breakers belong to the registry."""

    # --- steps ------------------------------------------------------------------------------

    async def _items(self, op: str, ref: str, currency: str, deadline: float) -> ExternalCart:
        cart, _errors = await self._call(
            op, "GET", f"{_cart(ref)}/items", deadline=deadline, idempotent=True,
            parse=lambda r: items_cart(r, ref, currency),
        )  # fmt: skip
        return cart

    async def _set_quantity(
        self, op: str, ref: str, item_id: str, quantity: int, deadline: float
    ) -> ExternalCart:
        # An absolute quantity: safe to repeat (https://elasticpath.dev/docs/api/carts/update-a-cart-item).
        cart, _errors = await self._call(
            op, "PUT", f"{_cart(ref)}/items/{_seg(item_id)}", deadline=deadline,
            idempotent=True, json=quantity_update(item_id, quantity),
            parse=lambda r: items_cart(r, ref),
        )  # fmt: skip
        return cart

    async def _fill(
        self,
        ref: str,
        held: ExternalCart,
        lines: Sequence[LineRequest],
        currency: str,
        deadline: float,
    ) -> tuple[ExternalCart, ItemsRejected | None]:
        """Make ``held`` hold ``lines``: set the quantity of a held line that differs, add the
        missing ones (a line two requested lines map to is left as it is)."""
        cart, missing = held, []
        for line in lines:
            found = held.line_for(line.platform_ref)
            if found is None:
                missing.append(line)
            elif found.quantity != line.quantity and [
                other for other in lines if held.line_for(other.platform_ref) is found
            ] == [line]:
                cart = await self._set_quantity(
                    "create_cart", ref, found.external_id, line.quantity, deadline
                )
        if not missing:
            return cart, None
        return await self._add("create_cart", ref, cart, missing, currency, deadline)

    async def _add(
        self,
        op: str,
        ref: str,
        before: ExternalCart,
        lines: Sequence[LineRequest],
        currency: str,
        deadline: float,
    ) -> tuple[ExternalCart, ItemsRejected | None]:
        """One bulk add (https://elasticpath.dev/docs/api/carts/manage-carts): the cart, its
        per-line problems, and the error when none of ``lines`` was added."""
        sku_ids = [line.sku_id for line in lines if line.sku_id]
        refused: ItemsRejected | None = None
        try:
            cart, errors = await self._call(
                op, "POST", f"{_cart(ref)}/items", deadline=deadline, idempotent=False,
                json=bulk_add(lines), sku_ids=sku_ids,
                # Without it "the products in the cart are converted to your default currency";
                # the first item fixes the cart's (https://elasticpath.dev/docs/api/carts/cart-management).
                extra_headers={"X-MOLTIN-CURRENCY": currency} if currency else None,
                parse=lambda r: items_cart(r, ref, currency),
            )  # fmt: skip
        except ItemsRejected as exc:
            errors, refused = list(exc.items), exc
            if len(lines) == 1:
                cart = before
            else:
                # Several items with add_all_or_nothing false: the valid ones may be in the cart
                # although the answer is an error (its status is not documented). Read it back.
                try:
                    cart = await self._items(op, ref, currency, deadline)
                except PlatformError:
                    raise exc from None
        cart = dataclasses.replace(
            cart, problems=cart.problems + line_problems(lines, errors, cart)
        )
        if any(cart.line_for(line.platform_ref) for line in lines):
            return cart, None
        if refused is None and errors:  # a success status that added none of them
            refused = rejection(errors, status=None, sku_ids=sku_ids)
        return cart, refused

    async def _discard(self, ref: str, deadline: float) -> None:
        """Best effort, within the deadline: a failure is logged, the create's error stands."""
        try:
            await self.delete_cart(ref, deadline=deadline)
        except PlatformError as exc:
            self._caller.log.warning("empty_cart_not_deleted", cart_ref=ref, cause=str(exc.cause))

    async def _call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        deadline: float,
        parse: Callable[[Answer], T],
        **kwargs: Any,
    ) -> T:
        url = self._base + path
        try:
            return await self._caller.call(
                op, method, url, deadline=deadline, parse=parse, **kwargs
            )
        except PlatformConflict:
            if time.monotonic() + CONFLICT_PAUSE_S >= deadline:
                raise
            await asyncio.sleep(CONFLICT_PAUSE_S)
            return await self._caller.call(
                op, method, url, deadline=deadline, parse=parse, **kwargs
            )


def _seg(item_id: str) -> str:
    """A cart item id as one path segment (``adapters.calls.ids``)."""
    return ITEM_ID.segment(item_id, platform=PLATFORM)


def _cart(ref: str) -> str:
    return f"/v2/carts/{CART_ID.segment(ref, platform=PLATFORM)}"
