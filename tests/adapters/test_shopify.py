"""The Shopify adapter against respx: the GraphQL it sends and what it makes of each answer."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError
from structlog.testing import capture_logs

from adapters.base import CartContext, ExternalCart, ExternalLine, LineProblem, LineRequest
from adapters.registry import PLATFORMS, AdapterRegistry
from adapters.shopify import RETRY_RULES, ShopifyAdapter, ShopifyConnection
from adapters.shopify import documents as docs
from bags.status import Platform
from errors import (
    Cause,
    PlatformAuthFailed,
    PlatformError,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
    PlatformTimeout,
    PlatformUnavailable,
)
from tests.adapters.conftest import FakeClock, deadline

SHOP = "https://outdoors.myshopify.test"
ENDPOINT = f"{SHOP}/api/2026-04/graphql.json"
TOKEN = "shpss_0123456789abcdef0123456789abcdef"
CART_TOKEN = "c1-5f1d6d2c0e4b4c7e9a1b2c3d4e5f6a7b"
CART_ID = f"gid://shopify/Cart/{CART_TOKEN}?key=73de96370dea19c18996cebea3b31a1b"
CHECKOUT = (
    f"https://outdoors.myshopify.test/cart/c/{CART_TOKEN}?key=73de96370dea19c18996cebea3b31a1b"
)
VARIANT_A = "gid://shopify/ProductVariant/43162292814051"
VARIANT_B = "gid://shopify/ProductVariant/43162292814052"
LINE_A = f"gid://shopify/CartLine/a07f5410-ea7a-41ac-a794-839c1e0d599c?cart={CART_TOKEN}"
LINE_B = f"gid://shopify/CartLine/b17f5410-ea7a-41ac-a794-839c1e0d599d?cart={CART_TOKEN}"
A = LineRequest(platform_ref={"variant_id": VARIANT_A}, quantity=2, sku_id="sku_a")
B = LineRequest(platform_ref={"variant_id": VARIANT_B}, quantity=5, sku_id="sku_b")


def money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": amount, "currencyCode": currency}


def node(
    line_id: str = LINE_A,
    variant: str = VARIANT_A,
    quantity: int = 2,
    unit: str = "29.99",
    total: str = "59.98",
    currency: str = "USD",
    title: str = "Default Title",
    product: str = "Trail Tent",
) -> dict[str, Any]:
    return {
        "id": line_id,
        "quantity": quantity,
        "merchandise": {"id": variant, "title": title, "product": {"title": product}},
        "cost": {"amountPerQuantity": money(unit, currency), "totalAmount": money(total, currency)},
    }


def cart(
    lines: Sequence[dict[str, Any]] | None = None, subtotal: str = "59.98", currency: str = "USD"
) -> dict[str, Any]:
    """A ``Cart`` exactly as ``documents._CART_FIELDS`` selects it."""
    return {
        "id": CART_ID,
        "checkoutUrl": CHECKOUT,
        "cost": {"subtotalAmount": money(subtotal, currency)},
        "lines": {"edges": [{"node": n} for n in ([node()] if lines is None else lines)]},
    }


def answer(
    root: str,
    the_cart: dict[str, Any] | None = None,
    user_errors: Sequence[dict[str, Any]] = (),
    warnings: Sequence[dict[str, Any]] = (),
) -> httpx.Response:
    payload = {"cart": the_cart, "userErrors": list(user_errors), "warnings": list(warnings)}
    return httpx.Response(200, json={"data": {root: payload}})


def queried(the_cart: dict[str, Any] | None) -> httpx.Response:
    return httpx.Response(200, json={"data": {"cart": the_cart}})


def user_error(code: str | None, field: list[str] | None, message: str) -> dict[str, Any]:
    return {"code": code, "field": field, "message": message}


def sent(route: respx.Route, call: int = -1) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls[call].request.content)
    return body


def by_document(**answers: Callable[[dict[str, Any]], httpx.Response]) -> Any:
    """A respx side effect answering each document (by its root field) with its own function."""

    def respond(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        root = next(r for r, d in docs.DOCUMENTS.items() if d == body["query"])
        return answers[root](body["variables"])

    return respond


@pytest.fixture
def shop(registry: AdapterRegistry) -> ShopifyAdapter:
    adapter = registry.for_merchant(
        "mer_1", Platform.SHOPIFY, {"shop_url": SHOP + "/", "storefront_token": TOKEN}
    )
    assert isinstance(adapter, ShopifyAdapter)
    return adapter


@pytest.fixture
def gql(mock: respx.MockRouter) -> respx.Route:
    return mock.post(ENDPOINT)


# --- requests and parsing -------------------------------------------------------------------------


async def test_create_sends_the_documented_request_and_reads_the_cart(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gql.mock(return_value=answer("cartCreate", cart()))
    context = CartContext(cart_id="crt_1", bag_id="bag_1", customer_id="cus_9", name="Trip")

    result = await shop.create_cart([A], currency="USD", deadline=deadline(), context=context)

    request = gql.calls.last.request
    assert request.method == "POST"
    assert str(request.url) == ENDPOINT
    assert request.headers["Shopify-Storefront-Private-Token"] == TOKEN
    assert request.headers["Content-Type"] == "application/json"
    assert "X-Shopify-Storefront-Access-Token" not in request.headers
    assert sent(gql) == {
        "query": docs.CART_CREATE,
        "variables": {
            "input": {
                "lines": [{"merchandiseId": VARIANT_A, "quantity": 2}],
                # the app's customer reference is ours, never a customerAccessToken
                "attributes": [
                    {"key": "_multicart_cart_id", "value": "crt_1"},
                    {"key": "_multicart_bag_id", "value": "bag_1"},
                    {"key": "_multicart_customer_id", "value": "cus_9"},
                    {"key": "_multicart_name", "value": "Trip"},
                ],
            }
        },
    }
    assert result == ExternalCart(
        external_id=CART_ID,  # with its ?key=
        currency="USD",
        sub_total=5998,
        lines=(
            ExternalLine(
                external_id=LINE_A,
                platform_ref={"variant_id": VARIANT_A},
                quantity=2,
                unit_price=2999,
                line_price=5998,
                name="Trail Tent",
            ),
        ),
        checkout_url=CHECKOUT,
    )
    assert result.line_for(A.platform_ref) is result.lines[0]
    assert gql.call_count == 1


async def test_create_without_context_sends_only_lines_and_names_variants(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    two = cart(
        [node(), node(LINE_B, VARIANT_B, 5, "10.0", "50.0", title="Large")], subtotal="109.98"
    )
    gql.mock(return_value=answer("cartCreate", two))
    result = await shop.create_cart([A, B], currency="USD", deadline=deadline())
    assert sent(gql)["variables"] == {
        "input": {
            "lines": [
                {"merchandiseId": VARIANT_A, "quantity": 2},
                {"merchandiseId": VARIANT_B, "quantity": 5},
            ]
        }
    }
    assert [ln.name for ln in result.lines] == ["Trail Tent", "Trail Tent - Large"]
    assert result.sub_total == 10998 and result.lines[1].line_price == 5000


async def test_get_add_update_remove_send_their_documents_and_variables(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gql.mock(
        side_effect=[
            queried(cart()),
            answer("cartLinesAdd", cart()),
            answer("cartLinesUpdate", cart()),
            answer("cartLinesRemove", cart(lines=[], subtotal="0.0")),
        ]
    )
    await shop.get_cart(CART_ID, deadline=deadline())
    await shop.add_lines(CART_ID, [B], deadline=deadline())
    await shop.update_line(CART_ID, LINE_A, 7, platform_ref=A.platform_ref, deadline=deadline())
    emptied = await shop.remove_line(CART_ID, LINE_A, deadline=deadline())

    assert [sent(gql, i) for i in range(4)] == [
        {"query": docs.CART_QUERY, "variables": {"id": CART_ID}},
        {
            "query": docs.CART_LINES_ADD,
            "variables": {
                "cartId": CART_ID,
                "lines": [{"merchandiseId": VARIANT_B, "quantity": 5}],
            },
        },
        {
            "query": docs.CART_LINES_UPDATE,
            "variables": {"cartId": CART_ID, "lines": [{"id": LINE_A, "quantity": 7}]},
        },
        {"query": docs.CART_LINES_REMOVE, "variables": {"cartId": CART_ID, "lineIds": [LINE_A]}},
    ]
    # Shopify keeps the emptied cart: the answer is that cart, not None.
    assert emptied is not None and emptied.lines == () and emptied.sub_total == 0


async def test_a_null_cart_on_get_is_not_found(shop: ShopifyAdapter, gql: respx.Route) -> None:
    gql.mock(return_value=queried(None))
    with pytest.raises(PlatformNotFound) as info:
        await shop.get_cart(CART_ID, deadline=deadline())
    assert info.value.cause == Cause.CART_NOT_FOUND_ON_PLATFORM
    assert gql.call_count == 1


@pytest.mark.parametrize(
    ("currency", "unit", "total", "subtotal", "expected"),
    [
        ("USD", "29.99", "59.98", "59.98", (2999, 5998, 5998)),
        ("USD", "0.0", "0.0", "0.0", (0, 0, 0)),
        ("JPY", "1500.0", "3000.0", "3000.0", (1500, 3000, 3000)),
        ("KWD", "12.345", "24.69", "24.69", (12345, 24690, 24690)),
        ("EUR", "0.1", "0.3", "0.3", (10, 30, 30)),
    ],
)
async def test_money_is_read_exactly_in_each_currencys_minor_units(
    shop: ShopifyAdapter,
    gql: respx.Route,
    currency: str,
    unit: str,
    total: str,
    subtotal: str,
    expected: tuple[int, int, int],
) -> None:
    line = node(unit=unit, total=total, currency=currency)
    gql.mock(return_value=queried(cart([line], subtotal=subtotal, currency=currency)))
    result = await shop.get_cart(CART_ID, deadline=deadline())
    assert result.currency == currency
    assert (result.lines[0].unit_price, result.lines[0].line_price, result.sub_total) == expected


@pytest.mark.parametrize(
    "the_cart",
    [
        cart(subtotal="1e999999999"),  # a decimal too large to quantize
        cart(subtotal="NaN"),
        cart(subtotal="twelve"),
        cart([node(currency="EUR")]),  # a EUR line in a USD cart
        {**cart(), "lines": None},
        {**cart(), "cost": {}},
        cart([{"id": LINE_A, "quantity": 1, "merchandise": {}, "cost": {}}]),
    ],
)
async def test_an_unreadable_cart_is_a_server_error_and_no_other_exception(
    shop: ShopifyAdapter, gql: respx.Route, the_cart: dict[str, Any]
) -> None:
    gql.mock(return_value=answer("cartCreate", the_cart))
    with pytest.raises(PlatformServerError, match="cannot read") as info:
        await shop.create_cart([A], currency="USD", deadline=deadline())
    assert info.value.may_have_applied is True
    assert gql.call_count == 1  # a create is never repeated after it may have applied


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>oops</html>"),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(200, json={}),
        httpx.Response(200, json={"data": {}}),
        httpx.Response(200, json={"data": {"cartCreate": None}}),
        answer("cartCreate", None),  # no cart and no userErrors
    ],
)
async def test_a_200_this_adapter_cannot_read_is_a_server_error_not_repeated_for_a_create(
    shop: ShopifyAdapter, gql: respx.Route, response: httpx.Response
) -> None:
    gql.mock(return_value=response)
    with pytest.raises(PlatformServerError) as info:
        await shop.create_cart([A], currency="USD", deadline=deadline())
    assert info.value.platform_status == 200 and info.value.may_have_applied is True
    assert gql.call_count == 1


async def test_refs_that_are_not_variant_gids_and_too_many_lines_are_refused_before_sending(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    bad = LineRequest(platform_ref={"product_id": 191}, quantity=1, sku_id="sku_x")
    with pytest.raises(PlatformRejected) as info:
        await shop.create_cart([A, bad], currency="USD", deadline=deadline())
    assert info.value.cause == Cause.SKU_NOT_FOUND_ON_PLATFORM
    assert info.value.data == {"sku_ids": ["sku_x"]}
    with pytest.raises(PlatformRejected, match="at most 250"):
        await shop.add_lines(CART_ID, [A] * 251, deadline=deadline())
    assert gql.call_count == 0


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


# --- remove and delete ----------------------------------------------------------------------------


async def test_delete_removes_every_line_of_the_cart(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    two = cart([node(), node(LINE_B, VARIANT_B, 5, "10.0", "50.0")])
    gql.mock(
        side_effect=by_document(
            cart=lambda v: queried(two),
            cartLinesRemove=lambda v: answer("cartLinesRemove", cart([], "0.0")),
        )
    )
    await shop.delete_cart(CART_ID, deadline=deadline())
    assert gql.call_count == 2
    assert sent(gql)["variables"] == {"cartId": CART_ID, "lineIds": [LINE_A, LINE_B]}


@pytest.mark.parametrize("lines", [None, []])
async def test_delete_of_a_missing_or_empty_cart_succeeds_with_one_read(
    shop: ShopifyAdapter, gql: respx.Route, lines: list[Any] | None
) -> None:
    gql.mock(return_value=queried(None if lines is None else cart(lines, "0.0")))
    await shop.delete_cart(CART_ID, deadline=deadline())
    assert gql.call_count == 1


async def test_delete_of_a_cart_that_expires_midway_succeeds(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gone = user_error("INVALID", ["cartId"], "The specified cart does not exist.")
    reads = iter([queried(cart()), queried(None)])
    gql.mock(
        side_effect=by_document(
            cart=lambda v: next(reads),
            cartLinesRemove=lambda v: answer("cartLinesRemove", None, [gone]),
        )
    )
    await shop.delete_cart(CART_ID, deadline=deadline())
    assert gql.call_count == 3


async def test_remove_on_a_cart_that_is_gone_returns_none(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gone = user_error("INVALID", ["cartId"], "The specified cart does not exist.")
    gql.mock(side_effect=[answer("cartLinesRemove", None, [gone]), queried(None)])
    assert await shop.remove_line(CART_ID, LINE_A, deadline=deadline()) is None


async def test_remove_retried_after_a_lost_answer_reads_the_cart_back(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    missing = user_error("INVALID_MERCHANDISE_LINE", ["lineIds", "0"], "Line not found in cart.")
    gql.mock(
        side_effect=[
            httpx.ReadTimeout("lost"),  # applied, but the answer was lost
            answer("cartLinesRemove", None, [missing]),
            queried(cart([], "0.0")),
        ]
    )
    result = await shop.remove_line(CART_ID, LINE_A, deadline=deadline())
    assert result is not None and result.lines == ()


async def test_removing_a_line_that_was_never_there_is_not_found(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    missing = user_error("INVALID_MERCHANDISE_LINE", ["lineIds", "0"], "Line not found in cart.")
    gql.mock(side_effect=[answer("cartLinesRemove", None, [missing]), queried(cart())])
    with pytest.raises(PlatformNotFound, match="Line not found"):
        await shop.remove_line(CART_ID, LINE_B, deadline=deadline())


# --- connection, registry, secrets ----------------------------------------------------------------


def test_connection_defaults_strips_and_hides_the_token() -> None:
    conn = ShopifyConnection.model_validate({"shop_url": SHOP + "/", "storefront_token": TOKEN})
    assert conn.shop_url == SHOP and conn.api_version == "2026-04"
    assert conn.endpoint == ENDPOINT
    assert TOKEN not in repr(conn)
    sandbox = ShopifyConnection.model_validate(
        {
            "shop_url": "http://127.0.0.1:8090/shopify/outdoors",
            "storefront_token": "t0k",
            "api_version": "2025-01",
        }
    )
    assert sandbox.endpoint == "http://127.0.0.1:8090/shopify/outdoors/api/2025-01/graphql.json"


@pytest.mark.parametrize(
    "raw",
    [
        {"shop_url": "ftp://shop.test", "storefront_token": "t"},
        {"shop_url": "not a url", "storefront_token": "t"},
        {"shop_url": SHOP + "?x=1", "storefront_token": "t"},
        {"shop_url": SHOP + "#frag", "storefront_token": "t"},
        {"shop_url": "https://user:pw@shop.test", "storefront_token": "t"},
        {"shop_url": "https://shop.test:http", "storefront_token": "t"},
        {"shop_url": "https://shop.test/a b", "storefront_token": "t"},
        {"shop_url": ENDPOINT, "storefront_token": "t"},
        {"shop_url": SHOP, "storefront_token": ""},
        {"shop_url": SHOP, "storefront_token": "   "},
        {"shop_url": SHOP, "storefront_token": "tok\r\nX-Injected: 1"},
        {"shop_url": SHOP, "storefront_token": "tok\n"},
        {"shop_url": SHOP, "storefront_token": "tok\x00"},
        {"shop_url": SHOP, "storefront_token": "tök"},
        {"shop_url": SHOP, "storefront_token": "two words"},
        {"shop_url": SHOP, "storefront_token": "t", "api_version": "2026-4"},
        {"shop_url": SHOP, "storefront_token": "t", "api_version": "unstable"},
        {"shop_url": SHOP, "storefront_token": "t", "api_version": "2024-07"},  # no warnings yet
        {"shop_url": SHOP},
        {"shop_url": SHOP, "storefront_token": "t", "access_token": "extra"},
    ],
)
def test_bad_connections_are_refused_without_echoing_the_input(raw: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as info:
        ShopifyConnection.model_validate(raw)
    token = raw.get("storefront_token", "")
    if len(token) > 3:  # long enough not to match by chance
        assert token not in str(info.value) and repr(token) not in str(info.value)


async def test_the_registry_builds_shopify_from_its_table_row(registry: AdapterRegistry) -> None:
    spec = PLATFORMS[Platform.SHOPIFY]
    assert spec.connection is ShopifyConnection and spec.adapter is ShopifyAdapter
    assert spec.retry == RETRY_RULES and spec.retry.retry_answers_on_create == {503}
    assert spec.capabilities.can_delete_cart is False
    assert spec.capabilities.caller_chosen_cart_ids is False
    assert Platform.SHOPIFY in registry.supported_platforms()
    adapter = registry.for_merchant(
        "mer_2", "SHOPIFY", {"shop_url": SHOP, "storefront_token": TOKEN, "api_version": "2025-10"}
    )
    assert isinstance(adapter, ShopifyAdapter) and adapter.platform is Platform.SHOPIFY
    assert adapter._endpoint == httpx.URL(f"{SHOP}/api/2025-10/graphql.json")
    with pytest.raises(ValidationError):
        registry.parse_connection(Platform.SHOPIFY, {"shop_url": SHOP})


async def test_no_log_line_or_error_carries_the_token(
    shop: ShopifyAdapter, gql: respx.Route
) -> None:
    gql.mock(side_effect=[httpx.Response(503), httpx.Response(401, text="")])
    with capture_logs() as logs, pytest.raises(PlatformAuthFailed) as info:
        await shop.create_cart([A], currency="USD", deadline=deadline())
    assert [e["event"] for e in logs] == ["platform_call", "platform_retry", "platform_call"]
    assert logs[0]["platform"] == "SHOPIFY" and logs[0]["op"] == "create_cart"
    assert logs[0]["path"] == "/api/2026-04/graphql.json" and logs[0]["status"] == 503
    assert TOKEN not in repr(logs)
    assert TOKEN not in repr(info.value) and TOKEN not in str(info.value.data)
