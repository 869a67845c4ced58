"""The adapter boundary: whatever goes wrong in a call, only a ``PlatformError`` comes out.

``PlatformCaller.call`` maps any other exception once, by how far the attempt got: before
sending, nothing was sent (not retried); inside the transport, or reading a 2xx answer, the
platform may have applied it; a non-2xx answer keeps what its status says. The original is
logged once as ``platform_adapter_bug``, without the credentials; cancellation passes through.
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping, Sequence
from typing import Any

import httpx
import pytest
import respx
from structlog.testing import capture_logs

from adapters.calls.caller import Classifier, PlatformCaller, StaticAuth, rest_classifier
from adapters.calls.http import Answer
from adapters.calls.statuses import error_for_status
from errors import (
    MESSAGE_MAX,
    Cause,
    PlatformAuthFailed,
    PlatformError,
    PlatformRejected,
    PlatformServerError,
    clip,
)
from tests.adapters.call_helpers import STORE_BASE as BASE
from tests.adapters.call_helpers import respx_caller
from tests.adapters.conftest import deadline

P = "BIGCOMMERCE"
SECRET = "tok-s3cr3t-0123456789"


def by_status(op: str, response: Answer, sku_ids: Sequence[str]) -> PlatformError:
    return error_for_status(response.status, f"HTTP {response.status}", platform=P)


def caller(
    client: httpx.AsyncClient,
    *,
    classify: Classifier | None = None,
    headers: dict[str, str] | None = None,
) -> PlatformCaller:
    return respx_caller(
        client,
        P,
        classify=classify or rest_classifier(by_status),
        auth=StaticAuth(headers or {"X-Auth-Token": SECRET}),
    )


def broken_parse(response: Answer) -> Any:
    return {"total": 1}["missing"]  # type: ignore[index]  # a KeyError: a parser's bug


def bugs(logs: Sequence[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [e for e in logs if e["event"] == "platform_adapter_bug"]


# --- by stage -------------------------------------------------------------------------------------


async def test_a_parser_bug_on_a_2xx_is_a_server_error_that_may_have_applied_logged_once() -> None:
    with respx.mock(using="httpx", assert_all_called=False) as mock, capture_logs() as logs:
        route = mock.post(f"{BASE}/carts").mock(return_value=httpx.Response(201, json={}))
        async with httpx.AsyncClient() as client:
            with pytest.raises(PlatformServerError) as caught:
                await caller(client).call(
                    "create_cart", "POST", f"{BASE}/carts", deadline=deadline(),
                    idempotent=False, json={"a": 1}, sku_ids=["sku_1"], parse=broken_parse,
                )  # fmt: skip
    error = caught.value
    assert error.may_have_applied and error.platform_status == 201
    assert error.data == {"sku_ids": ["sku_1"]}
    assert "KeyError" in error.message and "'missing'" not in error.message
    assert route.call_count == 1  # a create whose answer was unreadable is never repeated
    (bug,) = bugs(logs)
    assert "KeyError: 'missing'" in bug["exception"] and bug["stage"] == "answer"
    assert "broken_parse" in bug["exception"]  # the traceback, as text
    assert SECRET not in repr(logs)
    assert error.__suppress_context__  # the traceback is in the log once, not in the chain


async def test_a_bug_before_sending_is_not_sent_not_retried_and_nothing_reaches_the_platform() -> (
    None
):
    with respx.mock(using="httpx", assert_all_called=False) as mock, capture_logs() as logs:
        route = mock.get(f"{BASE}/carts/1").mock(return_value=httpx.Response(200, json={}))
        async with httpx.AsyncClient() as client:
            with pytest.raises(PlatformServerError) as caught:
                await caller(client).call(
                    "get_cart", "GET", f"{BASE}/carts/1", deadline=deadline(), idempotent=True,
                    json={"not": object()}, parse=lambda r: r,  # orjson: TypeError
                )  # fmt: skip
    # Our bug, not the platform's refusal: a platform error (502, not 422), never sent.
    assert not caught.value.may_have_applied and caught.value.cause is Cause.PLATFORM_ERROR
    assert route.call_count == 0
    assert [b["stage"] for b in bugs(logs)] == ["prepare"]


async def test_a_failure_inside_the_transport_may_have_applied() -> None:
    with respx.mock(using="httpx", assert_all_called=False) as mock:
        route = mock.post(f"{BASE}/carts").mock(side_effect=RuntimeError("transport bug"))
        async with httpx.AsyncClient() as client:
            with pytest.raises(PlatformServerError) as caught:
                await caller(client).call(
                    "create_cart", "POST", f"{BASE}/carts", deadline=deadline(),
                    idempotent=False, json={}, parse=lambda r: r,
                )  # fmt: skip
    assert caught.value.may_have_applied and route.call_count == 1


@pytest.mark.parametrize(
    ("status", "kind", "applied"),
    [(422, PlatformRejected, False), (502, PlatformServerError, True)],
)
async def test_a_classifier_bug_on_a_non_2xx_keeps_what_the_status_says(
    status: int, kind: type[PlatformError], applied: bool
) -> None:
    def crashing(op: str, response: Answer, sku_ids: Sequence[str]) -> None:
        raise AttributeError("classifier bug")

    with respx.mock(using="httpx", assert_all_called=False) as mock:
        mock.post(f"{BASE}/carts").mock(return_value=httpx.Response(status, text="<html>"))
        async with httpx.AsyncClient() as client:
            with pytest.raises(PlatformError) as caught:
                await caller(client, classify=crashing).call(
                    "create_cart", "POST", f"{BASE}/carts", deadline=deadline(),
                    idempotent=False, json={}, parse=lambda r: r,
                )  # fmt: skip
    assert type(caught.value) is kind
    assert caught.value.may_have_applied is applied and caught.value.platform_status == status


async def test_cancellation_is_never_mapped() -> None:
    def cancelled(response: Answer) -> None:
        raise asyncio.CancelledError

    with respx.mock(using="httpx", assert_all_called=False) as mock:
        mock.get(f"{BASE}/carts/1").mock(return_value=httpx.Response(200, json={}))
        async with httpx.AsyncClient() as client:
            with pytest.raises(asyncio.CancelledError):
                await caller(client).call(
                    "get_cart", "GET", f"{BASE}/carts/1", deadline=deadline(), idempotent=True,
                    parse=cancelled,
                )  # fmt: skip


# --- credentials no header can carry --------------------------------------------------------------


@pytest.mark.parametrize("token", ["tok\r\nX-Injected: 1", "tök-s3cr3t", "tok\x00"])
async def test_a_token_no_header_can_carry_is_auth_failed_nothing_sent_and_never_logged(
    token: str,
) -> None:
    auth = StaticAuth({"X-Auth-Token": token})  # never raises while an adapter is built
    with respx.mock(using="httpx", assert_all_called=False) as mock, capture_logs() as logs:
        route = mock.get(f"{BASE}/carts/1").mock(return_value=httpx.Response(200, json={}))
        async with httpx.AsyncClient() as client:
            call = caller(client)
            call._auth = auth
            with pytest.raises(PlatformAuthFailed) as caught:
                await call.call(
                    "get_cart", "GET", f"{BASE}/carts/1", deadline=deadline(), idempotent=True,
                    parse=lambda r: r,
                )  # fmt: skip
    assert not caught.value.may_have_applied and route.call_count == 0
    assert token not in repr(logs) and token not in caught.value.message
    assert not bugs(logs)  # bad stored credentials are the operator's to fix, not a bug


async def test_a_header_value_with_a_line_break_is_not_sent() -> None:
    with respx.mock(using="httpx", assert_all_called=False) as mock, capture_logs() as logs:
        route = mock.post(f"{BASE}/carts").mock(return_value=httpx.Response(201, json={}))
        async with httpx.AsyncClient() as client:
            with pytest.raises(PlatformServerError) as caught:
                await caller(client).call(
                    "create_cart", "POST", f"{BASE}/carts", deadline=deadline(),
                    idempotent=False, json={}, extra_headers={"X-Currency": "USD\r\nX-A: b"},
                    parse=lambda r: r,
                )  # fmt: skip
    assert not caught.value.may_have_applied and route.call_count == 0
    assert SECRET not in repr(logs)  # the traceback is text: no frame's locals


# --- platform texts -------------------------------------------------------------------------------


def test_every_platform_error_message_is_clipped_once_in_the_error_itself() -> None:
    error = PlatformRejected("Shopify refused: " + "x" * 100_000, platform="SHOPIFY")
    assert len(error.message) == MESSAGE_MAX and error.message.endswith("\u2026")
    assert str(error) == error.message
    assert clip("short") == "short"
