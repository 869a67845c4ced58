"""Hostile clients at the door of a real ``multicart serve``: credentials, throttling, bodies.

A hostile tester's findings, each kept as a test over raw loopback sockets: 1,000 wrong admin tokens
were tried at 1,421/s and then the right one worked; ``Authorization: Bearer \\xff\\xfe`` was a
500 with a traceback; two ``Authorization`` headers were read as the first; a 5,000-digit
integer's error named ``sys.set_int_max_str_digits()``; a gzip body was inflated before any key
was checked. Its own server (the failed authentications it makes would throttle the shared
stack's address), SQLite only: none of this reaches the database.
"""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import serve_sqlite
from tests.support.launch import Process

FAILURES_ALLOWED = 20  # MULTICART_AUTH_FAILURE_LIMIT's default: 20/minute


def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    yield from serve_sqlite(tmp_path_factory.mktemp("hostile-auth"))


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """The module's server: its tests fail no authentication past the throttle's limit."""
    yield from served(tmp_path_factory)


@pytest.fixture
def throttled_serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    """A server of its own, whose address the test throttles."""
    yield from served(tmp_path_factory)


def raw(process: Process, request: bytes) -> tuple[int, bytes]:
    """(status, body) of ``request`` sent on a connection of its own (closed after it)."""
    host, port = process.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def get(path: str, *headers: bytes) -> bytes:
    lines = [b"GET " + path.encode() + b" HTTP/1.1", b"Host: x", b"Connection: close", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n"


def test_non_ascii_credentials_are_401_and_logged_without_a_traceback(serve: Process) -> None:
    for path in ("/v1/carts", "/v1/admin/outbox"):
        status, body = raw(serve, get(path, b"Authorization: Bearer \xff\xfe"))
        assert status == 401, body
        assert json.loads(body)["error"] == "unauthorized"
    log = serve.log_path.read_text(errors="replace")
    assert "UnicodeEncodeError" not in log and "Traceback" not in log


def test_two_authorization_headers_are_400(serve: Process) -> None:
    token = serve.env["MULTICART_ADMIN_TOKEN"].encode()
    status, body = raw(
        serve,
        get(
            "/v1/admin/outbox",
            b"Authorization: Bearer " + token,
            b"Authorization: Bearer " + token,
        ),
    )
    assert status == 400
    assert json.loads(body)["data"]["fields"][0]["field"] == "Authorization"


def test_a_huge_integer_and_a_gzip_body_are_4xx_without_internals(serve: Process) -> None:
    with httpx.Client(base_url=serve.url, timeout=10) as client:
        admin = {"Authorization": f"Bearer {serve.env['MULTICART_ADMIN_TOKEN']}"}
        key = client.post("/v1/admin/apps", json={"name": "h"}, headers=admin).json()["api_key"]
        auth = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        huge = b'{"skus": [{"sku_id": "x", "quantity": ' + b"9" * 5000 + b"}]}"
        answer = client.post("/v1/carts", content=huge, headers=auth)
        assert answer.status_code == 400
        assert "set_int_max_str_digits" not in answer.text
        bomb = gzip.compress(b"[" * 2_000_000)
        answer = client.post(
            "/v1/carts", content=bomb, headers={**auth, "Content-Encoding": "gzip"}
        )
        assert answer.status_code == 415 and answer.json()["error"] == "unsupported_media_type"


def test_wrong_admin_tokens_are_throttled_and_then_the_right_one_waits_too(
    throttled_serve: Process,
) -> None:
    serve = throttled_serve
    right = {"Authorization": f"Bearer {serve.env['MULTICART_ADMIN_TOKEN']}"}
    with httpx.Client(base_url=serve.url, timeout=10) as client:
        assert client.get("/v1/admin/outbox", headers=right).status_code == 200
        statuses = [
            client.get("/v1/admin/outbox", headers={"Authorization": f"Bearer guess-{n}"})
            for n in range(200)  # bounded: the issue tried 1,000
        ]
        codes = [s.status_code for s in statuses]
        assert set(codes[:FAILURES_ALLOWED]) <= {401}
        assert codes[FAILURES_ALLOWED:] == [429] * (len(codes) - FAILURES_ALLOWED)
        throttled = statuses[-1]
        assert throttled.json()["data"] == {"reason": "failed_auth"}
        assert 1 <= int(throttled.headers["Retry-After"]) <= 60
        waits = client.get("/v1/admin/outbox", headers=right)
        assert waits.status_code == 429  # guessing right gains nothing while throttled
