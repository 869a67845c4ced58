"""An in-memory ``CartPlatform`` and registry for orchestrator unit tests ("fakes over mocks").

Why it exists: the orchestrator's use cases should be tested against something that behaves like
a platform (carts with ids, lines that merge, prices, deletes, failures) without HTTP. Failures
are scripted: ``fail_next(op, exc)``, a set of out-of-stock refs, an optional delay per call.

``hook`` (optional) lets a test hold or fail a call at two points, before the platform applies
it and after it applied but before the answer returns; ``carts`` is the store's ground truth,
each cart naming the bag it was made for (``made_for``). The invariant explorer (``explore/``)
drives interleavings and faults through them.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from adapters.base import (
    Capabilities,
    CartContext,
    CartPlatform,
    ExternalCart,
    ExternalLine,
    LineRequest,
)
from adapters.calls.ids import IdFormat
from adapters.registry import PLATFORMS, PlatformRows
from bags import Platform
from errors import Cause, PlatformNotFound, PlatformRejected

_ids = itertools.count(1)

# Called on entry to every platform call with its op name; may wait or raise (nothing applied).
# What it returns, if anything, is awaited once the call has applied, before the answer: it may
# wait or raise too (applied, answer lost).
AfterApply = Callable[[], Awaitable[None]]
CallHook = Callable[[str], Awaitable[AfterApply | None]]


def ref_key(platform_ref: Mapping[str, Any]) -> str:
    """The price-map key of a platform ref: ``"product_id=1,variant_id=2"`` (keys sorted)."""
    return ",".join(f"{k}={v}" for k, v in sorted(platform_ref.items()))


@dataclass
class _Line:
    id: str
    ref: dict[str, Any]
    quantity: int
    unit_price: int
    name: str


@dataclass
class _Cart:
    id: str
    currency: str
    lines: list[_Line] = field(default_factory=list)
    made_for: str = ""  # the bag id it was created for (context or reference); "" if unknown


class FakePlatform:
    """One merchant store in memory. ``calls`` records ``(op, args)`` of every call."""

    def __init__(
        self,
        prices: Mapping[str, int] | None = None,
        *,
        platform: Platform = Platform("BIGCOMMERCE"),
        capabilities: Capabilities | None = None,
        default_price: int | None = None,
        out_of_stock: set[str] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.platform = platform
        # The platform's own, from its row, unless the test gives others.
        self.capabilities = capabilities or PLATFORMS[platform].capabilities
        self.prices = dict(prices or {})
        self.default_price = default_price
        self.out_of_stock: set[str] = set(out_of_stock or ())
        self.delay = delay
        self.carts: dict[str, _Cart] = {}
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self._failures: dict[str, list[BaseException]] = {}
        self._lost_answers: dict[str, list[BaseException]] = {}
        self.hook: CallHook | None = None

    def fail_next(self, op: str, exc: BaseException, times: int = 1) -> None:
        """The next ``times`` calls of ``op`` (e.g. ``"create_cart"``) raise ``exc``."""
        self._failures.setdefault(op, []).extend([exc] * times)

    def lose_answer_next(self, op: str, exc: BaseException, times: int = 1) -> None:
        """The next ``times`` calls of ``op`` are applied, then raise ``exc``: a lost answer."""
        self._lost_answers.setdefault(op, []).extend([exc] * times)

    def _answer(self, op: str, result: ExternalCart) -> ExternalCart:
        lost = self._lost_answers.get(op)
        if lost:
            raise lost.pop(0)
        return result

    async def _enter(self, op: str, *args: Any) -> AfterApply | None:
        self.calls.append((op, args))
        after = await self.hook(op) if self.hook is not None else None
        if self.delay:
            await asyncio.sleep(self.delay)
        pending = self._failures.get(op)
        if pending:
            raise pending.pop(0)
        return after

    @staticmethod
    async def _applied(after: AfterApply | None) -> None:
        if after is not None:
            await after()

    def _rejected(
        self, message: str, cause: Cause, data: dict[str, Any] | None = None
    ) -> PlatformRejected:
        """The platform's refusal of a line: no such product (a 404), or out of stock (422)."""
        status = 404 if cause is Cause.SKU_NOT_FOUND_ON_PLATFORM else 422
        return PlatformRejected(
            message, platform=self.platform, cause=cause, status=status, data=data
        )

    def _priced(self, line: LineRequest) -> _Line:
        key = ref_key(line.platform_ref)
        data = {"sku_ids": [line.sku_id]} if line.sku_id else None
        price = self.prices.get(key, self.default_price)
        if price is None:
            raise self._rejected(
                f"{self.platform} has no product {key}", Cause.SKU_NOT_FOUND_ON_PLATFORM, data
            )
        if key in self.out_of_stock:
            raise self._rejected(f"{line.name or key} is out of stock", Cause.OUT_OF_STOCK, data)
        return _Line(f"line-{next(_ids)}", dict(line.platform_ref), line.quantity, price, line.name)

    def _add(self, cart: _Cart, lines: Sequence[LineRequest]) -> None:
        priced = [self._priced(line) for line in lines]  # all or nothing, like one request
        for new in priced:
            held = next((ln for ln in cart.lines if ln.ref == new.ref), None)
            if held is None:
                cart.lines.append(new)
            else:
                held.quantity += new.quantity

    def _cart(self, external_id: str) -> _Cart:
        try:
            return self.carts[external_id]
        except KeyError:
            raise PlatformNotFound(
                f"{self.platform} has no cart {external_id}",
                platform=self.platform,
                status=404,
            ) from None

    def snapshot(self, external_id: str) -> ExternalCart:
        cart = self._cart(external_id)
        lines = tuple(
            ExternalLine(
                ln.id,
                dict(ln.ref),
                ln.quantity,
                ln.unit_price,
                ln.unit_price * ln.quantity,
                ln.name,
            )
            for ln in cart.lines
        )
        return ExternalCart(
            external_id=cart.id,
            currency=cart.currency,
            sub_total=sum(ln.line_price for ln in lines),
            lines=lines,
            checkout_url=f"https://fake.example/checkout/{cart.id}",
        )

    async def create_cart(
        self,
        lines: Sequence[LineRequest],
        *,
        currency: str,
        deadline: float,
        cart_ref: str | None = None,
        context: CartContext | None = None,
    ) -> ExternalCart:
        after = await self._enter("create_cart", tuple(lines), currency)
        # The caller's reference is the cart's id only where the platform takes one (Elastic
        # Path); elsewhere the platform mints it, so a second create for one bag is a second
        # cart here too, as it would be there. A second create under a reference finds the
        # cart it names, lines unchanged (the Elastic Path adapter never adds a line twice).
        if cart_ref is not None and self.capabilities.caller_chosen_cart_ids:
            cart_id = cart_ref
        else:
            cart_id = f"cart-{next(_ids)}"
        if cart_id not in self.carts:
            made_for = context.bag_id if context is not None else (cart_ref or "")
            cart = _Cart(cart_id, currency, made_for=made_for)
            self._add(cart, lines)
            self.carts[cart.id] = cart
        made = self.snapshot(cart_id)  # the answer as of applying, however long it is held
        await self._applied(after)
        return self._answer("create_cart", made)

    async def get_cart(self, external_id: str, *, deadline: float) -> ExternalCart:
        after = await self._enter("get_cart", external_id)
        found = self.snapshot(external_id)
        await self._applied(after)
        return found

    async def add_lines(
        self, external_id: str, lines: Sequence[LineRequest], *, deadline: float
    ) -> ExternalCart:
        after = await self._enter("add_lines", external_id, tuple(lines))
        self._add(self._cart(external_id), lines)
        held = self.snapshot(external_id)
        await self._applied(after)
        return self._answer("add_lines", held)

    async def update_line(
        self,
        external_id: str,
        line_id: str,
        quantity: int,
        *,
        platform_ref: Mapping[str, Any],
        deadline: float,
    ) -> ExternalCart | None:
        after = await self._enter("update_line", external_id, line_id, quantity)
        line = self._line(external_id, line_id)
        if ref_key(line.ref) in self.out_of_stock:
            raise self._rejected(f"{line.name} is out of stock", Cause.OUT_OF_STOCK)
        line.quantity = quantity
        held = self.snapshot(external_id)
        await self._applied(after)
        return held

    async def remove_line(
        self, external_id: str, line_id: str, *, deadline: float
    ) -> ExternalCart | None:
        after = await self._enter("remove_line", external_id, line_id)
        cart = self._cart(external_id)
        cart.lines.remove(self._line(external_id, line_id))
        if not cart.lines and self.capabilities.can_delete_cart:
            del self.carts[external_id]  # BigCommerce deletes an emptied cart (its 204)
            await self._applied(after)
            return None
        held = self.snapshot(external_id)
        await self._applied(after)
        return held

    async def delete_cart(self, external_id: str, *, deadline: float) -> None:
        after = await self._enter("delete_cart", external_id)
        self.carts.pop(external_id, None)
        await self._applied(after)

    async def aclose(self) -> None:
        return None

    def _line(self, external_id: str, line_id: str) -> _Line:
        for line in self._cart(external_id).lines:
            if line.id == line_id:
                return line
        raise PlatformNotFound(
            f"no line {line_id} in cart {external_id}", platform=self.platform, status=404
        )


