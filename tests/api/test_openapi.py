"""The OpenAPI document is valid 3.1 and tells the whole truth: limits, codes, headers."""

from __future__ import annotations

from typing import Any

from cryptography.fernet import Fernet
from openapi_spec_validator import validate

from config import Settings
from errors import ErrorCode
from orchestrator.http.app import ROUTES, service_version
from orchestrator.http.openapi import MAX_SKUS_PER_UPSERT, build_openapi
from tests.api.conftest import Api

LIMITS = {
    "max_skus": 7,
    "max_bags": 3,
    "max_quantity": 42,
    "max_metadata_entries": 5,
    "max_body_bytes": 8192,
}


def document(**overrides: Any) -> dict[str, Any]:
    settings = Settings(encryption_key=Fernet.generate_key().decode(), **overrides)
    return build_openapi(ROUTES, service_version(), settings)


def codes_of(doc: dict[str, Any], path: str, method: str) -> dict[str, set[int]]:
    schemas = doc["components"]["schemas"]
    found: dict[str, set[int]] = {}
    for status, answer in doc["paths"][path][method]["responses"].items():
        if status.startswith("2"):
            continue
        schema = answer["content"]["application/json"]["schema"]
        refs = [schema] if "$ref" in schema else schema["oneOf"]
        found[status] = {
            schemas[r["$ref"].rsplit("/", 1)[1]]["properties"]["code"]["const"] for r in refs
        }
    return found


def test_the_document_validates_as_openapi_3_1() -> None:
    validate(document())
    validate(document(**LIMITS))


async def test_the_served_document_validates(api: Api) -> None:
    validate(await (await api.client.get("/openapi.json")).json())


def test_every_limit_in_settings_is_the_documents() -> None:
    doc = document(**LIMITS)
    schemas = doc["components"]["schemas"]
    create = schemas["CreateCartIn"]["properties"]
    assert create["skus"]["maxItems"] == LIMITS["max_skus"]
    assert f"at most {LIMITS['max_bags']} merchants" in create["skus"]["description"]
    assert schemas["SkuLineIn"]["properties"]["quantity"]["maximum"] == LIMITS["max_quantity"]
    assert create["metadata"]["maxProperties"] == LIMITS["max_metadata_entries"]
    upsert = doc["paths"]["/v1/admin/skus"]["put"]["requestBody"]
    assert upsert["content"]["application/json"]["schema"]["maxItems"] == MAX_SKUS_PER_UPSERT
    assert str(LIMITS["max_body_bytes"]) in upsert["description"]
    assert doc["info"]["x-limits"] == {**LIMITS, "max_skus_per_upsert": MAX_SKUS_PER_UPSERT}
    for name in ("name", "customer_id", "app_order_id"):
        assert create[name]["anyOf"][0]["maxLength"] > 0, name
    assert schemas["SkuIn"]["properties"]["price"]["maximum"] > 0


def test_the_fair_use_bounds_are_the_documents() -> None:
    doc = document(
        app_rate_limit="7/second", app_max_live_carts=9, body_timeout_s=3.5, max_in_flight=12
    )
    fair = doc["info"]["x-fair-use"]
    assert (fair["app_rate_limit"], fair["app_max_live_carts"]) == ("7/second", 9)
    assert (fair["body_timeout_s"], fair["max_in_flight"]) == (3.5, 12)
    assert "7/second rate limit per app" in doc["info"]["description"]
    create = codes_of(doc, "/v1/carts", "post")
    assert {1429} <= create["429"] and create["403"] == {1403} and create["408"] == {1408}
    assert 415 in {int(s) for s in create}
    assert "429" not in codes_of(doc, "/healthz", "get")
    off = document(app_rate_limit="", app_max_live_carts=0)["info"]["x-fair-use"]
    assert off["app_rate_limit"] is None and off["app_max_live_carts"] is None


def test_each_route_lists_its_own_codes() -> None:
    doc = document()
    create = codes_of(doc, "/v1/carts", "post")
    assert create["400"] == {1001, 1002, 2001}
    assert create["413"] == {1004} and create["415"] == {1005}
    assert create["422"] == {2503, 1422} and create["409"] == {1409}  # + Idempotency-Key's
    assert create["502"] == {2503}
    assert create["503"] == {2503, 1529}  # + shedding's overloaded (every route but probes)
    assert codes_of(doc, "/v1/carts", "get")["503"] == {1529}
    assert "503" not in codes_of(doc, "/healthz", "get")
    assert create["500"] == {1500}
    assert codes_of(doc, "/v1/carts/{cart_id}", "get")["404"] == {2404}
    assert codes_of(doc, "/v1/admin/merchants/{merchant_id}", "get")["404"] == {2405}
    assert codes_of(doc, "/v1/carts/{cart_id}", "delete")["409"] == {2410}
    assert codes_of(doc, "/readyz", "get")["503"] == {1503}
    answer_503 = doc["paths"]["/v1/carts"]["post"]["responses"]["503"]
    assert "Retry-After" in answer_503["headers"]
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            for status, answer in op["responses"].items():
                assert "X-Request-ID" in answer["headers"], (path, method, status)


def test_error_data_is_typed_per_code() -> None:
    schemas = document()["components"]["schemas"]
    assert len(schemas["ErrorOut"]["oneOf"]) == len(ErrorCode)
    assert "fields" in schemas["Error1001"]["properties"]["data"]["required"]
    assert "skus" in schemas["Error2001"]["properties"]["data"]["required"]
    assert "cause" in schemas["Error2503"]["properties"]["data"]["required"]
    assert "request_id" in schemas["Error1500"]["properties"]["data"]["required"]
