"""Top-level GraphQL ``errors`` in Shopify's shape (Shopify's GraphQL runs on graphql-ruby).

Why this module exists: graphql-core words its errors its own way; adapters and their tests see
Shopify's wording and ``extensions`` instead, e.g. ``Field 'x' doesn't exist on type 'Cart'``
with ``extensions.code: "undefinedField"``, and a bad variable as
``Variable $input of type CartInput! was provided invalid value`` with
``extensions.problems[{path, explanation}]``, as in Shopify's js-buy-sdk fixtures
(https://github.com/Shopify/js-buy-sdk/tree/main/fixtures); HTTP status codes per
https://shopify.dev/docs/api/usage/response-codes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, print_ast

UNDEFINED_FIELD = re.compile(r"^Cannot query field '(\w+)' on type '(\w+)'\.")
# graphql-core 3.3 and 3.2 word a variable coercion failure differently.
VARIABLE_33 = re.compile(r"^Variable '\$(\w+)' has invalid value(?: at ([^:]+))?: (.*)$", re.S)
VARIABLE_32 = re.compile(
    r"^Variable '\$(\w+)' got invalid value .*?(?: at '([^']*)')?; (.*)$", re.S
)
PATH_PART = re.compile(r"\.?(\w+)|\[(\d+)\]")


def _path(text: str | None, variable: str) -> list[str | int]:
    parts: list[str | int] = []
    for name, index in PATH_PART.findall(text or ""):
        parts.append(int(index) if index else name)
    if parts and parts[0] == variable:
        parts = parts[1:]
    return parts


def _variable_type(document: DocumentNode | None, name: str) -> str:
    for definition in document.definitions if document else ():
        if isinstance(definition, OperationDefinitionNode):
            for var in definition.variable_definitions or ():
                if var.variable.name.value == name:
                    return print_ast(var.type)
    return "Unknown"


def format_errors(
    errors: Sequence[GraphQLError],
    document: DocumentNode | None,
    variables: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Every error in Shopify's shape; one error per bad variable, listing all its problems."""
    out: list[dict[str, Any]] = []
    by_message: dict[str, dict[str, Any]] = {}
    for error in errors:
        shaped = format_error(error, document, variables)
        problems = shaped.get("extensions", {}).get("problems")
        if problems is not None and shaped["message"] in by_message:
            by_message[shaped["message"]]["extensions"]["problems"].extend(problems)
            continue
        if problems is not None:
            by_message[shaped["message"]] = shaped
        out.append(shaped)
    return out


def format_error(
    error: GraphQLError,
    document: DocumentNode | None,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {"message": error.message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    if error.path:
        out["path"] = list(error.path)
    undefined = UNDEFINED_FIELD.match(error.message)
    variable = VARIABLE_33.match(error.message) or VARIABLE_32.match(error.message)
    if undefined:
        field, type_name = undefined.groups()
        out["message"] = f"Field '{field}' doesn't exist on type '{type_name}'"
        out["extensions"] = {"code": "undefinedField", "typeName": type_name, "fieldName": field}
    elif variable:
        name, at, explanation = variable.groups()
        type_name = _variable_type(document, name)
        out["message"] = f"Variable ${name} of type {type_name} was provided invalid value"
        out["extensions"] = {
            "value": (variables or {}).get(name),
            "problems": [{"path": _path(at, name), "explanation": explanation}],
        }
    elif error.extensions:
        out["extensions"] = dict(error.extensions)
    return out
