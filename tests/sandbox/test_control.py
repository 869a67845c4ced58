"""The control API under /__sandbox/: exact shapes (the admin routes' own), clear 400s, reset."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.catalog import store_token
from tests.sandbox.conftest import BC, Client, control, item
from tests.sandbox.shopify_client import Shop, line


async def test_stores_listing_has_the_admin_routes_shapes(client: Client) -> None:
    stores = await control(client, "GET", "/stores")
    assert [s["store"] for s in stores] == ["outdoors1", "kitchen2", "books3"]
    for store in stores:
        assert store["platform"] == "BIGCOMMERCE"
        base = str(client.make_url(f"/bigcommerce/stores/{store['store']}/v3"))
        assert store["connection"] == {"api_url": base, "access_token": store_token(store["store"])}
        for product in store["products"]:
            assert {"platform_ref", "name", "price", "currency", "stock"} <= set(product)
            assert isinstance(product["price"], int) and product["currency"] == "USD"
            assert set(product["platform_ref"]) in ({"product_id"}, {"product_id", "variant_id"})
        triggers = {p["trigger"]: p for p in store["products"] if "trigger" in p}
        assert set(triggers) == {"out_of_stock", "server_error", "not_on_platform"}
        assert triggers["out_of_stock"]["stock"] == 0
        assert all(p["name"].startswith("Trigger: ") for p in triggers.values())
        assert sum("trigger" not in p for p in store["products"]) >= 3
    tent = stores[0]["products"][1]
    assert tent["platform_ref"] == {"product_id": 112, "variant_id": 77}


async def test_connection_and_platform_refs_work_as_listed(client: Client) -> None:
    """An integrator copies connection and platform_ref; every trigger does what it says."""
    for store in await control(client, "GET", "/stores"):
        connection = store["connection"]
        headers = {"X-Auth-Token": connection["access_token"]}
        for product in store["products"]:
            line = {**product["platform_ref"], "quantity": 1}
            response = await client.session.post(  # the absolute URL, as listed
                connection["api_url"] + "/carts", json={"line_items": [line]}, headers=headers
            )
            expected = {None: 201, "out_of_stock": 422, "server_error": 500, "not_on_platform": 404}
            assert response.status == expected[product.get("trigger")], (store["store"], product)


async def test_set_stock(bc: BC, client: Client) -> None:
    ref = {"product_id": 113}
    listed = await control(
        client, "PUT", "/stock", {"store": "outdoors1", "platform_ref": ref, "stock": 1}
    )
    assert listed["stock"] == 1 and listed["platform_ref"] == ref
    assert (await bc.call("POST", "/carts", {"line_items": [item(113, 2)]})).status == 422
    body = {"store": "outdoors1", "platform_ref": {"product_id": 900}, "stock": 5}
    await control(client, "PUT", "/stock", body)
    assert (await bc.call("POST", "/carts", {"line_items": [item(900, 5)]})).status == 201


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("POST", "/faults", {"store": "outdoors1", "mode": "error"}, "status"),
        ("POST", "/faults", {"store": "outdoors1", "mode": "explode"}, "mode"),
        ("POST", "/faults", {"store": "nope", "mode": "hang"}, "store"),
        ("POST", "/faults", {"store": "outdoors1", "mode": "error", "status": 200}, "status"),
        (
            "POST",
            "/faults",
            {"store": "outdoors1", "mode": "error", "status": 500, "rate": 2},
            "rate",
        ),
        ("POST", "/faults", {"store": "outdoors1", "mode": "latency"}, "ms"),
        ("POST", "/faults", {"store": "outdoors1", "mode": "hang", "count": 0}, "count"),
        (
            "PUT",
            "/stock",
            {"store": "outdoors1", "platform_ref": {"product_id": 1}, "stock": 1},
            "platform_ref",
        ),
        (
            "PUT",
            "/stock",
            {"store": "outdoors1", "platform_ref": {"product_id": 999}, "stock": 1},
            "platform_ref",
        ),
        (
            "PUT",
            "/stock",
            {"store": "outdoors1", "platform_ref": {"product_id": 113}, "stock": -1},
            "stock",
        ),
        ("PUT", "/quota", {"store": "outdoors1"}, "quota"),
        (
            "PUT",
            "/settings",
            {"store": "outdoors1", "unknown_product_status": 500},
            "unknown_product_status",
        ),
    ],
)
async def test_bad_control_input_is_400_naming_the_field(
    client: Client, method: str, path: str, body: dict[str, Any], field: str | None
) -> None:
    response = await client.request(method, "/__sandbox" + path, json=body)
    assert response.status == 400
    answer = await response.json()
    assert answer["field"] == field and answer["message"]
    if field:
        assert field in answer["message"]


async def test_bad_json_and_unknown_store_query_are_400(client: Client) -> None:
    response = await client.post("/__sandbox/faults", data=b"{nope")
    assert response.status == 400 and "JSON" in (await response.json())["message"]
    for path in ("/carts?store=nope", "/requests?store=nope", "/faults?store=nope"):
        response = await client.get("/__sandbox" + path)
        assert response.status == 400 and (await response.json())["field"] == "store"


async def test_carts_listing_shape_and_filter(client: Client) -> None:
    a, b = BC(client, "outdoors1"), BC(client, "books3")
    first = await a.create(item(112, 2, 77), item(113))
    second = await b.create(item(311, 1, 402))
    listed = await control(client, "GET", "/carts")
    assert [c["id"] for c in listed] == [first["id"], second["id"]]
    held = listed[0]
    assert (held["store"], held["platform"]) == ("outdoors1", "BIGCOMMERCE")
    assert held["created_time"].endswith("Z") and held["updated_time"].endswith("Z")
    lines = first["line_items"]["physical_items"]
    assert held["lines"] == [
        {
            "id": lines[0]["id"],
            "platform_ref": {"product_id": 112, "variant_id": 77},
            "quantity": 2,
        },
        {"id": lines[1]["id"], "platform_ref": {"product_id": 113}, "quantity": 1},
    ]
    only = await control(client, "GET", "/carts?store=books3")
    assert [c["id"] for c in only] == [second["id"]]


async def test_faults_list_remove_and_clear(client: Client) -> None:
    one = await control(client, "POST", "/faults", {"store": "outdoors1", "mode": "hang"})
    await control(client, "POST", "/faults", {"store": "kitchen2", "mode": "hang"})
    await control(client, "POST", "/faults", {"store": "books3", "mode": "latency", "ms": 5})
    assert len(await control(client, "GET", "/faults")) == 3
    assert (await control(client, "DELETE", f"/faults/{one['id']}")) == {"cleared": 1}
    assert (await client.delete(f"/__sandbox/faults/{one['id']}")).status == 404
    assert await control(client, "DELETE", "/faults?store=kitchen2") == {"cleared": 1}
    assert [f["store"] for f in await control(client, "GET", "/faults")] == ["books3"]
    assert await control(client, "DELETE", "/faults") == {"cleared": 1}


async def test_requests_log_records_what_arrived(bc: BC, client: Client) -> None:
    await bc.create(item(113), query="?include=redirect_urls")
    await bc.get("missing")
    log = await control(client, "GET", "/requests?store=outdoors1")
    assert [(r["method"], r["path"], r["query"], r["status"]) for r in log] == [
        ("POST", bc.path("/carts"), "include=redirect_urls", 201),
        ("GET", bc.path("/carts/missing"), "", 404),
    ]
    assert await control(client, "GET", "/requests?store=kitchen2") == []
    await control(client, "DELETE", "/requests")
    assert await control(client, "GET", "/requests") == []


async def test_reset_restores_everything(bc: BC, client: Client) -> None:
    await bc.create(item(113))
    await control(
        client,
        "PUT",
        "/stock",
        {"store": "outdoors1", "platform_ref": {"product_id": 113}, "stock": 0},
    )
    await control(client, "PUT", "/quota", {"store": "outdoors1", "quota": 1})
    await control(client, "PUT", "/settings", {"store": "outdoors1", "unknown_product_status": 422})
    await control(client, "POST", "/faults", {"store": "outdoors1", "mode": "hang"})
    await control(client, "POST", "/clock", {"advance_s": 5})
    before = await control(client, "GET", "/stores")
    assert await control(client, "POST", "/reset") == {"reset": True}
    assert await control(client, "GET", "/carts") == []
    assert await control(client, "GET", "/faults") == []
    assert await control(client, "GET", "/requests") == []
    after = await control(client, "GET", "/stores")
    assert after[0]["products"][0]["stock"] == 500 and before[0]["products"][0]["stock"] == 0
    assert after[0]["settings"] == {
        "quota": 100000,
        "window_ms": 30000,
        "unknown_product_status": 404,
    }
    assert (await bc.call("POST", "/carts", {"line_items": [item(113)]})).status == 201


async def test_index_lists_the_control_routes(client: Client) -> None:
    routes = (await control(client, "GET", ""))["routes"]
    assert "POST /__sandbox/faults" in routes and "GET /__sandbox/stores" in routes


async def test_every_platform_is_listed_with_bigcommerce_first(world: Client) -> None:
    stores = await control(world, "GET", "/stores")
    assert [(s["store"], s["platform"]) for s in stores] == [
        ("outdoors1", "BIGCOMMERCE"),
        ("kitchen2", "BIGCOMMERCE"),
        ("books3", "BIGCOMMERCE"),
        ("threads4", "SHOPIFY"),
        ("coffee5", "SHOPIFY"),
        ("garden6", "ELASTIC_PATH"),
        ("games7", "ELASTIC_PATH"),
    ]
    for store in stores:
        triggers = {p["trigger"] for p in store["products"] if "trigger" in p}
        assert triggers == {"out_of_stock", "server_error", "not_on_platform"}
        assert sum("trigger" not in p for p in store["products"]) >= 3
        assert any(p["name"].endswith(")") for p in store["products"])  # variants
    settings = await control(world, "PUT", "/settings", {"store": "threads4"})
    assert settings == {"store": "threads4", **stores[3]["settings"]}
    for store, field in (("outdoors1", "token_ttl_s"), ("threads4", "write_conflicts")):
        response = await world.put("/__sandbox/settings", json={"store": store, field: 1})
        assert response.status == 400 and (await response.json())["field"] == field


async def test_carts_listing_shows_a_shopify_carts_attributes(world: Client) -> None:
    """Where the platform mints the cart ids, the attributes tell whose cart it is."""
    shop = Shop(world)
    attributes = [{"key": "_multicart_bag_id", "value": "bag_1"}]
    made = await shop.create(line(41020), attributes=attributes)
    plain = await shop.create(line(41020))
    listed = {c["id"]: c for c in await control(world, "GET", "/carts?store=threads4")}
    assert listed[made["cart"]["id"]]["attributes"] == attributes
    assert "attributes" not in listed[plain["cart"]["id"]]
    bc = await control(world, "GET", "/carts?store=outdoors1")
    assert all("attributes" not in c for c in bc)
