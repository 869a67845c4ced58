"""The Elastic Path adapter against respx: reads, adds, updates, removals and deletes, and what it
makes of error answers and retries.

Creates are in ``test_elastic_path_create.py`` and ``test_elastic_path_create_refusals.py``,
the connection model in ``test_elastic_path_connection.py``, token handling (fetch, reuse,
expiry, 401) in ``test_elastic_path_auth.py``; the bodies are checked against Elastic Path's
own OpenAPI files in ``test_elastic_path_spec.py``.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import respx

from adapters.elastic_path import ElasticPathAdapter
from errors import (
    Cause,
    PlatformConflict,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
)
from tests.adapters.conftest import FakeClock, deadline
from tests.adapters.elastic_path_answers import (
    CART,
    ITEM_2,
    ITEM_ID,
    ITEMS,
    OUT_OF_STOCK,
    REF,
    TENT,
    TENT_LINE,
    ep_item,
    errors,
    items_body,
    sent,
)

pytestmark = pytest.mark.usefixtures("elastic_path_token")  # each call fetches a token first

# --- read, add, update, remove, delete ------------------------------------------------------------


async def test_get_cart_reads_the_items_collection_and_its_integer_money(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    custom = ep_item(ITEM_2, sku="GIFT-WRAP", quantity=3, unit=10, kind="custom_item")
    promo = {"id": "p1", "type": "promotion_item", "sku": "PROMO", "quantity": 1}
    body = items_body(ep_item(quantity=1, unit=1999), custom, total=2029)
    body["data"].append(promo)
    route = mock.get(ITEMS).mock(return_value=httpx.Response(200, json=body))

    cart = await ep.get_cart(REF, deadline=deadline())

    assert route.calls.last.request.headers["Authorization"] == "Bearer tok1"
    assert [(ln.platform_ref, ln.quantity, ln.unit_price, ln.line_price) for ln in cart.lines] == [
        ({"product_id": TENT, "sku": "TENT-2P"}, 1, 1999, 1999),
        ({"sku": "GIFT-WRAP"}, 3, 10, 30),
    ]
    assert cart.sub_total == 2029 and cart.currency == "USD"


async def test_an_empty_or_unknown_cart_is_an_empty_cart_not_an_error(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.get(ITEMS).mock(return_value=httpx.Response(200, json=items_body()))
    cart = await ep.get_cart(REF, deadline=deadline())
    assert cart.lines == () and cart.sub_total == 0 and cart.currency == ""


async def test_an_answer_without_meta_totals_its_lines(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    body = {"data": [ep_item(quantity=3, unit=333)]}
    mock.get(ITEMS).mock(return_value=httpx.Response(200, json=body))
    assert (await ep.get_cart(REF, deadline=deadline())).sub_total == 999


@pytest.mark.parametrize(
    "change",
    [
        {"unit_price": {"amount": 475.0, "currency": "USD"}},
        {"unit_price": {"amount": "47500", "currency": "USD"}},
        {"unit_price": {"formatted": "$475.00", "currency": "USD"}},
        {"quantity": 1.5},
        {"product_id": None, "id": None},
    ],
)
async def test_money_is_read_only_from_integer_amounts(
    ep: ElasticPathAdapter, mock: respx.MockRouter, change: dict[str, Any]
) -> None:
    item = ep_item() | change
    mock.get(ITEMS).mock(return_value=httpx.Response(200, json=items_body(item, total=1)))
    with pytest.raises(PlatformServerError, match="cannot read"):
        await ep.get_cart(REF, deadline=deadline())


@pytest.mark.parametrize("body", [b"<html>oops</html>", b"{}", b'{"data": {"id": 1}}'])
async def test_an_unreadable_success_answer_is_a_server_error(
    ep: ElasticPathAdapter, mock: respx.MockRouter, body: bytes
) -> None:
    mock.get(ITEMS).mock(return_value=httpx.Response(200, content=body))
    with pytest.raises(PlatformServerError) as info:
        await ep.get_cart(REF, deadline=deadline())
    assert info.value.platform_status == 200


async def test_add_lines_posts_a_bulk_add_and_raises_when_every_item_is_refused(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    add = mock.post(ITEMS).mock(
        side_effect=[
            httpx.Response(201, json=items_body(ep_item())),
            httpx.Response(400, json=errors(OUT_OF_STOCK)),
        ]
    )
    cart = await ep.add_lines(REF, [TENT_LINE], deadline=deadline())
    assert cart.lines[0].external_id == ITEM_ID
    assert sent(add)["data"] == [{"type": "cart_item", "id": TENT, "quantity": 2}]
    assert "X-MOLTIN-CURRENCY" not in add.calls.last.request.headers
    with pytest.raises(PlatformRejected) as info:
        await ep.add_lines(REF, [TENT_LINE], deadline=deadline())
    assert info.value.cause == Cause.OUT_OF_STOCK and add.call_count == 2


async def test_update_puts_the_absolute_quantity_of_the_cart_item(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    route = mock.put(f"{ITEMS}/{ITEM_ID}").mock(
        return_value=httpx.Response(200, json=items_body(ep_item(quantity=5)))
    )
    cart = await ep.update_line(
        REF, ITEM_ID, 5, platform_ref={"product_id": TENT}, deadline=deadline()
    )
    assert cart is not None and cart.lines[0].quantity == 5
    assert sent(route) == {"data": {"type": "cart_item", "id": ITEM_ID, "quantity": 5}}


async def test_update_of_an_item_not_in_the_cart_is_not_found(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    missing = {"status": 404, "title": "Not Found", "detail": "The Item doesn't exist in the cart"}
    mock.put(f"{ITEMS}/{ITEM_ID}").mock(return_value=httpx.Response(404, json=errors(missing)))
    with pytest.raises(PlatformNotFound, match="doesn't exist"):
        await ep.update_line(
            REF, ITEM_ID, 2, platform_ref={"product_id": TENT}, deadline=deadline()
        )


async def test_update_beyond_the_stock_is_out_of_stock(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.put(f"{ITEMS}/{ITEM_ID}").mock(return_value=httpx.Response(400, json=errors(OUT_OF_STOCK)))
    with pytest.raises(PlatformRejected) as info:
        await ep.update_line(
            REF, ITEM_ID, 99, platform_ref={"product_id": TENT}, deadline=deadline()
        )
    assert info.value.cause == Cause.OUT_OF_STOCK


async def test_remove_answered_with_the_items_returns_the_cart(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.delete(f"{ITEMS}/{ITEM_ID}").mock(return_value=httpx.Response(200, json=items_body()))
    cart = await ep.remove_line(REF, ITEM_ID, deadline=deadline())
    assert cart is not None and cart.lines == ()


async def test_remove_answered_204_reads_the_cart_which_outlives_its_last_item(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.delete(f"{ITEMS}/{ITEM_ID}").mock(return_value=httpx.Response(204))
    read = mock.get(ITEMS).mock(return_value=httpx.Response(200, json=items_body()))
    cart = await ep.remove_line(REF, ITEM_ID, deadline=deadline())
    assert cart is not None and cart.external_id == REF and read.call_count == 1


async def test_remove_retried_after_a_lost_answer_reads_the_cart_back(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    missing = {"status": 404, "title": "Not Found", "detail": "The Item doesn't exist in the cart"}
    mock.delete(f"{ITEMS}/{ITEM_ID}").mock(
        side_effect=[httpx.ReadTimeout("lost"), httpx.Response(404, json=errors(missing))]
    )
    mock.get(ITEMS).mock(return_value=httpx.Response(200, json=items_body()))
    cart = await ep.remove_line(REF, ITEM_ID, deadline=deadline())
    assert cart is not None and cart.lines == ()


@pytest.mark.parametrize("status", [204, 404])
async def test_delete_succeeds_on_204_and_on_404(
    ep: ElasticPathAdapter, mock: respx.MockRouter, status: int
) -> None:
    body = None if status == 204 else errors({"status": 404, "title": "Not Found"})
    route = mock.delete(CART).mock(return_value=httpx.Response(status, json=body))
    await ep.delete_cart(REF, deadline=deadline())
    assert route.call_count == 1


async def test_delete_of_a_customers_last_cart_is_rejected(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    last = {
        "status": 400,
        "title": "Last cart",
        "detail": "This is the last cart associated with a customer and it cannot be deleted",
    }
    mock.delete(CART).mock(return_value=httpx.Response(400, json=errors(last)))
    with pytest.raises(PlatformRejected, match="Last cart"):
        await ep.delete_cart(REF, deadline=deadline())


# --- error answers and retries --------------------------------------------------------------------


async def test_a_write_conflict_is_sent_once_more_then_raised(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    conflict = httpx.Response(
        409, json=errors({"status": 409, "title": "Conflict", "detail": "Write conflict detected"})
    )
    route = mock.put(f"{ITEMS}/{ITEM_ID}").mock(side_effect=[conflict, conflict])
    with pytest.raises(PlatformConflict) as info:
        await ep.update_line(
            REF, ITEM_ID, 2, platform_ref={"product_id": TENT}, deadline=deadline()
        )
    assert info.value.cause == Cause.PLATFORM_CONFLICT and route.call_count == 2

    route.side_effect = [conflict, httpx.Response(200, json=items_body(ep_item()))]
    cart = await ep.update_line(
        REF, ITEM_ID, 2, platform_ref={"product_id": TENT}, deadline=deadline()
    )
    assert cart is not None and route.call_count == 4


async def test_422_is_a_rejection_and_not_retried(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    entry = {
        "status": 422,
        "title": "Could not apply EP promotion with the given code",
        "detail": "The cart is configured to use custom discounts",
    }
    route = mock.put(f"{ITEMS}/{ITEM_ID}").mock(
        return_value=httpx.Response(422, json=errors(entry))
    )
    with pytest.raises(PlatformRejected) as info:
        await ep.update_line(
            REF, ITEM_ID, 2, platform_ref={"product_id": TENT}, deadline=deadline()
        )
    assert info.value.cause == Cause.PLATFORM_REJECTED and info.value.platform_status == 422
    assert route.call_count == 1


async def test_429_waits_its_retry_after_then_succeeds(
    ep: ElasticPathAdapter, mock: respx.MockRouter, clock: FakeClock
) -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "0.05"}, json=errors({"status": 429}))
    route = mock.get(ITEMS).mock(side_effect=[throttled, httpx.Response(200, json=items_body())])
    await ep.get_cart(REF, deadline=deadline())
    assert route.call_count == 2 and clock.slept == [0.05]


async def test_429_on_an_add_is_retried_too_since_nothing_was_applied(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    throttled = httpx.Response(429, json=errors({"status": "429", "title": "Too Many Requests"}))
    route = mock.post(ITEMS).mock(
        side_effect=[throttled, httpx.Response(201, json=items_body(ep_item()))]
    )
    assert (await ep.add_lines(REF, [TENT_LINE], deadline=deadline())).lines
    assert route.call_count == 2


async def test_429_every_time_is_rate_limited(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.get(ITEMS).mock(return_value=httpx.Response(429, headers={"Retry-After": "2"}))
    with pytest.raises(PlatformRateLimited) as info:
        await ep.get_cart(REF, deadline=deadline(0.3))
    assert info.value.cause == Cause.RATE_LIMITED and info.value.retry_after == 2.0


async def test_a_5xx_to_a_read_is_retried(ep: ElasticPathAdapter, mock: respx.MockRouter) -> None:
    route = mock.get(ITEMS).mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json=items_body())]
    )
    await ep.get_cart(REF, deadline=deadline())
    assert route.call_count == 2
