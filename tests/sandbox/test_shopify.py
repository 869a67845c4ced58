"""The Shopify simulator answers as the Storefront cart docs say.

https://shopify.dev/docs/api/storefront/latest/mutations/cartCreate and the other cart mutations.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from sandbox.catalog import store_token
from tests.sandbox.conftest import Client, control
from tests.sandbox.shopify_client import ADD, CREATE, GET, REMOVE, UPDATE, Shop, gid, line, nodes

CART_ID = re.compile(r"^gid://shopify/Cart/c1-[0-9a-f]{32}\?key=[0-9a-f]{32}$")
LINE_ID = re.compile(r"^gid://shopify/CartLine/[0-9a-f-]{36}\?cart=c1-[0-9a-f]{32}$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


@pytest.fixture
def shop(world: Client) -> Shop:
    return Shop(world)


async def test_create_answers_the_cart_and_query_reads_it(shop: Shop) -> None:
    payload = await shop.create(
        line(41011, 2, attributes=[{"key": "gift", "value": "yes"}]),
        line(41020),
        note="leave at door",
        attributes=[{"key": "ref", "value": "multicart"}],
        buyerIdentity={"email": "a@example.com", "countryCode": "US"},
    )
    assert payload["userErrors"] == [] and payload["warnings"] == []
    cart = payload["cart"]
    assert CART_ID.match(cart["id"])
    token, key = cart["id"].removeprefix("gid://shopify/Cart/").split("?key=")
    assert cart["checkoutUrl"].endswith(f"/shopify/threads4/cart/c/{token}?key={key}")
    assert TIME.match(cart["createdAt"]) and TIME.match(cart["updatedAt"])
    assert cart["totalQuantity"] == 3 and cart["note"] == "leave at door"
    assert cart["attributes"] == [{"key": "ref", "value": "multicart"}]
    assert cart["buyerIdentity"] == {"email": "a@example.com", "countryCode": "US"}
    tee, socks = nodes(cart)
    assert LINE_ID.match(tee["id"]) and tee["id"].endswith(token)
    assert tee["merchandise"] == {
        "id": gid(41011),
        "title": "S",
        "sku": "TEE-S",
        "price": {"amount": "25.0", "currencyCode": "USD"},
        "product": {"id": "gid://shopify/Product/4101", "title": "Organic Tee"},
    }
    assert tee["attributes"] == [{"key": "gift", "value": "yes"}]
    assert tee["cost"]["totalAmount"] == {"amount": "50.0", "currencyCode": "USD"}
    assert socks["merchandise"]["title"] == "Default Title"
    assert cart["cost"]["subtotalAmount"] == {"amount": "64.0", "currencyCode": "USD"}
    assert cart["cost"]["totalAmount"] == cart["cost"]["checkoutChargeAmount"]
    assert await shop.cart(cart["id"]) == cart


async def test_money_is_decimal_strings(world: Client) -> None:
    cart = (await Shop(world, "coffee5").create(line(51030, 2)))["cart"]
    assert nodes(cart)[0]["cost"]["amountPerQuantity"]["amount"] == "45.5"
    assert Decimal(cart["cost"]["totalAmount"]["amount"]) == Decimal("91.00")
    empty = (await Shop(world, "coffee5").create())["cart"]
    assert empty["cost"]["totalAmount"]["amount"] == "0.0" and empty["totalQuantity"] == 0


async def test_both_token_headers_and_auth_failures(shop: Shop, world: Client) -> None:
    public = {"X-Shopify-Storefront-Access-Token": store_token("threads4")}
    assert (await shop.post(GET, {"id": "x"}, headers=public)).status == 200
    for headers in ({}, {"Shopify-Storefront-Private-Token": "wrong-token"}):
        response = await shop.post(GET, {"id": "x"}, headers=headers)
        assert response.status == 401 and "errors" in await response.json()
    other = {"Shopify-Storefront-Private-Token": store_token("coffee5")}
    assert (await shop.post(GET, {"id": "x"}, headers=other)).status == 401
    assert (await world.post("/shopify/nope/api/2026-04/graphql.json", json={})).status == 404
    assert (await world.post("/shopify/threads4/api/latest/graphql.json", json={})).status == 404
    assert (await world.get("/shopify/threads4/admin")).status == 404


async def test_unknown_variant_is_an_invalid_user_error(shop: Shop, world: Client) -> None:
    payload = await shop.create(line(41011), line(424242))
    assert payload["cart"] is None
    assert payload["userErrors"] == [
        {
            "code": "INVALID",
            "field": ["input", "lines", "1", "merchandiseId"],
            "message": f"The merchandise with id {gid(424242)} does not exist.",
        }
    ]
    not_on_platform = await shop.create(line(9990))
    assert not_on_platform["userErrors"][0]["code"] == "INVALID"
    await control(world, "PUT", "/settings", {"store": "threads4", "unknown_variant_code": "MERCHANDISE_NOT_APPLICABLE"})  # fmt: skip  # noqa: E501
    assert (await shop.create(line(9990)))["userErrors"][0]["code"] == "MERCHANDISE_NOT_APPLICABLE"
    assert await control(world, "GET", "/carts?store=threads4") == []


async def test_add_merges_the_same_variant(shop: Shop) -> None:
    cart = (await shop.create(line(41011, 1)))["cart"]
    added = await shop.mutate(
        "cartLinesAdd", ADD, cartId=cart["id"], lines=[line(41011, 2), line(41012)]
    )
    assert added["userErrors"] == []
    merged = nodes(added["cart"])
    assert [(n["merchandise"]["id"], n["quantity"]) for n in merged] == [
        (gid(41011), 3),
        (gid(41012), 1),
    ]
    assert merged[0]["id"] == nodes(cart)[0]["id"]
    other = [line(41011, 1, attributes=[{"key": "engraving", "value": "A"}])]
    separate = await shop.mutate("cartLinesAdd", ADD, cartId=cart["id"], lines=other)
    assert len(nodes(separate["cart"])) == 3  # different attributes: a line of its own


async def test_not_enough_stock_clamps_with_a_warning(shop: Shop, world: Client) -> None:
    payload = await shop.create(line(41013, 5))  # L: stock 2
    [tee] = nodes(payload["cart"])
    assert tee["quantity"] == 2 and payload["userErrors"] == []
    assert payload["warnings"] == [
        {
            "code": "MERCHANDISE_NOT_ENOUGH_STOCK",
            "message": "Only 2 items were added to your cart due to availability.",
            "target": tee["id"],
        }
    ]
    more = await shop.mutate("cartLinesAdd", ADD, cartId=payload["cart"]["id"], lines=[line(41013)])
    assert nodes(more["cart"])[0]["quantity"] == 2 and more["warnings"][0]["target"] == tee["id"]


async def test_out_of_stock_drops_the_line_and_may_leave_an_empty_cart(
    shop: Shop, world: Client
) -> None:
    payload = await shop.create(line(9000, 1))
    assert payload["cart"]["totalQuantity"] == 0 and nodes(payload["cart"]) == []
    assert payload["warnings"] == [
        {
            "code": "MERCHANDISE_OUT_OF_STOCK",
            "message": "The merchandise Trigger: always out of stock is out of stock.",
            "target": gid(9000),
        }
    ]
    [held] = await control(world, "GET", "/carts?store=threads4")
    assert held["id"] == payload["cart"]["id"] and held["lines"] == []
    cart = (await shop.create(line(41020, 3)))["cart"]
    stock = {"store": "threads4", "platform_ref": {"variant_id": gid(41020)}, "stock": 0}
    await control(world, "PUT", "/stock", stock)
    bumped = await shop.mutate(
        "cartLinesUpdate",
        UPDATE,
        cartId=cart["id"],
        lines=[{"id": nodes(cart)[0]["id"], "quantity": 4}],
    )
    assert (
        nodes(bumped["cart"]) == [] and bumped["warnings"][0]["code"] == "MERCHANDISE_OUT_OF_STOCK"
    )


async def test_update_and_remove_lines(shop: Shop) -> None:
    cart = (await shop.create(line(41011, 1), line(41020, 1)))["cart"]
    tee, socks = (n["id"] for n in nodes(cart))
    updated = await shop.mutate(
        "cartLinesUpdate",
        UPDATE,
        cartId=cart["id"],
        lines=[{"id": tee, "quantity": 4}, {"id": socks, "quantity": 0}],
    )
    assert [(n["id"], n["quantity"]) for n in nodes(updated["cart"])] == [(tee, 4)]
    swapped = await shop.mutate(
        "cartLinesUpdate",
        UPDATE,
        cartId=cart["id"],
        lines=[{"id": tee, "merchandiseId": gid(41012)}],
    )
    assert nodes(swapped["cart"])[0]["merchandise"]["id"] == gid(41012)
    missing = await shop.mutate(
        "cartLinesUpdate",
        UPDATE,
        cartId=cart["id"],
        lines=[{"id": "gid://shopify/CartLine/nope", "quantity": 1}],
    )
    assert missing["cart"] is None
    assert missing["userErrors"][0]["code"] == "INVALID_MERCHANDISE_LINE"
    assert missing["userErrors"][0]["field"] == ["lines", "0", "id"]
    negative = await shop.mutate(
        "cartLinesUpdate", UPDATE, cartId=cart["id"], lines=[{"id": tee, "quantity": -1}]
    )
    assert negative["userErrors"][0]["code"] == "INVALID"
    bad_remove = await shop.mutate("cartLinesRemove", REMOVE, cartId=cart["id"], lineIds=[tee, "x"])
    assert bad_remove["userErrors"][0]["field"] == ["lineIds", "1"]
    assert len(nodes(await shop.cart(cart["id"]) or {})) == 1  # nothing removed
    removed = await shop.mutate("cartLinesRemove", REMOVE, cartId=cart["id"], lineIds=[tee])
    assert removed["userErrors"] == [] and removed["cart"]["totalQuantity"] == 0


async def test_quantity_rules_are_user_errors(shop: Shop) -> None:
    too_many = await shop.create(line(41030, 3))  # the Rain Jacket: at most 2 a line
    assert too_many["cart"] is None
    assert too_many["userErrors"][0]["code"] == "MAXIMUM_EXCEEDED"
    assert too_many["userErrors"][0]["field"] == ["input", "lines", "0", "quantity"]
    zero = await shop.create(line(41020, 0))
    assert zero["cart"] is None and zero["userErrors"][0]["code"] == "INVALID"
    default = await shop.create(line(41020, None))  # quantity defaults to 1
    assert nodes(default["cart"])[0]["quantity"] == 1


async def test_unknown_cart_and_altered_key(shop: Shop) -> None:
    cart = (await shop.create(line(41020)))["cart"]
    altered = cart["id"][:-1] + ("0" if cart["id"][-1] != "0" else "1")
    assert await shop.cart(altered) is None
    assert await shop.cart(cart["id"].split("?")[0]) is None
    for name, document, extra in (
        ("cartLinesAdd", ADD, {"lines": [line(41020)]}),
        ("cartLinesUpdate", UPDATE, {"lines": [{"id": "x", "quantity": 1}]}),
        ("cartLinesRemove", REMOVE, {"lineIds": ["x"]}),
    ):
        payload = await shop.mutate(name, document, cartId=altered, **extra)
        assert payload == {
            "cart": None,
            "userErrors": [
                {
                    "code": "INVALID",
                    "field": ["cartId"],
                    "message": "The specified cart does not exist.",
                }
            ],
            "warnings": [],
        }


async def test_carts_expire_after_ten_days(shop: Shop, world: Client) -> None:
    cart = (await shop.create(line(41020)))["cart"]
    await control(world, "POST", "/clock", {"advance_s": 9 * 86400})
    assert await shop.cart(cart["id"]) is not None
    await control(world, "POST", "/clock", {"advance_s": 10 * 86400 + 1})
    assert await shop.cart(cart["id"]) is None
    assert await control(world, "GET", "/carts?store=threads4") == []


async def test_invalid_documents_fail_with_top_level_errors(shop: Shop) -> None:
    answer = await shop.gql('{ cart(id: "x") { id foo } }')
    assert "data" not in answer
    assert answer["errors"] == [
        {
            "message": "Field 'foo' doesn't exist on type 'Cart'",
            "locations": [{"line": 1, "column": 22}],
            "extensions": {"code": "undefinedField", "typeName": "Cart", "fieldName": "foo"},
        }
    ]
    bad_variable = await shop.gql(CREATE, {"input": {"lines": [{"id": "x"}]}})
    [error] = bad_variable["errors"]
    assert error["message"] == "Variable $input of type CartInput was provided invalid value"
    assert error["extensions"]["value"] == {"lines": [{"id": "x"}]}
    assert error["extensions"]["problems"][0]["path"] == ["lines", 0]
    assert (await shop.gql('{ cart(id: "x") { id '))["errors"][0]["locations"]
    no_page = await shop.gql('{ cart(id: "x") { lines { nodes { id } } } }')
    assert no_page["errors"][0]["message"] == "you must provide one of first or last"
    no_delete = await shop.gql('mutation { cartDelete(cartId: "x") { deletedId } }')
    assert no_delete["errors"][0]["extensions"]["code"] == "undefinedField"
    response = await shop.client.post(
        shop.path, json={"variables": {}}, headers={"Shopify-Storefront-Private-Token": shop.token}
    )
    assert response.status == 400


async def test_graphql_features_work(shop: Shop, world: Client) -> None:
    cart = (await shop.create(line(41011), line(41012), line(41020)))["cart"]
    document = """
      query Page($id: ID!, $after: String) {
        mine: cart(id: $id) {
          __typename
          lines(first: 2, after: $after) {
            nodes { ...Line }
            pageInfo { hasNextPage endCursor }
          }
          one: attribute(key: "none") { value }
        }
      }
      fragment Line on BaseCartLine { id quantity merchandise { __typename } }
    """
    first = (await shop.gql(document, {"id": cart["id"]}))["data"]["mine"]
    assert first["__typename"] == "Cart" and first["one"] is None
    assert len(first["lines"]["nodes"]) == 2 and first["lines"]["pageInfo"]["hasNextPage"]
    assert first["lines"]["nodes"][0]["merchandise"] == {"__typename": "ProductVariant"}
    after = first["lines"]["pageInfo"]["endCursor"]
    rest = (await shop.gql(document, {"id": cart["id"], "after": after}))["data"]["mine"]
    assert [n["id"] for n in rest["lines"]["nodes"]] == [nodes(cart)[2]["id"]]
    raw = await world.post(
        shop.path,
        data=f'{{ cart(id: "{cart["id"]}") {{ totalQuantity }} }}',
        headers={
            "Content-Type": "application/graphql",
            "Shopify-Storefront-Private-Token": shop.token,
        },
    )
    assert (await raw.json())["data"]["cart"]["totalQuantity"] == 3


async def test_server_error_trigger_is_a_500_and_changes_nothing(shop: Shop, world: Client) -> None:
    cart = (await shop.create(line(41020)))["cart"]
    for document, variables in (
        (CREATE, {"input": {"lines": [line(9010)]}}),
        (ADD, {"cartId": cart["id"], "lines": [line(41011), line(9010)]}),
    ):
        response = await shop.post(document, variables)
        assert response.status == 500
        [error] = (await response.json())["errors"]
        assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
        assert error["extensions"]["requestId"] in error["message"]
    [held] = await control(world, "GET", "/carts?store=threads4")
    assert [line_["quantity"] for line_ in held["lines"]] == [1]


async def test_control_lists_shopify_stores_and_carts(world: Client) -> None:
    stores = await control(world, "GET", "/stores")
    assert [s["store"] for s in stores[:3]] == ["outdoors1", "kitchen2", "books3"]
    shops = [s for s in stores if s["platform"] == "SHOPIFY"]
    assert [s["store"] for s in shops] == ["threads4", "coffee5"]
    for store in shops:
        assert store["connection"] == {
            "shop_url": str(world.make_url(f"/shopify/{store['store']}")),
            "storefront_token": store_token(store["store"]),
            "api_version": "2026-04",
        }
        assert all(
            p["platform_ref"]["variant_id"].startswith("gid://shopify/ProductVariant/")
            for p in store["products"]
        )
        triggers = {p["trigger"]: p["platform_ref"] for p in store["products"] if "trigger" in p}
        assert triggers == {
            "out_of_stock": {"variant_id": gid(9000)},
            "server_error": {"variant_id": gid(9010)},
            "not_on_platform": {"variant_id": gid(9990)},
        }
        assert store["settings"] == {
            "quota": 100000,
            "window_ms": 30000,
            "unknown_variant_code": "INVALID",
        }
    shop = Shop(world, "coffee5")
    cart = (await shop.create(line(51011, 2)))["cart"]
    [held] = await control(world, "GET", "/carts?store=coffee5")
    assert held["id"] == cart["id"] and held["platform"] == "SHOPIFY"
    assert held["lines"] == [
        {
            "id": nodes(cart)[0]["id"],
            "platform_ref": {"variant_id": gid(51011)},
            "quantity": 2,
            "price": 1600,
        }
    ]
    assert held["sub_total"] == 3200 and held["currency"] == "USD"


async def test_connection_as_listed_works_with_each_trigger(world: Client) -> None:
    for store in await control(world, "GET", "/stores"):
        if store["platform"] != "SHOPIFY":
            continue
        connection = store["connection"]
        url = f"{connection['shop_url']}/api/{connection['api_version']}/graphql.json"
        headers = {"Shopify-Storefront-Private-Token": connection["storefront_token"]}
        for product in store["products"]:
            variables = {
                "input": {"lines": [{"merchandiseId": product["platform_ref"]["variant_id"]}]}
            }
            response = await world.session.post(
                url, json={"query": CREATE, "variables": variables}, headers=headers
            )
            trigger = product.get("trigger")
            assert response.status == (500 if trigger == "server_error" else 200)
            if response.status == 200:
                payload = (await response.json())["data"]["cartCreate"]
                if trigger == "not_on_platform":
                    assert payload["cart"] is None
                elif trigger == "out_of_stock":
                    assert payload["warnings"][0]["code"] == "MERCHANDISE_OUT_OF_STOCK"
                else:
                    assert payload["cart"]["totalQuantity"] == 1, product
