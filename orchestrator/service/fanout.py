"""Create every bag's external cart concurrently, within one deadline, never failing the others.

``creation_call`` is the one way a bag's external cart is asked for (create, bag retry, a line
change that makes a new bag, the reconciler's look-up by reference all use it), ``fan_out``
runs such calls. Each bag's creation runs as its own task; a slow or failing merchant costs
only its own bag.
Whatever a task ends with (an ``ExternalCart`` or a ``PlatformError``) becomes a ``BagOutcome``;
no exception escapes except cancellation of the whole request.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import structlog

from adapters import CartContext, CartPlatform, ExternalCart, LineRequest
from bags import Bag, Cart
from errors import Cause, PlatformError, PlatformServerError, PlatformTimeout

log = structlog.get_logger("multicart.fanout")


@dataclass(frozen=True)
class BagOutcome:
    bag_id: str
    cart: ExternalCart | None = None
    error: PlatformError | None = None


def creation_call(
    adapter: CartPlatform, cart: Cart, bag: Bag, deadline: float
) -> Callable[[], Awaitable[ExternalCart]]:
    """The create of ``bag``'s external cart, under the bag's id as its reference."""
    lines = [
        LineRequest(platform_ref=s.platform_ref, quantity=s.quantity, sku_id=s.sku_id, name=s.name)
        for s in bag.skus
    ]
    context = CartContext(
        cart_id=cart.id, bag_id=bag.id, customer_id=cart.customer_id, name=cart.name
    )

    def call() -> Awaitable[ExternalCart]:
        return adapter.create_cart(
            lines, currency=bag.currency, deadline=deadline, cart_ref=bag.id, context=context
        )

    return call


async def _run_one(
    bag_id: str,
    platform: str,
    call: Callable[[], Awaitable[ExternalCart]],
    deadline: float,
) -> BagOutcome:
    remaining = deadline - time.monotonic()
    try:
        if remaining <= 0:
            raise TimeoutError
        async with asyncio.timeout(remaining):
            return BagOutcome(bag_id, cart=await call())
    except PlatformError as exc:
        return BagOutcome(bag_id, error=exc)
    except TimeoutError:
        # The deadline cut the call short: the platform may still apply it.
        return BagOutcome(
            bag_id,
            error=PlatformTimeout(
                f"{platform} did not answer before the request deadline",
                platform=platform,
                cause=Cause.PLATFORM_TIMEOUT,
                may_have_applied=True,
            ),
        )
    except Exception as exc:  # a bug below us: contained to this bag, never its siblings
        log.exception("bag_call_crashed", bag_id=bag_id, platform=platform)
        return BagOutcome(
            bag_id,
            error=PlatformServerError(
                f"{platform}: the call failed unexpectedly ({type(exc).__name__})",
                platform=platform,
                may_have_applied=True,
            ),
        )


async def fan_out(
    calls: Sequence[tuple[str, str, Callable[[], Awaitable[ExternalCart]]]],
    deadline: float,
) -> dict[str, BagOutcome]:
    """Run ``(bag_id, platform, call)`` triples concurrently; one outcome per bag id."""
    if len(calls) == 1:  # no task overhead for the common single-bag cart
        bag_id, platform, call = calls[0]
        return {bag_id: await _run_one(bag_id, platform, call, deadline)}
    tasks = [asyncio.create_task(_run_one(b, p, c, deadline)) for b, p, c in calls]
    try:
        outcomes = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        raise
    return {o.bag_id: o for o in outcomes}
