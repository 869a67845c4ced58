"""Fair sharing between apps, and the hostile-client answers of authentication and intake.

Each bound of ``orchestrator/http/fairness.py`` is turned on here alone (tests/api/conftest.py
turns them off for the other tests, which send many requests from one app on purpose). Held
requests wait at a gate inside the fake platform, seen by polling what the fakes saw (bounded),
never by sleeping. Raw bytes go over a real socket to the in-process server where the HTTP
client would refuse to send them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from adapters.fake import FakeRegistry
from orchestrator.http.app import create_app
from orchestrator.http.keys import SERVICES
from tests.api.conftest import ADMIN, PRICES, Api, EnvelopeTestServer, seed
from tests.api.conftest import test_settings as api_settings
from tests.api.test_overload import creates_seen, gate, until
from tests.support.prometheus import sample

__all__ = ["gate"]  # the fixture, used below
TENT = {"skus": [{"sku_id": "sku-tent", "quantity": 1}]}


@asynccontextmanager
async def served(database_url: str, **settings: Any) -> AsyncIterator[Api]:
    app = create_app(
        api_settings(database_url, **settings),
        platforms=FakeRegistry(prices=PRICES),
        run_worker=False,
    )
    client = TestClient(EnvelopeTestServer(app))
    await client.start_server()
    try:
        key, skus, merchants = await seed(client)
        yield Api(client, app_platforms(client), key, skus, merchants)
    finally:
        await client.close()


def app_platforms(client: TestClient) -> FakeRegistry:  # type: ignore[type-arg]

    platforms = client.server.app[SERVICES].platforms
    assert isinstance(platforms, FakeRegistry)
    return platforms


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def raw(api: Api, request: bytes, *, then: bytes = b"", timeout_s: float = 5.0) -> bytes:
    """``request`` sent on a socket of its own, then ``then``; whatever is answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", api.client.server.port)
    try:
        writer.write(request)
        await writer.drain()
        if then:
            writer.write(then)
            await writer.drain()
        async with asyncio.timeout(timeout_s):
            return await reader.read(65536)
    finally:
        writer.close()


async def test_an_app_past_its_share_of_slots_is_429_while_another_app_is_served(
    migrated_database_url: str, gate: asyncio.Event
) -> None:
    # 8 slots, a quarter reserved: apps holding slots share 6.
    async with served(
        migrated_database_url, max_in_flight=8, app_in_flight_reserve=0.25, create_deadline_s=30
    ) as api:
        held = [asyncio.create_task(api.post_cart(TENT)) for _ in range(6)]
        try:
            await until(lambda: creates_seen(api) == 6)
            over = await api.post_cart(TENT)
            assert over.status == 429, await over.text()
            body = await over.json()
            assert (body["error"], body["code"], body["data"]) == (
                "rate_limited",
                1429,
                {"reason": "in_flight"},
            )
            assert int(over.headers["Retry-After"]) >= 1
            other = bearer(await api.new_key("other"))
            listed = await api.client.get("/v1/carts", headers=other)
            assert listed.status == 200, await listed.text()  # the reserve is there for it
            assert creates_seen(api) == 6 and not any(t.done() for t in held)
        finally:
            gate.set()
            statuses = [(await t).status for t in held]
        assert statuses == [201] * 6
        assert (await api.post_cart(TENT)).status == 201  # its slots are back


async def test_an_app_over_its_rate_is_429_and_another_app_is_not(
    migrated_database_url: str,
) -> None:
    async with served(migrated_database_url, app_rate_limit="3/minute") as api:
        for _ in range(3):
            assert (await api.client.get("/v1/carts", headers=api.auth)).status == 200
        over = await api.client.get("/v1/carts", headers=api.auth)
        assert over.status == 429
        assert (await over.json())["data"] == {"reason": "rate"}
        assert 1 <= int(over.headers["Retry-After"]) <= 60
        other = bearer(await api.new_key("other"))
        assert (await api.client.get("/v1/carts", headers=other)).status == 200


async def test_a_create_past_the_live_cart_quota_is_403_and_writes_nothing(
    migrated_database_url: str,
) -> None:
    async with served(migrated_database_url, app_max_live_carts=2) as api:
        made = [await api.post_cart(TENT) for _ in range(2)]
        assert [r.status for r in made] == [201, 201]
        over = await api.post_cart(TENT)
        assert over.status == 403, await over.text()
        body = await over.json()
        assert (body["error"], body["code"], body["data"]) == (
            "quota_exceeded",
            1403,
            {"quota": 2},
        )
        assert creates_seen(api) == 2  # no platform call for the refused create
        page = await (await api.client.get("/v1/carts", headers=api.auth)).json()
        assert len(page["data"]) == 2
        other = bearer(await api.new_key("other"))  # the quota is per app
        assert (await api.client.post("/v1/carts", json=TENT, headers=other)).status == 201
        first = (await made[0].json())["id"]
        assert (await api.client.delete(f"/v1/carts/{first}", headers=api.auth)).status == 204
        assert (await api.post_cart(TENT)).status == 201  # room again


