"""Write docs/api.md's generated sections from the OpenAPI document the server serves.

Why: an API reference written by hand drifts from what the server enforces. docs/api.md keeps
its prose by hand, and between ``<!-- BEGIN GENERATED name -->`` and ``<!-- END GENERATED
name -->`` markers holds what this module renders from ``build_openapi`` (the routes, their
parameters, bodies, headers and error codes; the limits; the error table; the schemas), built
with the default settings whatever the environment says. tests/unit/test_api_reference.py
fails when the file differs from what this renders.

    python -m orchestrator.http.api_reference          # rewrite docs/api.md
    python -m orchestrator.http.api_reference --check  # exit 1 when it is stale
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from config import Settings
from errors import Cause, ErrorCode

API_MD = Path(__file__).resolve().parents[2] / "docs" / "api.md"
COMMAND = "python -m orchestrator.http.api_reference"
_BLOCK = re.compile(
    r"(<!-- BEGIN GENERATED (?P<name>[a-z_]+) -->\n)(?P<body>.*?)"
    r"(<!-- END GENERATED (?P=name) -->)",
    re.DOTALL,
)
_ERROR_SCHEMA = re.compile(r"Error\d+")
_LONG_PATTERN = 40  # longer patterns are left to /openapi.json
# The limits the document states, and the variable each comes from (None: fixed in the code).
_LIMIT_SETTING = {"body_min_rate_bytes_per_s": "body_min_rate", "max_skus_per_upsert": None}


class _Defaults(Settings):
    """``Settings`` from their defaults only: the reference must not depend on who renders it."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def document() -> dict[str, Any]:
    """The OpenAPI document as ``/openapi.json`` serves it under the default settings."""
    from orchestrator.http.app import ROUTES
    from orchestrator.http.openapi import build_openapi

    return build_openapi(ROUTES, "reference", _Defaults())


def _cell(text: str) -> str:
    return re.sub(r"(?<!\\)\|", r"\\|", " ".join(text.split()))


def _sentence(*parts: str) -> str:
    """``parts`` joined by semicolons, as one sentence ending in a period."""
    return "; ".join(p.rstrip(". ") for p in parts if p) + "."


def _anchor(name: str) -> str:
    if _ERROR_SCHEMA.fullmatch(name):  # one per code: the error table stands for them
        return f"[{name}](#errors)"
    return f"[{name}](#{name.lower()})"


