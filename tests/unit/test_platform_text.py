"""Platform error texts made fit to show an app (``adapters.calls.platform_text``)."""

from __future__ import annotations

import pytest

from adapters.calls.platform_text import PLATFORM_MESSAGE_MAX, REDACTED, platform_text

ESC, RLO, ZWSP, BOM = "\x1b", "\u202e", "\u200b", "\ufeff"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("Out of stock", "Out of stock"),
        (f"{ESC}[31mred{ESC}[0m text", "red text"),  # ANSI sequences dropped whole
        (f"{ESC}]0;owned{chr(7)}title", "title"),  # an OSC (window title) sequence
        (f"abc{RLO}def", "abcdef"),  # a bidi override
        (f"a{ZWSP}b{BOM}c", "abc"),
        ("a\x00b\x7fc\x85d", "abc d"),  # NUL, DEL dropped; NEL is whitespace
        ("  many \n\t lines\r\n here  ", "many lines here"),
        ("a\u2028b\u2029c", "a b c"),  # line and paragraph separators: whitespace
        ("\ufffd[31mred", "red"),  # an ESC errors.clip already replaced
    ],
)
def test_only_printable_text_on_one_line(text: str, shown: str) -> None:
    assert platform_text(text) == shown


@pytest.mark.parametrize(
    "text",
    [
        "denied: Authorization: Bearer abcdefgh12345678",
        "X-Auth-Token: tok-0123456789",
        "bad access_token=abc123secret",
        "client_secret: s3cr3t-value",
        "token shpat_0123456789abcdef0123 refused",
        "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkw.sig",
        "key 0123456789abcdef0123456789abcdef01 leaked",
    ],
)
def test_nothing_that_looks_like_a_credential(text: str) -> None:
    shown = platform_text(text)
    assert REDACTED in shown
    for secret in ("abcdefgh12345678", "tok-0123", "abc123secret", "s3cr3t", "shpat_", "eyJ"):
        assert secret not in shown


def test_ids_and_words_stay_readable() -> None:
    text = "Cart bc218c65-7a32-4ab7-8082-68730c074d02 has no gid://shopify/ProductVariant/42"
    assert platform_text(text) == text


def test_a_setting_name_is_not_a_credential() -> None:
    # Our own refusal's text named MULTICART_PLATFORM_HOST_ALLOWLIST (33 characters
    # of a token's alphabet), and the app read "[redacted]" where the setting was.
    text = "or is off MULTICART_PLATFORM_HOST_ALLOWLIST, or its port is not allowed"
    assert platform_text(text) == text
    for secret in (
        "MULTICART_PLATFORM_HOST_ALLOWLISTx0123456789abcdef",  # a setting's name, then more
        "multicart_platform_host_allowlist_abcdef",  # not a setting's name: lower case
    ):
        assert platform_text(f"key {secret} leaked") == "key [redacted] leaked"


def test_bounded_with_an_ellipsis() -> None:
    shown = platform_text("word " * 1000)
    assert len(shown) <= PLATFORM_MESSAGE_MAX and shown.endswith("\u2026")
    assert len(platform_text("x" * 10, limit=5)) == 5


def test_a_huge_text_is_read_only_as_far_as_it_can_be_shown() -> None:
    shown = platform_text("Out of stock " + "word " * 400_000)  # 2 MB, as an answer may hold
    assert shown.startswith("Out of stock word") and len(shown) <= PLATFORM_MESSAGE_MAX
