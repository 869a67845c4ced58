"""The BigCommerce adapter's retries: the waits its rate-limit headers ask for, what is sent again
and what never is.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
import respx

from adapters.bigcommerce import BigCommerceAdapter
from errors import (
    Cause,
    PlatformRateLimited,
    PlatformServerError,
    PlatformTimeout,
    PlatformUnavailable,
)
from tests.adapters.bigcommerce_answers import CART, CARTS, ITEM, LINE, bc_cart, error_body
from tests.adapters.conftest import CART_ID, ITEM_ID, FakeClock, deadline

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
