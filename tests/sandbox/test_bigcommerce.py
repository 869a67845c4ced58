"""The BigCommerce simulator answers as the Carts v3 docs say.

https://developer.bigcommerce.com/docs/rest-management/carts
"""

from __future__ import annotations

import re
from decimal import Decimal

from sandbox.bigcommerce.render import money
from sandbox.bigcommerce.rules import CONFLICT_TITLE, STATUS_CODES_URL
from tests.sandbox.conftest import BC, Client, control, item

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
RATE_HEADERS = (
    "X-Rate-Limit-Time-Window-Ms",
    "X-Rate-Limit-Time-Reset-Ms",
    "X-Rate-Limit-Requests-Quota",
    "X-Rate-Limit-Requests-Left",
)


async def test_create_answers_cart_full_and_get_reads_it(bc: BC) -> None:
    response = await bc.call(
        "POST", "/carts", {"line_items": [item(112, 2, 77), item(113, 1)], "customer_id": 7}
    )
    assert response.status == 201
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.headers["X-Request-Id"]
    body = await response.json()
    assert body["meta"] == {}
    cart = body["data"]
    assert UUID.match(cart["id"])
    assert (cart["customer_id"], cart["channel_id"], cart["email"], cart["locale"]) == (
        7,
        1,
        "",
        "en-US",
    )
    assert cart["currency"] == {"code": "USD"} and cart["tax_included"] is False
    assert cart["base_amount"] == cart["cart_amount"] == 392.97  # 2 x 189.99 + 12.99
    assert (cart["discount_amount"], cart["manual_discount_amount"]) == (0, 0)
    assert cart["coupons"] == [] and cart["discounts"] == [] and cart["version"] == 1
    assert ISO.match(cart["created_time"]) and ISO.match(cart["updated_time"])
    items = cart["line_items"]
    assert items["digital_items"] == items["gift_certificates"] == items["custom_items"] == []
    tent, mug = items["physical_items"]
    assert UUID.match(tent["id"]) and tent["id"] != mug["id"]
    assert (tent["product_id"], tent["variant_id"], tent["sku"], tent["quantity"]) == (
        112,
        77,
        "TENT-2P",
        2,
    )
    assert (mug["product_id"], mug["variant_id"]) == (113, 1130)  # a simple product's base variant
    assert tent["name"] == "Trail Tent" and tent["taxable"] is True
    assert tent["url"].startswith("http") and tent["image_url"].startswith("http")
    prices = [tent[k] for k in ("original_price", "list_price", "sale_price")]
    assert prices == [189.99, 189.99, 189.99]
    assert tent["extended_list_price"] == tent["extended_sale_price"] == 379.98
    assert (tent["discounts"], tent["coupons"], tent["discount_amount"], tent["coupon_amount"]) == (
        [],
        [],
        0,
        0,
    )
    assert tent["is_require_shipping"] is True and tent["is_mutable"] is True
    assert tent["added_by_promotion"] is False
    assert "redirect_urls" not in cart

    got = await bc.get(cart["id"])
    assert got.status == 200
    assert (await got.json())["data"] == cart


async def test_money_is_json_numbers_exactly(bc: BC) -> None:
    cart = await BC(bc.client, "kitchen2").create(item(212, 5))
    assert cart["line_items"]["physical_items"][0]["list_price"] == 27.95
    assert cart["cart_amount"] == 139.75  # the docs' own example numbers


async def test_duplicate_lines_merge_into_one(bc: BC) -> None:
    cart = await bc.create(item(112, 1, 77), item(112, 2, 77))
    [line] = cart["line_items"]["physical_items"]
    assert line["quantity"] == 3
    added = await bc.call("POST", f"/carts/{cart['id']}/items", {"line_items": [item(112, 1, 77)]})
    assert added.status == 201
    data = (await added.json())["data"]
    [merged] = data["line_items"]["physical_items"]
    assert (merged["id"], merged["quantity"], data["version"]) == (line["id"], 4, 2)


async def test_item_lifecycle_versions_and_last_delete_removes_cart(bc: BC, client: Client) -> None:
    cart = await bc.create(item(113, 1), query="?include=redirect_urls")
    assert cart["redirect_urls"]["checkout_url"].endswith(f"/checkout/{cart['id']}")
    cid = cart["id"]
    added = await bc.call("POST", f"/carts/{cid}/items", {"line_items": [item(112, 1, 77)]})
    assert added.status == 201
    data = (await added.json())["data"]
    assert data["version"] == 2 and data["updated_time"] >= data["created_time"]
    mug, tent = data["line_items"]["physical_items"]

    spec_form = {"line_item": item(112, 3, 77), "version": 2}  # Cart_Line_Item_Update_Put
    updated = await bc.call("PUT", f"/carts/{cid}/items/{tent['id']}", spec_form)
    assert updated.status == 200
    data = (await updated.json())["data"]
    assert data["version"] == 3 and data["line_items"]["physical_items"][1]["quantity"] == 3
    guide_form = {"line_items": [item(112, 2, 77)]}  # the form BigCommerce's guide shows
    updated = await bc.call("PUT", f"/carts/{cid}/items/{tent['id']}", guide_form)
    assert updated.status == 200
    assert (await updated.json())["data"]["line_items"]["physical_items"][1]["quantity"] == 2

    deleted = await bc.call("DELETE", f"/carts/{cid}/items/{tent['id']}")
    assert deleted.status == 200
    data = (await deleted.json())["data"]
    assert [x["id"] for x in data["line_items"]["physical_items"]] == [mug["id"]]
    assert data["version"] == 5 and data["cart_amount"] == 12.99

    last = await bc.call("DELETE", f"/carts/{cid}/items/{mug['id']}")
    assert last.status == 204 and await last.read() == b""
    assert (await bc.get(cid)).status == 404
    assert await control(client, "GET", "/carts?store=outdoors1") == []


