"""Fixtures for adapter tests: fast settings, a registry on the httpx transport (respx mocks it)
with each platform's adapter on it (and Elastic Path's token grant answered), one on the
production aiohttp transport (``live_registry``, for real sockets), respx, a controllable clock
(circuit breakers, deadlines, retry waits), and loopback TCP servers that misbehave on purpose."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx

from adapters.bigcommerce import BIGCOMMERCE, BigCommerceAdapter
from adapters.elastic_path import ELASTIC_PATH, ElasticPathAdapter
from adapters.registry import AdapterRegistry
from adapters.shopify import SHOPIFY, ShopifyAdapter
from config import Settings
from tests.adapters.elastic_path_answers import CONN as EP_CONNECTION
from tests.adapters.elastic_path_answers import TOKEN_URL as EP_TOKEN_URL
from tests.adapters.elastic_path_answers import token_body
from tests.adapters.shopify_answers import ENDPOINT as SHOPIFY_ENDPOINT
from tests.adapters.shopify_answers import SHOP
from tests.adapters.shopify_answers import TOKEN as SHOPIFY_TOKEN
from tests.support.httpx_transport import HttpxTransport

STORE = "https://api.bigcommerce.test/stores/abc123/v3"
OTHER_STORE = "https://api.bigcommerce.test/stores/zzz999/v3"
TOKEN = "bc-secret-token-0123456789"
CART_ID = "bc218c65-7a32-4ab7-8082-68730c074d02"
ITEM_ID = "6e193ce6-f327-4dcc-b75e-72cf6738525e"


def fast_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "platform_connect_timeout_s": 0.5,
        "platform_attempt_timeout_s": 1.0,
        "platform_max_attempts": 3,
        "platform_retry_after_cap_s": 1.0,
        "platform_concurrency": 8,
        "circuit_failure_threshold": 3,
        "circuit_reset_s": 30.0,
        "allow_private_platform_urls": True,  # the servers are on loopback
    }
    values.update(overrides)
    return Settings(**values)


def deadline(seconds: float = 3.0) -> float:
    """``seconds`` from now on the test's clock (the ``clock`` fixture's, when it is in use)."""
    return (_ACTIVE[-1] if _ACTIVE else time.monotonic)() + seconds


class FakeClock:
    """The adapters' time in a test: the real monotonic clock, plus what the test moved it by
    (``advance``) and what the code slept (``sleep``: recorded in ``slept``, never waited).

    So a test asserts each wait exactly as the code decided it (``slept == [0.05]``), not a
    window of wall-clock time that a loaded machine can miss; and a circuit's reset or a
    token's expiry is reached by ``advance``, not by sleeping. Real time still flows, for
    what only real time can do (a socket's timeout).
    """

    def __init__(self) -> None:
        self.offset = 0.0
        self.slept: list[float] = []
        self.hold = False  # True: a sleep, once recorded, lasts until it is cancelled

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if self.hold:
            await asyncio.Event().wait()
        self.offset += seconds
        await asyncio.sleep(0)  # still a suspension point: a cancellation lands here


_ACTIVE: list[FakeClock] = []  # the clock fixture's, while its test runs


@pytest.fixture
def clock() -> Iterator[FakeClock]:
    fake = FakeClock()
    _ACTIVE.append(fake)
    yield fake
    _ACTIVE.remove(fake)


@pytest.fixture
async def registry(clock: FakeClock) -> AsyncIterator[AdapterRegistry]:
    """The adapters' code on the httpx transport, which respx mocks."""
    reg = mocked_registry(fast_settings(), clock=clock, sleep=clock.sleep)
    yield reg
    await reg.aclose()


@pytest.fixture
async def live_registry(clock: FakeClock) -> AsyncIterator[AdapterRegistry]:
    """The production transport (aiohttp), for real sockets: what "was it sent?" is tested on."""
    reg = AdapterRegistry(fast_settings(), clock=clock, sleep=clock.sleep)
    yield reg
    await reg.aclose()


def mocked_registry(settings: Settings, **kwargs: Any) -> AdapterRegistry:
    return AdapterRegistry(settings, transport_factory=HttpxTransport.for_settings, **kwargs)


@pytest.fixture
def bc(registry: AdapterRegistry) -> BigCommerceAdapter:
    adapter = registry.for_merchant("mer_1", BIGCOMMERCE, {"api_url": STORE, "access_token": TOKEN})
    assert isinstance(adapter, BigCommerceAdapter)
    return adapter


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(using="httpx", assert_all_called=False) as router:
        yield router


@pytest.fixture
def shop(registry: AdapterRegistry) -> ShopifyAdapter:
    adapter = registry.for_merchant(
        "mer_1", SHOPIFY, {"shop_url": SHOP + "/", "storefront_token": SHOPIFY_TOKEN}
    )
    assert isinstance(adapter, ShopifyAdapter)
    return adapter


@pytest.fixture
def gql(mock: respx.MockRouter) -> respx.Route:
    """The Shopify shop's GraphQL endpoint, mocked."""
    return mock.post(SHOPIFY_ENDPOINT)


@pytest.fixture
def ep(registry: AdapterRegistry) -> ElasticPathAdapter:
    adapter = registry.for_merchant("mer_ep", ELASTIC_PATH, EP_CONNECTION)
    assert isinstance(adapter, ElasticPathAdapter)
    return adapter


@pytest.fixture
def elastic_path_token(mock: respx.MockRouter) -> respx.Route:
    """Elastic Path's token grant, answered: every carts call fetches a token first."""
    return mock.post(EP_TOKEN_URL).mock(return_value=httpx.Response(200, json=token_body()))


# --- loopback TCP servers that misbehave ---------------------------------------------------------


@dataclass
class TcpServer:
    url: str
    requests: list[bytes] = field(default_factory=list)
    connections: int = 0  # accepted, whether or not a request came
    got_request: asyncio.Event = field(default_factory=asyncio.Event)


Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter, TcpServer], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader, server: TcpServer) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    body = await reader.readexactly(length) if length else b""
    server.requests.append(head + body)
    server.got_request.set()
    return head + body


async def close_after_read(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: TcpServer
) -> None:
    """Read the whole request, then close without a byte of answer (it may have applied it)."""
    await _read_request(reader, server)
    writer.close()


async def hang_after_read(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: TcpServer
) -> None:
    await _read_request(reader, server)
    await asyncio.sleep(3600)


@pytest.fixture
async def tcp_server() -> AsyncIterator[Callable[[Behaviour], Awaitable[TcpServer]]]:
    servers: list[asyncio.Server] = []
    tasks: set[asyncio.Task[None]] = set()

    async def start(behaviour: Behaviour) -> TcpServer:
        state = TcpServer(url="")

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            state.connections += 1
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)  # type: ignore[arg-type]
            try:
                await behaviour(reader, writer, state)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        servers.append(server)
        state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return state

    yield start
    for task in tasks:
        task.cancel()
    for server in servers:
        server.close()


@pytest.fixture
def refused_url() -> str:
    """A loopback port nobody listens on: the connection is refused before any byte is sent."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"