FAKE_CART_ID = IdFormat(re.compile(r"^[A-Za-z0-9_-]{1,64}$"), "a fake platform's cart id")


class FakeRegistry(PlatformRows):
    """``AdapterRegistry``'s surface, handing out one ``FakePlatform`` per merchant id: the
    rows' platforms and models, without transports."""

    def __init__(self, platforms: Mapping[str, FakePlatform] | None = None, **defaults: Any):
        super().__init__()
        self.platforms: dict[str, FakePlatform] = dict(platforms or {})
        self._defaults = defaults  # FakePlatform arguments for merchants not given
        self.closed = False
        self.circuit_resets: list[tuple[Platform, dict[str, Any]]] = []

    def cart_id_problem(self, platform: Platform | str, external_id: str) -> str | None:
        """The fake's own ids (``cart-7``), whatever the merchant's platform: the same shape
        of check as the registry's, so a hostile id is refused before the fake is called."""
        return FAKE_CART_ID.problem(external_id)

    def for_merchant(
        self, merchant_id: str, platform: Platform | str, connection: Mapping[str, Any]
    ) -> CartPlatform:
        if merchant_id not in self.platforms:
            self.platforms[merchant_id] = FakePlatform(
                platform=Platform(platform), **self._defaults
            )
        return self.platforms[merchant_id]

    def reset_circuits(self, platform: Platform | str, connection: Mapping[str, Any]) -> int:
        self.circuit_resets.append((Platform(platform), dict(connection)))
        return 0

    async def aclose(self) -> None:
        self.closed = True
