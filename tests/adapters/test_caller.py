"""The caller's two seams: ``classify`` (a 200 can be an error), ``Auth`` (one refresh on 401)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx
import orjson
import pytest
import respx

from adapters.calls.caller import Auth, Classifier, PlatformCaller, StaticAuth, rest_classifier
from adapters.calls.http import Answer, Headers
from adapters.calls.statuses import error_for_status
from errors import (
    PlatformAuthFailed,
    PlatformError,
    PlatformRateLimited,
    PlatformRejected,
)
from tests.adapters.call_helpers import STORE_BASE as BASE
from tests.adapters.call_helpers import respx_caller
from tests.adapters.conftest import deadline

P = "ELASTIC_PATH"


def by_status(op: str, response: Answer, sku_ids: Sequence[str]) -> PlatformError:
    return error_for_status(response.status, f"{op}: HTTP {response.status}", platform=P)


def caller(
    client: httpx.AsyncClient, *, classify: Classifier | None = None, auth: Auth | None = None
) -> PlatformCaller:
    return respx_caller(
        client,
        P,
        classify=classify or rest_classifier(by_status),
        auth=auth or StaticAuth({"Authorization": "Bearer fixed"}),
    )


class RotatingAuth:
    """A token that a 401 renews, counting how often it was asked to."""

    def __init__(self, *, renews: bool = True) -> None:
        self.token, self.refreshes, self._renews = "t1", 0, renews

    async def headers(self, deadline: float) -> Headers:
        return {"Authorization": f"Bearer {self.token}"}

    async def refresh(self, rejected: Headers, deadline: float) -> bool:
        self.refreshes += 1
        if not self._renews:
            return False
        self.token = f"t{self.refreshes + 1}"
        return True


def tokens(route: respx.Route) -> list[str]:
    return [call.request.headers["authorization"] for call in route.calls]


async def test_a_401_refreshes_once_and_the_call_is_sent_again_with_the_new_token() -> None:
    auth = RotatingAuth()
    with respx.mock(using="httpx") as mock:
        route = mock.get(f"{BASE}/carts/1").mock(
            side_effect=[httpx.Response(401), httpx.Response(200, json={"ok": 1})]
        )
        async with httpx.AsyncClient() as client:
            got = await caller(client, auth=auth).call(
                "get_cart",
                "GET",
                f"{BASE}/carts/1",
                deadline=deadline(),
                idempotent=True,
                parse=lambda r: orjson.loads(r.body),
            )
    assert got == {"ok": 1}
    assert auth.refreshes == 1
    assert tokens(route) == ["Bearer t1", "Bearer t2"]


async def test_a_second_401_is_an_auth_failure_never_a_loop() -> None:
    auth = RotatingAuth()
    with respx.mock(using="httpx") as mock:
        route = mock.post(f"{BASE}/carts").mock(return_value=httpx.Response(401))
        async with httpx.AsyncClient() as client:
            with pytest.raises(PlatformAuthFailed):
                await caller(client, auth=auth).call(
                    "create_cart",
                    "POST",
                    f"{BASE}/carts",
                    deadline=deadline(),
                    idempotent=False,
                    parse=lambda r: orjson.loads(r.body),
                    json={},
                )
    assert auth.refreshes == 1 and route.call_count == 2  # auth failures are never retried


async def test_an_auth_that_cannot_renew_gets_the_401_classified_at_once() -> None:
    auth = RotatingAuth(renews=False)
    with respx.mock(using="httpx") as mock:
        route = mock.get(f"{BASE}/carts/1").mock(return_value=httpx.Response(401))
        async with httpx.AsyncClient() as client:
            with pytest.raises(PlatformAuthFailed):
                await caller(client, auth=auth).call(
                    "get_cart",
                    "GET",
                    f"{BASE}/carts/1",
                    deadline=deadline(),
                    idempotent=True,
                    parse=lambda r: orjson.loads(r.body),
                )
    assert route.call_count == 1 and tokens(route) == ["Bearer t1"]


def graphql_like(op: str, response: Answer, sku_ids: Sequence[str]) -> PlatformError | None:
    """Errors inside a 200, as a GraphQL platform reports them."""
    if not response.is_success:
        return by_status(op, response, sku_ids)
    errors = orjson.loads(response.body).get("errors") or []
    codes = {e.get("extensions", {}).get("code") for e in errors}
    if "THROTTLED" in codes:
        return PlatformRateLimited("throttled", platform=P, status=200, retry_after=0.01)
    if errors:
        return PlatformRejected(errors[0]["message"], platform=P, status=200)
    return None


async def test_classify_turns_a_200_throttle_into_a_retried_rate_limit() -> None:
    throttled = {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]}
    with respx.mock(using="httpx") as mock:
        route = mock.post(f"{BASE}/graphql").mock(
            side_effect=[httpx.Response(200, json=throttled), httpx.Response(200, json={"data": 1})]
        )
        async with httpx.AsyncClient() as client:
            got = await caller(client, classify=graphql_like).call(
                "create_cart",
                "POST",
                f"{BASE}/graphql",
                deadline=deadline(),
                idempotent=False,
                parse=lambda r: orjson.loads(r.body)["data"],
                json={"query": "{}"},
            )
    assert got == 1 and route.call_count == 2


async def test_classify_turns_a_200_with_errors_into_a_rejection_without_parsing() -> None:
    parsed: list[Answer] = []
    body = {"errors": [{"message": "Field 'nope' doesn't exist on type 'Cart'"}]}
    with respx.mock(using="httpx") as mock:
        route = mock.post(f"{BASE}/graphql").mock(return_value=httpx.Response(200, json=body))
        async with httpx.AsyncClient() as client:
            with pytest.raises(PlatformRejected, match="doesn't exist"):
                await caller(client, classify=graphql_like).call(
                    "get_cart",
                    "POST",
                    f"{BASE}/graphql",
                    deadline=deadline(),
                    idempotent=True,
                    parse=parsed.append,
                    json={"query": "{}"},
                )
    assert route.call_count == 1 and parsed == []
