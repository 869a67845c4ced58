"""The BigCommerce adapter against respx: the request it sends and what it makes of each answer."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import respx
from pydantic import ValidationError
from structlog.testing import capture_logs

from adapters.base import ExternalCart, ExternalLine, LineRequest
from adapters.bigcommerce import BigCommerceAdapter, BigCommerceConnection
from errors import (
    Cause,
    PlatformAuthFailed,
    PlatformConflict,
    PlatformError,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
    PlatformTimeout,
    PlatformUnavailable,
)
from tests.adapters.conftest import (
    CART_ID,
    ITEM_ID,
    STORE,
    TOKEN,
    FakeClock,
    bc_cart,
    bc_item,
    deadline,
)

LINE = LineRequest(platform_ref={"product_id": 191, "variant_id": 362}, quantity=5, sku_id="sku_a")
CARTS = f"{STORE}/carts"
CART = f"{STORE}/carts/{CART_ID}"
ITEM = f"{STORE}/carts/{CART_ID}/items/{ITEM_ID}"


def error_body(status: int, title: str, **extra: object) -> dict[str, object]:
    return {
        "status": status,
        "title": title,
        "type": "https://developer.bigcommerce.com/api-docs/getting-started/api-status-codes",
        **extra,
    }


# --- requests and parsing -------------------------------------------------------------------------


async def test_create_sends_the_documented_request_and_reads_money_exactly(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post(CARTS).mock(return_value=httpx.Response(201, json=bc_cart()))

    cart = await bc.create_cart([LINE], currency="USD", deadline=deadline())

    request = route.calls.last.request
    assert request.method == "POST"
    assert request.url.path == "/stores/abc123/v3/carts"
    assert request.url.params["include"] == "redirect_urls"
    assert request.headers["X-Auth-Token"] == TOKEN
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.content) == {
        "line_items": [{"quantity": 5, "product_id": 191, "variant_id": 362}],
        "currency": {"code": "USD"},
        "channel_id": 1,
    }
    assert cart == ExternalCart(
        external_id=CART_ID,
        currency="USD",
        sub_total=13975,
        lines=(
            ExternalLine(
                external_id=ITEM_ID,
                platform_ref={"product_id": 191, "variant_id": 362},
                quantity=5,
                unit_price=2795,
                line_price=13975,
                name="Openhouse No. 3",
            ),
        ),
        checkout_url="https://store.test/cart.php?action=load&id=x&token=t",
    )
    assert route.call_count == 1


async def test_lines_come_from_physical_and_digital_items_and_match_catalog_refs(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    body = bc_cart(
        physical=[bc_item(product_id=1, variant_id=11, quantity=3, price=0.1, extended=0.3)],
        digital=[
            bc_item(
                item_id="d1", product_id=2, variant_id=None, quantity=1, price=19.99, extended=19.99
            )
        ],
        amount=20.29,
        checkout_url=None,
    )
    mock.get(CART).mock(return_value=httpx.Response(200, json=body))

    cart = await bc.get_cart(CART_ID, deadline=deadline())

    assert [(ln.platform_ref, ln.unit_price, ln.line_price) for ln in cart.lines] == [
        ({"product_id": 1, "variant_id": 11}, 10, 30),
        ({"product_id": 2}, 1999, 1999),
    ]
    assert cart.sub_total == 2029  # 0.1 * 3 is no float arithmetic here
    assert cart.checkout_url is None
    assert cart.line_for({"product_id": 1}) is cart.lines[0]


async def test_add_update_remove_use_the_documented_routes_and_bodies(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    add = mock.post(f"{CART}/items").mock(return_value=httpx.Response(201, json=bc_cart()))
    put = mock.put(ITEM).mock(return_value=httpx.Response(200, json=bc_cart()))
    delete = mock.delete(ITEM).mock(return_value=httpx.Response(200, json=bc_cart()))

    await bc.add_lines(CART_ID, [LINE], deadline=deadline())
    await bc.update_line(
        CART_ID,
        ITEM_ID,
        7,
        platform_ref={"product_id": 191, "variant_id": 362},
        deadline=deadline(),
    )
    removed = await bc.remove_line(CART_ID, ITEM_ID, deadline=deadline())

    assert json.loads(add.calls.last.request.content) == {
        "line_items": [{"quantity": 5, "product_id": 191, "variant_id": 362}]
    }
    # Cart_Line_Item_Update_Put: a singular line_item
    # (https://developer.bigcommerce.com/docs/rest-management/carts/items).
    assert json.loads(put.calls.last.request.content) == {
        "line_item": {"quantity": 7, "product_id": 191, "variant_id": 362}
    }
    assert delete.calls.last.request.headers["X-Auth-Token"] == TOKEN
    assert removed is not None and removed.external_id == CART_ID


async def test_removing_the_last_line_returns_none(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    mock.delete(ITEM).mock(return_value=httpx.Response(204))
    assert await bc.remove_line(CART_ID, ITEM_ID, deadline=deadline()) is None


@pytest.mark.parametrize("status", [204, 404])
async def test_delete_cart_succeeds_on_204_and_on_404(
    bc: BigCommerceAdapter, mock: respx.MockRouter, status: int
) -> None:
    route = mock.delete(CART).mock(
        return_value=httpx.Response(
            status, json=None if status == 204 else error_body(404, "Cart not found.")
        )
    )
    assert await bc.delete_cart(CART_ID, deadline=deadline()) is None
    assert route.call_count == 1


async def test_a_success_answer_that_is_not_json_is_a_server_error_and_a_create_is_not_repeated(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post(CARTS).mock(return_value=httpx.Response(201, text="<html>oops</html>"))
    with pytest.raises(PlatformServerError, match="not the documented") as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert info.value.platform_status == 201
    assert route.call_count == 1


async def test_a_ref_without_integer_ids_is_rejected_before_any_request(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post(CARTS)
    bad = LineRequest(platform_ref={"variant_id": "gid://x"}, quantity=1, sku_id="sku_x")
    with pytest.raises(PlatformRejected) as info:
        await bc.create_cart([bad], currency="USD", deadline=deadline())
    assert info.value.cause == Cause.SKU_NOT_FOUND_ON_PLATFORM
    assert info.value.data == {"sku_ids": ["sku_x"]}
    assert route.call_count == 0


# --- error answers --------------------------------------------------------------------------------


async def test_unknown_product_on_create_is_sku_not_found_and_not_retried(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post(CARTS).mock(
        return_value=httpx.Response(
            404, json=error_body(404, "The resource at that URL is not found.")
        )
    )
    with pytest.raises(PlatformRejected) as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert info.value.cause == Cause.SKU_NOT_FOUND_ON_PLATFORM
    assert info.value.platform_status == 404
    assert info.value.data == {"sku_ids": ["sku_a"]}
    assert "not found" in info.value.message
    assert route.call_count == 1


async def test_unknown_cart_on_get_is_platform_not_found(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.get(CART).mock(
        return_value=httpx.Response(404, json=error_body(404, "Cart not found."))
    )
    with pytest.raises(PlatformNotFound, match="Cart not found"):
        await bc.get_cart(CART_ID, deadline=deadline())
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("status", "body", "error", "cause"),
    [
        (
            409,
            error_body(409, "The request cannot be processed due to a possible conflict."),
            PlatformConflict,
            Cause.PLATFORM_CONFLICT,
        ),
        (
            422,
            error_body(422, "Not enough stock: only 2 available"),
            PlatformRejected,
            Cause.OUT_OF_STOCK,
        ),
        (422, error_body(422, "This item is sold out"), PlatformRejected, Cause.OUT_OF_STOCK),
        (
            422,
            error_body(
                422,
                "Missing or incorrect required fields",
                errors={"variant": "This product has options, variant ID is required"},
            ),
            PlatformRejected,
            Cause.SKU_NOT_FOUND_ON_PLATFORM,
        ),
        (
            422,
            error_body(422, "You can only purchase a maximum of 2 of the Brush per order."),
            PlatformRejected,
            Cause.PLATFORM_REJECTED,
        ),
        (
            400,
            error_body(400, "Input is invalid", detail="Syntax error"),
            PlatformRejected,
            Cause.PLATFORM_REJECTED,
        ),
        (415, {}, PlatformRejected, Cause.PLATFORM_REJECTED),
        (401, error_body(401, "Unauthorized"), PlatformAuthFailed, Cause.AUTH_FAILED),
        (403, None, PlatformAuthFailed, Cause.AUTH_FAILED),
    ],
)
async def test_error_answers_map_to_one_cause_without_retry(
    bc: BigCommerceAdapter,
    mock: respx.MockRouter,
    status: int,
    body: dict[str, object] | None,
    error: type[Exception],
    cause: Cause,
) -> None:
    route = mock.post(CARTS).mock(return_value=httpx.Response(status, json=body))
    with pytest.raises(error) as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert info.value.cause == cause  # type: ignore[attr-defined]
    assert info.value.platform_status == status  # type: ignore[attr-defined]
    if body and body.get("title"):
        assert str(body["title"]) in info.value.message  # type: ignore[attr-defined]
    assert route.call_count == 1


async def test_409_on_update_is_a_conflict(bc: BigCommerceAdapter, mock: respx.MockRouter) -> None:
    mock.put(ITEM).mock(return_value=httpx.Response(409, json=error_body(409, "conflict")))
    with pytest.raises(PlatformConflict):
        await bc.update_line(
            CART_ID, ITEM_ID, 2, platform_ref={"product_id": 191}, deadline=deadline()
        )


# --- retries --------------------------------------------------------------------------------------


async def test_429_waits_the_reset_header_then_succeeds(
    bc: BigCommerceAdapter, mock: respx.MockRouter, clock: FakeClock
) -> None:
    throttled = httpx.Response(
        429, headers={"X-Rate-Limit-Time-Reset-Ms": "50", "X-Rate-Limit-Requests-Left": "0"}
    )
    route = mock.post(CARTS).mock(side_effect=[throttled, httpx.Response(201, json=bc_cart())])
    cart = await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert cart.external_id == CART_ID
    assert route.call_count == 2
    assert clock.slept == [pytest.approx(0.05)]  # the reset header's wait, once


async def test_429_whose_reset_passes_the_deadline_raises_at_once(
    bc: BigCommerceAdapter, mock: respx.MockRouter, clock: FakeClock
) -> None:
    route = mock.post(CARTS).mock(
        return_value=httpx.Response(429, headers={"X-Rate-Limit-Time-Reset-Ms": "900"})
    )
    with pytest.raises(PlatformRateLimited) as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline(0.5))
    assert clock.slept == []  # no wait begun that would pass the deadline
    assert info.value.retry_after == pytest.approx(0.9)
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"X-Retry-After": "2"}, 2.0), ({"Retry-After": "3"}, 3.0), ({}, None)],
)
async def test_429_retry_after_falls_back_to_the_other_headers(
    bc: BigCommerceAdapter,
    mock: respx.MockRouter,
    headers: dict[str, str],
    expected: float | None,
) -> None:
    mock.get(CART).mock(return_value=httpx.Response(429, headers=headers))
    with pytest.raises(PlatformRateLimited) as info:
        await bc.get_cart(CART_ID, deadline=deadline(0.05))
    assert info.value.retry_after == expected


async def test_503_then_201_on_create_is_retried_once(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    # A 503 is the store down for maintenance: it did not take the request.
    route = mock.post(CARTS).mock(
        side_effect=[
            httpx.Response(503, json=error_body(503, "Service Unavailable")),
            httpx.Response(201, json=bc_cart()),
        ]
    )
    cart = await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert cart.external_id == CART_ID
    assert route.call_count == 2


async def test_500_on_create_is_not_retried_it_may_have_made_the_cart(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    # Measured with the sandbox's apply_then_error fault: a retried 500 made a second cart.
    route = mock.post(CARTS).mock(
        side_effect=[
            httpx.Response(500, json=error_body(500, "Internal Server Error")),
            httpx.Response(201, json=bc_cart()),
        ]
    )
    with pytest.raises(PlatformServerError) as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert info.value.may_have_applied is True and route.call_count == 1


async def test_500_on_a_read_is_retried(bc: BigCommerceAdapter, mock: respx.MockRouter) -> None:
    route = mock.get(CART).mock(
        side_effect=[httpx.Response(500), httpx.Response(200, json=bc_cart())]
    )
    assert (await bc.get_cart(CART_ID, deadline=deadline())).external_id == CART_ID
    assert route.call_count == 2


@pytest.mark.parametrize("status", [502, 504])
async def test_502_or_504_on_create_is_not_retried(
    bc: BigCommerceAdapter, mock: respx.MockRouter, status: int
) -> None:
    route = mock.post(CARTS).mock(return_value=httpx.Response(status, text="Bad Gateway"))
    with pytest.raises(PlatformServerError) as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert info.value.may_have_applied is True
    assert info.value.platform_status == status
    assert route.call_count == 1


async def test_502_on_get_is_retried(bc: BigCommerceAdapter, mock: respx.MockRouter) -> None:
    route = mock.get(CART).mock(
        side_effect=[httpx.Response(502), httpx.Response(200, json=bc_cart())]
    )
    assert (await bc.get_cart(CART_ID, deadline=deadline())).external_id == CART_ID
    assert route.call_count == 2


async def test_read_timeout_on_create_is_not_retried(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post(CARTS).mock(side_effect=httpx.ReadTimeout("timed out"))
    with pytest.raises(PlatformTimeout) as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert info.value.may_have_applied is True
    assert info.value.cause == Cause.PLATFORM_TIMEOUT
    assert route.call_count == 1


async def test_read_timeout_on_get_is_retried(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.get(CART).mock(
        side_effect=[httpx.ReadTimeout("timed out"), httpx.Response(200, json=bc_cart())]
    )
    assert (await bc.get_cart(CART_ID, deadline=deadline())).external_id == CART_ID
    assert route.call_count == 2


async def test_connect_refused_is_retried_even_for_a_create(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post(CARTS).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.Response(201, json=bc_cart())]
    )
    assert (await bc.create_cart([LINE], currency="USD", deadline=deadline())).lines
    assert route.call_count == 2


async def test_connect_refused_every_time_is_unavailable_after_max_attempts(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    route = mock.post(CARTS).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(PlatformUnavailable) as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert info.value.may_have_applied is False
    assert route.call_count == 3


async def test_remove_retried_after_a_lost_answer_reads_the_cart_back(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    # The first DELETE applied but its answer was lost; the retry finds the line gone.
    mock.delete(ITEM).mock(
        side_effect=[
            httpx.ReadTimeout("lost"),
            httpx.Response(404, json=error_body(404, "Not found")),
        ]
    )
    mock.get(CART).mock(return_value=httpx.Response(200, json=bc_cart(physical=[])))
    cart = await bc.remove_line(CART_ID, ITEM_ID, deadline=deadline())
    assert cart is not None and cart.lines == ()


async def test_retrying_never_outlives_the_deadline(
    bc: BigCommerceAdapter, mock: respx.MockRouter, clock: FakeClock
) -> None:
    sent: list[httpx.Request] = []

    async def hang(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        await asyncio.sleep(60)  # real time: an attempt's budget is a real timeout
        return httpx.Response(500)

    mock.get(CART).mock(side_effect=hang)
    ends = deadline(0.3)
    with pytest.raises(PlatformTimeout):
        await bc.get_cart(CART_ID, deadline=ends)
    # Cut at the deadline, and nothing after it: without it, 3 attempts of the 1 s attempt
    # timeout (3 s). A real timeout, so a generous bound only.
    assert clock() < ends + 1.5
    assert len(sent) == 1 and clock.slept == []


async def test_cancelling_a_call_during_its_backoff_ends_it_promptly(
    bc: BigCommerceAdapter, mock: respx.MockRouter, clock: FakeClock
) -> None:
    asked = asyncio.Event()

    def throttled(request: httpx.Request) -> httpx.Response:
        asked.set()
        return httpx.Response(429, headers={"X-Rate-Limit-Time-Reset-Ms": "1000"})

    route = mock.get(CART).mock(side_effect=throttled)
    clock.hold = True  # the backoff lasts until cancelled
    task = asyncio.create_task(bc.get_cart(CART_ID, deadline=deadline(5)))
    await asked.wait()
    for _ in range(100):  # a bounded poll: the call is in its backoff
        if clock.slept:
            break
        await asyncio.sleep(0)
    assert clock.slept == [1.0]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert route.call_count == 1  # cancelled inside the wait: no attempt after it


# --- connection model and secrets -----------------------------------------------------------------


def test_connection_strips_the_trailing_slash_and_hides_the_token() -> None:
    conn = BigCommerceConnection(api_url=STORE + "/", access_token=TOKEN)  # type: ignore[arg-type]
    assert conn.api_url == STORE
    assert TOKEN not in repr(conn)


@pytest.mark.parametrize(
    "raw",
    [
        {"api_url": "ftp://x/stores/a/v3", "access_token": "t"},
        {"api_url": "not a url", "access_token": "t"},
        {"api_url": STORE, "access_token": ""},
        {"api_url": STORE},
        {"api_url": STORE, "access_token": "t", "client_id": "extra"},
    ],
)
def test_bad_connections_are_refused(raw: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        BigCommerceConnection.model_validate(raw)


async def test_no_log_line_or_error_carries_the_token(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    mock.post(CARTS).mock(side_effect=[httpx.Response(503), httpx.Response(401, json={})])
    with capture_logs() as logs, pytest.raises(PlatformAuthFailed) as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline())
    events = [e["event"] for e in logs]
    assert events == ["platform_call", "platform_retry", "platform_call"]
    call = logs[0]
    assert call["platform"] == "BIGCOMMERCE" and call["merchant_id"] == "mer_1"
    assert call["op"] == "create_cart" and call["method"] == "POST"
    assert call["path"] == "/stores/abc123/v3/carts" and call["status"] == 503
    assert call["attempt"] == 1 and call["outcome"] == "platform_error"
    assert logs[2]["outcome"] == "auth_failed" and logs[2]["attempt"] == 2
    assert TOKEN not in repr(logs)
    assert TOKEN not in repr(info.value) and TOKEN not in str(info.value.data)


async def test_an_id_from_a_caller_that_is_no_uuid_is_never_sent(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    # Quoting kept it one segment, but ``..`` alone is a segment yarl collapses: only a UUID
    # goes in a path now (tests/adapters/test_hostile_ids.py has the rest).
    route = mock.route().mock(return_value=httpx.Response(404, json=error_body(404, "Not found")))
    with pytest.raises(PlatformError, match="nothing was sent"):
        await bc.get_cart("../customers?limit=1", deadline=deadline())
    assert route.call_count == 0


async def test_a_503_waits_only_for_a_retry_after_not_the_rate_window(
    bc: BigCommerceAdapter, mock: respx.MockRouter, clock: FakeClock
) -> None:
    # Every BigCommerce answer carries the quota window's reset; it says nothing about a 503.
    window = {"X-Rate-Limit-Time-Reset-Ms": "30000"}
    route = mock.post(CARTS).mock(
        side_effect=[
            httpx.Response(503, headers=window, json=error_body(503, "Service Unavailable")),
            httpx.Response(201, json=bc_cart()),
        ]
    )
    cart = await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert cart.external_id == CART_ID and route.call_count == 2
    assert len(clock.slept) == 1 and clock.slept[0] <= 1.0  # a backoff, not the 30 s window
