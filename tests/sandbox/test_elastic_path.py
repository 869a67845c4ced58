"""The Elastic Path simulator answers as the Carts v2 and token docs say."""

from __future__ import annotations

import re

import pytest

from tests.sandbox.conftest import Client, control
from tests.sandbox.ep_client import EP, cart_item, product, secret

TOKEN = re.compile(r"^[0-9a-f]{40}$")
TENT = {"amount": 0, "currency": "", "formatted": "0"}


@pytest.fixture
def ep(world: Client) -> EP:
    return EP(world)


async def test_token_endpoint(ep: EP, world: Client) -> None:
    body = await ep.authenticate()
    assert TOKEN.match(body["access_token"]) and body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600 and body["identifier"] == "client_credentials"
    assert isinstance(body["expires"], int)
    url = ep.base + "/oauth/access_token"
    connection = await ep.credentials()
    assert connection == {
        "api_url": str(world.make_url(ep.base)),
        "client_id": connection["client_id"],
        "client_secret": secret("garden6"),
    }
    good = {"grant_type": "client_credentials", "client_id": connection["client_id"]}
    assert (await world.post(url, json={**good, "client_secret": secret("garden6")})).status == 400
    wrong = await world.post(url, data={**good, "client_secret": "nope"})
    assert wrong.status == 401
    assert (await wrong.json())["errors"][0] == {"title": "Unauthorized", "status": "401"}
    bad_grant = await world.post(url, data={**good, "grant_type": "password"})
    assert bad_grant.status == 400
    implicit = await world.post(
        url, data={"grant_type": "implicit", "client_id": good["client_id"]}
    )
    assert (await implicit.json())["identifier"] == "implicit"


async def test_bearer_token_required_and_expires(ep: EP, world: Client) -> None:
    for headers in ({"Authorization": "Bearer nope"}, {"Authorization": ""}):
        response = await world.get(ep.base + "/v2/carts/abc", headers=headers)
        assert response.status == 401
        assert (await response.json()) == {
            "errors": [{"status": 401, "title": "Unable to validate access token"}]
        }
    await control(world, "PUT", "/settings", {"store": "garden6", "token_ttl_s": 5})
    assert (await ep.authenticate())["expires_in"] == 5
    assert (await ep.call("GET", "/v2/carts/abc")).status == 200
    await control(world, "POST", "/clock", {"advance_s": 6})
    assert (await ep.call("GET", "/v2/carts/abc")).status == 401
    await ep.authenticate()
    assert (await ep.call("GET", "/v2/carts/abc")).status == 200
    other = EP(world, "games7")  # a token is good for its own store only
    await other.authenticate()
    other.store = "garden6"
    assert (await other.call("GET", "/v2/carts/abc")).status == 401
    settings = await control(world, "PUT", "/settings", {"store": "garden6", "expire_tokens": True})
    assert settings["token_ttl_s"] == 5
    assert (await ep.call("GET", "/v2/carts/abc")).status == 401


async def test_unknown_reference_is_an_empty_cart_created_on_read(ep: EP, world: Client) -> None:
    response = await ep.call("GET", "/v2/carts/my-ref_1")
    assert response.status == 200
    cart = (await response.json())["data"]
    assert (cart["id"], cart["type"], cart["name"], cart["description"]) == (
        "my-ref_1",
        "cart",
        "Cart",
        "",
    )
    assert cart["meta"]["display_price"]["with_tax"] == TENT
    assert cart["relationships"]["items"] == {"data": None}
    stamps = cart["meta"]["timestamps"]
    assert stamps["created_at"].endswith("Z") and stamps["expires_at"] > stamps["updated_at"]
    [held] = await control(world, "GET", "/carts?store=garden6")
    assert held["id"] == "my-ref_1" and held["lines"] == []
    items = await (await ep.call("GET", "/v2/carts/other/items")).json()
    assert items["data"] == [] and items["meta"]["display_price"]["with_tax"] == TENT
    assert (await ep.call("GET", "/v2/carts/bad%20ref")).status == 400


async def test_create_update_and_delete_a_cart(ep: EP, world: Client) -> None:
    attrs = {
        "is_member": {"type": "boolean", "value": True},
        "level": {"type": "string", "value": "gold"},
    }
    body = {"data": {"name": "Bob's cart", "description": "gifts", "custom_attributes": attrs}}
    response = await ep.call("POST", "/v2/carts", body)
    assert response.status == 201
    cart = (await response.json())["data"]
    assert re.match(r"^[0-9a-f-]{36}$", cart["id"]) and cart["name"] == "Bob's cart"
    assert cart["custom_attributes"] == attrs and cart["description"] == "gifts"
    assert cart["links"]["self"].endswith(f"/elasticpath/garden6/v2/carts/{cart['id']}")
    assert (await ep.call("POST", "/v2/carts")).status == 201  # the body is optional
    assert (await ep.call("POST", "/v2/carts", {"data": {"name": ""}})).status == 400
    bad = {"data": {"custom_attributes": {"n": {"type": "integer", "value": "x"}}}}
    assert (await ep.call("POST", "/v2/carts", bad)).status == 400
    updated = await ep.call("PUT", f"/v2/carts/{cart['id']}", {"data": {"name": "Renamed"}})
    assert updated.status == 200 and (await updated.json())["data"]["name"] == "Renamed"
    rejected = await ep.call("PUT", f"/v2/carts/{cart['id']}", {"data": {"name": ""}})
    assert rejected.status == 422
    assert (await ep.call("DELETE", f"/v2/carts/{cart['id']}")).status == 204
    assert len(await control(world, "GET", "/carts?store=garden6")) == 1