async def test_failed_authentications_are_throttled_but_valid_app_keys_pass(
    migrated_database_url: str,
) -> None:
    async with served(migrated_database_url, auth_failure_limit="5/minute") as api:
        fresh = bearer(await api.new_key("fresh"))  # made before; never used: not cached
        answers = [
            (await api.client.get("/v1/admin/outbox", headers=bearer(f"wrong-{n}"))).status
            for n in range(3)
        ] + [(await api.client.get("/v1/carts")).status for _ in range(3)]  # no key: junk
        assert answers == [401] * 5 + [429]
        right = await api.client.get("/v1/admin/outbox", headers=ADMIN)
        assert right.status == 429  # the right admin token waits too: guessing gains nothing
        body = await right.json()
        assert body["data"] == {"reason": "failed_auth"} and int(right.headers["Retry-After"]) >= 1
        # A valid app key passes, even one this process has never seen (after a restart, say):
        # junk from a shared address must not lock every app out.
        assert (await api.client.get("/v1/carts", headers=fresh)).status == 200
        assert (await api.client.get("/v1/carts", headers=api.auth)).status == 200
        unknown = await api.client.get("/v1/carts", headers=bearer("mc_live_guess"))
        assert unknown.status == 429  # a wrong one, past the limit


async def test_requests_without_an_app_are_limited_per_address(
    migrated_database_url: str,
) -> None:
    async with served(migrated_database_url, anonymous_rate_limit="5/minute") as api:
        paths = ["/healthz", "/metrics", "/openapi.json", "/nowhere", "/readyz"]
        assert [(await api.client.get(p)).status for p in paths] == [200, 200, 200, 404, 200]
        over = await api.client.get("/metrics")
        assert over.status == 429
        assert (await over.json())["data"] == {"reason": "anonymous"}
        assert int(over.headers["Retry-After"]) >= 1
        assert (await api.client.get("/v1/carts", headers=api.auth)).status == 200  # apps: not


async def test_a_body_is_not_read_before_its_key_is_known(migrated_database_url: str) -> None:
    async with served(migrated_database_url) as api:
        reader, writer = await asyncio.open_connection("127.0.0.1", api.client.server.port)
        try:  # a wrong key declaring a large body, sending none of it: answered at once
            writer.write(
                b"POST /v1/carts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer mc_live_nope\r\n"
                b"Content-Type: application/json\r\nContent-Length: 4000\r\n\r\n"
            )
            await writer.drain()
            async with asyncio.timeout(5):
                answer = await reader.read(65536)
        finally:
            writer.close()
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        metrics = await (await api.client.get("/metrics")).text()
        assert "multicart_http_bodies_reading 0.0" in metrics


async def test_a_burst_of_creates_cannot_pass_the_quota(
    migrated_database_url: str, gate: asyncio.Event
) -> None:
    async with served(migrated_database_url, app_max_live_carts=3, create_deadline_s=30) as api:
        burst = [asyncio.create_task(api.post_cart(TENT)) for _ in range(8)]
        try:
            await until(lambda: creates_seen(api) == 3)  # three inside their platform call
            await until(lambda: sum(t.done() for t in burst) == 5)  # the rest answered
            done = [t for t in burst if t.done()]
            assert all(t.result().status == 403 for t in done) and creates_seen(api) == 3
        finally:
            gate.set()
            statuses = sorted([(await t).status for t in burst])
        assert statuses == [201] * 3 + [403] * 5
        page = await (await api.client.get("/v1/carts", headers=api.auth)).json()
        assert len(page["data"]) == 3


