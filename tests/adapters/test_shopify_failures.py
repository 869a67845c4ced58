"""The Shopify adapter's failed calls: top-level GraphQL errors in a 200, HTTP statuses, and what
is retried.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from adapters.shopify import ShopifyAdapter
from errors import (
    Cause,
    PlatformAuthFailed,
    PlatformError,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
    PlatformTimeout,
)
from tests.adapters.conftest import FakeClock, deadline
from tests.adapters.shopify_answers import CART_ID, LINE_A, A, answer, cart, queried

# --- top-level errors and statuses ----------------------------------------------------------------


async def test_200_throttled_waits_the_cost_refill_then_succeeds(
    shop: ShopifyAdapter, gql: respx.Route, clock: FakeClock
) -> None:
    throttled = httpx.Response(
        200,
        json={
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": {
                "cost": {
                    "requestedQueryCost": 10,
                    "throttleStatus": {
                        "maximumAvailable": 1000,
                        "currentlyAvailable": 5,
                        "restoreRate": 100,
                    },
                }
            },
        },
    )
    gql.mock(side_effect=[throttled, answer("cartCreate", cart())])
    result = await shop.create_cart([A], currency="USD", deadline=deadline())
    assert result.external_id == CART_ID
    assert gql.call_count == 2  # throttled means not run: safe to send the create again
    assert clock.slept == [pytest.approx(0.05)]  # (10 - 5 available) / 100 restored a second


async def test_legacy_throttled_message_waits_the_default_and_the_deadline_stops_it(
    shop: ShopifyAdapter, gql: respx.Route, clock: FakeClock
) -> None:
    gql.mock(return_value=httpx.Response(200, json={"errors": [{"message": "Throttled"}]}))
    with pytest.raises(PlatformRateLimited) as info:
        await shop.get_cart(CART_ID, deadline=deadline(0.5))
    assert info.value.retry_after == 1.0 and info.value.platform_status == 200
    assert clock.slept == [] and gql.call_count == 1


@pytest.mark.parametrize("status", [429, 430])
async def test_429_and_430_wait_retry_after_then_succeed(
    shop: ShopifyAdapter, gql: respx.Route, status: int, clock: FakeClock
) -> None:
    refused = httpx.Response(status, headers={"Retry-After": "0.05"}, text="<html>no</html>")
    gql.mock(side_effect=[refused, answer("cartCreate", cart())])
    assert (await shop.create_cart([A], currency="USD", deadline=deadline())).lines
    assert gql.call_count == 2
    assert clock.slept == [0.05]


@pytest.mark.parametrize(
    ("status", "headers", "wait"),
    [
        (429, {"Retry-After": "2"}, 2.0),
        (429, {}, 1.0),
        (430, {}, 1.0),
        (429, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date in the past
    ],
)
async def test_throttling_statuses_carry_their_wait(
    shop: ShopifyAdapter, gql: respx.Route, status: int, headers: dict[str, str], wait: float
) -> None:
    gql.mock(return_value=httpx.Response(status, headers=headers))
    with pytest.raises(PlatformRateLimited) as info:
        await shop.get_cart(CART_ID, deadline=deadline(0.05))
    assert info.value.retry_after == wait and info.value.platform_status == status
    assert info.value.cause == Cause.RATE_LIMITED


@pytest.mark.parametrize("headers", [{"Retry-After": "0.01"}, {}])
async def test_503_on_create_is_retried_as_shopifys_client_does(
    shop: ShopifyAdapter, gql: respx.Route, headers: dict[str, str]
) -> None:
    gql.mock(side_effect=[httpx.Response(503, headers=headers), answer("cartCreate", cart())])
    assert (await shop.create_cart([A], currency="USD", deadline=deadline())).lines
    assert gql.call_count == 2


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_other_5xx_on_create_or_add_is_sent_once(
    shop: ShopifyAdapter, gql: respx.Route, status: int
) -> None:
    gql.mock(return_value=httpx.Response(status, text="Bad Gateway"))
    with pytest.raises(PlatformServerError) as info:
        await shop.create_cart([A], currency="USD", deadline=deadline())
    assert info.value.may_have_applied is True and info.value.platform_status == status
    with pytest.raises(PlatformServerError):
        await shop.add_lines(CART_ID, [A], deadline=deadline())
    assert gql.call_count == 2


@pytest.mark.parametrize("op", ["get", "update"])
async def test_5xx_on_a_read_or_an_absolute_update_is_retried(
    shop: ShopifyAdapter, gql: respx.Route, op: str
) -> None:
    ok = queried(cart()) if op == "get" else answer("cartLinesUpdate", cart())
    gql.mock(side_effect=[httpx.Response(502), ok])
    if op == "get":
        await shop.get_cart(CART_ID, deadline=deadline())
    else:
        await shop.update_line(CART_ID, LINE_A, 2, platform_ref=A.platform_ref, deadline=deadline())
    assert gql.call_count == 2


async def test_read_timeout_on_create_may_have_applied_and_is_not_retried(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gql.mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(PlatformTimeout) as info:
        await shop.create_cart([A], currency="USD", deadline=deadline())
    assert info.value.may_have_applied is True and info.value.cause == Cause.PLATFORM_TIMEOUT
    assert gql.call_count == 1


async def test_connect_refused_is_retried_even_for_a_create(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gql.mock(side_effect=[httpx.ConnectError("refused"), answer("cartCreate", cart())])
    assert (await shop.create_cart([A], currency="USD", deadline=deadline())).lines
    assert gql.call_count == 2


@pytest.mark.parametrize(
    ("body", "error", "text"),
    [
        (  # a variable of the wrong shape: a GraphQL variable coercion error
            {
                "errors": [
                    {
                        "message": "Variable input of type CartInput! was provided invalid value",
                        "locations": [{"line": 1, "column": 27}],
                        "extensions": {
                            "value": {},
                            "problems": [
                                {
                                    "path": ["lines", 0, "id"],
                                    "explanation": "Field is not defined on CartLineInput",
                                }
                            ],
                        },
                    }
                ]
            },
            PlatformRejected,
            "was provided invalid value",
        ),
        (
            {
                "errors": [
                    {
                        "message": "Field 'nope' doesn't exist on type 'Cart'",
                        "extensions": {"code": "undefinedField", "typeName": "Cart"},
                    }
                ]
            },
            PlatformRejected,
            "doesn't exist on type",
        ),
        (
            {
                "errors": [
                    {
                        "message": "Access denied for cartCreate field.",
                        "extensions": {"code": "ACCESS_DENIED"},
                    }
                ]
            },
            PlatformAuthFailed,
            "Access denied",
        ),
        (
            {
                "errors": [
                    {
                        "message": "Internal error. Looks like something went wrong on our end.",
                        "extensions": {"code": "INTERNAL_SERVER_ERROR"},
                    }
                ]
            },
            PlatformServerError,
            "went wrong",
        ),
        (  # ran in part: data next to errors
            {
                "data": {"cartCreate": {"cart": None, "userErrors": [], "warnings": []}},
                "errors": [{"message": "Could not resolve cost", "path": ["cartCreate"]}],
            },
            PlatformServerError,
            "Could not resolve cost",
        ),
    ],
)
async def test_top_level_errors_on_a_200_are_not_retried_for_a_create(
    shop: ShopifyAdapter,
    gql: respx.Route,
    body: dict[str, Any],
    error: type[PlatformError],
    text: str,
) -> None:
    gql.mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(error) as info:
        await shop.create_cart([A], currency="USD", deadline=deadline())
    assert text in info.value.message and info.value.platform_status == 200
    assert info.value.data == {"sku_ids": ["sku_a"]}
    assert gql.call_count == 1


@pytest.mark.parametrize(
    ("status", "error", "cause"),
    [
        (401, PlatformAuthFailed, Cause.AUTH_FAILED),
        (403, PlatformAuthFailed, Cause.AUTH_FAILED),
        (400, PlatformRejected, Cause.PLATFORM_REJECTED),
        (402, PlatformRejected, Cause.PLATFORM_REJECTED),
        (423, PlatformRejected, Cause.PLATFORM_REJECTED),
        # no Storefront API at this URL: never "cart not found"
        (404, PlatformRejected, Cause.PLATFORM_REJECTED),
    ],
)
async def test_refusing_statuses_map_to_one_cause_without_retry(
    shop: ShopifyAdapter, gql: respx.Route, status: int, error: type[PlatformError], cause: Cause
) -> None:
    gql.mock(
        return_value=httpx.Response(
            status, json={"errors": "[API] Invalid API key or access token (unrecognized login)"}
        )
    )
    with pytest.raises(error) as info:
        await shop.create_cart([A], currency="USD", deadline=deadline())
    assert info.value.cause == cause and info.value.platform_status == status
    assert "unrecognized login" in info.value.message
    assert gql.call_count == 1


async def test_a_404_endpoint_does_not_pass_a_delete_for_done(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gql.mock(return_value=httpx.Response(404, text="Not Found"))
    with pytest.raises(PlatformRejected, match="check shop_url and api_version"):
        await shop.delete_cart(CART_ID, deadline=deadline())