async def test_update_cart_customer_and_delete_cart(bc: BC) -> None:
    cart = await bc.create(item(113))
    put = await bc.call("PUT", f"/carts/{cart['id']}", {"customer_id": 42, "version": 1})
    assert put.status == 201  # sic, per the spec
    data = (await put.json())["data"]
    assert (data["customer_id"], data["version"]) == (42, 2)
    assert (await bc.call("DELETE", f"/carts/{cart['id']}")).status == 204
    again = await bc.call("DELETE", f"/carts/{cart['id']}")
    assert again.status == 404
    assert (await again.json())["type"] == STATUS_CODES_URL
    assert (await bc.get(cart["id"])).status == 404


async def test_stale_version_is_409_and_changes_nothing(bc: BC) -> None:
    cart = await bc.create(item(113))
    cid, line = cart["id"], cart["line_items"]["physical_items"][0]["id"]
    attempts = [
        ("POST", f"/carts/{cid}/items", {"line_items": [item(114)], "version": 9}),
        ("PUT", f"/carts/{cid}/items/{line}", {"line_item": item(113, 5), "version": 0}),
        ("DELETE", f"/carts/{cid}/items/{line}", {"version": 2}),
        ("PUT", f"/carts/{cid}", {"customer_id": 3, "version": 2}),
    ]
    for method, path, body in attempts:
        response = await bc.call(method, path, body)
        assert response.status == 409, (method, path)
        assert await response.json() == {
            "status": 409,
            "title": CONFLICT_TITLE,
            "type": STATUS_CODES_URL,
        }
    after = (await (await bc.get(cid)).json())["data"]
    assert after["version"] == 1 and after["line_items"] == cart["line_items"]


async def test_auth_content_type_and_json_errors(bc: BC, client: Client) -> None:
    for headers in ({"X-Auth-Token": "wrong"}, {"X-Auth-Token": ""}):
        response = await bc.call("GET", "/carts/x", headers=headers)
        assert response.status == 401
        body = await response.json()
        assert body["status"] == 401 and body["type"] == STATUS_CODES_URL and body["title"]
        assert all(name in response.headers for name in RATE_HEADERS)
    missing = await client.get(bc.path("/carts/x"))
    assert missing.status == 401

    auth = {"X-Auth-Token": bc.token}
    no_type = await client.post(bc.path("/carts"), data=b'{"line_items": []}', headers=auth)
    assert no_type.status == 415
    text = await client.post(
        bc.path("/carts"), data=b"{}", headers={**auth, "Content-Type": "text/plain"}
    )
    assert text.status == 415
    bad = await client.post(
        bc.path("/carts"), data=b"{oops", headers={**auth, "Content-Type": "application/json"}
    )
    assert bad.status == 400
    assert (await bad.json())["title"] == "Input is invalid"
    array = await bc.call("POST", "/carts", [1, 2])
    assert array.status == 422

    elsewhere = await client.get("/bigcommerce/stores/nostore/v3/carts/x", headers=auth)
    assert elsewhere.status == 403 and (await elsewhere.json())["status"] == 403
    route = await bc.call("GET", "/catalog/products")
    assert route.status == 404 and (await route.json())["type"] == STATUS_CODES_URL


async def test_stock_is_checked_against_the_carts_total(bc: BC) -> None:
    too_many = await bc.call("POST", "/carts", {"line_items": [item(112, 4, 78)]})
    assert too_many.status == 422
    assert (await too_many.json())["title"] == (
        "Not enough stock: only 3 of Trail Tent (4-person) are available."
    )
    cart = await bc.create(item(112, 3, 78))
    more = await bc.call("POST", f"/carts/{cart['id']}/items", {"line_items": [item(112, 1, 78)]})
    assert more.status == 422
    line = cart["line_items"]["physical_items"][0]["id"]
    update = await bc.call(
        "PUT", f"/carts/{cart['id']}/items/{line}", {"line_item": item(112, 4, 78)}
    )
    assert update.status == 422
    after = (await (await bc.get(cart["id"])).json())["data"]
    assert after["version"] == 1 and after["line_items"]["physical_items"][0]["quantity"] == 3

    out = await bc.call("POST", "/carts", {"line_items": [item(900)]})
    assert out.status == 422 and "stock" in (await out.json())["title"]


