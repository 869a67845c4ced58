"""Fault modes and rate limits, seen from a client over real loopback HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from sandbox.app import STATE, SandboxConfig, build_app, serve
from sandbox.catalog import store_token
from sandbox.state import SandboxState
from tests.sandbox.conftest import BC, Client, control, item
from tests.sandbox.ep_client import EP, cart_item
from tests.sandbox.shopify_client import CREATE, Shop, line
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
    assert time.monotonic() - started >= 0.2  # a lower bound holds on any machine
    # count=1: the fault has left the book, so the next request is not delayed (asserted on
    # the book, not timed: a loaded machine can take 0.2 s to answer anything).
    assert await control(client, "GET", "/faults?store=outdoors1") == []
    assert (await bc.call("POST", "/carts", {"line_items": [item(113)]})).status == 201


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
    assert time.monotonic() - started < 10.0  # generous: the hang's limit is 60 s
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


# Every fault mode on the Shopify and Elastic Path stores (the same book, their own answers).

PLATFORM_STORES = ("threads4", "garden6")


async def _creator(world: Client, store: str) -> Callable[..., Awaitable[aiohttp.ClientResponse]]:
    """A cart-creating request of the store's platform (Elastic Path: token fetched first)."""
    if store == "threads4":
        shop = Shop(world, store)
        return lambda **kw: shop.post(CREATE, {"input": {"lines": [line(41020)]}}, **kw)
    ep = EP(world, store)
    await ep.authenticate()
    return lambda **kw: ep.add("c1", cart_item(sku="GLOVES"), **kw)


async def _held(world: Client, store: str) -> list[int]:
    return [
        sum(x["quantity"] for x in c["lines"])
        for c in await control(world, "GET", f"/carts?store={store}")
    ]


@pytest.mark.parametrize("store", PLATFORM_STORES)
async def test_error_and_latency_faults_on_every_platform(world: Client, store: str) -> None:
    create = await _creator(world, store)
    await control(world, "POST", "/faults", fault(store, mode="error", status=500, count=1))
    response = await create()
    assert response.status == 500 and (await response.json())["errors"]
    await control(world, "POST", "/faults", fault(store, mode="error", status=503, count=1))
    assert (await create()).status == 503
    assert await _held(world, store) == []
    await control(world, "POST", "/faults", fault(store, mode="latency", ms=150, count=1))
    started = time.monotonic()
    assert (await create()).status in (200, 201)
    assert time.monotonic() - started >= 0.15


@pytest.mark.parametrize("store", PLATFORM_STORES)
async def test_unanswered_faults_on_every_platform(world: Client, store: str) -> None:
    create = await _creator(world, store)
    await control(world, "POST", "/faults", fault(store, mode="hang", count=1))
    with pytest.raises(asyncio.TimeoutError):
        await create(timeout=SHORT)
    await control(world, "POST", "/faults", fault(store, mode="close_after_read", count=1))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await create()
    assert await _held(world, store) == []
    await control(world, "POST", "/faults", fault(store, mode="apply_then_hang", count=1))
    with pytest.raises(asyncio.TimeoutError):
        await create(timeout=SHORT)
    assert await _held(world, store) == [1]


@pytest.mark.parametrize("store", ("outdoors1", *PLATFORM_STORES))
async def test_apply_then_error_applies_then_answers_a_5xx(world: Client, store: str) -> None:
    if store == "outdoors1":
        bc = BC(world, store)
        create = lambda **kw: bc.call("POST", "/carts", {"line_items": [item(113)]}, **kw)  # noqa: E731
    else:
        create = await _creator(world, store)
    armed = await control(world, "POST", "/faults", fault(store, mode="apply_then_error", count=1))
    assert armed["status"] == 500
    response = await create()
    assert response.status == 500
    assert await _held(world, store) == [1]  # the cart exists all the same
    [entry] = [r for r in await control(world, "GET", f"/requests?store={store}") if r["fault"]]
    assert (entry["status"], entry["applied_status"]) == (500, 201 if store != "threads4" else 200)
    await control(
        world, "POST", "/faults", fault(store, mode="apply_then_error", status=502, count=1)
    )
    assert (await create()).status == 502
    bad = await world.post(
        "/__sandbox/faults", json=fault(store, mode="apply_then_error", status=404)
    )
    assert bad.status == 400 and (await bad.json())["field"] == "status"


async def test_shopify_throttles_in_every_form(world: Client) -> None:
    create = await _creator(world, "threads4")
    await control(world, "POST", "/faults", fault("threads4", mode="rate_limit", count=1))
    response = await create()
    assert response.status == 200
    assert await response.json() == {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}]
    }
    for form, status in (("429", 429), ("503", 503)):
        armed = fault("threads4", mode="rate_limit", form=form, reset_ms=2500, count=1)
        await control(world, "POST", "/faults", armed)
        response = await create()
        assert response.status == status and response.headers["Retry-After"] == "3"
    await control(
        world, "POST", "/faults", fault("threads4", mode="rate_limit", form="430", count=1)
    )
    response = await create()
    assert response.status == 430 and response.headers["Content-Type"].startswith("text/html")
    assert await _held(world, "threads4") == []
    await control(world, "PUT", "/quota", {"store": "threads4", "quota": 1, "window_ms": 60000})
    assert (await create()).status == 200
    exhausted = await create()
    assert (await exhausted.json())["errors"][0]["extensions"]["code"] == "THROTTLED"
    assert await _held(world, "threads4") == [1]
    bc_form = await world.post(
        "/__sandbox/faults", json=fault("outdoors1", mode="rate_limit", form="430")
    )
    assert bc_form.status == 400 and (await bc_form.json())["field"] == "form"


async def test_elastic_path_throttles_with_429(world: Client) -> None:
    create = await _creator(world, "garden6")
    await control(world, "POST", "/faults", fault("garden6", mode="rate_limit", count=1))
    response = await create()
    assert response.status == 429 and "Retry-After" not in response.headers
    assert (await response.json())["errors"][0]["status"] == 429
    await control(
        world, "POST", "/faults", fault("garden6", mode="rate_limit", reset_ms=1000, count=1)
    )
    assert (await create()).headers["Retry-After"] == "1"
    await control(world, "PUT", "/quota", {"store": "garden6", "quota": 0})
    assert (await create()).status == 429
    assert await _held(world, "garden6") == []
