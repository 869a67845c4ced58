"""What the document allows, the server takes: each place schemathesis found where a
client generated from /openapi.json sent a request the server refused is now either accepted
by the server or stated in the document. The whole document is held to it by
test_schemathesis_positive.py; these name each place.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from adapters.bigcommerce import BIGCOMMERCE
from adapters.calls.connections import UrlPolicy, url_problem
from adapters.elastic_path import ELASTIC_PATH
from adapters.registry import PLATFORMS
from adapters.shopify import SHOPIFY
from bags.status import Platform
from config import Settings
from errors import InvalidRequest
from orchestrator.http.fields import ID_PATTERN, TEXT_PATTERN, id_problem
from orchestrator.http.idempotency import KEY_PARAM, checked_key
from tests.api.conftest import ADMIN, Api
from tests.api.test_openapi import document


def fits(pattern: str, value: str) -> bool:
    """JSON Schema's ``pattern``: a search, where ``$`` is the end (Python's ``$`` also matches
    before a last line break)."""
    return re.search(pattern.replace("$", r"\Z"), value) is not None


def connection_schema(doc: dict[str, Any], platform: Platform) -> dict[str, Any]:
    name = PLATFORMS[platform].connection.__name__
    return doc["components"]["schemas"][name]  # type: ignore[no-any-return]


# --- whole numbers --------------------------------------------------------------------------


async def test_a_whole_number_written_with_a_fraction_is_an_integer(api: Api) -> None:
    # JSON Schema counts 480.0 an integer; the server used to refuse it.
    response = await api.post_cart({"skus": [{"sku_id": api.skus["tent"], "quantity": 2.0}]})
    assert response.status == 201, await response.text()
    cart = await response.json()
    line = cart["bags"][0]["skus"][0]
    assert line["quantity"] == 2
    path = f"/v1/carts/{cart['id']}/skus/{line['id']}"
    response = await api.client.patch(path, json={"quantity": 3e0}, headers=api.auth)
    assert response.status == 200, await response.text()
    assert (await response.json())["bags"][0]["skus"][0]["quantity"] == 3
    sku = {
        "sku_id": "sku-whole",
        "merchant_id": api.merchants[0],
        "name": "Whole",
        "price": 1299.0,
        "currency": "USD",
        "platform_ref": {"product_id": 9.0},
    }
    response = await api.client.put("/v1/admin/skus", json=[sku], headers=ADMIN)
    assert response.status == 200, await response.text()
    listed = await (await api.client.get("/v1/admin/skus", headers=ADMIN)).json()
    stored = next(s for s in listed["data"] if s["sku_id"] == "sku-whole")
    assert stored["price"] == 1299 and stored["platform_ref"] == {"product_id": 9}


@pytest.mark.parametrize("raw", ["2.5", "true", "1e400", '"2"'])
async def test_other_numbers_are_still_not_integers(api: Api, raw: str) -> None:
    body = f'{{"skus": [{{"sku_id": "{api.skus["tent"]}", "quantity": {raw}}}]}}'
    response = await api.client.post(
        "/v1/carts", data=body, headers={**api.auth, "Content-Type": "application/json"}
    )
    assert response.status == 400, await response.text()
    fields = [f["field"] for f in (await response.json())["data"]["fields"]]
    assert fields == ["skus[0].quantity"]


# --- strings and maps -----------------------------------------------------------------------


def test_metadata_keys_are_stated_for_every_key() -> None:
    # patternProperties constrained only the keys that matched: a key with a control character
    # could hold anything in the document, and the server refused it.
    metadata = document()["components"]["schemas"]["CreateCartIn"]["properties"]["metadata"]
    assert "patternProperties" not in metadata
    assert metadata["propertyNames"]["pattern"] == TEXT_PATTERN
    assert metadata["additionalProperties"]["type"] == "string"
    assert not fits(metadata["propertyNames"]["pattern"], "a\x02b")


def test_no_map_in_the_document_leaves_keys_unstated() -> None:
    text = repr(document())
    assert "patternProperties" not in text


@pytest.mark.parametrize("value", [" ", " a", "a ", "a\tb", "a\x00", "\u3000a", "a\xa0"])
def test_an_id_the_document_allows_is_one_the_server_takes(value: str) -> None:
    assert fits(ID_PATTERN, value) == (id_problem(value) is None), repr(value)


@pytest.mark.parametrize("value", ["a", "a b", " ", " a", "a ", "a\x7f", "é"])
def test_an_idempotency_key_the_document_allows_arrives_as_sent(value: str) -> None:
    # HTTP drops spaces at either end of a header's value: " a" arrives as "a", " " as "".
    arrives = value.strip(" ")
    try:
        checked_key([arrives])
        taken = arrives == value
    except InvalidRequest:
        taken = False
    assert fits(KEY_PARAM.schema["pattern"], value) == taken, repr(value)


# --- merchants ------------------------------------------------------------------------------


URLS = [
    "https://api.bigcommerce.com/stores/abc/v3",
    "https://shop.myshopify.com",
    "https://useast.api.elasticpath.com:8443/",
    "http://api.bigcommerce.com/stores/abc/v3",
    "https://127.0.0.1/x",
    "https://0x7f.1",
    "https://2130706433",
    "https://localhost",
    "https://metadata",
    "https://a.b:65536",
    "https://shop.example.com?x=1",
    "https://user@shop.example.com",
    "https://",
    "",
]


def server_takes(platform: Platform, url: str, settings: Settings) -> bool:
    field = {SHOPIFY: "shop_url"}.get(platform, "api_url")
    secrets = {
        BIGCOMMERCE: {"access_token": "t"},
        SHOPIFY: {"storefront_token": "t"},
        ELASTIC_PATH: {"client_id": "i", "client_secret": "s"},
    }[platform]
    try:
        connection = PLATFORMS[platform].connection.model_validate({field: url, **secrets})
    except ValidationError:
        return False
    policy = UrlPolicy.of(settings.for_platform(platform))
    base_url: str = connection.base_url  # type: ignore[attr-defined]
    return url_problem(base_url, policy) is None


@pytest.mark.parametrize("allow_private", [False, True])
@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_a_merchant_url_the_document_allows_is_one_the_server_takes(
    platform: Platform, allow_private: bool
) -> None:
    settings = Settings(
        encryption_key=Fernet.generate_key().decode(), allow_private_platform_urls=allow_private
    )
    schema = connection_schema(document(allow_private_platform_urls=allow_private), platform)
    (url_field,) = [f for f in schema["properties"].values() if f.get("format") == "uri"]
    assert ("https?://" in url_field["pattern"]) == allow_private
    assert "public host" in url_field["description"] or allow_private
    for url in URLS:
        if fits(url_field["pattern"], url):
            assert server_takes(platform, url, settings), url
    assert fits(url_field["pattern"], URLS[0])
    assert fits(url_field["pattern"], URLS[3]) == allow_private  # plain http


def test_an_allow_list_is_the_documents_hosts() -> None:
    doc = document(platform_host_allowlist="api.bigcommerce.com,.myshopify.com")
    pattern = connection_schema(doc, SHOPIFY)["properties"]["shop_url"]["pattern"]
    assert fits(pattern, "https://shop.myshopify.com")
    assert fits(pattern, "https://api.bigcommerce.com")
    assert not fits(pattern, "https://shop.example.com")


@pytest.mark.parametrize("secret", ["", " ", "a b", "tok\n", "é", "token-1"])
def test_a_secret_the_document_allows_is_one_the_server_takes(secret: str) -> None:
    schema = connection_schema(document(), BIGCOMMERCE)["properties"]["access_token"]
    connection = {"api_url": URLS[0], "access_token": secret}
    try:
        PLATFORMS[BIGCOMMERCE].connection.model_validate(connection)
        taken = True
    except ValidationError:
        taken = False
    assert (fits(schema["pattern"], secret) and len(secret) >= schema["minLength"]) == taken


def test_shopifys_api_version_is_stated_from_its_minimum() -> None:
    schema = connection_schema(document(), SHOPIFY)["properties"]["api_version"]
    model = PLATFORMS[SHOPIFY].connection
    for year in range(2020, 2101):
        for month in range(0, 14):
            version = f"{year}-{month:02d}"
            try:
                model.model_validate(
                    {"shop_url": URLS[1], "storefront_token": "t", "api_version": version}
                )
                taken = True
            except ValidationError:
                taken = False
            assert fits(schema["pattern"], version) == taken, version


# --- platform_ref ---------------------------------------------------------------------------


async def test_an_elastic_path_sku_the_document_allows_is_taken(api: Api) -> None:
    schemas = document()["components"]["schemas"]
    sku_schema = schemas["ElasticPathSkuRef"]["properties"]["sku"]
    assert not fits(sku_schema["pattern"], "a\x01b")  # the server refuses control characters
    response = await api.client.post(
        "/v1/admin/merchants",
        headers=ADMIN,
        json={
            "name": "Path",
            "platform": "ELASTIC_PATH",
            "connection": {
                "api_url": "https://ep.fake.test",
                "client_id": "i",
                "client_secret": "s",
            },
        },
    )
    assert response.status == 201, await response.text()
    merchant = (await response.json())["id"]
    longest = "s" * sku_schema["maxLength"]
    sku = {
        "sku_id": "sku-ep",
        "merchant_id": merchant,
        "name": "Long",
        "price": 100,
        "currency": "USD",
        "platform_ref": {"sku": longest},
    }
    response = await api.client.put("/v1/admin/skus", json=[sku], headers=ADMIN)
    assert response.status == 200, await response.text()


def test_bigcommerces_variant_id_is_never_null_in_the_document() -> None:
    # The catalog's platform_ref holds no nulls: {"variant_id": null} is refused.
    ref = document()["components"]["schemas"]["BigCommercePlatformRef"]
    assert ref["properties"]["variant_id"]["type"] == "integer"
    assert "default" not in ref["properties"]["variant_id"]


async def test_a_cart_id_is_never_the_path_of_another_route(api: Api) -> None:
    # /v1/carts/preview is a route of its own: GET /v1/carts/preview answers 405, not a cart.
    assert (await api.client.get("/v1/carts/preview", headers=api.auth)).status == 405
    doc = document()
    for method in ("get", "delete"):
        (cart_id,) = doc["paths"]["/v1/carts/{cart_id}"][method]["parameters"]
        assert cart_id["schema"]["not"] == {"enum": ["preview"]}
    (cart_id, _) = doc["paths"]["/v1/carts/{cart_id}/skus"]["post"]["parameters"][:2]
    assert "not" not in cart_id["schema"]  # POST /v1/carts/preview/skus: no other route
