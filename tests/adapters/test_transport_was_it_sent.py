"""The transports' "was it sent?" against real loopback servers: only a failure to get a
connection proves a request was not sent; anything after that may have been applied, and an
adapter never repeats such a create (``adapters.calls.aiohttp_transport``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp.client_reqrep import ConnectionKey

from adapters.base import LineRequest
from adapters.bigcommerce import BIGCOMMERCE, BigCommerceAdapter
from adapters.calls.aiohttp_transport import AiohttpTransport, request_not_sent
from adapters.calls.http import Answer, send_once
from adapters.registry import AdapterRegistry
from errors import Cause, PlatformError, PlatformTimeout, PlatformUnavailable
from tests.adapters.call_helpers import SHORT_TIMEOUTS as POLICY
from tests.adapters.conftest import (
    CART_ID,
    Behaviour,
    TcpServer,
    close_after_read,
    deadline,
    fast_settings,
    hang_after_read,
)
from tests.support.httpx_transport import request_not_sent as httpx_not_sent

P = "BIGCOMMERCE"
StartServer = Callable[[Behaviour], Awaitable[TcpServer]]


# --- was it sent? ---------------------------------------------------------------------------------


KEY = ConnectionKey("127.0.0.1", 1, False, True, None, None, None)


@pytest.mark.parametrize(
    ("exc", "not_sent"),
    [
        # aiohttp (production): only a failure to get a connection proves nothing was sent.
        (aiohttp.ClientConnectorError(KEY, OSError(111, "refused")), True),
        (aiohttp.ConnectionTimeoutError("x"), True),
        (aiohttp.InvalidURL("x"), True),
        (aiohttp.ServerDisconnectedError(), False),  # it read the request, then closed
        (aiohttp.ClientOSError(104, "reset"), False),
        (aiohttp.SocketTimeoutError("x"), False),
        (aiohttp.ClientPayloadError("x"), False),
    ],
)
def test_the_production_transport_says_not_sent_only_for_connection_failures(
    exc: BaseException, not_sent: bool
) -> None:
    assert request_not_sent(exc) is not_sent


@pytest.mark.parametrize(
    ("exc", "not_sent"),
    [
        (httpx.ConnectError("refused"), True),
        (httpx.ConnectTimeout("x"), True),
        (httpx.PoolTimeout("x"), True),
        (httpx.ReadTimeout("x"), False),
        (httpx.WriteTimeout("x"), False),
        (httpx.RemoteProtocolError("Server disconnected"), False),
        (httpx.ReadError("x"), False),
    ],
)
def test_the_test_transport_reads_httpx_errors_as_httpcore_raises_them(
    exc: BaseException, not_sent: bool
) -> None:
    assert httpx_not_sent(exc) is not_sent


@pytest.fixture
async def transport() -> AsyncIterator[AiohttpTransport]:
    built = AiohttpTransport(fast_settings().for_platform(P))
    yield built
    await built.aclose()


async def post(transport: AiohttpTransport, url: str, budget_s: float = 3.0) -> Answer:
    return await send_once(
        transport, "POST", url + "/carts", platform=P, op="create_cart",
        deadline=deadline(budget_s), policy=POLICY, json={"a": 1},
    )  # fmt: skip


async def test_close_after_read_is_ambiguous_never_not_sent(
    tcp_server: StartServer, transport: AiohttpTransport
) -> None:
    server = await tcp_server(close_after_read)
    with pytest.raises(PlatformTimeout) as info:
        await post(transport, server.url)
    assert info.value.may_have_applied is True
    assert info.value.cause == Cause.PLATFORM_TIMEOUT
    assert isinstance(info.value.__cause__, aiohttp.ServerDisconnectedError)
    assert len(server.requests) == 1  # a POST is not repeated by aiohttp either
    assert b'{"a":1}' in server.requests[-1].replace(b" ", b"")


async def test_refused_port_is_not_sent(refused_url: str, transport: AiohttpTransport) -> None:
    with pytest.raises(PlatformUnavailable) as info:
        await post(transport, refused_url)
    assert info.value.may_have_applied is False
    assert info.value.cause == Cause.PLATFORM_UNAVAILABLE
    assert isinstance(info.value.__cause__, aiohttp.ClientConnectorError)


async def test_unknown_host_is_not_sent(transport: AiohttpTransport) -> None:
    with pytest.raises(PlatformUnavailable) as info:
        await send_once(
            transport,
            "GET",
            "http://no-such-store.invalid/v3/carts",
            platform=P,
            op="get_cart",
            deadline=deadline(1.0),
            policy=POLICY,
        )
    assert info.value.may_have_applied is False


async def test_a_url_the_transport_refuses_is_not_sent(transport: AiohttpTransport) -> None:
    with pytest.raises(PlatformUnavailable) as info:
        await post(transport, "http://127.0.0.1:99999")  # no such port
    assert info.value.may_have_applied is False


async def test_a_hanging_answer_times_out_within_the_deadline(
    tcp_server: StartServer, transport: AiohttpTransport
) -> None:
    server = await tcp_server(hang_after_read)
    started = time.monotonic()
    with pytest.raises(PlatformTimeout) as info:
        await send_once(
            transport, "POST", server.url + "/carts", platform=P, op="create_cart",
            deadline=deadline(0.2), policy=replace(POLICY, attempt_timeout_s=60.0), json={"a": 1},
        )  # fmt: skip
    # A real socket's timeout: not before the deadline, and a generous bound after it, far
    # below the 60 s attempt timeout that would end it without the deadline.
    assert 0.19 <= time.monotonic() - started < 0.2 + 5.0
    assert info.value.may_have_applied is True
    assert len(server.requests) == 1


async def test_a_server_that_accepts_and_never_reads_may_have_applied_after_the_timeout(
    tcp_server: StartServer, transport: AiohttpTransport
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, s: Any) -> None:
        await asyncio.sleep(3600)  # the connection is up: the request is on the wire

    server = await tcp_server(silent)
    with pytest.raises(PlatformTimeout) as info:
        await post(transport, server.url, budget_s=0.2)
    assert info.value.may_have_applied is True


async def test_the_session_is_opened_in_the_loop_with_the_platforms_limits_and_no_cookies(
    tcp_server: StartServer,
) -> None:
    settings = fast_settings(platform_concurrency=5, platform_connect_timeout_s=0.7)
    transport = AiohttpTransport(settings.for_platform(P))
    assert transport._session is None  # built outside a loop's task: nothing opened yet
    server = await tcp_server(close_after_read)
    with pytest.raises(PlatformTimeout):
        await post(transport, server.url)
    session = transport._session
    assert session is not None
    assert isinstance(session.cookie_jar, aiohttp.DummyCookieJar)
    assert session.connector is not None and session.connector.limit == 5
    assert session.timeout.sock_connect == 0.7 and session.timeout.total is None
    await transport.aclose()
    assert session.closed and transport._session is None


def _adapter_for(registry: AdapterRegistry, base: str) -> BigCommerceAdapter:
    adapter = registry.for_merchant(
        "mer_tcp", BIGCOMMERCE, {"api_url": base + "/stores/s/v3", "access_token": "t"}
    )
    assert isinstance(adapter, BigCommerceAdapter)
    return adapter


async def test_adapter_does_not_repeat_a_create_the_server_closed_after_reading(
    tcp_server: StartServer, live_registry: AdapterRegistry
) -> None:
    server = await tcp_server(close_after_read)
    adapter = _adapter_for(live_registry, server.url)
    line = LineRequest(platform_ref={"product_id": 1}, quantity=1)
    with pytest.raises(PlatformTimeout) as info:
        await adapter.create_cart([line], currency="USD", deadline=deadline())
    assert info.value.may_have_applied is True
    assert len(server.requests) == 1


async def test_adapter_retries_a_read_the_server_closed_after_reading(
    tcp_server: StartServer, live_registry: AdapterRegistry
) -> None:
    server = await tcp_server(close_after_read)
    with pytest.raises(PlatformTimeout):
        await _adapter_for(live_registry, server.url).get_cart(CART_ID, deadline=deadline())
    # 3 attempts (aiohttp itself also repeats an idempotent request once on a lost connection)
    assert len(server.requests) >= 3


async def test_adapter_retries_a_refused_create(
    refused_url: str, live_registry: AdapterRegistry
) -> None:
    line = LineRequest(platform_ref={"product_id": 1}, quantity=1)
    metrics = live_registry.metrics
    with pytest.raises(PlatformUnavailable):
        await _adapter_for(live_registry, refused_url).create_cart(
            [line], currency="USD", deadline=deadline()
        )
    assert metrics.retries[("BIGCOMMERCE", "create_cart")] == 2
    assert metrics.calls[("BIGCOMMERCE", "platform_unavailable")] == 3


async def answer_once_then_close_after_read(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: TcpServer
) -> None:
    """Answer the first request on a connection (keep-alive), then read the second and close:
    the second may have been applied."""
    from tests.adapters.conftest import _read_request

    await _read_request(reader, server)
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"
    )
    await writer.drain()
    await _read_request(reader, server)
    writer.close()


async def test_a_put_on_a_broken_reused_connection_is_not_resent_by_aiohttp(
    tcp_server: StartServer, transport: AiohttpTransport
) -> None:
    # aiohttp would resend an idempotent method on a fresh connection; a PUT create (Elastic
    # Path) that reached the platform must not be sent twice behind the retry engine's back.
    server = await tcp_server(answer_once_then_close_after_read)
    first = await send_once(
        transport, "PUT", server.url + "/carts/a", platform=P, op="create_cart",
        deadline=deadline(3.0), policy=POLICY, json={"a": 1},
    )  # fmt: skip
    assert first.status == 200
    with pytest.raises(PlatformError) as info:
        await send_once(
            transport, "PUT", server.url + "/carts/a", platform=P, op="create_cart",
            deadline=deadline(3.0), policy=POLICY, json={"a": 1},
        )  # fmt: skip
    assert info.value.may_have_applied is True
    assert len(server.requests) == 2  # the broken one was not resent
