"""Build the OpenAPI 3.1 document from the route table, the pydantic schemas and the settings.

The document is the contract schemathesis checks the server against (tests/api), so it must
tell the whole truth: every limit the server enforces (``limits`` below, from ``Settings``:
tests/api/test_openapi.py holds them equal), each route's own error codes with their typed
``data`` (``error_docs.py``), and the headers (``X-Request-ID`` on every answer, ``Retry-After``
on a throttled create; a route's ``headers_in``, such as ``Idempotency-Key``, and
``headers_out``, such as ``Idempotent-Replayed``).

Platforms are documented from the adapters' table (``PLATFORMS``), one row per platform: the
``Platform`` names, each platform's cart lifetime, and ``connection`` and ``platform_ref`` from
the models the server checks them with: a merchant is a ``oneOf`` keyed by its ``platform``, a
SKU's ``platform_ref`` an ``anyOf`` of the platforms' shapes (which one applies is its
merchant's platform, known only to the server). A connection's base URL (the field
its model marks ``format: uri``) gets the pattern of the settings' URL policy
(``merchant_url_schema``): https and a host name ending in letters by default, so a name a
resolver reads as an address (``0x7f.1``) never fits, the internal names the server refuses
besides (``.local``, ...) said in words; http and any host when private URLs are allowed; only
the allow-list's hosts when there is one.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from adapters import PLATFORMS
from config import Settings
from errors import ErrorCode
from orchestrator.http.error_docs import REF, component_schemas, error_responses
from orchestrator.http.fields import ID_MAX, ID_PATTERN, PLATFORM_MARK
from orchestrator.http.routes import Route
from orchestrator.http.shedding import NEVER_SHED

MAX_SKUS_PER_UPSERT = 1000

_BODY_CODES = (
    ErrorCode.INVALID_REQUEST,
    ErrorCode.MALFORMED_JSON,
    ErrorCode.PAYLOAD_TOO_LARGE,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE,
)
REQUEST_ID_HEADER = {
    "description": "The request's id (the caller's X-Request-ID when it was safe, else ours).",
    "schema": {"type": "string"},
}
PATH_ID_SCHEMA = {"type": "string", "minLength": 1, "maxLength": ID_MAX, "pattern": ID_PATTERN}


def _schema_for(kind: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return {"$ref": REF.format(model=kind.__name__)}
    schema = TypeAdapter(kind).json_schema(ref_template=REF)
    defs.update(schema.pop("$defs", {}))
    return schema


def _models(routes: list[Route]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = []
    for route in routes:
        for kind in (route.body, route.ok_body):
            if isinstance(kind, type) and issubclass(kind, BaseModel) and kind not in found:
                found.append(kind)
    return found


def route_codes(route: Route) -> list[ErrorCode]:
    """Every code ``route`` can answer: its own, those implied by what it takes, and 500."""
    codes: list[ErrorCode] = []
    if route.body is not None:
        codes += _BODY_CODES
    if route.query or "{" in route.path:
        codes.append(ErrorCode.INVALID_REQUEST)
    if route.auth != "none":
        codes.append(ErrorCode.UNAUTHORIZED)
    codes += route.errors
    if route.auth != "none":  # fairness.py: an app's rate and share; failed authentications
        codes.append(ErrorCode.RATE_LIMITED)
    if route.path not in NEVER_SHED:  # shedding.py: over the in-flight cap, or a database wait
        if route.method != "GET":  # intake.py: a body too slow, compressed or too large
            codes += [ErrorCode.REQUEST_TIMEOUT, ErrorCode.PAYLOAD_TOO_LARGE]
            codes.append(ErrorCode.UNSUPPORTED_MEDIA_TYPE)
        codes.append(ErrorCode.OVERLOADED)
    codes.append(ErrorCode.INTERNAL_ERROR)
    return list(dict.fromkeys(codes))


def limits(settings: Settings) -> dict[str, int]:
    """Every bound the server enforces on requests, as the document states it."""
    return {
        "max_skus": settings.max_skus,
        "max_bags": settings.max_bags,
        "max_quantity": settings.max_quantity,
        "max_metadata_entries": settings.max_metadata_entries,
        "max_body_bytes": settings.max_body_bytes,
        "max_skus_per_upsert": MAX_SKUS_PER_UPSERT,
    }


def fair_use(settings: Settings) -> dict[str, Any]:
    """The per-app bounds and time bounds the server enforces (``fairness.py``, ``intake.py``),
    per process, as the document states them."""
    return {
        "max_in_flight": settings.max_in_flight,
        "app_in_flight_reserve": settings.app_in_flight_reserve,
        "app_rate_limit": settings.app_rate_limit or None,
        "app_max_live_carts": settings.app_max_live_carts or None,
        "auth_failure_limit": settings.auth_failure_limit or None,
        "body_timeout_s": settings.body_timeout_s,
        "body_min_rate_bytes_per_s": settings.body_min_rate,
    }


def _apply_limits(defs: dict[str, Any], settings: Settings) -> None:
    line = defs["SkuLineIn"]["properties"]["quantity"]
    line["maximum"] = settings.max_quantity
    line["description"] = f"1..{settings.max_quantity} (the total of one sku_id's lines too)."
    create = defs["CreateCartIn"]["properties"]
    create["skus"]["maxItems"] = settings.max_skus
    create["skus"]["description"] = (
        f"At most {settings.max_skus} lines from at most {settings.max_bags} merchants; "
        "may be empty or absent (an empty cart)."
    )
    create["metadata"]["maxProperties"] = settings.max_metadata_entries
    if "SkuQuantityIn" in defs:  # PATCH /v1/carts/{cart_id}/skus/{order_sku_id}
        defs["SkuQuantityIn"]["properties"]["quantity"]["maximum"] = settings.max_quantity


def _path_id_schema(path: str, segment: int, paths: set[str]) -> dict[str, Any]:
    """The id at ``segment`` of ``path``, less the words other routes' paths have there
    (``/v1/carts/preview``: a cart id of ``preview`` reaches that route, which answers 405)."""
    parts = path.split("/")
    taken = []
    for other in paths:
        others = other.split("/")
        if len(others) != len(parts) or "{" in others[segment]:
            continue
        if all(a == b or "{" in a for a, b in zip(parts, others, strict=True)):
            taken.append(others[segment])
    taken.sort()
    return {**PATH_ID_SCHEMA, "not": {"enum": taken}} if taken else dict(PATH_ID_SCHEMA)


def _parameters(route: Route, paths: set[str]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": part[1:-1],
            "in": "path",
            "required": True,
            "schema": _path_id_schema(route.path, index, paths),
        }
        for index, part in enumerate(route.path.split("/"))
        if part.startswith("{")
    ]
    params += [
        {
            "name": q.name,
            "in": "query",
            "required": False,
            "schema": q.schema,
            "description": q.description,
        }
        for q in route.query
    ]
    params += [
        {
            "name": h.name,
            "in": "header",
            "required": False,
            "schema": h.schema,
            "description": h.description,
        }
        for h in route.headers_in
    ]
    return params


def _operation(
    route: Route, defs: dict[str, Any], settings: Settings, paths: set[str]
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": route.operation_id or route.handler.__name__,
        "summary": route.summary,
        "tags": [route.path.split("/")[2] if route.path.startswith("/v1/") else "operations"],
    }
    if route.auth == "app":
        op["security"] = [{"appKey": []}]
    elif route.auth == "admin":
        op["security"] = [{"adminToken": []}]
    params = _parameters(route, paths)
    if params:
        op["parameters"] = params
    if route.body is not None:
        schema = _schema_for(route.body, defs)
        if schema.get("type") == "array":
            schema["maxItems"] = MAX_SKUS_PER_UPSERT
        op["requestBody"] = {
            "required": route.operation_id != "createCart",
            "description": f"JSON, at most {settings.max_body_bytes} bytes, no repeated keys.",
            "content": {"application/json": {"schema": schema}},
        }
    headers = {"X-Request-ID": REQUEST_ID_HEADER, **route.headers_out}
    ok: dict[str, Any] = {"description": "Success", "headers": headers}
    if route.ok_body is not None:
        ok["content"] = {"application/json": {"schema": _schema_for(route.ok_body, defs)}}
    elif route.ok_media != "application/json":
        ok["content"] = {route.ok_media: {"schema": {"type": "string"}}}
    if route.links:
        ok["links"] = {
            name: {"operationId": target, "parameters": parameters}
            for name, (target, parameters) in route.links.items()
        }
    op["responses"] = {str(route.ok_status): ok, **error_responses(route_codes(route), headers)}
    return op


def _model_schema(model: type[BaseModel], defs: dict[str, Any]) -> str:
    """Put ``model``'s validation schema (and what it refers to) in ``defs``; its name."""
    schema = model.model_json_schema(ref_template=REF, mode="validation")
    defs.update(schema.pop("$defs", {}))
    name = str(schema.get("title") or model.__name__)
    defs[name] = schema
    return name