async def test_add_by_id_and_sku_merges_and_prices_in_minor_units(ep: EP, world: Client) -> None:
    seeds = product("garden6", 6101)
    response = await ep.add("c1", cart_item(seeds, 2))
    assert response.status == 201
    again = await ep.add("c1", cart_item(sku="SEEDS-TOMATO", quantity=1))
    body = await again.json()
    [item] = body["data"]
    assert (item["type"], item["product_id"], item["sku"], item["quantity"]) == (
        "cart_item",
        seeds,
        "SEEDS-TOMATO",
        3,
    )
    assert item["unit_price"] == {"amount": 399, "currency": "USD", "includes_tax": True}
    assert item["value"]["amount"] == 1197
    assert item["meta"]["display_price"]["with_tax"]["unit"]["formatted"] == "$3.99"
    assert item["meta"]["display_price"]["with_tax"]["value"]["formatted"] == "$11.97"
    assert body["meta"]["display_price"]["with_tax"] == {
        "amount": 1197,
        "currency": "USD",
        "formatted": "$11.97",
    }
    large = await ep.add("c1", cart_item(sku="PLANTER-L", quantity=1))
    assert [i["sku"] for i in (await large.json())["data"]] == ["SEEDS-TOMATO", "PLANTER-L"]
    custom = {
        "type": "custom_item",
        "name": "Gift wrap",
        "sku": "WRAP",
        "quantity": 1,
        "price": {"amount": 250},
    }
    await ep.add("c1", custom)
    items = (await (await ep.add("c1", custom)).json())["data"]
    wrap = items[-1]
    assert (wrap["type"], wrap["quantity"], wrap["value"]["amount"]) == ("custom_item", 2, 500)
    assert "product_id" not in wrap
    [held] = await control(world, "GET", "/carts?store=garden6")
    assert held["lines"][0] == {
        "id": items[0]["id"],
        "platform_ref": {"product_id": seeds},
        "quantity": 3,
        "price": 399,
        "sku": "SEEDS-TOMATO",
    }
    cart = await (await ep.call("GET", "/v2/carts/c1?include=items")).json()
    assert [r["id"] for r in cart["data"]["relationships"]["items"]["data"]] == [
        i["id"] for i in items
    ]
    assert len(cart["included"]["items"]) == 3


async def test_add_errors(ep: EP, world: Client) -> None:
    oos = await ep.add("c1", cart_item(product("garden6", 900)))
    assert oos.status == 400
    [error] = (await oos.json())["errors"]
    assert error["title"] == "Insufficient stock"
    assert error["meta"] == {"id": product("garden6", 900), "sku": "TRIGGER-OOS"}
    too_many = await ep.add("c1", cart_item(sku="PLANTER-L", quantity=4))  # stock 3
    assert too_many.status == 400
    for missing in (cart_item(product("garden6", 999)), cart_item(sku="NOPE"), cart_item("0f0f")):
        response = await ep.add("c1", missing)
        assert response.status == 404
        assert (await response.json())["errors"][0]["title"] == "Product not found"
    crash = await ep.add("c1", cart_item(sku="TRIGGER-500"))
    assert crash.status == 500 and (await crash.json())["errors"][0]["request_id"]
    assert (await ep.add("c1", cart_item(sku="GLOVES", quantity=0))).status == 400
    assert (await ep.add("c1", {"type": "promotion_item", "code": "X"})).status == 404
    euro = await ep.call(
        "POST",
        "/v2/carts/c1/items",
        {"data": cart_item(sku="GLOVES")},
        headers={"X-MOLTIN-CURRENCY": "EUR"},
    )
    assert euro.status == 400
    assert (await ep.call("POST", "/v2/carts/c1/items", data=b"{nope")).status == 400
    [held] = await control(world, "GET", "/carts?store=garden6")
    assert held["lines"] == []


async def test_bulk_add_partial_failure_and_all_or_nothing(ep: EP, world: Client) -> None:
    items = [
        cart_item(sku="GLOVES", quantity=2),
        cart_item(sku="NOPE"),
        cart_item(sku="TRIGGER-OOS"),
    ]
    response = await ep.add("bulk", *items)
    assert response.status == 201
    body = await response.json()
    assert [i["sku"] for i in body["data"]] == ["GLOVES"]
    assert [(e["status"], e["title"], e["meta"]["sku"]) for e in body["errors"]] == [
        (404, "Product not found", "NOPE"),
        (400, "Insufficient stock", "TRIGGER-OOS"),
    ]
    strict = await ep.call(
        "POST", "/v2/carts/strict/items", {"data": items, "options": {"add_all_or_nothing": True}}
    )
    assert strict.status == 404 and len((await strict.json())["errors"]) == 2
    assert (await (await ep.call("GET", "/v2/carts/strict/items")).json())["data"] == []


