"""Build the OpenAPI 3.1 document from the route table and the pydantic schemas."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from errors import ErrorCode
from orchestrator.http.routes import Route
from orchestrator.http.schemas import ErrorOut

_REF = "#/components/schemas/{model}"


def _schema_for(kind: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return {"$ref": _REF.format(model=kind.__name__)}
    schema = TypeAdapter(kind).json_schema(ref_template=_REF)
    defs.update(schema.pop("$defs", {}))
    return schema


def _models(routes: list[Route]) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [ErrorOut]
    for route in routes:
        for kind in (route.body, route.ok_body):
            if isinstance(kind, type) and issubclass(kind, BaseModel) and kind not in found:
                found.append(kind)
    return found


def build_openapi(routes: list[Route], version: str) -> dict[str, Any]:
    models = _models(routes)
    _, top = models_json_schema(
        [(m, "validation" if m.__name__.endswith("In") else "serialization") for m in models],
        ref_template=_REF,
    )
    defs: dict[str, Any] = dict(top.get("$defs", {}))
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        op: dict[str, Any] = {
            "operationId": route.operation_id or route.handler.__name__,
            "summary": route.summary,
            "tags": [route.path.split("/")[2] if route.path.startswith("/v1/") else "operations"],
            "responses": {},
        }
        if route.auth == "app":
            op["security"] = [{"appKey": []}]
        elif route.auth == "admin":
            op["security"] = [{"adminToken": []}]
        params = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", route.path)
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
        if params:
            op["parameters"] = params
        if route.body is not None:
            op["requestBody"] = {
                "required": route.operation_id != "createCart",
                "content": {"application/json": {"schema": _schema_for(route.body, defs)}},
            }
        ok: dict[str, Any] = {"description": "Success"}
        if route.ok_body is not None:
            ok["content"] = {"application/json": {"schema": _schema_for(route.ok_body, defs)}}
        op["responses"][str(route.ok_status)] = ok
        for status in (*route.errors, 500):
            codes = [k for k in ErrorCode if k.status == status]
            described = "; ".join(f"{k.error} ({k.code})" for k in codes) or "Error"
            op["responses"][str(status)] = {
                "description": described,
                "content": {
                    "application/json": {"schema": {"$ref": _REF.format(model="ErrorOut")}}
                },
            }
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "multicart",
            "version": version,
            "description": "Multi-merchant cart orchestrator. Amounts are integer minor units. "
            "Every non-2xx answer is the error envelope; the error table is below.\n\n"
            + "\n".join(
                f"- `{k.error}` ({k.code}, HTTP {k.status}): {k.description}" for k in ErrorCode
            ),
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