def _ref_name(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[1]


def _type(schema: dict[str, Any]) -> str:
    """A short reading of ``schema``'s type: ``string``, ``array of [CartOut](#cartout)``..."""
    if "$ref" in schema:
        return _anchor(_ref_name(schema))
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return " or ".join(_type(s) for s in schema[key])
    if "const" in schema:
        return f"`{schema['const']!r}`".replace("'", '"')
    if "enum" in schema:
        return " \\| ".join(f'`"{v}"`' if isinstance(v, str) else f"`{v}`" for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"array of {_type(schema.get('items', {}))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {_type(schema['additionalProperties'])}"
    if kind == "null":
        return "null"
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt and kind else str(kind or "any")


def _constraints(schema: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for inner in schema.get("anyOf", []):  # Optional[X]: X's bounds
        if inner.get("type") != "null" and "$ref" not in inner:
            found += _constraints(inner)
    words = {
        "minLength": "min length",
        "maxLength": "max length",
        "minimum": "≥",
        "maximum": "≤",
        "minItems": "min items",
        "maxItems": "max items",
        "maxProperties": "max entries",
    }
    for key, word in words.items():
        if key in schema:
            found.append(f"{word} {schema[key]}")
    if "pattern" in schema:
        pattern = str(schema["pattern"])
        found.append(
            f"pattern `{pattern}`" if len(pattern) <= _LONG_PATTERN else "pattern in /openapi.json"
        )
    if "default" in schema and schema["default"] is not None:
        found.append(f"default `{schema['default']}`")
    return found


def _fields(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    rows = ["| field | type | required | rules and meaning |", "|---|---|---|---|"]
    for name, prop in schema.get("properties", {}).items():
        notes = _constraints(prop)
        if prop.get("description"):
            notes.append(str(prop["description"]))
        rows.append(
            f"| `{name}` | {_cell(_type(prop))} | {'yes' if name in required else 'no'} "
            f"| {_cell(_sentence(*notes)) if notes else ''} |"
        )
    return rows


def _codes(doc: dict[str, Any], answer: dict[str, Any]) -> list[str]:
    schemas = doc["components"]["schemas"]
    schema = answer["content"]["application/json"]["schema"]
    refs = [schema] if "$ref" in schema else schema["oneOf"]
    found = []
    for ref in refs:
        props = schemas[_ref_name(ref)]["properties"]
        found.append(f"`{props['error']['const']}` ({props['code']['const']})")
    return found


def routes(doc: dict[str, Any]) -> str:
    """One section per operation: auth, parameters, body, success answer, error answers."""
    out: list[str] = []
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            out += [f"### `{method.upper()} {path}`", "", f"{op['summary']}.", ""]
            security = [name for item in op.get("security", []) for name in item]
            auth = {
                "appKey": "`Authorization: Bearer <app API key>`",
                "adminToken": "`Authorization: Bearer <MULTICART_ADMIN_TOKEN>`",
            }
            out += [f"- Auth: {', '.join(auth[s] for s in security) if security else 'none'}."]
            for param in op.get("parameters", []):
                out.append(
                    f"- {param['in'].capitalize()} `{param['name']}`"
                    f"{' (required)' if param['required'] else ''}: "
                    + _sentence(
                        _type(param["schema"]),
                        *_constraints(param["schema"]),
                        param.get("description", ""),
                    )
                )
            if "requestBody" in op:
                body = op["requestBody"]
                schema = body["content"]["application/json"]["schema"]
                rules = "; ".join(_constraints(schema))
                out.append(
                    f"- Body{' (required)' if body['required'] else ' (optional)'}: "
                    f"{_type(schema)}{' (' + rules + ')' if rules else ''}. {body['description']}"
                )
            for status, answer in op["responses"].items():
                if not status.startswith("2"):
                    continue
                content = answer.get("content", {})
                kind = ", ".join(
                    f"{_type(c['schema'])}"
                    if media == "application/json"
                    else f"`{media}` {_type(c['schema'])}"
                    for media, c in content.items()
                )
                out.append(f"- Answer: {status}{' with ' + kind if kind else ', no body'}.")
                headers = [h for h in answer.get("headers", {}) if h != "X-Request-ID"]
                if headers:
                    out.append(f"- Answer headers: {', '.join(f'`{h}`' for h in headers)}.")
            errors = [
                f"{status}: {', '.join(_codes(doc, answer))}"
                for status, answer in op["responses"].items()
                if not status.startswith("2")
            ]
            out += ["- Errors: " + "; ".join(errors) + ".", ""]
    return "\n".join(out)


def headers(doc: dict[str, Any]) -> str:
    """Every request and answer header the document names, with its description."""
    found: dict[tuple[str, str], str] = {}
    for operations in doc["paths"].values():
        for op in operations.values():
            for param in op.get("parameters", []):
                if param["in"] == "header":
                    found.setdefault(("request", param["name"]), param.get("description", ""))
            for answer in op["responses"].values():
                for name, header in answer.get("headers", {}).items():
                    found.setdefault(("answer", name), header.get("description", ""))
    rows = ["| header | in | meaning |", "|---|---|---|"]
    rows += [f"| `{name}` | {where} | {_cell(text)} |" for (where, name), text in found.items()]
    return "\n".join(rows)


def limits(doc: dict[str, Any]) -> str:
    """``x-limits`` and ``x-fair-use``: each bound, its default and the variable setting it."""
    rows = ["| bound | default | set by |", "|---|---|---|"]
    for key, value in {**doc["info"]["x-limits"], **doc["info"]["x-fair-use"]}.items():
        setting = _LIMIT_SETTING.get(key, key)
        where = f"`MULTICART_{setting.upper()}`" if setting else "fixed"
        rows.append(f"| `{key}` | {'none' if value is None else value} | {where} |")
    return "\n".join(rows)


def errors(doc: dict[str, Any]) -> str:
    """The error table, and what each code's ``data`` carries."""
    schemas = doc["components"]["schemas"]
    rows = ["| error | code | HTTP | meaning | `data` |", "|---|---|---|---|---|"]
    for kind in ErrorCode:
        data = schemas[f"Error{kind.code}"]["properties"]["data"]
        keys = ", ".join(f"`{k}`" for k in data.get("properties", {}))
        rows.append(
            f"| `{kind.error}` | {kind.code} | {kind.status} | {_cell(kind.description)} "
            f"| {keys or '{}'} |"
        )
    return "\n".join(rows)


def causes(_doc: dict[str, Any]) -> str:
    """The ``cause`` vocabulary of order errors and of the 2502/2503 exceptions."""
    return ", ".join(f"`{cause.value}`" for cause in Cause) + "."


def schemas(doc: dict[str, Any]) -> str:
    """Every request and answer schema but the per-code error ones (see the error table)."""
    out: list[str] = []
    for name, schema in doc["components"]["schemas"].items():
        if _ERROR_SCHEMA.fullmatch(name):
            continue
        out += [f"### {name}", ""]
        if schema.get("description"):
            out += [_cell(str(schema["description"])), ""]
        if "properties" in schema:
            out += _fields(schema)
            out.append("")
        if "oneOf" in schema and "properties" in schema:
            for variant in schema["oneOf"]:
                props = variant.get("properties", {})
                shape = ", ".join(f"`{k}`: {_type(v)}" for k, v in props.items())
                out.append(f"- {variant.get('title', '')}: {shape}.")
            out.append("")
        elif name == "ErrorOut":
            out += ["One envelope per error code: see [Errors](#errors).", ""]
        elif "oneOf" in schema or "anyOf" in schema or "enum" in schema:
            out += [f"One of: {_type(schema)}.", ""]
    return "\n".join(out).rstrip("\n") + "\n"


SECTIONS = {
    "routes": routes,
    "headers": headers,
    "limits": limits,
    "errors": errors,
    "causes": causes,
    "schemas": schemas,
}


def render(text: str, doc: dict[str, Any] | None = None) -> str:
    """``text`` with every generated section rendered afresh; an unknown name raises."""
    doc = document() if doc is None else doc

    def fill(match: re.Match[str]) -> str:
        body = SECTIONS[match["name"]](doc).rstrip("\n")
        return f"{match.group(1)}{body}\n{match.group(4)}"

    return _BLOCK.sub(fill, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/api.md is stale")
    args = parser.parse_args(argv)
    text = API_MD.read_text()
    fresh = render(text)
    if args.check:
        if fresh != text:
            print(f"docs/api.md is stale: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    API_MD.write_text(fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
