"""Merchant hosts checked at connect time (``adapters.calls.address_guard``): a name that
resolves to a loopback, private or metadata address is refused before any connection, over a
real aiohttp session to a real loopback server that counts the connections it accepts."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from structlog.testing import capture_logs

from adapters.bigcommerce import BIGCOMMERCE
from adapters.calls.address_guard import AddressRefused, GuardedResolver
from adapters.calls.aiohttp_transport import AiohttpTransport
from adapters.calls.connections import UrlPolicy, address_problem, url_problem
from adapters.calls.http import Answer, send_once
from adapters.calls.policy import RetryPolicy
from adapters.calls.resilience import CircuitState
from adapters.calls.retry import should_retry
from adapters.registry import AdapterRegistry
from errors import Cause, PlatformAddressRefused
from tests.adapters.conftest import CART_ID as CART
from tests.adapters.conftest import Behaviour, TcpServer, deadline, fast_settings

P = "BIGCOMMERCE"
POLICY = RetryPolicy(max_attempts=3, connect_timeout_s=0.5, attempt_timeout_s=1.0)
StartServer = Callable[[Behaviour], Awaitable[TcpServer]]
NO_PRIVATE = UrlPolicy(allow_private=False)
REFUSED = "refused, in a class whose name differs between Python versions"


async def answer_ok(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: TcpServer
) -> None:
    """Read the request's head, answer 200 with an empty JSON object."""
    server.requests.append(await reader.readuntil(b"\r\n\r\n"))
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    )
    await writer.drain()


