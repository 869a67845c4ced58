"""The Shopify adapter's reading of a mutation that ran and refused: ``userErrors`` and stock
``warnings``, each tied to the line that asked.
"""

from __future__ import annotations

from typing import Any

import pytest
import respx

from adapters.base import LineProblem
from adapters.shopify import ShopifyAdapter
from errors import Cause, PlatformError, PlatformNotFound, PlatformRejected, PlatformUnavailable
from tests.adapters.conftest import deadline
from tests.adapters.shopify_answers import (
    CART_ID,
    CART_TOKEN,
    LINE_A,
    LINE_B,
    VARIANT_A,
    VARIANT_B,
    A,
    B,
    answer,
    cart,
    node,
    user_error,
)

# --- userErrors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("errors", "error", "cause", "skus"),
    [
        (  # unknown variant: CartUserError INVALID on merchandiseId (shopify.dev CartUserError)
            [
                user_error(
                    "INVALID",
                    ["input", "lines", "1", "merchandiseId"],
                    f"The merchandise with id {VARIANT_B} does not exist.",
                )
            ],
            PlatformRejected,
            Cause.SKU_NOT_FOUND_ON_PLATFORM,
            ["sku_b"],
        ),
        (
            [
                user_error(
                    "MERCHANDISE_NOT_APPLICABLE",
                    ["input", "lines", "0"],
                    "This item is sold out and cannot be purchased.",
                )
            ],
            PlatformRejected,
            Cause.OUT_OF_STOCK,
            ["sku_a"],
        ),
        (
            [
                user_error(
                    "MERCHANDISE_NOT_APPLICABLE",
                    ["input", "lines", "1", "merchandiseId"],
                    "The product does not exist.",
                )
            ],
            PlatformRejected,
            Cause.SKU_NOT_FOUND_ON_PLATFORM,
            ["sku_b"],
        ),
        (
            [
                user_error(
                    "MAXIMUM_EXCEEDED",
                    ["input", "lines", "0", "quantity"],
                    "You can only add 1 of this item.",
                )
            ],
            PlatformRejected,
            Cause.PLATFORM_REJECTED,
            ["sku_a"],
        ),
        (
            [
                user_error(
                    "INVALID_INCREMENT", ["input", "lines", "1", "quantity"], "Multiples of 3"
                )
            ],
            PlatformRejected,
            Cause.PLATFORM_REJECTED,
            ["sku_b"],
        ),
        (
            [user_error("VARIANT_REQUIRES_SELLING_PLAN", None, "Needs a subscription.")],
            PlatformRejected,
            Cause.PLATFORM_REJECTED,
            ["sku_a", "sku_b"],  # no field: every SKU of the call
        ),
        (
            [user_error(None, None, "Something is off.")],
            PlatformRejected,
            Cause.PLATFORM_REJECTED,
            ["sku_a", "sku_b"],
        ),
        (  # several: the unknown item decides over the quantity rule
            [
                user_error("MINIMUM_NOT_MET", ["input", "lines", "0", "quantity"], "At least 3."),
                user_error("INVALID", ["input", "lines", "1", "merchandiseId"], "does not exist."),
            ],
            PlatformRejected,
            Cause.SKU_NOT_FOUND_ON_PLATFORM,
            ["sku_b"],
        ),
    ],
)
async def test_user_errors_on_create_map_to_one_cause_naming_the_skus_and_are_not_retried(
    shop: ShopifyAdapter,
    gql: respx.Route,
    errors: list[dict[str, Any]],
    error: type[PlatformError],
    cause: Cause,
    skus: list[str],
) -> None:
    gql.mock(return_value=answer("cartCreate", None, errors))
    with pytest.raises(error) as info:
        await shop.create_cart([A, B], currency="USD", deadline=deadline())
    assert info.value.cause == cause
    assert info.value.data == {"sku_ids": skus}
    assert info.value.platform_status == 200
    assert errors[-1]["message"] in info.value.message
    assert gql.call_count == 1


async def test_an_unknown_cart_on_add_is_not_found(shop: ShopifyAdapter, gql: respx.Route) -> None:
    gone = user_error("INVALID", ["cartId"], "The specified cart does not exist.")
    gql.mock(return_value=answer("cartLinesAdd", None, [gone]))
    with pytest.raises(PlatformNotFound) as info:
        await shop.add_lines(CART_ID, [A], deadline=deadline())
    assert info.value.cause == Cause.CART_NOT_FOUND_ON_PLATFORM
    assert gql.call_count == 1


