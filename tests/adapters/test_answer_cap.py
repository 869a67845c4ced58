"""Platform answers are read with a size cap, on the production aiohttp transport.

An oversize Content-Length is refused before a byte of body is read; a body without one (or a
compressed one) is counted as it is decoded and the read stops at the cap. Either way the
answer is a ``PlatformServerError`` that may have applied, never a hang or a gigabyte in memory.
"""

from __future__ import annotations

import asyncio
import gzip
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace

import httpx
import pytest
import respx

from adapters.base import LineRequest
from adapters.bigcommerce import BIGCOMMERCE, BigCommerceAdapter
from adapters.calls.aiohttp_transport import AiohttpTransport
from adapters.calls.http import Answer, send_once
from adapters.calls.policy import RetryPolicy
from config import Settings
from errors import PlatformServerError
from tests.adapters.conftest import (
    STORE,
    Behaviour,
    TcpServer,
    deadline,
    fast_settings,
    mocked_registry,
)

CAP = 4096
POLICY = RetryPolicy(attempt_timeout_s=2.0, max_answer_bytes=CAP)
StartServer = Callable[[Behaviour], Awaitable[TcpServer]]


async def read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            await reader.readexactly(int(line.split(b":", 1)[1]))


def answering(head: bytes, body: bytes = b"", *, then_hang: bool = False) -> Behaviour:
    async def behave(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: TcpServer
    ) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + head + b"\r\n")
        writer.write(body)
        await writer.drain()
        if then_hang:
            await asyncio.sleep(3600)

    return behave


async def endless_chunks(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server: TcpServer
) -> None:
    """A chunked answer that never ends: only a cap stops the reader."""
    await read_request(reader)
    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"x" * 1024
    while True:
        writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        await writer.drain()


@pytest.fixture
async def client() -> AsyncIterator[AiohttpTransport]:
    built = AiohttpTransport(fast_settings().for_platform("BIGCOMMERCE"))
    yield built
    await built.aclose()


async def get(client: AiohttpTransport, url: str) -> Answer:
    return await send_once(
        client, "GET", url + "/carts/1", platform="BIGCOMMERCE", op="get_cart",
        deadline=deadline(), policy=POLICY,
    )  # fmt: skip


async def test_an_oversize_content_length_is_refused_before_the_body_is_read(
    client: AiohttpTransport, tcp_server: StartServer
) -> None:
    # The server announces 10 MB and sends none of it: reading would wait for the timeout.
    server = await tcp_server(answering(b"Content-Length: 10000000\r\n", then_hang=True))
    started = time.monotonic()
    with pytest.raises(PlatformServerError) as caught:
        await send_once(
            client, "GET", server.url + "/carts/1", platform="BIGCOMMERCE", op="get_cart",
            deadline=deadline(60), policy=replace(POLICY, attempt_timeout_s=60.0),
        )  # fmt: skip
    assert time.monotonic() - started < 10.0  # refused at once, not the 60 s attempt timeout
    assert caught.value.may_have_applied and caught.value.platform_status == 200
    assert f"{CAP}-byte" in caught.value.message


async def test_a_body_without_a_length_is_cut_at_the_cap(
    client: AiohttpTransport, tcp_server: StartServer
) -> None:
    server = await tcp_server(endless_chunks)
    with pytest.raises(PlatformServerError):
        await get(client, server.url)


async def test_a_compressed_body_is_capped_as_it_inflates(
    client: AiohttpTransport, tcp_server: StartServer
) -> None:
    bomb = gzip.compress(b" " * (CAP * 100))  # about 1 KiB on the wire, 400 KiB inflated
    head = b"Content-Encoding: gzip\r\nContent-Length: %d\r\n" % len(bomb)
    server = await tcp_server(answering(head, bomb))
    assert len(bomb) < CAP
    with pytest.raises(PlatformServerError):
        await get(client, server.url)


def chunked(body: bytes) -> bytes:
    return (b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"


@pytest.mark.parametrize("size", [0, 100, CAP])
async def test_answers_within_the_cap_are_read_whole_with_or_without_a_length(
    client: AiohttpTransport, tcp_server: StartServer, size: int
) -> None:
    body = b"y" * size
    packed = gzip.compress(body)
    for head, sent in [
        (b"Content-Length: %d\r\n" % size, body),  # the fast path
        (b"Transfer-Encoding: chunked\r\n", chunked(body)),
        (b"Content-Encoding: gzip\r\nContent-Length: %d\r\n" % len(packed), packed),
    ]:
        server = await tcp_server(answering(head, sent))
        response = await get(client, server.url)
        assert response.body == body


async def test_one_byte_over_the_cap_is_refused(
    client: AiohttpTransport, tcp_server: StartServer
) -> None:
    body = b"y" * (CAP + 1)
    server = await tcp_server(answering(b"Content-Length: %d\r\n" % len(body), body))
    with pytest.raises(PlatformServerError):
        await get(client, server.url)


async def test_an_oversize_answer_to_a_create_is_not_repeated() -> None:
    registry = mocked_registry(fast_settings(platform_max_answer_bytes=CAP))
    bc = registry.for_merchant("mer_1", BIGCOMMERCE, {"api_url": STORE, "access_token": "t"})
    assert isinstance(bc, BigCommerceAdapter)
    line = LineRequest(platform_ref={"product_id": 1}, quantity=1, sku_id="s")
    with respx.mock(using="httpx") as mock:
        route = mock.post(url__startswith=STORE).mock(
            return_value=httpx.Response(201, content=b"{" + b" " * CAP + b"}")
        )
        with pytest.raises(PlatformServerError) as caught:
            await bc.create_cart([line], currency="USD", deadline=deadline())
    assert caught.value.may_have_applied and route.call_count == 1
    await registry.aclose()


def test_the_cap_is_a_setting_with_per_platform_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().for_platform("SHOPIFY").max_answer_bytes == 2 * 1024 * 1024
    monkeypatch.setenv("MULTICART_PLATFORM_MAX_ANSWER_BYTES", "65536")
    monkeypatch.setenv("MULTICART_SHOPIFY__MAX_ANSWER_BYTES", "8192")
    settings = Settings()
    assert settings.for_platform("BIGCOMMERCE").max_answer_bytes == 65536
    assert settings.for_platform("SHOPIFY").max_answer_bytes == 8192
    assert RetryPolicy.for_platform(settings.for_platform("SHOPIFY")).max_answer_bytes == 8192
