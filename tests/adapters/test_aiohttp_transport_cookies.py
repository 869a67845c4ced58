"""The production transport keeps no cookies: one session serves many merchants' stores.

Over a real loopback server, as in production: store A (``/stores/a``) sets a cookie for the
whole host; neither store B (``/stores/b``, the same host) nor store A itself ever gets it back.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.bigcommerce import BIGCOMMERCE, BigCommerceAdapter
from adapters.calls.aiohttp_transport import AiohttpTransport
from adapters.registry import AdapterRegistry
from tests.adapters.conftest import TOKEN


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[tuple[str, str | None]]]]:
    seen: list[tuple[str, str | None]] = []

    async def delete(request: web.Request) -> web.Response:
        seen.append((request.path, request.headers.get("Cookie")))
        answer = web.Response(status=204)
        if request.path.startswith("/stores/a/"):
            answer.set_cookie("session", "abc", path="/")
        return answer

    app = web.Application()
    app.router.add_delete("/stores/{store}/v3/carts/{cart}", delete)
    async with TestServer(app, host="127.0.0.1") as test_server:
        yield str(test_server.make_url("")).rstrip("/"), seen


async def test_a_cookie_set_by_one_store_never_reaches_another(
    live_registry: AdapterRegistry, server: tuple[str, list[tuple[str, str | None]]]
) -> None:
    base, seen = server
    first = live_registry.for_merchant(
        "mer_a", BIGCOMMERCE, {"api_url": f"{base}/stores/a/v3", "access_token": TOKEN}
    )
    second = live_registry.for_merchant(
        "mer_b", BIGCOMMERCE, {"api_url": f"{base}/stores/b/v3", "access_token": TOKEN}
    )
    assert isinstance(first, BigCommerceAdapter) and isinstance(second, BigCommerceAdapter)
    deadline = time.monotonic() + 5
    await first.delete_cart("00000000-0000-4000-8000-0000000000c1", deadline=deadline)
    await second.delete_cart("00000000-0000-4000-8000-0000000000c2", deadline=deadline)
    await first.delete_cart("00000000-0000-4000-8000-0000000000c3", deadline=deadline)
    assert seen == [
        ("/stores/a/v3/carts/00000000-0000-4000-8000-0000000000c1", None),
        ("/stores/b/v3/carts/00000000-0000-4000-8000-0000000000c2", None),
        ("/stores/a/v3/carts/00000000-0000-4000-8000-0000000000c3", None),
    ]
    transport = live_registry.transport(BIGCOMMERCE)
    assert isinstance(transport, AiohttpTransport)
    session = transport._session
    assert session is not None and len(session.cookie_jar) == 0
