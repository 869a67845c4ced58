"""The Elastic Path bearer token: one fetch shared, renewed before expiry, once on a 401."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import parse_qs

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from adapters.calls.policy import RetryPolicy
from adapters.elastic_path import (
    ELASTIC_PATH,
    RETRY_RULES,
    ElasticPathAdapter,
    ElasticPathConnection,
)
from adapters.registry import AdapterRegistry
from errors import (
    Cause,
    PlatformAuthFailed,
    PlatformServerError,
    PlatformUnavailable,
)
from tests.adapters.conftest import FakeClock, deadline, fast_settings, mocked_registry
from tests.adapters.elastic_path_answers import (
    CLIENT_ID,
    CONN,
    ITEMS,
    REF,
    SECRET,
    TENT_LINE,
    TOKEN_URL,
    cart_body,
    ep_item,
    errors,
    items_body,
    token_body,
)

CART = ITEMS.removesuffix("/items")
UNAUTHORIZED = httpx.Response(
    401, json=errors({"status": 401, "title": "Unable to validate access token"})
)


def make_adapter(registry: AdapterRegistry, clock: FakeClock | None = None) -> ElasticPathAdapter:
    """Built by hand, for a fake token clock: what the registry builds, plus ``clock``."""
    settings = fast_settings().for_platform(ELASTIC_PATH)
    return ElasticPathAdapter(
        "mer_ep",
        ElasticPathConnection.model_validate(CONN),
        registry.transport(ELASTIC_PATH),
        registry.resilience(ELASTIC_PATH),
        RetryPolicy.for_platform(settings, RETRY_RULES),
        clock=clock or FakeClock(),
    )


@pytest.fixture
async def registry() -> AsyncIterator[AdapterRegistry]:
    reg = mocked_registry(fast_settings())
    yield reg
    await reg.aclose()


@pytest.fixture
def token_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def ep(registry: AdapterRegistry, token_clock: FakeClock) -> ElasticPathAdapter:
    return make_adapter(registry, token_clock)


def tokens(*names: str) -> list[httpx.Response]:
    return [httpx.Response(200, json=token_body(name)) for name in names]


def bearers(route: respx.Route) -> list[str]:
    return [call.request.headers["Authorization"] for call in route.calls]


async def test_the_token_request_is_a_form_encoded_client_credentials_grant(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    grant = mock.post(TOKEN_URL).mock(side_effect=tokens("tok1"))
    mock.get(ITEMS).mock(return_value=httpx.Response(200, json=items_body()))

    await ep.get_cart(REF, deadline=deadline())

    request = grant.calls.last.request
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Authorization" not in request.headers
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT_ID],
        "client_secret": [SECRET],
    }


async def test_one_token_is_fetched_for_concurrent_calls_and_reused(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    async def slow_grant(request: httpx.Request) -> httpx.Response:
        for _ in range(50):  # every call arrives while the fetch is in flight: loop turns,
            await asyncio.sleep(0)  # not a timer a loaded machine could outrun
        return httpx.Response(200, json=token_body("tok1"))

    grant = mock.post(TOKEN_URL).mock(side_effect=slow_grant)
    route = mock.get(ITEMS).mock(return_value=httpx.Response(200, json=items_body()))

    await asyncio.gather(*(ep.get_cart(REF, deadline=deadline()) for _ in range(6)))
    await ep.get_cart(REF, deadline=deadline())

    assert grant.call_count == 1 and ep.auth.fetches == 1
    assert bearers(route) == ["Bearer tok1"] * 7


@pytest.mark.parametrize(("lifetime", "margin"), [(3600, 60.0), (100, 10.0)])
async def test_the_token_is_renewed_a_margin_before_it_expires(
    ep: ElasticPathAdapter,
    mock: respx.MockRouter,
    token_clock: FakeClock,
    lifetime: int,
    margin: float,
) -> None:
    grant = mock.post(TOKEN_URL).mock(
        side_effect=[httpx.Response(200, json=token_body(t, lifetime)) for t in ("tok1", "tok2")]
    )
    route = mock.get(ITEMS).mock(return_value=httpx.Response(200, json=items_body()))

    await ep.get_cart(REF, deadline=deadline())
    token_clock.advance(lifetime - margin - 1)
    await ep.get_cart(REF, deadline=deadline())
    assert grant.call_count == 1
    token_clock.advance(2)  # within the margin: renewed before the platform would refuse it
    await ep.get_cart(REF, deadline=deadline())

    assert grant.call_count == 2
    assert bearers(route) == ["Bearer tok1", "Bearer tok1", "Bearer tok2"]


async def test_a_token_answer_wrapped_in_data_or_with_only_an_expiry_epoch_is_read(
    ep: ElasticPathAdapter, mock: respx.MockRouter, token_clock: FakeClock
) -> None:
    # The auth spec's example wraps the answer in "data"; the docs and the JS SDK do not.
    body = token_body("tok-wrapped")
    del body["expires_in"]
    mock.post(TOKEN_URL).mock(return_value=httpx.Response(200, json={"data": body}))
    route = mock.get(ITEMS).mock(return_value=httpx.Response(200, json=items_body()))
    await ep.get_cart(REF, deadline=deadline())
    token_clock.advance(3000)
    await ep.get_cart(REF, deadline=deadline())
    assert bearers(route) == ["Bearer tok-wrapped"] * 2 and ep.auth.fetches == 1


async def test_a_401_renews_the_token_once_and_resends(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    grant = mock.post(TOKEN_URL).mock(side_effect=tokens("tok1", "tok2"))
    route = mock.get(ITEMS).mock(
        side_effect=[UNAUTHORIZED, httpx.Response(200, json=items_body(ep_item()))]
    )
    cart = await ep.get_cart(REF, deadline=deadline())
    assert cart.lines and grant.call_count == 2
    assert bearers(route) == ["Bearer tok1", "Bearer tok2"]


async def test_a_second_401_is_auth_failed_without_looping(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    grant = mock.post(TOKEN_URL).mock(side_effect=tokens("tok1", "tok2", "tok3"))
    route = mock.post(ITEMS).mock(return_value=UNAUTHORIZED)
    with pytest.raises(PlatformAuthFailed) as info:
        await ep.add_lines(REF, [TENT_LINE], deadline=deadline())
    assert info.value.cause == Cause.AUTH_FAILED and info.value.platform_status == 401
    assert "Unable to validate access token" in info.value.message
    assert route.call_count == 2 and grant.call_count == 2


async def test_concurrent_401s_share_one_renewal(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    grant = mock.post(TOKEN_URL).mock(side_effect=tokens("tok1", "tok2", "tok3"))

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer tok1":
            return UNAUTHORIZED  # the platform expired it early
        return httpx.Response(200, json=items_body())

    mock.get(ITEMS).mock(side_effect=answer)
    await ep.get_cart(REF, deadline=deadline())  # renews once already
    grant.side_effect = tokens("tok1", "tok2")
    ep.auth._token = None  # start over from tok1 with several calls in flight
    await asyncio.gather(*(ep.get_cart(REF, deadline=deadline()) for _ in range(5)))
    assert grant.call_count == 4  # 2 for the first call, then one fetch and one renewal


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"errors": [{"title": "Unauthorized", "status": "401"}]}),
        (400, {"errors": [{"title": "Bad Request", "status": "400"}]}),
    ],
)
async def test_refused_credentials_are_auth_failed_and_no_cart_call_is_made(
    ep: ElasticPathAdapter, mock: respx.MockRouter, status: int, body: dict[str, object]
) -> None:
    grant = mock.post(TOKEN_URL).mock(return_value=httpx.Response(status, json=body))
    carts = mock.route(path__startswith="/v2/")
    with capture_logs() as logs, pytest.raises(PlatformAuthFailed) as info:
        await ep.create_cart([TENT_LINE], currency="USD", deadline=deadline(), cart_ref=REF)
    assert info.value.cause == Cause.AUTH_FAILED
    assert "refused the client credentials" in info.value.message
    assert grant.call_count == 1 and carts.call_count == 0  # never retried
    assert SECRET not in repr(logs) and SECRET not in repr(info.value)
    assert SECRET not in str(info.value.data)


async def test_a_token_endpoint_5xx_is_retried(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    grant = mock.post(TOKEN_URL).mock(side_effect=[httpx.Response(500), *tokens("tok1")])
    mock.get(ITEMS).mock(return_value=httpx.Response(200, json=items_body()))
    await ep.get_cart(REF, deadline=deadline())
    assert grant.call_count == 2


async def test_a_token_that_cannot_be_had_fails_the_call_as_not_sent(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.post(TOKEN_URL).mock(return_value=httpx.Response(503))
    add = mock.post(ITEMS)
    with pytest.raises(PlatformServerError) as info:
        await ep.add_lines(REF, [TENT_LINE], deadline=deadline())
    assert info.value.may_have_applied is False  # the add itself never left
    assert "no Elastic Path access token" in info.value.message
    assert add.call_count == 0


async def test_an_unreachable_token_endpoint_is_unavailable(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.post(TOKEN_URL).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(PlatformUnavailable) as info:
        await ep.get_cart(REF, deadline=deadline(0.5))
    assert info.value.may_have_applied is False


@pytest.mark.parametrize(
    "body",
    [
        {"token_type": "Bearer", "expires_in": 3600},
        {"access_token": "tok\r\nX-Evil: 1", "expires_in": 3600},
        {"access_token": "tok1", "token_type": "mac", "expires_in": 3600},
        {"access_token": "tok1", "expires_in": -5},
    ],
)
async def test_an_unreadable_token_answer_is_a_server_error_that_shows_no_token(
    ep: ElasticPathAdapter, mock: respx.MockRouter, body: dict[str, object]
) -> None:
    mock.post(TOKEN_URL).mock(return_value=httpx.Response(200, json=body))
    with pytest.raises(PlatformServerError) as info:
        await ep.get_cart(REF, deadline=deadline())
    inner = info.value.__cause__
    assert isinstance(inner, PlatformServerError) and inner.__cause__ is None  # body dropped
    for shown in (info.value.message, repr(inner), str(inner.__context__)):
        assert "tok1" not in shown and "X-Evil" not in shown


async def test_no_log_line_or_error_carries_the_token_or_the_secret(
    ep: ElasticPathAdapter, mock: respx.MockRouter
) -> None:
    mock.post(TOKEN_URL).mock(side_effect=tokens("tok-one-secret", "tok-two-secret"))
    mock.get(CART).mock(return_value=httpx.Response(200, json=cart_body()))
    mock.put(CART).mock(side_effect=[UNAUTHORIZED, httpx.Response(200, json=cart_body())])
    mock.post(ITEMS).mock(return_value=httpx.Response(500))
    with capture_logs() as logs, pytest.raises(PlatformServerError) as info:
        await ep.create_cart([TENT_LINE], currency="USD", deadline=deadline(), cart_ref=REF)
    events = [(e["op"], e["method"], e["status"]) for e in logs if e["event"] == "platform_call"]
    assert events == [
        ("access_token", "POST", 200),
        ("create_cart", "GET", 200),
        ("access_token", "POST", 200),  # the 401's renewal, inside the PUT's attempt
        ("create_cart", "PUT", 200),
        ("create_cart", "POST", 500),
    ]
    for secret in (SECRET, "tok-one-secret", "tok-two-secret"):
        assert secret not in repr(logs) and secret not in repr(info.value)
    assert "tok-two" not in repr(ep.auth) and SECRET not in repr(ep.auth)


async def test_a_sandbox_style_base_url_keeps_its_path_for_the_token_and_the_carts(
    registry: AdapterRegistry, mock: respx.MockRouter
) -> None:
    base = "http://127.0.0.1:8090/elasticpath/garden6"
    adapter = registry.for_merchant("m", "ELASTIC_PATH", {**CONN, "api_url": base + "/"})
    grant = mock.post(f"{base}/oauth/access_token").mock(side_effect=tokens("tok1"))
    route = mock.get(f"{base}/v2/carts/{REF}/items").mock(
        return_value=httpx.Response(200, json=items_body())
    )
    await adapter.get_cart(REF, deadline=deadline())
    assert grant.call_count == 1 and route.call_count == 1


async def test_renewals_inside_full_bulkheads_never_wait_on_their_own_slots(
    mock: respx.MockRouter,
) -> None:
    # Every slot is held by a call whose 401 needs a renewal: the token fetch has its own.
    registry = mocked_registry(fast_settings(platform_concurrency=2, platform_store_concurrency=2))
    ep = make_adapter(registry)
    grant = mock.post(TOKEN_URL).mock(side_effect=tokens("tok1", "tok2"))

    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer tok1":
            return UNAUTHORIZED
        return httpx.Response(200, json=items_body())

    mock.get(ITEMS).mock(side_effect=answer)
    await ep.get_cart(REF, deadline=deadline())  # renews: tok1, then tok2
    grant.side_effect = tokens("tok1", "tok2")
    ep.auth._token = None
    await asyncio.wait_for(
        asyncio.gather(*(ep.get_cart(REF, deadline=deadline(1.0)) for _ in range(6))), 2.0
    )
    assert grant.call_count == 4
    await registry.aclose()
