"""The BigCommerce connection model: a clean base URL, and a token kept out of every error."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import ValidationError
from structlog.testing import capture_logs

from adapters.bigcommerce import BigCommerceAdapter, BigCommerceConnection
from errors import PlatformAuthFailed, PlatformError
from tests.adapters.bigcommerce_answers import CARTS, LINE, bc_cart, error_body
from tests.adapters.conftest import CART_ID, STORE, TOKEN, FakeClock, deadline

# --- connection model and secrets -----------------------------------------------------------------


def test_connection_strips_the_trailing_slash_and_hides_the_token() -> None:
    conn = BigCommerceConnection(api_url=STORE + "/", access_token=TOKEN)  # type: ignore[arg-type]
    assert conn.api_url == STORE
    assert TOKEN not in repr(conn)


@pytest.mark.parametrize(
    "raw",
    [
        {"api_url": "ftp://x/stores/a/v3", "access_token": "t"},
        {"api_url": "not a url", "access_token": "t"},
        {"api_url": STORE, "access_token": ""},
        {"api_url": STORE},
        {"api_url": STORE, "access_token": "t", "client_id": "extra"},
    ],
)
def test_bad_connections_are_refused(raw: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        BigCommerceConnection.model_validate(raw)


async def test_no_log_line_or_error_carries_the_token(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    mock.post(CARTS).mock(side_effect=[httpx.Response(503), httpx.Response(401, json={})])
    with capture_logs() as logs, pytest.raises(PlatformAuthFailed) as info:
        await bc.create_cart([LINE], currency="USD", deadline=deadline())
    events = [e["event"] for e in logs]
    assert events == ["platform_call", "platform_retry", "platform_call"]
    call = logs[0]
    assert call["platform"] == "BIGCOMMERCE" and call["merchant_id"] == "mer_1"
    assert call["op"] == "create_cart" and call["method"] == "POST"
    assert call["path"] == "/stores/abc123/v3/carts" and call["status"] == 503
    assert call["attempt"] == 1 and call["outcome"] == "platform_error"
    assert logs[2]["outcome"] == "auth_failed" and logs[2]["attempt"] == 2
    assert TOKEN not in repr(logs)
    assert TOKEN not in repr(info.value) and TOKEN not in str(info.value.data)


async def test_an_id_from_a_caller_that_is_no_uuid_is_never_sent(
    bc: BigCommerceAdapter, mock: respx.MockRouter
) -> None:
    # Quoting kept it one segment, but ``..`` alone is a segment yarl collapses: only a UUID
    # goes in a path now (tests/adapters/test_hostile_ids.py has the rest).
    route = mock.route().mock(return_value=httpx.Response(404, json=error_body(404, "Not found")))
    with pytest.raises(PlatformError, match="nothing was sent"):
        await bc.get_cart("../customers?limit=1", deadline=deadline())
    assert route.call_count == 0


async def test_a_503_waits_only_for_a_retry_after_not_the_rate_window(
    bc: BigCommerceAdapter, mock: respx.MockRouter, clock: FakeClock
) -> None:
    # Every BigCommerce answer carries the quota window's reset; it says nothing about a 503.
    window = {"X-Rate-Limit-Time-Reset-Ms": "30000"}
    route = mock.post(CARTS).mock(
        side_effect=[
            httpx.Response(503, headers=window, json=error_body(503, "Service Unavailable")),
            httpx.Response(201, json=bc_cart()),
        ]
    )
    cart = await bc.create_cart([LINE], currency="USD", deadline=deadline())
    assert cart.external_id == CART_ID and route.call_count == 2
    assert len(clock.slept) == 1 and clock.slept[0] <= 1.0  # a backoff, not the 30 s window
