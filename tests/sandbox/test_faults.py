"""Fault modes and rate limits, seen from a client over real loopback HTTP (design §5)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from sandbox.app import STATE, SandboxConfig, build_app, serve
from sandbox.catalog import store_token
from sandbox.state import SandboxState
from tests.sandbox.conftest import BC, Client, control, item
from tests.sandbox.test_bigcommerce import RATE_HEADERS

SHORT = aiohttp.ClientTimeout(total=0.3)


def fault(store: str = "outdoors1", **params: object) -> dict[str, object]:
    return {"store": store, **params}


async def statuses(client: Client, store: str = "outdoors1") -> list[int | None]:
    return [r["status"] for r in await control(client, "GET", f"/requests?store={store}")]


async def test_error_fault_with_count_then_clears(bc: BC, client: Client) -> None:
    armed = await control(client, "POST", "/faults", fault(mode="error", status=500, count=2))
    assert armed["id"] and armed["mode"] == "error" and armed["remaining"] == 2
    for _ in range(2):
        response = await bc.call("POST", "/carts", {"line_items": [item(113)]})
        assert response.status == 500
        body = await response.json()
        assert body["status"] == 500 and body["title"]
        assert all(name in response.headers for name in RATE_HEADERS)
    assert (await bc.call("POST", "/carts", {"line_items": [item(113)]})).status == 201
    assert await statuses(client) == [500, 500, 201]
    assert await control(client, "GET", "/faults") == []
    assert len(await control(client, "GET", "/carts?store=outdoors1")) == 1


async def test_error_fault_filters_by_method_and_path(bc: BC, client: Client) -> None:
    cart = await bc.create(item(113))
    await control(client, "POST", "/faults", fault(mode="error", status=503, method="delete"))
    await control(
        client, "POST", "/faults", fault(mode="error", status=502, path_contains="/items")
    )
    assert (await bc.get(cart["id"])).status == 200
    assert (await bc.call("DELETE", f"/carts/{cart['id']}")).status == 503
    add = await bc.call("POST", f"/carts/{cart['id']}/items", {"line_items": [item(114)]})
    assert add.status == 502
    other = BC(client, "kitchen2")
    assert (await other.call("POST", "/carts", {"line_items": [item(210)]})).status == 201


async def test_error_fault_rate_zero_never_fires(bc: BC, client: Client) -> None:
    await control(client, "POST", "/faults", fault(mode="error", status=500, rate=0))
    assert (await bc.call("POST", "/carts", {"line_items": [item(113)]})).status == 201


async def test_error_429_has_no_rate_limit_headers(bc: BC, client: Client) -> None:
    await control(client, "POST", "/faults", fault(mode="error", status=429, count=1))
    response = await bc.call("POST", "/carts", {"line_items": [item(113)]})
    assert response.status == 429 and response.headers["X-Request-Id"]
    assert not any(name in response.headers for name in RATE_HEADERS)


async def test_latency_fault_delays_the_answer(bc: BC, client: Client) -> None:
    await control(client, "POST", "/faults", fault(mode="latency", ms=200, count=1))
    started = time.monotonic()
    assert (await bc.call("POST", "/carts", {"line_items": [item(113)]})).status == 201
    assert time.monotonic() - started >= 0.2
    started = time.monotonic()
    assert (await bc.call("POST", "/carts", {"line_items": [item(113)]})).status == 201
    assert time.monotonic() - started < 0.2


async def test_rate_limit_fault_is_the_platforms_429(bc: BC, client: Client) -> None:
    await control(client, "POST", "/faults", fault(mode="rate_limit", reset_ms=1500, count=1))
    response = await bc.call("POST", "/carts", {"line_items": [item(113)]})
    assert response.status == 429
    assert response.headers["X-Rate-Limit-Time-Reset-Ms"] == "1500"
    assert response.headers["X-Rate-Limit-Requests-Left"] == "0"
    assert response.headers["X-Retry-After"] == "2"
    assert response.headers["X-Rate-Limit-Time-Window-Ms"] == "30000"
    assert (await response.json())["status"] == 429
    assert await control(client, "GET", "/carts") == []
    assert (await bc.call("POST", "/carts", {"line_items": [item(113)]})).status == 201


async def test_hang_never_answers(bc: BC, client: Client) -> None:
    await control(client, "POST", "/faults", fault(mode="hang", count=1))
    with pytest.raises(asyncio.TimeoutError):
        await bc.call("POST", "/carts", {"line_items": [item(113)]}, timeout=SHORT)
    [entry] = await control(client, "GET", "/requests")
    assert (entry["status"], entry["fault"]) == (None, "hang")
    assert await control(client, "GET", "/carts") == []
    assert (await bc.call("POST", "/carts", {"line_items": [item(113)]})).status == 201


async def test_close_after_read_drops_the_connection(bc: BC, client: Client) -> None:
    await control(client, "POST", "/faults", fault(mode="close_after_read", count=1))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await bc.call("POST", "/carts", {"line_items": [item(113)]})
    assert await control(client, "GET", "/carts") == []
    assert (await bc.call("POST", "/carts", {"line_items": [item(113)]})).status == 201


async def test_apply_then_hang_creates_the_cart_but_never_answers(bc: BC, client: Client) -> None:
    await control(client, "POST", "/faults", fault(mode="apply_then_hang", count=1))
    with pytest.raises(asyncio.TimeoutError):
        await bc.call("POST", "/carts", {"line_items": [item(113, 2)]}, timeout=SHORT)
    [held] = await control(client, "GET", "/carts?store=outdoors1")
    assert [(line["platform_ref"], line["quantity"]) for line in held["lines"]] == [
        ({"product_id": 113}, 2)
    ]
    [entry] = await control(client, "GET", "/requests")
    assert (entry["status"], entry["applied_status"], entry["fault"]) == (
        None,
        201,
        "apply_then_hang",
    )


async def test_quota_exhaustion_is_429_until_reset(bc: BC, client: Client) -> None:
    await control(client, "PUT", "/quota", {"store": "outdoors1", "quota": 2, "window_ms": 60000})
    left = []
    for _ in range(2):
        response = await bc.call("GET", "/carts/none")
        assert response.status == 404
        left.append(response.headers["X-Rate-Limit-Requests-Left"])
    assert left == ["1", "0"]
    throttled = await bc.call("POST", "/carts", {"line_items": [item(113)]})
    assert throttled.status == 429
    headers = throttled.headers
    assert headers["X-Rate-Limit-Requests-Quota"] == "2"
    assert headers["X-Rate-Limit-Time-Window-Ms"] == "60000"
    assert 0 < int(headers["X-Rate-Limit-Time-Reset-Ms"]) <= 60000
    assert int(headers["X-Retry-After"]) >= 1
    assert await control(client, "GET", "/carts") == []
    other = BC(client, "kitchen2")  # the quota is per store
    assert (await other.call("GET", "/carts/none")).status == 404
    await control(client, "PUT", "/quota", {"store": "outdoors1", "quota": 100})
    assert (await bc.call("POST", "/carts", {"line_items": [item(113)]})).status == 201


async def test_rate_limit_headers_on_every_answer(bc: BC) -> None:
    created = await bc.call("POST", "/carts", {"line_items": [item(113)]})
    cart_id = (await created.json())["data"]["id"]
    answers = [
        created,
        await bc.get(cart_id),
        await bc.get("missing"),
        await bc.call("POST", "/carts", {"line_items": [item(900)]}),
        await bc.call("DELETE", f"/carts/{cart_id}"),
    ]
    assert [a.status for a in answers] == [201, 200, 404, 422, 204]
    for answer in answers:
        assert all(name in answer.headers for name in RATE_HEADERS), answer.status
        assert answer.headers["X-Request-Id"]
    quota = [int(a.headers["X-Rate-Limit-Requests-Left"]) for a in answers]
    assert quota == sorted(quota, reverse=True) and len(set(quota)) == len(quota)


async def test_faults_never_touch_the_control_api(bc: BC, client: Client) -> None:
    await control(client, "POST", "/faults", fault(mode="error", status=500))
    await control(client, "POST", "/faults", fault(mode="hang"))
    assert len(await control(client, "GET", "/stores")) == 3
    assert len(await control(client, "GET", "/faults?store=outdoors1")) == 2


async def test_shutdown_lets_hung_requests_go() -> None:
    app = build_app(SandboxConfig(hang_max_s=60))
    state: SandboxState = app[STATE]
    client = TestClient(TestServer(app))
    await client.start_server()
    await control(client, "POST", "/faults", fault(mode="hang"))
    pending = asyncio.ensure_future(BC(client).call("POST", "/carts", {"line_items": [item(113)]}))
    assert await until(lambda: bool(state.requests.list()))
    started = time.monotonic()
    await client.server.close()  # the server first: the held request must not delay it
    assert time.monotonic() - started < 2.0
    with pytest.raises(aiohttp.ClientError):
        await pending
    await client.close()


async def test_hang_ends_when_the_client_goes_away() -> None:
    # As `python -m sandbox` runs it: no handler cancellation on disconnect.
    runner, url = await serve(SandboxConfig(hang_max_s=60), "127.0.0.1", 0)
    state: SandboxState = runner.app[STATE]
    try:
        async with aiohttp.ClientSession(url) as session:
            await session.post("/__sandbox/faults", json=fault(mode="hang"))
            bc_path, token = "/bigcommerce/stores/outdoors1/v3/carts", store_token("outdoors1")
            with pytest.raises(asyncio.TimeoutError):
                await session.post(
                    bc_path,
                    json={"line_items": [item(113)]},
                    timeout=SHORT,
                    headers={"X-Auth-Token": token},
                )
        assert await until(lambda: state.requests.list()[0].get("dropped", False))
    finally:
        await runner.cleanup()


async def until(predicate: Callable[[], bool], timeout: float = 3.0) -> bool:
    """Bounded wait for a state the test cannot be told about (no blind sleeps)."""
    ends = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > ends:
            return False
        await asyncio.sleep(0.01)
    return True