def _refer_to_platform(node: Any) -> Any:
    """Every schema marked as a platform's name becomes a reference to ``Platform``."""
    if isinstance(node, dict):
        if node.pop(PLATFORM_MARK, False):
            kept = {k: v for k, v in node.items() if k not in ("type", "title")}
            node.clear()
            node.update({"$ref": REF.format(model="Platform"), **kept})
        for value in node.values():
            _refer_to_platform(value)
    elif isinstance(node, list):
        for value in node:
            _refer_to_platform(value)
    return node


def _without_uri_format(model: dict[str, Any]) -> dict[str, Any]:
    """A copy of a connection's schema whose base URL keeps its pattern but not ``format: uri``
    (RFC 3986's ASCII-only reading), which a change's ``anyOf`` would otherwise have fuzzers
    hold the server to more strictly than registration's ``oneOf`` does."""
    found = copy.deepcopy(model)
    for field in found.get("properties", {}).values():
        field.pop("format", None)
    return found


def _per_platform(defs: dict[str, Any], settings: Settings) -> None:
    merchant, sku = defs["MerchantIn"], defs["SkuIn"]
    variants, refs, connections = [], [], []
    url = merchant_url_schema(settings)
    for platform, spec in PLATFORMS.items():
        connection = _model_schema(spec.connection, defs)
        for field in defs[connection]["properties"].values():
            if field.get("format") == "uri":  # the base URL (adapters.calls.connections)
                field["pattern"] = url["pattern"]
                field["description"] = " ".join(
                    filter(None, [url["description"], field.get("description")])
                )
        connections.append(_without_uri_format(defs[connection]))
        variants.append(
            {
                "title": platform,
                "properties": {
                    "platform": {"const": platform},
                    "connection": {"$ref": REF.format(model=connection)},
                },
            }
        )
        refs.append({"$ref": REF.format(model=_model_schema(spec.platform_ref, defs))})
    defs["Platform"] = {"type": "string", "title": "Platform", "enum": list(PLATFORMS)}
    _refer_to_platform(defs)
    merchant["oneOf"] = variants  # the connection's shape follows the platform
    merchant["properties"]["connection"] = {
        "type": "object",
        "description": "The platform's connection (see oneOf); encrypted at rest, never returned.",
    }
    if "MerchantPatchIn" in defs:  # a change's connection: the merchant's platform's shape
        defs["MerchantPatchIn"]["properties"]["connection"] = {
            "anyOf": connections,
            "description": "A new connection in the merchant's platform's shape: "
            + ", ".join(str(c.get("title")) for c in connections)
            + " (checked as at registration, URL rules included); encrypted at rest, never"
            " returned.",
        }
    sku["properties"]["platform_ref"] = {
        "anyOf": refs,
        "description": "The SKU's ids on its merchant's platform, in that platform's shape.",
    }
    expires = defs["BagOut"]["properties"]["external_expires_at"]
    lifetimes = ", ".join(f"{p} {s.cart_lifetime.days} days" for p, s in PLATFORMS.items())
    expires["description"] = f"{expires['description']} Cart lifetimes: {lifetimes}."


