"""What the Elastic Path adapter sends, and the answers its tests feed it, against Elastic Path's
own OpenAPI files.

The specs (``elasticpath_carts.yaml``: composable-frontend's ``cart_checkout.yaml``, and
``elasticpath_auth.yaml``) live in the shared platforms folder and are not copied into the repo;
without them these tests skip. Each request the adapter really sent through respx is validated
as a request to the spec's server, and each sample answer as that operation's response.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import respx

from adapters.base import CartContext
from adapters.elastic_path import ELASTIC_PATH, ElasticPathAdapter
from tests.adapters.conftest import deadline, fast_settings, mocked_registry
from tests.adapters.elastic_path_answers import (
    CART,
    CONN,
    ITEM_2,
    ITEM_ID,
    ITEMS,
    MUG,
    MUG_LINE,
    NO_MUG,
    OUT_OF_STOCK,
    REF,
    TENT_LINE,
    TOKEN_URL,
    cart_body,
    ep_item,
    errors,
    items_body,
    token_body,
)

REPO_ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
SHARED = Path(os.environ.get("MULTICART_SHARED_DIR", REPO_ROOT.parent / "shared"))
SPECS = SHARED / "platforms/specs"
HOST = "https://useast.api.elasticpath.com"  # the specs' first server


def _load(name: str) -> Any:
    path = SPECS / name
    if not path.exists():
        pytest.skip(f"Elastic Path OpenAPI file not found at {path} (set MULTICART_SHARED_DIR)")
    from openapi_core import OpenAPI

    return OpenAPI.from_path(path)


@pytest.fixture(scope="module")
def carts_spec() -> Any:
    return _load("elasticpath_carts.yaml")


@pytest.fixture(scope="module")
def auth_spec() -> Any:
    return _load("elasticpath_auth.yaml")


@pytest.fixture
async def ep() -> AsyncIterator[ElasticPathAdapter]:
    registry = mocked_registry(fast_settings())
    adapter = registry.for_merchant("mer_ep", ELASTIC_PATH, CONN)
    assert isinstance(adapter, ElasticPathAdapter)
    yield adapter
    await registry.aclose()


def as_spec_request(request: httpx.Request) -> Any:
    from openapi_core.testing import MockRequest

    return MockRequest(
        HOST,
        request.method.lower(),
        request.url.path,
        args=dict(request.url.params),
        headers=dict(request.headers),
        data=request.content or None,
        content_type=request.headers.get("Content-Type", "application/json"),
    )


def check(spec: Any, request: httpx.Request, status: int, answer: Any = None) -> None:
    """The request as the adapter sent it, and the answer it was given, against ``spec``."""
    from openapi_core.testing import MockResponse

    spec.validate_request(as_spec_request(request))
    if answer is None:
        # A 204 is documented with ``content: {}``, which openapi-core reads as "a body is
        # required": there is no body to check, only the request.
        return
    data = orjson.dumps(answer)
    spec.validate_response(
        as_spec_request(request),
        MockResponse(data, status_code=status, content_type="application/json"),
    )


async def test_the_token_grant_and_its_answers_match_the_auth_spec(
    auth_spec: Any, ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    grant = mock.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body()))
    mock.get(ITEMS).mock(return_value=httpx.Response(200, json=items_body()))
    await ep.get_cart(REF, deadline=deadline())
    sent = grant.calls.last.request
    check(auth_spec, sent, 200, token_body())  # the unwrapped answer the docs and SDK read
    check(auth_spec, sent, 200, {"data": token_body()})  # the spec's own example
    check(auth_spec, sent, 401, {"errors": [{"title": "Unauthorized", "status": "401"}]})


async def test_a_create_sends_spec_valid_requests_and_reads_spec_valid_answers(
    carts_spec: Any, ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body()))
    added = items_body(ep_item(), ep_item(ITEM_2, MUG, "MUG-1", quantity=1, unit=1299))
    partial = items_body(ep_item()) | errors(NO_MUG)
    get = mock.get(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    put = mock.put(CART).mock(return_value=httpx.Response(200, json=cart_body(name="x")))
    add = mock.post(ITEMS).mock(return_value=httpx.Response(201, json=added))
    context = CartContext(cart_id="cart_1", bag_id=REF, customer_id="cus_1", name="Gifts")

    await ep.create_cart(
        [TENT_LINE, MUG_LINE], currency="USD", deadline=deadline(), cart_ref=REF, context=context
    )

    check(carts_spec, get.calls.last.request, 200, cart_body(item_ids=(ITEM_ID,)))
    check(carts_spec, get.calls.last.request, 200, cart_body())
    check(carts_spec, put.calls.last.request, 200, cart_body(name="Gifts"))
    check(carts_spec, add.calls.last.request, 201, added)
    check(carts_spec, add.calls.last.request, 201, partial)
    check(carts_spec, add.calls.last.request, 400, errors(OUT_OF_STOCK))
    check(carts_spec, add.calls.last.request, 404, errors(NO_MUG))
    check(carts_spec, add.calls.last.request, 500, errors({"status": 500, "title": "Error"}))


async def test_item_reads_updates_removals_and_deletes_match_the_spec(
    carts_spec: Any, ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body()))
    held = items_body(ep_item())
    read = mock.get(ITEMS).mock(return_value=httpx.Response(200, json=held))
    update = mock.put(f"{ITEMS}/{ITEM_ID}").mock(return_value=httpx.Response(200, json=held))
    remove = mock.delete(f"{ITEMS}/{ITEM_ID}").mock(
        return_value=httpx.Response(200, json=items_body())
    )
    delete = mock.delete(CART).mock(return_value=httpx.Response(204))

    await ep.get_cart(REF, deadline=deadline())
    await ep.update_line(REF, ITEM_ID, 3, platform_ref={"product_id": ep_item()["product_id"]},
                         deadline=deadline())  # fmt: skip
    await ep.remove_line(REF, ITEM_ID, deadline=deadline())
    await ep.delete_cart(REF, deadline=deadline())

    check(carts_spec, read.calls.last.request, 200, held)
    check(carts_spec, read.calls.last.request, 200, items_body())
    check(carts_spec, update.calls.last.request, 200, held)
    missing = {"status": 404, "title": "Not Found", "detail": "Item was not found in the cart"}
    check(carts_spec, update.calls.last.request, 404, errors(missing))
    check(carts_spec, remove.calls.last.request, 200, items_body())
    check(carts_spec, delete.calls.last.request, 204)
    last = {"status": 400, "title": "Last cart", "detail": "This is the last cart"}
    check(carts_spec, delete.calls.last.request, 400, errors(last))


def test_the_check_itself_catches_a_wrong_body_and_a_wrong_answer(carts_spec: Any) -> None:
    from openapi_core.exceptions import OpenAPIError

    headers = {"Authorization": "Bearer t", "Content-Type": "application/json"}
    no_quantity = {"data": [{"type": "cart_item", "id": MUG}], "options": {}}
    bad_request = httpx.Request("POST", ITEMS, headers=headers, json=no_quantity)
    with pytest.raises(OpenAPIError):
        check(carts_spec, bad_request, 201, items_body())
    good = {"data": [{"type": "cart_item", "id": MUG, "quantity": 1}]}
    good_request = httpx.Request("POST", ITEMS, headers=headers, json=good)
    check(carts_spec, good_request, 201, items_body(ep_item()))
    text_money = items_body(ep_item())
    text_money["meta"]["display_price"]["with_tax"]["amount"] = "95000"
    with pytest.raises(OpenAPIError):  # (its items are an anyOf that admits any object)
        check(carts_spec, good_request, 201, text_money)


@pytest.fixture(scope="module")
def carts_components() -> Any:
    """A validator of any of the carts spec's component schemas (JSON Schema 2020-12)."""
    path = SPECS / "elasticpath_carts.yaml"
    if not path.exists():
        pytest.skip(f"Elastic Path OpenAPI file not found at {path} (set MULTICART_SHARED_DIR)")
    import yaml
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    document = yaml.safe_load(path.read_text())
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource("urn:ep", resource)

    def validator(name: str) -> Any:
        ref = {"$ref": f"urn:ep#/components/schemas/{name}"}
        return Draft202012Validator(ref, registry=registry)

    return validator


def test_each_sample_item_is_a_cart_item_object_and_each_body_its_schema(
    carts_components: Any,
) -> None:
    # The items arrays are an anyOf that admits any object, so each entry is checked against
    # the schema it claims: a product line is a CartItemObject, a custom one a CustomItemObjectData.
    item = carts_components("CartItemObject")
    for sample in (ep_item(), ep_item(ITEM_2, MUG, "MUG-1", quantity=1, unit=1299)):
        item.validate(sample)
    custom = ep_item(ITEM_2, sku="GIFT-WRAP", kind="custom_item")
    carts_components("CustomItemObjectData").validate(custom | {"price": custom["unit_price"]})
    carts_components("CartsResponse").validate(items_body(ep_item()))
    carts_components("CartEntityResponse").validate(cart_body(item_ids=(ITEM_ID,)))
    carts_components("Response.ErrorResponse").validate(errors(OUT_OF_STOCK, NO_MUG))
    assert not item.is_valid(ep_item() | {"quantity": "2"})
    assert not item.is_valid(ep_item() | {"unit_price": {"amount": "47500"}})
