"""One change of an external cart's lines, and what the platform holds afterwards.

Why: an add, a quantity change or a removal may fail in three ways that call for different
records. Refused (a 4xx, nothing sent): the platform holds what it held. Answered: the platform's
cart is the truth, whatever was asked. Unknown (a 5xx or no answer after sending): the change
may have been applied, and an add must never be sent blindly again (Shopify's
``cartLinesAdd`` and BigCommerce's and Elastic Path's item POSTs add the quantity again), so
the cart is read back (Shopify's docs advise re-reading the cart; Elastic Path's add is keyed by
the cart reference, which a read finds) and that read is the truth. Only when the read fails
too is the outcome left unknown; the line is then marked not held (``external_id`` None), and
its next change reads the platform first (``find_held``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog

from adapters import CartPlatform, ExternalCart, ExternalLine, ref_matches
from bags import Bag, OrderSku
from errors import Cause, PlatformError, PlatformNotFound, PlatformServerError, PlatformTimeout

log = structlog.get_logger("multicart.lines")
T = TypeVar("T")
READ_SHARE = 0.25  # of what is left of the deadline, kept for a read-back after an unknown write


@dataclass(frozen=True)
class Settled:
    """What a change left on the platform.

    ``external``: the cart as the platform holds it (its answer, or a read-back), or None.
    ``gone``: the platform no longer has the cart. ``unknown``: the write's outcome is
    unknown and could not be read back. ``error``: the write's failure, if it failed (with
    ``external`` set, the read-back says whether it applied anyway).
    """

    external: ExternalCart | None = None
    error: PlatformError | None = None
    gone: bool = False
    unknown: bool = False


async def call_within(platform: str, call: Callable[[], Awaitable[T]], deadline: float) -> T:
    """``call()`` cut at ``deadline``; only ``PlatformError``s leave (a cut call may apply)."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise PlatformTimeout(
            f"no time was left to call {platform}", platform=platform, may_have_applied=False
        )
    try:
        async with asyncio.timeout(remaining):
            return await call()
    except PlatformError:
        raise
    except TimeoutError:
        raise PlatformTimeout(
            f"{platform} did not answer before the request deadline", platform=platform
        ) from None
    except Exception as exc:  # a bug below us: its outcome is unknown, like a 5xx
        log.exception("line_call_crashed", platform=platform)
        raise PlatformServerError(
            f"{platform}: the call failed unexpectedly ({type(exc).__name__})", platform=platform
        ) from exc


async def read_back(adapter: CartPlatform, external_id: str, deadline: float) -> ExternalCart:
    platform = str(adapter.platform)
    return await call_within(
        platform, lambda: adapter.get_cart(external_id, deadline=deadline), deadline
    )


async def change(
    adapter: CartPlatform,
    external_id: str,
    write: Callable[[float], Awaitable[ExternalCart | None]],
    deadline: float,
) -> Settled:
    """Run ``write(its_deadline)``; when its outcome is unknown (or the platform says a cart or
    line is missing), read the cart back. The write leaves part of the deadline to the read."""
    platform = str(adapter.platform)
    write_deadline = deadline - (deadline - time.monotonic()) * READ_SHARE
    try:
        external = await call_within(platform, lambda: write(write_deadline), write_deadline)
    except PlatformError as exc:
        if not exc.may_have_applied and not isinstance(exc, PlatformNotFound):
            return Settled(error=exc)  # refused: nothing changed
        try:
            return Settled(external=await read_back(adapter, external_id, deadline), error=exc)
        except PlatformNotFound:
            return Settled(error=exc, gone=True)
        except PlatformError as read_error:
            log.warning("line_outcome_unknown", cause=str(exc.cause), read=str(read_error.cause))
            return Settled(error=exc, unknown=True)
    if external is None:
        return Settled(gone=True)
    return Settled(external=external)


async def find_held(
    adapter: CartPlatform, bag: Bag, platform_ref: Mapping[str, Any], deadline: float
) -> ExternalLine | None:
    """The platform's line for ``platform_ref`` in ``bag``'s external cart, read now (for a line
    our record does not know to be held). ``PlatformError`` when the read fails."""
    assert bag.external_id is not None
    return (await read_back(adapter, bag.external_id, deadline)).line_for(platform_ref)


def sync_bag(bag: Bag, external: ExternalCart) -> None:
    """Every line of ``bag`` takes what the platform holds (ids, quantities, prices)."""
    bag.platform_sub_total = external.sub_total
    if external.checkout_url:
        bag.checkout_url = external.checkout_url
    for sku in bag.skus:
        held = external.line_for(sku.platform_ref)
        if held is None:
            sku.external_id, sku.quantity, sku.line_price, sku.available = None, 0, 0, False
        else:
            sku.external_id, sku.quantity = held.external_id, held.quantity
            sku.price, sku.line_price, sku.available = held.unit_price, held.line_price, True


def shortfall(settled: Settled, line: OrderSku, wanted: int, platform: str) -> tuple[Cause, str]:
    """Why the platform holds ``line.quantity`` rather than ``wanted``: its own words first."""
    assert settled.external is not None
    for problem in settled.external.problems:
        if ref_matches(line.platform_ref, problem.platform_ref):
            return problem.cause, problem.message
    if settled.error is not None:
        return settled.error.cause, settled.error.message
    return (
        Cause.PLATFORM_REJECTED,
        f"{platform} holds {line.quantity} of this item where {wanted} were asked",
    )
