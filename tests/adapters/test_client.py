"""The shared platform client keeps no cookies: one client serves many merchants' stores."""

from __future__ import annotations

import time

import httpx
import respx

from adapters.bigcommerce import BigCommerceAdapter
from adapters.registry import AdapterRegistry
from bags.status import Platform
from tests.adapters.conftest import STORE, TOKEN


async def test_a_cookie_set_by_one_store_never_reaches_another(
    registry: AdapterRegistry, mock: respx.MockRouter
) -> None:
    first = registry.for_merchant(
        "mer_a", Platform.BIGCOMMERCE, {"api_url": STORE, "access_token": TOKEN}
    )
    other_store = STORE.replace("/stores/", "/stores/other")
    second = registry.for_merchant(
        "mer_b", Platform.BIGCOMMERCE, {"api_url": other_store, "access_token": TOKEN}
    )
    assert isinstance(first, BigCommerceAdapter) and isinstance(second, BigCommerceAdapter)
    route_a = mock.delete(url__startswith=STORE).mock(
        return_value=httpx.Response(204, headers={"Set-Cookie": "session=abc; Path=/"})
    )
    route_b = mock.delete(url__startswith=other_store).mock(return_value=httpx.Response(204))
    deadline = time.monotonic() + 5
    await first.delete_cart("c1", deadline=deadline)
    await second.delete_cart("c2", deadline=deadline)
    await first.delete_cart("c3", deadline=deadline)
    assert route_a.call_count == 2 and route_b.call_count == 1
    sent = [call.request for call in (*route_a.calls, *route_b.calls)]
    assert all("cookie" not in request.headers for request in sent)
    assert len(registry.client(Platform.BIGCOMMERCE).cookies.jar) == 0