async def test_product_with_variants_requires_variant_id(bc: BC) -> None:
    response = await bc.call("POST", "/carts", {"line_items": [item(112, 1)]})
    assert response.status == 422
    body = await response.json()
    assert body["title"] == "Missing or incorrect required fields"
    assert body["errors"] == {"variant": "This product has options, variant ID is required"}
    wrong = await bc.call("POST", "/carts", {"line_items": [item(112, 1, 999)]})
    assert wrong.status == 404


async def test_unknown_product_is_404_or_422_per_store(bc: BC, client: Client) -> None:
    response = await bc.call("POST", "/carts", {"line_items": [item(999)]})
    assert response.status == 404 and (await response.json())["status"] == 404
    await control(client, "PUT", "/settings", {"store": "outdoors1", "unknown_product_status": 422})
    response = await bc.call("POST", "/carts", {"line_items": [item(999)]})
    assert response.status == 422 and "product_id" in (await response.json())["errors"]


async def test_bad_line_items_are_422(bc: BC) -> None:
    for line in (
        item(113, 0),
        item(113, -1),
        {"product_id": 113, "quantity": 1.5},
        {"product_id": 113, "quantity": "2"},
        {"product_id": "113", "quantity": 1},
        {"quantity": 1},
    ):
        response = await bc.call("POST", "/carts", {"line_items": [line]})
        assert response.status == 422, line
    assert (await bc.call("POST", "/carts", {"line_items": []})).status == 422
    assert (await bc.call("POST", "/carts", {})).status == 422
    cart = await bc.create(item(113))
    line_id = cart["line_items"]["physical_items"][0]["id"]
    zero = await bc.call("PUT", f"/carts/{cart['id']}/items/{line_id}", {"line_item": item(113, 0)})
    assert zero.status == 422
    other = await bc.call("PUT", f"/carts/{cart['id']}/items/{line_id}", {"line_item": item(114)})
    assert other.status == 422
    unknown = await bc.call("PUT", f"/carts/{cart['id']}/items/nope", {"line_item": item(113)})
    assert unknown.status == 404
    currency = await bc.call(
        "POST", "/carts", {"line_items": [item(113)], "currency": {"code": "EUR"}}
    )
    assert currency.status == 400


async def test_server_error_trigger_is_500_and_keeps_nothing(bc: BC, client: Client) -> None:
    response = await bc.call("POST", "/carts", {"line_items": [item(113), item(901)]})
    assert response.status == 500 and (await response.json())["status"] == 500
    assert await control(client, "GET", "/carts?store=outdoors1") == []
    cart = await bc.create(item(113))
    add = await bc.call("POST", f"/carts/{cart['id']}/items", {"line_items": [item(901)]})
    assert add.status == 500
    assert (await (await bc.get(cart["id"])).json())["data"]["version"] == 1


async def test_redirect_urls_and_checkout_page(bc: BC, client: Client) -> None:
    cart = await bc.create(item(113, 2))
    response = await bc.call("POST", f"/carts/{cart['id']}/redirect_urls")
    assert response.status == 201
    urls = (await response.json())["data"]
    assert set(urls) == {"cart_url", "checkout_url", "embedded_checkout_url"}
    page = await client.session.get(urls["checkout_url"])
    assert page.status == 200 and "Camp Mug" in await page.text()
    assert (await bc.call("POST", "/carts/nope/redirect_urls")).status == 404


async def test_carts_expire_30_days_after_last_change(bc: BC, client: Client) -> None:
    old = await bc.create(item(113))
    await control(client, "POST", "/clock", {"advance_s": 29 * 86400})
    fresh = await bc.create(item(114))
    assert (await bc.get(old["id"])).status == 200
    await control(client, "POST", "/clock", {"advance_s": 86400 + 1})
    assert (await bc.get(old["id"])).status == 404
    assert (await bc.get(fresh["id"])).status == 200
    assert [c["id"] for c in await control(client, "GET", "/carts")] == [fresh["id"]]


async def test_custom_items_are_priced_and_listed(bc: BC) -> None:
    custom = {"sku": "GIFT-NOTE", "name": "Gift note", "quantity": 2, "list_price": 1.5}
    response = await bc.call(
        "POST", "/carts", {"line_items": [item(113)], "custom_items": [custom]}
    )
    assert response.status == 201
    cart = (await response.json())["data"]
    [listed] = cart["line_items"]["custom_items"]
    assert (listed["name"], listed["quantity"], listed["list_price"]) == ("Gift note", 2, 1.5)
    assert listed["extended_list_price"] == 3.0 and cart["cart_amount"] == 15.99


async def test_options_are_included_on_request(bc: BC) -> None:
    cart = await bc.create(item(112, 1, 77), query="?include=line_items.physical_items.options")
    [line] = cart["line_items"]["physical_items"]
    assert line["options"] == [{"name": "Size", "nameId": 770, "value": "2-person", "valueId": 77}]


def test_money_renders_cents_exactly() -> None:
    for cents in range(0, 200_000, 7):
        rendered = money(cents)
        assert Decimal(str(rendered)) == Decimal(cents) / 100
        assert rendered == float(Decimal(cents) / 100)
