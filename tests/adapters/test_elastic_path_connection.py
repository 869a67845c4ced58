"""The Elastic Path connection model, its secrets kept out of errors, and its registry row."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import ValidationError

from adapters.elastic_path import ELASTIC_PATH, ElasticPathAdapter, ElasticPathConnection
from adapters.registry import AdapterRegistry
from tests.adapters.conftest import deadline
from tests.adapters.elastic_path_answers import API, CART, CLIENT_ID, CONN, REF, SECRET

pytestmark = pytest.mark.usefixtures("elastic_path_token")  # each call fetches a token first


# --- connection and registry ----------------------------------------------------------------------


def test_connection_strips_the_trailing_slash_and_hides_the_secrets() -> None:
    conn = ElasticPathConnection.model_validate({**CONN, "api_url": API + "/"})
    assert conn.api_url == API
    assert SECRET not in repr(conn) and CLIENT_ID not in repr(conn)


@pytest.mark.parametrize(
    "change",
    [
        {"api_url": "ftp://api.elasticpath.test"},
        {"api_url": "not a url"},
        {"api_url": f"{API}?store=1"},
        {"api_url": f"{API}#x"},
        {"api_url": "https://user:pw@api.elasticpath.test"},
        {"client_id": ""},
        {"client_secret": "   "},
        {"client_secret": "abc\r\nX-Injected: 1"},
        {"client_secret": "abc\ndef"},
        {"client_id": "id\x00"},
        {"client_secret": "sécret"},
        {"extra": "field"},
    ],
)
def test_bad_connections_are_refused_without_echoing_the_secret(change: dict[str, str]) -> None:
    with pytest.raises(ValidationError) as info:
        ElasticPathConnection.model_validate({**CONN, **change})
    for value in change.values():
        if value.strip() and "elasticpath" not in value:
            assert value not in str(info.value)


def test_a_missing_secret_is_refused() -> None:
    with pytest.raises(ValidationError):
        ElasticPathConnection.model_validate({"api_url": API, "client_id": CLIENT_ID})


async def test_the_registry_builds_the_adapter_from_its_table_row(
    registry: AdapterRegistry, mock: respx.MockRouter
) -> None:
    assert ELASTIC_PATH in registry.supported_platforms()
    parsed = registry.parse_connection(ELASTIC_PATH, CONN)
    assert isinstance(parsed, ElasticPathConnection)
    adapter = registry.for_merchant("mer_ep", "ELASTIC_PATH", CONN)
    assert isinstance(adapter, ElasticPathAdapter)
    assert adapter.capabilities.caller_chosen_cart_ids and adapter.capabilities.can_delete_cart
    mock.delete(CART).mock(return_value=httpx.Response(204))
    await adapter.delete_cart(REF, deadline=deadline())
