"""The Elastic Path adapter against respx: the requests it sends and what it makes of each answer.

Token handling (fetch, reuse, expiry, 401) is in ``test_elastic_path_auth.py``; the bodies are
checked against Elastic Path's own OpenAPI files in ``test_elastic_path_spec.py``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx
from pydantic import ValidationError

from adapters.base import CartContext, ExternalLine, LineRequest
from adapters.calls.policy import RetryPolicy
from adapters.elastic_path import RETRY_RULES, ElasticPathAdapter, ElasticPathConnection
from adapters.registry import AdapterRegistry
from bags.status import Platform
from errors import (
    Cause,
    PlatformConflict,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
    PlatformTimeout,
)
from tests.adapters.conftest import FakeClock, deadline, fast_settings

API = "https://api.elasticpath.test"
CLIENT_ID = "ep-client-id-0123456789"
SECRET = "ep-client-secret-s3cr3t-9876543210"
TOKEN_URL = f"{API}/oauth/access_token"
REF = "bag_0123456789abcdef0123"
CART = f"{API}/v2/carts/{REF}"
ITEMS = f"{CART}/items"
TENT = "5a4662d2-9a2b-4f6e-a215-2970db914b0c"
MUG = "9eda5ba0-4f4a-4074-8547-ccb05d1b5981"
ITEM_ID = "98de010d-dd10-4fa5-a070-0b9bcdc72974"
ITEM_2 = "c58760f4-8889-4719-b34d-be1f1d11ae59"
CONN = {"api_url": API, "client_id": CLIENT_ID, "client_secret": SECRET}
TENT_LINE = LineRequest(platform_ref={"product_id": TENT}, quantity=2, sku_id="sku_tent")
MUG_LINE = LineRequest(platform_ref={"sku": "MUG-1"}, quantity=1, sku_id="sku_mug")


# --- answers, shaped as Elastic Path's docs and OpenAPI examples show them ----------------------


def token_body(token: str = "tok1", expires_in: int = 3600) -> dict[str, Any]:  # noqa: S107
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": expires_in,
        "expires": int(time.time()) + expires_in,
        "identifier": "client_credentials",
    }


def price(amount: int, currency: str = "USD") -> dict[str, Any]:
    return {"amount": amount, "currency": currency, "formatted": f"${amount / 100:.2f}"}


def ep_item(
    item_id: str = ITEM_ID,
    product_id: str = TENT,
    sku: str = "TENT-2P",
    quantity: int = 2,
    unit: int = 47500,
    kind: str = "cart_item",
    currency: str = "USD",
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": item_id,
        "type": kind,
        "name": "Trail Tent",
        "description": "A tent",
        "sku": sku,
        "slug": sku.lower(),
        "image": {"mime_type": "", "file_name": "", "href": ""},
        "quantity": quantity,
        "manage_stock": True,
        "unit_price": {"amount": unit, "currency": currency, "includes_tax": True},
        "value": {"amount": unit * quantity, "currency": currency, "includes_tax": True},
        "links": {},
        "meta": {
            "display_price": {
                "with_tax": {"unit": price(unit, currency), "value": price(unit * quantity)},
                "without_tax": {"unit": price(unit, currency), "value": price(unit * quantity)},
            },
            "timestamps": {
                "created_at": "2024-05-24T18:00:58Z",
                "updated_at": "2024-05-24T18:00:58Z",
            },
        },
    }
    if kind == "cart_item":
        item["product_id"] = product_id
        item["catalog_source"] = "pim"
    return item


def items_body(
    *items: dict[str, Any], total: int | None = None, currency: str = "USD"
) -> dict[str, Any]:
    amount = sum(i["value"]["amount"] for i in items) if total is None else total
    shown = price(amount, currency) if items else {"amount": 0, "currency": "", "formatted": "0"}
    return {
        "data": list(items),
        "meta": {
            "display_price": {"with_tax": shown, "without_tax": shown, "tax": price(0, currency)},
            "timestamps": {
                "created_at": "2024-05-24T18:00:58Z",
                "updated_at": "2024-05-24T18:00:58Z",
                "expires_at": "2024-05-31T18:00:58Z",
            },
        },
    }


def cart_body(
    ref: str = REF,
    *,
    name: str = "Cart",
    description: str = "",
    attributes: dict[str, Any] | None = None,
    item_ids: tuple[str, ...] = (),
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": ref,
        "type": "cart",
        "name": name,
        "description": description,
        "discount_settings": {"custom_discounts_enabled": False, "use_rule_promotions": False},
        "links": {"self": f"{API}/v2/carts/{ref}"},
        "meta": {
            "display_price": {"with_tax": {"amount": 0, "currency": "", "formatted": "0"}},
            "timestamps": {
                "created_at": "2023-01-06T20:12:23Z",
                "updated_at": "2023-01-12T16:09:59Z",
            },
        },
        "relationships": {
            "items": {"data": [{"type": "cart_item", "id": i} for i in item_ids] or None}
        },
    }
    if attributes is not None:
        data["custom_attributes"] = attributes
    return {"data": data}


def errors(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"errors": list(entries)}


OUT_OF_STOCK = {
    "status": 400,
    "title": "Insufficient stock",
    "detail": "There is not enough stock to add Trail Tent to your cart",
    "meta": {"id": TENT, "sku": "TENT-2P"},
}
NO_MUG = {
    "status": 404,
    "title": "Product not found",
    "detail": "The requested product could not be found",
    "meta": {"sku": "MUG-1"},
}


# --- fixtures -------------------------------------------------------------------------------------


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(using="httpx", assert_all_called=False) as router:
        router.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body()))
        yield router


@pytest.fixture
def ep(registry: AdapterRegistry) -> ElasticPathAdapter:
    adapter = registry.for_merchant("mer_ep", Platform.ELASTIC_PATH, CONN)
    assert isinstance(adapter, ElasticPathAdapter)
    return adapter


def make_adapter(registry: AdapterRegistry, clock: FakeClock | None = None) -> ElasticPathAdapter:
    """Built by hand, for a fake token clock: what the registry builds, plus ``clock``."""
    settings = fast_settings().for_platform(Platform.ELASTIC_PATH.value)
    return ElasticPathAdapter(
        "mer_ep",
        ElasticPathConnection.model_validate(CONN),
        registry.transport(Platform.ELASTIC_PATH),
        registry.resilience(Platform.ELASTIC_PATH),
        RetryPolicy.for_platform(settings, RETRY_RULES),
        clock=clock or FakeClock(),
    )


def sent(route: respx.Route, index: int = -1) -> Any:
    return json.loads(route.calls[index].request.content)


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


class FakeStore:
    """Just enough Elastic Path to hold state across calls: carts by id, made on first GET."""

    def __init__(self) -> None:
        self.carts: dict[str, dict[str, Any]] = {}
        self.items: dict[str, list[dict[str, Any]]] = {}
        self.posts = 0
        self.lose_next_add_answer = False
        self.refuse_next_add: httpx.Response | None = None

    def route(self, mock: respx.MockRouter) -> None:
        mock.route(path__regex=r"^/v2/carts/(?P<ref>[^/]+)$").mock(side_effect=self.cart)
        items = r"^/v2/carts/(?P<ref>[^/]+)/items$"
        mock.route(path__regex=items).mock(side_effect=self.lines)
        # Reached only when ``lines`` applied an add and declined to answer it (returned None).
        # (An exception raised inside a side effect gets a cyclic __cause__ chain from respx.)
        mock.post(path__regex=items).mock(side_effect=httpx.ReadTimeout("the answer was lost"))

    def cart(self, request: httpx.Request, ref: str) -> httpx.Response:
        if request.method == "DELETE":
            self.carts.pop(ref, None)
            self.items.pop(ref, None)
            return httpx.Response(204)
        cart = self.carts.setdefault(ref, {"name": "Cart", "description": ""})
        self.items.setdefault(ref, [])
        if request.method == "PUT":
            cart.update(json.loads(request.content)["data"])
        ids = tuple(i["id"] for i in self.items[ref])
        body = cart_body(ref, name=cart["name"], description=cart["description"], item_ids=ids)
        body["data"]["custom_attributes"] = cart.get("custom_attributes", {})
        return httpx.Response(200, json=body)

    def lines(self, request: httpx.Request, ref: str) -> httpx.Response | None:
        held = self.items.setdefault(ref, [])
        if request.method == "POST":
            self.posts += 1
            if self.refuse_next_add is not None:
                refused, self.refuse_next_add = self.refuse_next_add, None
                return refused
            for wanted in json.loads(request.content)["data"]:
                product = wanted.get("id") or MUG
                same = next((i for i in held if i["product_id"] == product), None)
                if same is not None:
                    same["quantity"] += wanted["quantity"]
                else:
                    item_id = f"00000000-0000-4000-8000-{len(held):012d}"
                    held.append(
                        {"id": item_id, "product_id": product, "quantity": wanted["quantity"]}
                    )
            if self.lose_next_add_answer:
                self.lose_next_add_answer = False
                return None
        shown = [ep_item(i["id"], i["product_id"], quantity=i["quantity"]) for i in held]
        return httpx.Response(201 if request.method == "POST" else 200, json=items_body(*shown))


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


# --- connection and registry ----------------------------------------------------------------------


def test_connection_strips_the_trailing_slash_and_hides_the_secrets() -> None:
    conn = ElasticPathConnection.model_validate({**CONN, "api_url": API + "/"})
    assert conn.api_url == API
    assert SECRET not in repr(conn) and CLIENT_ID not in repr(conn)


@pytest.mark.parametrize(
    "change",
    [
        {"api_url": "ftp://api.elasticpath.test"},
        {"api_url": "not a url"},
        {"api_url": f"{API}?store=1"},
        {"api_url": f"{API}#x"},
        {"api_url": "https://user:pw@api.elasticpath.test"},
        {"client_id": ""},
        {"client_secret": "   "},
        {"client_secret": "abc\r\nX-Injected: 1"},
        {"client_secret": "abc\ndef"},
        {"client_id": "id\x00"},
        {"client_secret": "sécret"},
        {"extra": "field"},
    ],
)
def test_bad_connections_are_refused_without_echoing_the_secret(change: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as info:
        ElasticPathConnection.model_validate({**CONN, **change})
    for value in change.values():
        if value.strip() and "elasticpath" not in value:
            assert value not in str(info.value)


def test_a_missing_secret_is_refused() -> None:
    with pytest.raises(ValidationError):
        ElasticPathConnection.model_validate({"api_url": API, "client_id": CLIENT_ID})


async def test_the_registry_builds_the_adapter_from_its_table_row(
    registry: AdapterRegistry, mock: respx.MockRouter
) -> None:
    assert Platform.ELASTIC_PATH in registry.supported_platforms()
    parsed = registry.parse_connection(Platform.ELASTIC_PATH, CONN)
    assert isinstance(parsed, ElasticPathConnection)
    adapter = registry.for_merchant("mer_ep", "ELASTIC_PATH", CONN)
    assert isinstance(adapter, ElasticPathAdapter)
    assert adapter.capabilities.caller_chosen_cart_ids and adapter.capabilities.can_delete_cart
    mock.delete(CART).mock(return_value=httpx.Response(204))
    await adapter.delete_cart(REF, deadline=deadline())