_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PUBLIC_HOST = f"(?:{_LABEL}\\.)+[A-Za-z]{{2,63}}"
_ANY_HOST = f"{_LABEL}(?:\\.{_LABEL})*"
_PORT = "(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
_PATH = "(?:/[^\\s\\x85?#\\x00-\\x1f\\x7f]*)?"  # U+0085: str.isspace counts it


def merchant_url_schema(settings: Settings) -> dict[str, str]:
    """The pattern and words of the base URLs the admin route takes under ``settings``'
    policy (``adapters.calls.connections.url_problem``), with no query, fragment or user."""
    defaults = settings.platform_defaults()
    allowed = list(defaults.allowed_hosts)
    if allowed:
        host = "(?:{})".format(
            "|".join(
                f"{_ANY_HOST}{re.escape(h)}" if h.startswith(".") else re.escape(h) for h in allowed
            )
        )
    else:
        host = _ANY_HOST if settings.allow_private_platform_urls else _PUBLIC_HOST
    scheme = "https?" if settings.allow_private_platform_urls else "https"
    if settings.allow_private_platform_urls:
        rule = "http or https, to any host (MULTICART_ALLOW_PRIVATE_PLATFORM_URLS is on)"
    else:
        rule = (
            "https to a public host: not an address that is private, loopback, link-local or"
            " otherwise not global, not localhost, metadata or a name under .localhost, .local,"
            " .internal, .localdomain or .home.arpa"
        )
    if allowed:
        rule += "; and only " + ", ".join(allowed) + " (MULTICART_PLATFORM_HOST_ALLOWLIST)"
    port = _PORT
    if not settings.allow_private_platform_urls:  # 443, or a port the operator listed
        ports = sorted({443, *defaults.allowed_ports})
        port = "(?::(?:{}))?".format("|".join(str(p) for p in ports))
        rule += (
            "; on port " + ", ".join(str(p) for p in ports) + " (MULTICART_PLATFORM_ALLOWED_PORTS)"
        )
    return {
        "pattern": f"^{scheme}://{host}{port}{_PATH}$",
        "description": f"The base URL, without query, fragment or user: {rule}.",
    }