@pytest.mark.parametrize(
    "header",
    [
        b"Authorization: Bearer \xff\xfe",
        b"Authorization: Bearer caf\xc3\xa9",
        b"Authorization: Bearer a\x0bb",
        b"Authorization: Bearer " + b"k" * 5000,
    ],
    ids=["latin1", "utf8", "vertical-tab", "long"],
)
@pytest.mark.parametrize("path", [b"/v1/carts", b"/v1/admin/outbox"])
async def test_malformed_credentials_are_401_never_500(
    migrated_database_url: str, header: bytes, path: bytes
) -> None:
    async with served(migrated_database_url) as api:
        answer = await raw(api, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n\r\n")
        status = answer.split(b"\r\n", 1)[0]
        assert status.split()[1] in (b"400", b"401"), answer[:300]
        given = header.removeprefix(b"Authorization: Bearer ")
        assert given[:3] not in answer.split(b"\r\n\r\n", 1)[1]  # nothing of it echoed
        metrics = await (await api.client.get("/metrics")).text()
        assert 'status="500"' not in metrics


async def test_two_authorization_headers_are_refused(migrated_database_url: str) -> None:
    async with served(migrated_database_url) as api:
        answer = await raw(
            api,
            b"GET /v1/carts HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
            + api.key.encode()
            + b"\r\nAuthorization: Bearer other\r\nConnection: close\r\n\r\n",
        )
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
        assert b'"field":"Authorization"' in answer


def create_request(api: Api, body_length: int, *extra: bytes) -> bytes:
    lines = [
        b"POST /v1/carts HTTP/1.1",
        b"Host: x",
        b"Authorization: Bearer " + api.key.encode(),
        b"Content-Type: application/json",
        b"Content-Length: " + str(body_length).encode(),
        *extra,
    ]
    return b"\r\n".join(lines) + b"\r\n\r\n"


async def test_a_compressed_body_is_415_and_not_inflated(migrated_database_url: str) -> None:
    import gzip

    bomb = gzip.compress(b"[" * 4_000_000)  # 4 MB inflated, 4 KB sent
    async with served(migrated_database_url, max_body_bytes=256 * 1024) as api:
        answer = await raw(
            api,
            create_request(api, len(bomb), b"Content-Encoding: gzip", b"Connection: close") + bomb,
        )
        assert answer.startswith(b"HTTP/1.1 415"), answer[:200]
        assert b"Content-Encoding" in answer


async def test_a_body_slower_than_its_bound_is_408_and_holds_no_slot(
    migrated_database_url: str,
) -> None:
    async with served(
        migrated_database_url, body_timeout_s=0.5, body_min_rate=1_000_000, max_in_flight=1
    ) as api:
        reader, writer = await asyncio.open_connection("127.0.0.1", api.client.server.port)
        try:
            writer.write(create_request(api, 100) + b'{"skus"')
            await writer.drain()
            # While its body trickles, it holds no slot: the one slot serves another request.
            assert (await api.client.get("/v1/carts", headers=api.auth)).status == 200
            async with asyncio.timeout(5):
                answer = await reader.read(65536)
                closed = await reader.read(1) == b""
        finally:
            writer.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b'"error":"request_timeout"' in answer
        assert closed  # the rest of that body is never read as a request


async def test_a_client_gone_mid_body_is_499_not_a_5xx(
    migrated_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async with served(migrated_database_url) as api:
        _reader, writer = await asyncio.open_connection("127.0.0.1", api.client.server.port)
        writer.write(create_request(api, 1000) + b'{"skus": [')
        await writer.drain()
        await polled(api, lambda m: "multicart_http_bodies_reading 1.0" in m)
        writer.close()
        await writer.wait_closed()
        metrics = await polled(api, lambda m: 'status="499"' in m)
        assert sample(metrics, "multicart_http_requests_total", route="/v1/carts", status="499")
        assert 'status="500"' not in metrics
    assert "unhandled_error" not in capsys.readouterr().err


async def polled(api: Api, condition: Callable[[str], bool], within_s: float = 5.0) -> str:
    """/metrics, scraped until ``condition`` holds on it (failing after ``within_s``)."""
    ends = asyncio.get_running_loop().time() + within_s
    while True:
        metrics = await (await api.client.get("/metrics")).text()
        if condition(metrics):
            return metrics
        assert asyncio.get_running_loop().time() < ends, "condition not reached in time"
        await asyncio.sleep(0.02)


async def test_a_huge_integer_is_400_without_python_internals(migrated_database_url: str) -> None:
    async with served(migrated_database_url, max_body_bytes=16384) as api:
        body = b'{"skus": [{"sku_id": "sku-tent", "quantity": ' + b"9" * 5000 + b"}]}"
        response = await api.client.post(
            "/v1/carts", data=body, headers={**api.auth, "Content-Type": "application/json"}
        )
        assert response.status == 400
        text = await response.text()
        assert "set_int_max_str_digits" not in text and "digits" in text


async def test_answers_carry_the_security_headers(migrated_database_url: str) -> None:
    async with served(migrated_database_url) as api:
        for path, headers in (("/v1/carts", api.auth), ("/v1/carts", {}), ("/healthz", {})):
            response = await api.client.get(path, headers=headers)
            assert response.headers["X-Content-Type-Options"] == "nosniff"
            assert response.headers["Cache-Control"] == "no-store"
            assert response.headers["Server"] == "multicart"
        document = await api.client.get("/openapi.json")
        assert "no-store" not in document.headers.get("Cache-Control", "")