async def test_an_unknown_line_on_update_is_not_found(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    missing = user_error(
        "INVALID_MERCHANDISE_LINE", ["lines", "0", "id"], "Merchandise line was not found in cart."
    )
    gql.mock(return_value=answer("cartLinesUpdate", None, [missing]))
    with pytest.raises(PlatformNotFound, match="not found in cart"):
        await shop.update_line(CART_ID, LINE_B, 1, platform_ref=B.platform_ref, deadline=deadline())


async def test_service_unavailable_user_error_saved_nothing_and_is_retried_even_for_a_create(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    failed = user_error("SERVICE_UNAVAILABLE", None, "An error occurred while saving the cart.")
    gql.mock(side_effect=[answer("cartCreate", None, [failed]), answer("cartCreate", cart())])
    result = await shop.create_cart([A], currency="USD", deadline=deadline())
    assert result.external_id == CART_ID and gql.call_count == 2


async def test_service_unavailable_every_time_is_unavailable(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    failed = user_error("SERVICE_UNAVAILABLE", None, "An error occurred while saving the cart.")
    gql.mock(return_value=answer("cartCreate", None, [failed]))
    with pytest.raises(PlatformUnavailable) as info:
        await shop.create_cart([A], currency="USD", deadline=deadline())
    assert info.value.may_have_applied is False and gql.call_count == 3


# --- stock warnings -------------------------------------------------------------------------------


async def test_stock_warnings_become_line_problems_with_what_the_cart_holds(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    # B asked 5 and was clamped to 3; A was dropped (its line id is in the cart no more).
    dropped_line = f"gid://shopify/CartLine/dead0000-0000-0000-0000-000000000000?cart={CART_TOKEN}"
    clamped = node(LINE_B, VARIANT_B, 3, "10.0", "30.0")
    warnings = [
        {
            "code": "MERCHANDISE_NOT_ENOUGH_STOCK",
            "message": "Only 3 items were added to your cart due to availability.",
            "target": LINE_B,
        },
        {
            "code": "MERCHANDISE_OUT_OF_STOCK",
            "message": "Trail Tent is out of stock.",
            "target": dropped_line,
        },
        {"code": "DISCOUNT_NOT_FOUND", "message": "no such code", "target": CART_ID},
    ]
    gql.mock(return_value=answer("cartCreate", cart([clamped], subtotal="30.0"), (), warnings))

    result = await shop.create_cart([A, B], currency="USD", deadline=deadline())

    assert [ln.quantity for ln in result.lines] == [3]
    assert result.problems == (
        LineProblem(
            platform_ref={"variant_id": VARIANT_B},
            cause=Cause.OUT_OF_STOCK,
            message="Only 3 items were added to your cart due to availability.",
            requested_quantity=5,
            held_quantity=3,
        ),
        LineProblem(
            platform_ref={"variant_id": VARIANT_A},
            cause=Cause.OUT_OF_STOCK,
            message="Trail Tent is out of stock.",
            requested_quantity=2,
            held_quantity=0,
        ),
    )


async def test_a_warning_may_name_the_variant_itself(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    warning = {"code": "MERCHANDISE_OUT_OF_STOCK", "message": "Sold out", "target": VARIANT_B}
    gql.mock(return_value=answer("cartLinesAdd", cart(), (), [warning]))
    result = await shop.add_lines(CART_ID, [B], deadline=deadline())
    assert [(p.platform_ref, p.held_quantity, p.requested_quantity) for p in result.problems] == [
        ({"variant_id": VARIANT_B}, 0, 5)
    ]


async def test_a_create_that_dropped_every_line_is_out_of_stock_naming_the_skus(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    warnings = [
        {"code": "MERCHANDISE_OUT_OF_STOCK", "message": "A is out of stock.", "target": LINE_A},
        {"code": "MERCHANDISE_OUT_OF_STOCK", "message": "B is out of stock.", "target": LINE_B},
    ]
    empty = cart(lines=[], subtotal="0.0")
    gql.mock(return_value=answer("cartCreate", empty, (), warnings))
    with pytest.raises(PlatformRejected) as info:
        await shop.create_cart([A, B], currency="USD", deadline=deadline())
    assert info.value.cause == Cause.OUT_OF_STOCK
    assert info.value.data == {"sku_ids": ["sku_a", "sku_b"]}
    assert "A is out of stock." in info.value.message
    assert gql.call_count == 1
