"""Every GraphQL document the Shopify adapter sends, and the variables it builds, checked
against Shopify's real Storefront schema (introspection JSON, API 2026-04).

The schema (``shopify_storefront.schema.json``) is not copied into the repo: it is read from the
shared platforms folder next to the repository, and these tests skip, saying so, when it is
absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLSchema,
    OperationDefinitionNode,
    build_client_schema,
    parse,
    validate,
)
from graphql.execution.values import get_variable_values

from adapters.base import CartContext, LineRequest
from adapters.shopify import documents
from adapters.shopify.payloads import cart_input, line_inputs

SCHEMA_PATH = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "platforms"
    / "specs"
    / "shopify_storefront.schema.json"
)
VARIANT = "gid://shopify/ProductVariant/43162292814051"
CART_ID = "gid://shopify/Cart/c1-5f1d6d2c0e4b4c7e9a1b2c3d4e5f6a7b?key=73de96370dea19c1"
LINE_ID = "gid://shopify/CartLine/a07f5410-ea7a-41ac-a794-839c1e0d599c?cart=c1-5f1d"


@pytest.fixture(scope="module")
def schema() -> GraphQLSchema:
    if not SCHEMA_PATH.is_file():
        pytest.skip(f"Shopify's Storefront schema is not at {SCHEMA_PATH} (../shared is absent)")
    introspection = json.loads(SCHEMA_PATH.read_text())
    introspection = introspection.get("data", introspection)
    # graphql-core refuses the published schema as it stands: MediaPresentation.id is
    # deprecated while the interface field Node.id is not. That field is none of ours.
    for kind in introspection["__schema"]["types"]:
        if kind["name"] == "MediaPresentation":
            for field in kind["fields"]:
                if field["name"] == "id":
                    field["isDeprecated"], field["deprecationReason"] = False, None
    return build_client_schema(introspection)


def operation(document: str) -> OperationDefinitionNode:
    operations = [d for d in parse(document).definitions if isinstance(d, OperationDefinitionNode)]
    assert len(operations) == 1
    return operations[0]


@pytest.mark.parametrize("root", sorted(documents.DOCUMENTS))
def test_each_document_is_valid_against_the_storefront_schema(
    schema: GraphQLSchema, root: str
) -> None:
    document = documents.DOCUMENTS[root]
    assert validate(schema, parse(document)) == []
    selected = operation(document).selection_set.selections[0]
    assert getattr(selected, "name").value == root  # noqa: B009 - FieldNode, untyped here


def test_the_documents_are_sent_compact() -> None:
    for document in documents.DOCUMENTS.values():
        assert "\n" not in document and "  " not in document


def test_the_mutations_select_user_errors_and_warnings() -> None:
    for root, document in documents.DOCUMENTS.items():
        if root != "cart":
            assert "userErrors { code field message }" in document
            assert "warnings { code message target }" in document


def variables_errors(schema: GraphQLSchema, document: str, variables: dict[str, Any]) -> Any:
    """Coerce ``variables`` as the server would: a list of errors, or the coerced values
    (a dict in graphql-core 3.2, a ``VariableValues`` in 3.3)."""
    return get_variable_values(schema, operation(document).variable_definitions or (), variables)


@pytest.mark.parametrize(
    ("document", "variables"),
    [
        (documents.CART_QUERY, {"id": CART_ID}),
        (
            documents.CART_CREATE,
            {
                "input": cart_input(
                    [LineRequest(platform_ref={"variant_id": VARIANT}, quantity=2)],
                    CartContext(cart_id="crt_1", bag_id="bag_1", customer_id="cus", name="n"),
                )
            },
        ),
        (
            documents.CART_CREATE,
            {"input": cart_input([LineRequest({"variant_id": VARIANT}, 1)], None)},
        ),
        (
            documents.CART_LINES_ADD,
            {"cartId": CART_ID, "lines": line_inputs([LineRequest({"variant_id": VARIANT}, 3)])},
        ),
        (
            documents.CART_LINES_UPDATE,
            {"cartId": CART_ID, "lines": [{"id": LINE_ID, "quantity": 4}]},
        ),
        (documents.CART_LINES_REMOVE, {"cartId": CART_ID, "lineIds": [LINE_ID]}),
    ],
)
def test_the_variables_the_adapter_builds_are_accepted_by_the_schema(
    schema: GraphQLSchema, document: str, variables: dict[str, Any]
) -> None:
    coerced = variables_errors(schema, document, variables)
    assert not isinstance(coerced, list), [e.message for e in coerced]


def test_a_wrong_variable_would_be_refused(schema: GraphQLSchema) -> None:
    # The check above is not vacuous: a line keyed "id" is not a CartLineInput
    # (https://shopify.dev/docs/api/storefront/latest/input-objects/CartLineInput).
    errors = variables_errors(
        schema, documents.CART_LINES_ADD, {"cartId": CART_ID, "lines": [{"id": VARIANT}]}
    )
    assert isinstance(errors, list) and errors
