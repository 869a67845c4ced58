"""An Elastic Path create: read the cart of the reference, name it, add the items in one bulk
call; and a re-create after an unknown outcome, which finds the same cart and adds nothing twice.
"""

from __future__ import annotations

import httpx
import pytest
import respx

from adapters.base import CartContext, ExternalLine, LineRequest
from adapters.elastic_path import ElasticPathAdapter
from errors import PlatformTimeout
from tests.adapters.conftest import deadline
from tests.adapters.elastic_path_answers import (
    CART,
    ITEM_2,
    ITEM_ID,
    ITEMS,
    MUG,
    MUG_LINE,
    REF,
    TENT,
    TENT_LINE,
    FakeStore,
    cart_body,
    ep_item,
    items_body,
    sent,
)

pytestmark = pytest.mark.usefixtures("elastic_path_token")  # each call fetches a token first

# --- create ---------------------------------------------------------------------------------------


async def test_create_reads_the_cart_names_it_and_adds_the_items_in_one_bulk_call(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    get = mock.get(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    put = mock.put(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    add = mock.post(ITEMS).mock(
        return_value=httpx.Response(
            201,
            json=items_body(
                ep_item(),
                ep_item(ITEM_2, MUG, "MUG-1", quantity=1, unit=1299),
                total=96299,
            ),
        )
    )
    context = CartContext(cart_id="cart_42", bag_id=REF, customer_id="cus_7", name="Holiday gifts")

    cart = await ep.create_cart(
        [TENT_LINE, MUG_LINE], currency="USD", deadline=deadline(), cart_ref=REF, context=context
    )

    assert [c.request.method for c in mock.calls] == ["POST", "GET", "PUT", "POST"]
    assert get.calls.last.request.headers["Authorization"] == "Bearer tok1"
    assert sent(put) == {
        "data": {
            "name": "Holiday gifts",
            "description": f"multicart cart cart_42, bag {REF}",
            "custom_attributes": {
                "multicart_cart_id": {"type": "string", "value": "cart_42"},
                "multicart_bag_id": {"type": "string", "value": REF},
                "multicart_customer_id": {"type": "string", "value": "cus_7"},
            },
        }
    }
    request = add.calls.last.request
    assert request.headers["Authorization"] == "Bearer tok1"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-MOLTIN-CURRENCY"] == "USD"
    assert sent(add) == {
        "data": [
            {"type": "cart_item", "id": TENT, "quantity": 2},
            {"type": "cart_item", "sku": "MUG-1", "quantity": 1},
        ],
        "options": {"add_all_or_nothing": False},
    }
    assert cart.external_id == REF and cart.currency == "USD" and cart.checkout_url is None
    assert cart.sub_total == 96299  # meta.display_price.with_tax.amount, an integer
    assert cart.lines == (
        ExternalLine(
            ITEM_ID, {"product_id": TENT, "sku": "TENT-2P"}, 2, 47500, 95000, "Trail Tent"
        ),
        ExternalLine(ITEM_2, {"product_id": MUG, "sku": "MUG-1"}, 1, 1299, 1299, "Trail Tent"),
    )
    assert cart.line_for(TENT_LINE.platform_ref) is cart.lines[0]
    assert cart.line_for(MUG_LINE.platform_ref) is cart.lines[1]
    assert cart.problems == ()


async def test_create_without_context_names_the_cart_after_the_reference_and_skips_a_same_put(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    named = cart_body(
        name=f"multicart-{REF}",
        description=f"multicart cart {REF}, bag {REF}",
        attributes={"multicart_bag_id": {"type": "string", "value": REF}},
    )
    mock.get(CART).mock(return_value=httpx.Response(200, json=named))
    put = mock.put(CART)
    mock.post(ITEMS).mock(return_value=httpx.Response(201, json=items_body(ep_item())))
    cart = await ep.create_cart([TENT_LINE], currency="USD", deadline=deadline(), cart_ref=REF)
    assert put.call_count == 0  # the cart already carries exactly these fields
    assert cart.lines[0].quantity == 2


async def test_create_retried_after_an_unknown_outcome_leaves_one_cart_with_the_lines_once(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    store = FakeStore()
    store.route(mock)
    store.lose_next_add_answer = True
    with pytest.raises(PlatformTimeout) as info:
        await ep.create_cart([TENT_LINE], currency="USD", deadline=deadline(), cart_ref=REF)
    assert info.value.may_have_applied is True
    assert store.posts == 1  # an add whose answer was lost is never blindly repeated

    cart = await ep.create_cart([TENT_LINE], currency="USD", deadline=deadline(), cart_ref=REF)

    assert store.posts == 1  # the second create found the line and added nothing
    assert list(store.carts) == [REF]
    assert [(i["product_id"], i["quantity"]) for i in store.items[REF]] == [(TENT, 2)]
    assert [(ln.platform_ref["product_id"], ln.quantity) for ln in cart.lines] == [(TENT, 2)]

    again = await ep.create_cart([TENT_LINE], currency="USD", deadline=deadline(), cart_ref=REF)
    assert again.lines == cart.lines and store.posts == 1


async def test_a_re_create_adds_only_the_missing_lines_and_sets_a_changed_quantity(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    store = FakeStore()
    store.route(mock)
    await ep.create_cart([TENT_LINE], currency="USD", deadline=deadline(), cart_ref=REF)
    item_id = store.items[REF][0]["id"]
    put = mock.put(f"{ITEMS}/{item_id}").mock(
        return_value=httpx.Response(200, json=items_body(ep_item(item_id, quantity=3)))
    )
    three = LineRequest(platform_ref={"product_id": TENT}, quantity=3, sku_id="sku_tent")
    await ep.create_cart([three, MUG_LINE], currency="USD", deadline=deadline(), cart_ref=REF)
    assert sent(put) == {"data": {"type": "cart_item", "id": item_id, "quantity": 3}}
    assert store.posts == 2
    assert [i["product_id"] for i in store.items[REF]] == [TENT, MUG]