async def test_update_and_delete_items(ep: EP) -> None:
    body = await (await ep.add("c1", cart_item(sku="GLOVES"), cart_item(sku="PLANTER-S"))).json()
    gloves, planter = (i["id"] for i in body["data"])
    update = {"data": {"type": "cart_item", "id": gloves, "quantity": 5}}
    response = await ep.call("PUT", f"/v2/carts/c1/items/{gloves}", update)
    assert response.status == 200
    assert [i["quantity"] for i in (await response.json())["data"]] == [5, 1]
    short = await ep.call("PUT", f"/v2/carts/c1/items/{planter}", {"data": {"quantity": 61}})
    assert (
        short.status == 400 and (await short.json())["errors"][0]["title"] == "Insufficient stock"
    )
    missing = await ep.call("PUT", "/v2/carts/c1/items/nope", {"data": {"quantity": 1}})
    assert missing.status == 404
    assert (await missing.json())["errors"][0]["detail"] == "The Item doesn't exist in the cart"
    bulk = {"data": [{"id": gloves, "quantity": 2}, {"id": planter, "quantity": 3}]}
    assert [
        i["quantity"]
        for i in (await (await ep.call("PUT", "/v2/carts/c1/items", bulk)).json())["data"]
    ] == [2, 3]
    zero = await ep.call("PUT", f"/v2/carts/c1/items/{planter}", {"data": {"quantity": 0}})
    assert [i["id"] for i in (await zero.json())["data"]] == [gloves]
    deleted = await ep.call("DELETE", f"/v2/carts/c1/items/{gloves}")
    assert deleted.status == 200 and (await deleted.json())["data"] == []
    assert (await ep.call("DELETE", f"/v2/carts/c1/items/{gloves}")).status == 404
    await ep.add("c1", cart_item(sku="GLOVES"))
    assert (await ep.call("DELETE", "/v2/carts/c1/items")).status == 204
    assert (await (await ep.call("GET", "/v2/carts/c1/items")).json())["data"] == []


async def test_write_conflict_answers_409_then_clears(ep: EP, world: Client) -> None:
    await control(world, "PUT", "/settings", {"store": "garden6", "write_conflicts": 1})
    assert (await ep.call("GET", "/v2/carts/c1")).status == 200  # reads are not writes
    conflict = await ep.add("c1", cart_item(sku="GLOVES"))
    assert conflict.status == 409
    assert (await conflict.json())["errors"] == [
        {"status": 409, "title": "Conflict", "detail": "Write conflict detected"}
    ]
    assert (await ep.add("c1", cart_item(sku="GLOVES"))).status == 201
    bc_only = {"store": "garden6", "unknown_product_status": 422}
    response = await world.put("/__sandbox/settings", json=bc_only)
    assert response.status == 400 and (await response.json())["field"] == "unknown_product_status"


async def test_carts_expire_after_seven_days(ep: EP, world: Client) -> None:
    await ep.add("c1", cart_item(sku="GLOVES"))
    await control(world, "POST", "/clock", {"advance_s": 7 * 86400 + 1})
    await ep.authenticate()
    assert (await (await ep.call("GET", "/v2/carts/c1/items")).json())["data"] == []


async def test_stock_control_takes_either_platform_ref(ep: EP, world: Client) -> None:
    listed = await control(
        world, "PUT", "/stock", {"store": "garden6", "platform_ref": {"sku": "GLOVES"}, "stock": 1}
    )
    assert listed["platform_ref"] == {"product_id": product("garden6", 6103)}
    assert (await ep.add("c1", cart_item(sku="GLOVES", quantity=2))).status == 400


async def test_connection_as_listed_works_with_each_trigger(world: Client) -> None:
    stores = [s for s in await control(world, "GET", "/stores") if s["platform"] == "ELASTIC_PATH"]
    assert [s["store"] for s in stores] == ["garden6", "games7"]
    for store in stores:
        connection = store["connection"]
        form = {
            "grant_type": "client_credentials",
            **{k: connection[k] for k in ("client_id", "client_secret")},
        }
        token = await (
            await world.session.post(connection["api_url"] + "/oauth/access_token", data=form)
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        expected = {None: 201, "out_of_stock": 400, "server_error": 500, "not_on_platform": 404}
        for index, listed in enumerate(store["products"]):
            body = {
                "data": {
                    "type": "cart_item",
                    "id": listed["platform_ref"]["product_id"],
                    "quantity": 1,
                }
            }
            url = f"{connection['api_url']}/v2/carts/check-{index}/items"
            response = await world.session.post(url, json=body, headers=headers)
            assert response.status == expected[listed.get("trigger")], listed
        assert store["settings"] == {
            "quota": 100000,
            "window_ms": 30000,
            "token_ttl_s": 3600,
            "write_conflicts": 0,
        }