def build_openapi(routes: list[Route], version: str, settings: Settings) -> dict[str, Any]:
    models = _models(routes)
    _, top = models_json_schema(
        [(m, "validation" if m.__name__.endswith("In") else "serialization") for m in models],
        ref_template=REF,
    )
    defs: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    every_path = {route.path for route in routes}
    for route in routes:
        operation = _operation(route, defs, settings, every_path)
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    _apply_limits(defs, settings)
    _per_platform(defs, settings)
    defs.update(component_schemas())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "multicart",
            "version": version,
            "description": "Multi-merchant cart orchestrator. Amounts are integer minor units. "
            "Every non-2xx answer is the error envelope; the error table is below. "
            f"Fair use, per process (x-fair-use): {settings.app_rate_limit or 'no'} rate limit "
            f"per app, {settings.app_max_live_carts or 'no'} quota of live carts per app, each "
            f"app at most its share of {settings.max_in_flight} requests in flight "
            f"({settings.app_in_flight_reserve:.0%} kept for apps holding none); a body must "
            f"arrive within {settings.body_timeout_s:g} s plus its length at "
            f"{settings.body_min_rate} B/s; compressed bodies are refused.\n\n"
            + "\n".join(
                f"- `{k.error}` ({k.code}, HTTP {k.status}): {k.description}" for k in ErrorCode
            ),
            "x-limits": limits(settings),
            "x-fair-use": fair_use(settings),
        },
        "paths": paths,
        "components": {
            "schemas": defs,
            "securitySchemes": {
                "appKey": {"type": "http", "scheme": "bearer", "description": "The app's API key."},
                "adminToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "MULTICART_ADMIN_TOKEN.",
                },
            },
        },
    }