class MapResolver(AbstractResolver):
    """DNS as a test wants it: each name answers with the listed addresses."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
            for address in self.names[host]
        ]

    async def close(self) -> None:
        pass


def port_of(server: TcpServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


@pytest.fixture
async def guarded_transport() -> AsyncIterator[AiohttpTransport]:
    built = AiohttpTransport(fast_settings(allow_private_platform_urls=False).for_platform(P))
    yield built
    await built.aclose()


async def get(transport: AiohttpTransport, url: str) -> Answer:
    return await send_once(
        transport, "GET", url, platform=P, op="get_cart", deadline=deadline(2.0), policy=POLICY
    )


# --- (1) refused before a connection; (2) allowed when the operator says so ---------------------


@pytest.mark.parametrize(
    "host",
    [
        "localhost",  # a name resolving to 127.0.0.1, given to the transport directly
        "127.0.0.1",  # a literal IP: aiohttp connects to it without asking the resolver
        "[::ffff:127.0.0.1]",  # the same, IPv4-mapped
    ],
)
async def test_a_host_reaching_loopback_is_refused_before_any_connection(
    tcp_server: StartServer, guarded_transport: AiohttpTransport, host: str
) -> None:
    server = await tcp_server(answer_ok)
    with pytest.raises(PlatformAddressRefused) as info:
        await get(guarded_transport, f"http://{host}:{port_of(server)}/carts/1")
    assert info.value.may_have_applied is False and info.value.retryable is False
    assert info.value.cause is Cause.PLATFORM_HOST_REFUSED
    assert "127.0.0.1" not in info.value.message  # the app's answer does not map our network
    assert server.connections == 0 and server.requests == []


async def test_the_same_host_is_called_when_private_urls_are_allowed(
    tcp_server: StartServer,
) -> None:
    server = await tcp_server(answer_ok)
    transport = AiohttpTransport(fast_settings(allow_private_platform_urls=True).for_platform(P))
    try:
        answer = await get(transport, f"http://localhost:{port_of(server)}/carts/1")
    finally:
        await transport.aclose()
    assert answer.status == 200 and server.connections == 1


async def test_a_public_name_that_resolves_to_loopback_is_refused_by_the_guarded_resolver(
    tcp_server: StartServer,
) -> None:
    server = await tcp_server(answer_ok)
    url = f"http://shop.example.com:{port_of(server)}/carts/1"
    dns = MapResolver({"shop.example.com": ["127.0.0.1"]})
    connector = aiohttp.TCPConnector(resolver=GuardedResolver(NO_PRIVATE, dns))
    async with aiohttp.ClientSession(connector=connector) as session:
        with pytest.raises(aiohttp.ClientConnectorDNSError) as info:
            await session.get(url)
    assert isinstance(info.value.os_error, AddressRefused)
    assert dns.asked == ["shop.example.com"] and server.connections == 0
    # allowed: the very same name and server, reached
    allowed = aiohttp.TCPConnector(resolver=GuardedResolver(UrlPolicy(allow_private=True), dns))
    async with aiohttp.ClientSession(connector=allowed) as session, session.get(url) as response:
        assert response.status == 200
    assert server.connections == 1


async def test_the_allow_list_is_applied_at_connect_time_too(tcp_server: StartServer) -> None:
    server = await tcp_server(answer_ok)
    settings = fast_settings(platform_host_allowlist=".example.com")
    transport = AiohttpTransport(settings.for_platform(P))
    try:
        with pytest.raises(PlatformAddressRefused):  # a merchant registered before the list
            await get(transport, f"http://127.0.0.1:{port_of(server)}/carts/1")
    finally:
        await transport.aclose()
    assert server.connections == 0
    policy = UrlPolicy(allow_private=True, allowed_hosts=(".example.com",))
    dns = MapResolver({"shop.example.com": ["127.0.0.1"], "evil.test": ["127.0.0.1"]})
    resolver = GuardedResolver(policy, dns)
    assert [r["host"] for r in await resolver.resolve("shop.example.com", 443)] == ["127.0.0.1"]
    with pytest.raises(AddressRefused):
        await resolver.resolve("evil.test", 443)
    assert dns.asked == ["shop.example.com"]  # off the list: not even looked up


async def test_a_name_answering_public_and_private_addresses_keeps_only_the_public() -> None:
    dns = MapResolver({"rebind.example.com": ["169.254.169.254", "93.184.215.14", "::1"]})
    kept = await GuardedResolver(NO_PRIVATE, dns).resolve("rebind.example.com", 443)
    assert [r["host"] for r in kept] == ["93.184.215.14"]


# --- (3) the classification ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("172.16.0.1", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fc00::1", "a private address"),
        ("169.254.1.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("169.254.169.254", "a cloud metadata address"),  # AWS, GCP, Azure IMDS
        ("169.254.170.2", "a cloud metadata address"),  # AWS ECS task metadata
        ("fd00:ec2::254", "a cloud metadata address"),  # AWS IMDS over IPv6
        ("168.63.129.16", "a cloud metadata address"),  # Azure's wire server: a public address
        ("192.0.0.192", "a cloud metadata address"),  # Oracle Cloud
        ("100.100.100.200", "a cloud metadata address"),  # Alibaba Cloud
        ("0.0.0.0", "the unspecified address"),
        ("::", "the unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("240.0.0.1", REFUSED),  # reserved 240/4
        ("100.64.0.1", REFUSED),  # carrier-grade NAT, shared address space
        ("fec0::1", "a site-local address"),
        ("::7f00:1", REFUSED),  # IPv4-compatible ::127.0.0.1, deprecated
        ("::ffff:127.0.0.1", "a loopback address"),  # IPv4-mapped forms: judged as IPv4
        ("::ffff:169.254.169.254", "a cloud metadata address"),
        ("::ffff:10.0.0.8", "a private address"),
        ("64:ff9b::a9fe:a9fe", "a cloud metadata address"),  # NAT64 of 169.254.169.254
        ("2002:7f00:1::", "a loopback address"),  # 6to4 of 127.0.0.1
        ("8.8.8.8", None),
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_each_address_class(address: str, why: str | None) -> None:
    problem = address_problem(ipaddress.ip_address(address))
    assert problem == why or (why is REFUSED and problem is not None), problem
    # The name check at registration reads a literal host the same way.
    host = f"[{address}]" if ":" in address else address
    refusal = url_problem(f"https://{host}/v3", NO_PRIVATE)
    assert (refusal is None) is (why is None), refusal


# --- (4) through an adapter: the neutral error, not retried, no circuit tripped ------------------


async def test_a_refused_store_fails_once_per_call_and_never_trips_its_circuit(
    tcp_server: StartServer,
) -> None:
    server = await tcp_server(answer_ok)
    base = f"http://localhost:{port_of(server)}/stores/x/v3"
    registry = AdapterRegistry(fast_settings(allow_private_platform_urls=False))
    adapter = registry.for_merchant(
        "mer_1", BIGCOMMERCE, {"api_url": base, "access_token": "tok-secret-7"}
    )
    try:
        with capture_logs() as logs:
            for _ in range(5):  # past the breaker's threshold of 3
                with pytest.raises(PlatformAddressRefused):
                    await adapter.get_cart(CART, deadline=deadline(2.0))  # a read: retryable
                with pytest.raises(PlatformAddressRefused):
                    await adapter.delete_cart(CART, deadline=deadline(2.0))
    finally:
        await registry.aclose()
    refused = [e for e in logs if e["event"] == "platform_host_refused"]
    assert refused and all(e["host"] == "localhost" for e in refused)
    assert all(e["log_level"] == "warning" for e in refused)
    assert "tok-secret-7" not in repr(logs)
    metrics = registry.metrics
    assert metrics.retries == {}
    assert metrics.calls == {(P, "platform_host_refused"): 10}  # one attempt per call
    breakers = registry.resilience(BIGCOMMERCE).breakers
    assert breakers.state(base) is CircuitState.CLOSED
    assert server.connections == 0


def test_should_retry_never_retries_a_refused_address() -> None:
    refused = PlatformAddressRefused("refused", platform=P)
    assert should_retry(refused, idempotent=True, policy=POLICY) is False


async def test_a_port_off_the_list_is_refused_at_send_before_any_lookup(
    guarded_transport: AiohttpTransport,
) -> None:
    # A merchant registered before MULTICART_PLATFORM_ALLOWED_PORTS was narrowed: a public
    # address (literal, so no resolver is asked) on port 22 is refused, nothing sent.
    with capture_logs() as logs, pytest.raises(PlatformAddressRefused):
        await get(guarded_transport, "https://93.184.215.14:22/carts/1")
    assert any("port 22" in str(e.get("problems")) for e in logs), logs
