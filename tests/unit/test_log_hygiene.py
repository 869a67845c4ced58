"""What a hostile client can put in a log line: no credential, no control byte, one line.

Found by a hostile tester: aiohttp logged header-parse errors as multi-line tracebacks holding
the header's bytes (an admin token among them), and an ESC in a path reached a console-format
terminal raw. These drive the real pipeline (``configure_logging``) and read back what it wrote."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from config.logging import configure_logging, escape_controls, redact_credentials, scrub_secrets

HOSTILE = "/v1/\x1b[31mred\x00\x07\x7f\x9b"


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_control_characters_are_escaped_in_both_formats(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(fmt)
    structlog.get_logger("t").info("request", path=HOSTILE, nested={"k": ["\x1b"]})
    logging.getLogger("asyncio").error("stdlib \x1b[2J %s", "\x1b]0;title\x07")
    lines = _lines(capsys)
    assert len(lines) == 2
    text = "\n".join(lines)
    raw = [c for c in "\x00\x07\x7f\x9b" if c in text]
    assert not raw
    if fmt == "json":
        assert "\x1b" not in text  # console's own colours are ESC sequences, ours are not
        event = json.loads(lines[0])
        assert event["path"] == "/v1/\\x1b[31mred\\x00\\x07\\x7f\\x9b"
        assert event["nested"] == {"k": ["\\x1b"]}
    else:
        assert "\\x1b[31mred" in lines[0] and "\\x1b]0;title\\x07" in lines[1]
        assert "\x1b[31mred" not in text and "\x1b[2J" not in text and "\x1b]0" not in text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer admin-secret-token\x01", "admin-secret-token"),
        ("got 'Bearer tok.en_1-2~3+/=' in header", "tok.en_1-2~3+/="),
        ("authorization=Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("X-Auth-Token: s3cr3t-value more", "s3cr3t-value"),
        ("key mc_live_AbCdEf012345_-x\x0bafter", "AbCdEf012345"),
    ],
)
def test_credential_shaped_text_is_redacted(text: str, secret: str) -> None:
    event = redact_credentials(None, "info", {"event": "e", "detail": text, "list": [text]})
    assert secret not in json.dumps(event)
    assert "[redacted]" in event["detail"] and "[redacted]" in event["list"][0]


def test_escape_keeps_only_a_tracebacks_newlines() -> None:
    event = escape_controls(None, "info", {"event": "a\nb", "exception": "Trace\n\x1b x"})
    assert event == {"event": "a\\x0ab", "exception": "Trace\n\\x1b x"}


def test_aiohttp_records_keep_their_template_and_exception_class_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json")
    try:
        raise ValueError("Invalid header value char: b'Bearer admin-token-123\\x01'")
    except ValueError:
        logging.getLogger("aiohttp.server").exception(
            "Error handling request from %s", "Authorization: Bearer admin-token-123"
        )
    (line,) = _lines(capsys)
    event = json.loads(line)
    assert event["event"] == "Error handling request from %s"
    assert event["error"] == "ValueError"
    assert event["logger"] == "aiohttp.server"
    assert "admin-token-123" not in line and "Traceback" not in line


def test_our_own_exception_is_one_json_line_with_its_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("json")
    try:
        raise RuntimeError("line one\nline two, Bearer leaked-token")
    except RuntimeError:
        structlog.get_logger("multicart").exception("unhandled_error", path="/v1/x")
    (line,) = _lines(capsys)
    event = json.loads(line)
    assert event["event"] == "unhandled_error"
    assert "Traceback (most recent call last)" in event["exception"]
    assert "RuntimeError: line one\nline two" in event["exception"]
    assert "leaked-token" not in line


# A percent-decoded path put U+202E (right-to-left override) in ``path``; a console
# showed ``/v1/carts/abcexe.txt``. Every Cf, Zl and Zp character is escaped as \uXXXX.
FORMAT_CHARACTERS = "\u200b\u200e\u200f\u202a\u202e\u2066\u2069\ufeff\u2028\u2029\U000e0001"


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_unicode_format_characters_are_escaped_in_both_formats(
    fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(fmt)
    path = "/v1/carts/abc\u202etxt.exe"
    structlog.get_logger("t").info("request", path=path, nested={"k": [FORMAT_CHARACTERS]})
    logging.getLogger("asyncio").error("stdlib %s", "\u2067x\u2069")
    lines = _lines(capsys)
    assert len(lines) == 2
    text = "\n".join(lines)
    assert not [c for c in FORMAT_CHARACTERS + "\u2067" if c in text]
    if fmt == "json":
        assert json.loads(lines[1])["event"] == "stdlib \\u2067x\\u2069"
        event = json.loads(lines[0])
        assert event["path"] == "/v1/carts/abc\\u202etxt.exe"
        escaped = event["nested"]["k"][0]
        assert escaped.startswith("\\u200b\\u200e") and escaped.endswith("\\U000e0001")
    else:
        assert "abc\\u202etxt.exe" in lines[0] and "\\u2067x\\u2069" in lines[1]


def test_a_traceback_keeps_its_newlines_but_not_its_format_characters() -> None:
    event = escape_controls(None, "error", {"exception": "line\u202e\nnext\u2028"})
    assert event["exception"] == "line\\u202e\nnext\\u2028"


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_a_secret_in_a_url_path_is_redacted(fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(fmt)
    admin = "Kq3vX9_pL2-mN8rT5wY1zA4bC7dE0fG6hJ"  # token_urlsafe(26)-shaped
    fernet = "ZmRzYWZkc2FmZHNhZmRzYWZkc2FmZHNhZmRzYWZkc2E="
    hex32 = "0123456789abcdef0123456789abcdef"
    log = structlog.get_logger("t")
    log.info("request", path=f"/v1/carts/{admin}", status=404)
    log.info("call", url=f"https://shop.example/api/{hex32}/x", query=f"key={fernet}")
    log.info("nested", detail={"path": f"/v1/{fernet}/y"})
    text = "\n".join(_lines(capsys))
    for secret in (admin, fernet, hex32, admin[:16], hex32[:16]):
        assert secret not in text
    assert "/v1/carts/[redacted]" in text and "/api/[redacted]/x" in text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/admin/merchants/mer_0123456789abcdef0123/skus",  # our ids: prefix_ + 20 hex
        "/v1/carts/crt_0123456789abcdef0123/items/itm_0123456789abcdef0123",
        "/v1/outbox/123e4567-e89b-12d3-a456-426614174000",  # a UUID: runs of 12 at most
    ],
)
def test_our_own_ids_in_a_path_stay_readable(path: str) -> None:
    assert scrub_secrets(None, "info", {"path": path})["path"] == path
