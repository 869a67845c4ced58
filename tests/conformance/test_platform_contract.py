"""The behaviour contract every ``CartPlatform`` keeps, run against each adapter over real HTTP
to its sandbox store, and against the fake.

Whatever the platform, the orchestrator sees the same results: lines with integer minor-unit
prices that add up, merged lines, quantities as the platform holds them, and each failure as the
same ``PlatformError`` class with the same ``cause`` and the same ``retryable`` meaning.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from adapters.base import CartContext, ExternalCart, LineRequest, ref_matches
from errors import (
    Cause,
    PlatformAuthFailed,
    PlatformError,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
    PlatformTimeout,
)
from tests.conformance.conftest import ATTEMPT_TIMEOUT_S, Ref, World, deadline

# One meaning per cause, whichever platform reported it.
RETRYABLE = {
    Cause.OUT_OF_STOCK: False,
    Cause.SKU_NOT_FOUND_ON_PLATFORM: False,
    Cause.AUTH_FAILED: False,
    Cause.RATE_LIMITED: True,
    Cause.PLATFORM_ERROR: True,
    Cause.PLATFORM_TIMEOUT: True,
}


def line(ref: Ref, quantity: int = 1, sku_id: str = "") -> LineRequest:
    return LineRequest(platform_ref=ref, quantity=quantity, sku_id=sku_id, name=sku_id)


async def create(world: World, *lines: LineRequest, seconds: float = 3.0) -> ExternalCart:
    return await world.adapter.create_cart(
        list(lines),
        currency="USD",
        deadline=deadline(seconds),
        cart_ref=f"bag_conformance_{time.monotonic_ns()}",
        context=CartContext(cart_id="cart_conformance", bag_id="bag_conformance"),
    )


def quantities(cart: ExternalCart, *refs: Ref) -> list[int | None]:
    found = [cart.line_for(ref) for ref in refs]
    return [ln.quantity if ln else None for ln in found]


async def held_lines(world: World) -> list[list[dict[str, Any]]]:
    """The line lists of the carts the platform holds that still have lines."""
    return [cart["lines"] for cart in await world.held() if cart["lines"]]


def held_quantity(lines: list[dict[str, Any]], ref: Ref) -> int | None:
    found = [ln["quantity"] for ln in lines if ref_matches(ref, ln["platform_ref"])]
    return found[0] if found else None


def assert_cause(exc: PlatformError, cause: Cause) -> None:
    assert exc.cause is cause, repr(exc)
    assert exc.retryable is RETRYABLE[cause], repr(exc)


async def test_create_and_get_give_integer_prices_that_add_up_and_the_platform_holds_them(
    world: World,
) -> None:
    a, b = world.in_stock
    cart = await create(world, line(a, 2, "sku-a"), line(b, 1, "sku-b"))
    assert cart.currency == "USD" and cart.external_id
    assert quantities(cart, a, b) == [2, 1]
    for held in cart.lines:
        assert isinstance(held.unit_price, int) and held.unit_price > 0
        assert held.line_price == held.unit_price * held.quantity
    assert cart.sub_total == sum(ln.line_price for ln in cart.lines)
    assert cart.problems == ()

    again = await world.adapter.get_cart(cart.external_id, deadline=deadline())
    assert again.external_id == cart.external_id
    assert quantities(again, a, b) == [2, 1] and again.sub_total == cart.sub_total

    [lines] = await held_lines(world)
    assert [held_quantity(lines, a), held_quantity(lines, b)] == [2, 1]


async def test_add_merges_update_sets_remove_and_delete_leave_nothing_held(world: World) -> None:
    a, b = world.in_stock
    adapter, until = world.adapter, deadline(6)
    cart = await create(world, line(a, 1, "sku-a"))
    cart = await adapter.add_lines(cart.external_id, [line(b, 1, "sku-b")], deadline=until)
    assert quantities(cart, a, b) == [1, 1]
    cart = await adapter.add_lines(cart.external_id, [line(a, 2, "sku-a")], deadline=until)
    assert quantities(cart, a, b) == [3, 1]  # the same product raises its line's quantity
    assert len(cart.lines) == 2

    line_a = cart.line_for(a)
    assert line_a is not None
    updated = await adapter.update_line(
        cart.external_id, line_a.external_id, 5, platform_ref=a, deadline=until
    )
    assert updated is not None and quantities(updated, a, b) == [5, 1]
    [lines] = await held_lines(world)
    assert [held_quantity(lines, a), held_quantity(lines, b)] == [5, 1]

    line_b = updated.line_for(b)
    assert line_b is not None
    after = await adapter.remove_line(cart.external_id, line_b.external_id, deadline=until)
    assert after is not None and quantities(after, a, b) == [5, None]
    line_a = after.line_for(a)
    assert line_a is not None
    last = await adapter.remove_line(cart.external_id, line_a.external_id, deadline=until)
    assert last is None or last.lines == ()  # deleted (BigCommerce's 204), or kept empty

    await adapter.delete_cart(cart.external_id, deadline=until)
    assert await held_lines(world) == []
    await adapter.delete_cart(cart.external_id, deadline=until)  # already gone: still success


async def test_an_out_of_stock_line_is_rejected_as_out_of_stock(world: World) -> None:
    with pytest.raises(PlatformRejected) as info:
        await create(world, line(world.triggers["out_of_stock"], 1, "sku-oos"))
    assert_cause(info.value, Cause.OUT_OF_STOCK)
    assert "sku-oos" in (info.value.data or {}).get("sku_ids", [])
    assert await held_lines(world) == []


async def test_out_of_stock_beside_a_good_line_is_rejected_whole_or_reported_on_the_line(
    world: World,
) -> None:
    a = world.in_stock[0]
    oos = world.triggers["out_of_stock"]
    try:
        cart = await create(world, line(a, 1, "sku-a"), line(oos, 1, "sku-oos"))
    except PlatformRejected as exc:  # BigCommerce: one request, all or nothing
        assert_cause(exc, Cause.OUT_OF_STOCK)
        assert await held_lines(world) == []
        return
    # Shopify's warnings, Elastic Path's partial bulk add: the cart holds what it could.
    assert quantities(cart, a, oos) == [1, None]
    [problem] = cart.problems
    assert problem.cause is Cause.OUT_OF_STOCK and problem.held_quantity == 0
    assert ref_matches(oos, problem.platform_ref) and problem.requested_quantity == 1
    [lines] = await held_lines(world)
    assert held_quantity(lines, a) == 1 and held_quantity(lines, oos) is None


async def test_a_product_unknown_to_the_platform_is_sku_not_found(world: World) -> None:
    with pytest.raises(PlatformRejected) as info:
        await create(world, line(world.triggers["not_on_platform"], 1, "sku-404"))
    assert_cause(info.value, Cause.SKU_NOT_FOUND_ON_PLATFORM)
    assert await held_lines(world) == []


async def test_throttling_that_persists_is_rate_limited_and_retryable(world: World) -> None:
    cart = await create(world, line(world.in_stock[0], 1, "sku-a"))
    await world.fault("rate_limit", method=_read_method(world), reset_ms=50)
    with pytest.raises(PlatformRateLimited) as info:
        await world.adapter.get_cart(cart.external_id, deadline=deadline(1.5))
    assert_cause(info.value, Cause.RATE_LIMITED)


async def test_one_throttled_answer_is_waited_out_and_makes_one_cart(world: World) -> None:
    if not hasattr(world, "registry"):
        pytest.skip("the fake has no retry engine: retries are the caller's, tested per adapter")
    await world.fault("rate_limit", count=1, reset_ms=50)
    cart = await create(world, line(world.in_stock[0], 1, "sku-a"))
    assert quantities(cart, world.in_stock[0]) == [1]
    assert len(await held_lines(world)) == 1


async def test_a_server_error_that_persists_is_a_retryable_platform_error(world: World) -> None:
    cart = await create(world, line(world.in_stock[0], 1, "sku-a"))
    await world.fault("error", status=500, method=_read_method(world))
    with pytest.raises(PlatformServerError) as info:
        await world.adapter.get_cart(cart.external_id, deadline=deadline(2))
    assert_cause(info.value, Cause.PLATFORM_ERROR)


async def test_no_answer_is_a_timeout_within_the_deadline(world: World) -> None:
    cart = await create(world, line(world.in_stock[0], 1, "sku-a"))
    await world.fault("hang", method=_read_method(world))
    started = time.monotonic()
    with pytest.raises(PlatformTimeout) as info:
        await world.adapter.get_cart(cart.external_id, deadline=deadline(0.3))
    # A real hang, so a generous bound only: without the deadline, 3 attempts of the attempt
    # timeout (3 x 0.6 s) would pass it.
    assert time.monotonic() - started < 0.3 + 1.2 < 3 * ATTEMPT_TIMEOUT_S
    assert_cause(info.value, Cause.PLATFORM_TIMEOUT)


async def test_a_create_whose_answer_is_lost_never_makes_a_second_cart(world: World) -> None:
    a = world.in_stock[0]
    await world.fault("apply_then_hang", count=1, method="POST")
    try:
        cart = await create(world, line(a, 1, "sku-a"), seconds=2.5)
    except PlatformTimeout as exc:  # the outcome is unknown: recorded, never blindly retried
        assert exc.may_have_applied
        cart = None
    held = await held_lines(world)
    assert len(held) <= 1  # at most the one the lost answer made
    if cart is not None:  # found again by its reference (Elastic Path)
        assert len(held) == 1 and held_quantity(held[0], a) == 1


async def test_wrong_credentials_are_an_auth_failure_never_retried(world: World) -> None:
    with pytest.raises(PlatformAuthFailed) as info:
        await world.with_bad_credentials().create_cart(
            [line(world.in_stock[0], 1, "sku-a")], currency="USD", deadline=deadline()
        )
    assert_cause(info.value, Cause.AUTH_FAILED)


def _read_method(world: World) -> str:
    """The HTTP method of a cart read: GraphQL reads are POSTs too."""
    return "POST" if world.platform == "SHOPIFY" else "GET"


async def test_a_create_applied_then_answered_500_never_makes_a_second_cart(world: World) -> None:
    if not hasattr(world, "registry"):
        pytest.skip("the fake has no retry engine: what a 500 may have applied is per adapter")
    a = world.in_stock[0]
    await world.fault("apply_then_error", count=1, status=500, method="POST")
    try:
        await create(world, line(a, 1, "sku-a"), seconds=2.5)
    except PlatformServerError as exc:  # the outcome is unknown: never blindly re-sent
        assert exc.may_have_applied
    held = await held_lines(world)
    assert len(held) == 1 and held_quantity(held[0], a) == 1
