"""An Elastic Path create refused in whole or in part: each refused item tied to its line, no
empty cart left behind, and references refused before any call.
"""

from __future__ import annotations

import httpx
import pytest
import respx

from adapters.base import LineRequest
from adapters.elastic_path import ElasticPathAdapter
from errors import Cause, PlatformRejected, PlatformServerError
from tests.adapters.conftest import deadline
from tests.adapters.elastic_path_answers import (
    CART,
    ITEM_2,
    ITEM_ID,
    ITEMS,
    MUG,
    MUG_LINE,
    NO_MUG,
    OUT_OF_STOCK,
    REF,
    TENT,
    TENT_LINE,
    FakeStore,
    cart_body,
    ep_item,
    errors,
    items_body,
)

pytestmark = pytest.mark.usefixtures("elastic_path_token")  # each call fetches a token first


async def test_create_whose_only_item_is_out_of_stock_deletes_the_empty_cart(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.get(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    mock.put(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    add = mock.post(ITEMS).mock(return_value=httpx.Response(400, json=errors(OUT_OF_STOCK)))
    delete = mock.delete(CART).mock(return_value=httpx.Response(204))

    with pytest.raises(PlatformRejected) as info:
        await ep.create_cart([TENT_LINE], currency="USD", deadline=deadline(), cart_ref=REF)

    assert info.value.cause == Cause.OUT_OF_STOCK
    assert info.value.platform_status == 400
    assert "Insufficient stock" in info.value.message
    assert info.value.data == {"sku_ids": ["sku_tent"]}
    assert add.call_count == 1 and delete.call_count == 1


async def test_create_whose_product_is_unknown_is_sku_not_found_and_leaves_no_cart(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.get(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    mock.put(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    mock.post(ITEMS).mock(return_value=httpx.Response(404, json=errors(NO_MUG)))
    delete = mock.delete(CART).mock(return_value=httpx.Response(204))
    with pytest.raises(PlatformRejected) as info:
        await ep.create_cart([MUG_LINE], currency="USD", deadline=deadline(), cart_ref=REF)
    assert info.value.cause == Cause.SKU_NOT_FOUND_ON_PLATFORM
    assert delete.call_count == 1


async def test_a_partly_successful_bulk_add_maps_each_refused_item_to_its_line(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.get(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    mock.put(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    answer = items_body(ep_item()) | errors(NO_MUG)  # the items, with the refused one's entry
    mock.post(ITEMS).mock(return_value=httpx.Response(201, json=answer))
    delete = mock.delete(CART)

    cart = await ep.create_cart(
        [TENT_LINE, MUG_LINE], currency="USD", deadline=deadline(), cart_ref=REF
    )

    assert [ln.external_id for ln in cart.lines] == [ITEM_ID]
    assert len(cart.problems) == 1
    problem = cart.problems[0]
    assert problem.platform_ref == {"sku": "MUG-1"}
    assert problem.cause == Cause.SKU_NOT_FOUND_ON_PLATFORM
    assert problem.message == "Product not found: The requested product could not be found"
    assert (problem.requested_quantity, problem.held_quantity) == (1, 0)
    assert delete.call_count == 0


async def test_a_bulk_add_refused_with_an_error_status_is_read_back_for_the_items_it_added(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    # The status of a partial success is undocumented: a 400 naming one of two items is read back.
    mock.get(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    mock.put(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    mock.post(ITEMS).mock(return_value=httpx.Response(400, json=errors(OUT_OF_STOCK)))
    mug = ep_item(ITEM_2, MUG, "MUG-1", quantity=1, unit=1299)
    read = mock.get(ITEMS).mock(return_value=httpx.Response(200, json=items_body(mug)))

    cart = await ep.create_cart(
        [TENT_LINE, MUG_LINE], currency="USD", deadline=deadline(), cart_ref=REF
    )

    assert read.call_count == 1
    assert [ln.platform_ref["sku"] for ln in cart.lines] == ["MUG-1"]
    assert [(p.platform_ref, p.cause) for p in cart.problems] == [
        ({"product_id": TENT}, Cause.OUT_OF_STOCK)
    ]


async def test_a_500_to_the_add_is_not_repeated_and_the_cart_is_kept_for_a_re_create(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.get(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    mock.put(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    add = mock.post(ITEMS).mock(
        return_value=httpx.Response(
            500,
            json=errors({"status": 500, "title": "Internal Server Error", "request_id": "r-1"}),
        )
    )
    delete = mock.delete(CART)
    with pytest.raises(PlatformServerError) as info:
        await ep.create_cart([TENT_LINE], currency="USD", deadline=deadline(), cart_ref=REF)
    assert info.value.may_have_applied is True and info.value.platform_status == 500
    assert add.call_count == 1 and delete.call_count == 0


async def test_a_rejected_cart_name_deletes_the_empty_cart(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.get(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    bad_name = {"status": 400, "title": "Bad Request", "detail": "Odd characters"}
    mock.put(CART).mock(return_value=httpx.Response(400, json=errors(bad_name)))
    add, delete = mock.post(ITEMS), mock.delete(CART).mock(return_value=httpx.Response(204))
    with pytest.raises(PlatformRejected) as info:
        await ep.create_cart([TENT_LINE], currency="USD", deadline=deadline(), cart_ref=REF)
    assert info.value.cause == Cause.PLATFORM_REJECTED
    assert add.call_count == 0 and delete.call_count == 1


async def test_a_re_create_whose_missing_line_is_refused_keeps_the_cart_with_a_problem(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    store = FakeStore()
    store.route(mock)
    await ep.create_cart([TENT_LINE], currency="USD", deadline=deadline(), cart_ref=REF)
    store.refuse_next_add = httpx.Response(404, json=errors(NO_MUG))
    cart = await ep.create_cart(
        [TENT_LINE, MUG_LINE], currency="USD", deadline=deadline(), cart_ref=REF
    )
    assert [ln.platform_ref["product_id"] for ln in cart.lines] == [TENT]
    assert [(p.platform_ref, p.cause) for p in cart.problems] == [
        ({"sku": "MUG-1"}, Cause.SKU_NOT_FOUND_ON_PLATFORM)
    ]
    assert list(store.carts) == [REF]  # kept: it holds the tent


async def test_a_success_status_that_added_nothing_is_a_rejection_and_the_cart_goes(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.get(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    mock.put(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    answer = items_body() | errors(OUT_OF_STOCK, NO_MUG)
    mock.post(ITEMS).mock(return_value=httpx.Response(201, json=answer))
    delete = mock.delete(CART).mock(return_value=httpx.Response(204))
    with pytest.raises(PlatformRejected) as info:
        await ep.create_cart(
            [TENT_LINE, MUG_LINE], currency="USD", deadline=deadline(), cart_ref=REF
        )
    assert info.value.cause == Cause.PLATFORM_REJECTED  # two causes: no single one
    assert "Insufficient stock" in info.value.message and "Product not found" in info.value.message
    assert info.value.data == {"sku_ids": ["sku_tent", "sku_mug"]}
    assert delete.call_count == 1


@pytest.mark.parametrize(
    "line",
    [
        LineRequest(platform_ref={"product_id": "191"}, quantity=1, sku_id="sku_x"),
        LineRequest(platform_ref={"variant_id": "gid://x"}, quantity=1, sku_id="sku_x"),
    ],
)
async def test_a_reference_that_is_no_uuid_or_sku_is_refused_before_any_call(
    ep: ElasticPathAdapter, mock: respx.MockRouter, line: LineRequest
) -> None:
    with pytest.raises(PlatformRejected) as info:
        await ep.create_cart([line], currency="USD", deadline=deadline(), cart_ref=REF)
    assert info.value.cause == Cause.SKU_NOT_FOUND_ON_PLATFORM
    assert info.value.data == {"sku_ids": ["sku_x"]}
    assert mock.calls.call_count == 0


async def test_a_cart_reference_outside_the_safe_characters_is_refused(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    with pytest.raises(PlatformRejected, match="cart reference"):
        await ep.create_cart([TENT_LINE], currency="USD", deadline=deadline(), cart_ref="../x")
    assert mock.calls.call_count == 0
