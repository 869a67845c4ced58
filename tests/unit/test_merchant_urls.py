"""Merchant URLs judged as the outbound client reads them (yarl's normalised host), the
embedded-IPv4 forms judged by the IPv4 address they lead to, and the port rule."""

from __future__ import annotations

import ipaddress

import pytest

from adapters.bigcommerce import BigCommerceConnection
from adapters.calls.addresses import address_problem, embedded_ipv4
from adapters.calls.connections import UrlPolicy, resolved_problem, url_problem


def wide(text: str) -> str:
    """``text`` in fullwidth forms (U+FF01..U+FF5E), which NFKC folds back to ASCII."""
    return "".join(chr(ord(c) + 0xFEE0) for c in text)


WIDE_127 = wide("127")  # typed as escapes: ruff (RUF001) flags the characters themselves
WIDE_LOCALHOST = wide("localhost")
CIRCLED_127 = "\u2460\u2461\u2466"  # circled digits one, two, seven


STRICT = UrlPolicy()


def stored(url: str) -> str:
    """The URL as the connection model stores it (normalised)."""
    return BigCommerceConnection(api_url=url, access_token="t").api_url


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("https://" + WIDE_127 + ".0.0.1:18294", "https://127.0.0.1:18294"),  # fullwidth digits
        ("https://" + CIRCLED_127 + ".0.0.1", "https://127.0.0.1"),  # circled digits
        ("https://" + WIDE_LOCALHOST + "/v3", "https://localhost/v3"),
        ("https://bücher.example/v3/", "https://xn--bcher-kva.example/v3"),  # IDNA
        ("https://EXAMPLE.com:443/stores/x/v3", "https://example.com/stores/x/v3"),
    ],
)
def test_the_stored_url_is_the_one_the_client_connects_to(typed: str, normalised: str) -> None:
    assert stored(typed) == normalised


@pytest.mark.parametrize(
    "url",
    [
        "https://" + WIDE_127 + ".0.0.1",
        "https://" + CIRCLED_127 + ".0.0.1",
        "https://[2002:7f00:1::]",  # 6to4 of 127.0.0.1
        "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]",  # Teredo
        "https://[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
        "https://[64:ff9b:1::1]",  # local-use NAT64
        "https://[::ffff:127.0.0.1]",  # IPv4-mapped
        "https://[::7f00:1]",  # IPv4-compatible
        "https://localhost",
        "https://localhost.",
        "https://" + WIDE_LOCALHOST,
        "https://shop.localhost",
        "https://shop.localhost.",
        "https://example.com:22",
        "https://example.com:8443",
        "https://0x7f.1",
        "https://2130706433",
    ],
)
def test_each_hostile_url_is_refused_after_normalisation(url: str) -> None:
    assert url_problem(stored(url), STRICT) is not None


def test_a_public_url_on_443_passes_and_a_listed_port_is_allowed() -> None:
    assert url_problem(stored("https://api.bigcommerce.com/stores/x/v3"), STRICT) is None
    assert url_problem("https://example.com:8443", STRICT) is not None
    assert url_problem("https://example.com:8443", UrlPolicy(allowed_ports=(8443,))) is None


def test_private_urls_allowed_lifts_the_address_and_the_port_rules() -> None:
    assert url_problem("http://127.0.0.1:18294/x", UrlPolicy(allow_private=True)) is None


def test_a_host_no_resolver_reads_as_typed_is_refused_by_the_model() -> None:
    with pytest.raises(ValueError, match="host"):
        stored("https://127.0.0.1%2f/")


@pytest.mark.parametrize(
    "url",
    [
        "https://[v1.x]/",  # RFC 3986 IPvFuture: urlsplit takes it, yarl reads host v1.x
        "https://[v1.x.myshopify.com]/",
        "https://[fe80::1%25eth0]/",  # a zone id
        "https://[shop.example]/v3",  # urlsplit refuses these two itself
        "https://[127.0.0.1]/",
    ],
)
def test_a_bracketed_host_must_be_an_ipv6_literal(url: str) -> None:
    with pytest.raises(ValueError, match="address"):
        stored(url)
    allowing = UrlPolicy(allow_private=True, allowed_hosts=(".myshopify.com", "shop.example"))
    assert url_problem(url, allowing) is not None


def test_a_bracketed_ipv6_literal_is_still_read() -> None:
    assert stored("https://[2606:4700:4700::1111]/v3") == "https://[2606:4700:4700::1111]/v3"
    assert url_problem("https://[2606:4700:4700::1111]/v3", STRICT) is None


@pytest.mark.parametrize(
    ("address", "ipv4"),
    [
        ("2002:7f00:1::", "127.0.0.1"),
        ("64:ff9b::a9fe:a9fe", "169.254.169.254"),
        ("::ffff:10.0.0.8", "10.0.0.8"),
        ("::7f00:1", "127.0.0.1"),
        ("::1", None),  # loopback, not IPv4-compatible
        ("2606:4700:4700::1111", None),
    ],
)
def test_embedded_ipv4(address: str, ipv4: str | None) -> None:
    embedded = embedded_ipv4(ipaddress.IPv6Address(address))
    assert (str(embedded) if embedded else None) == ipv4


def test_a_6to4_of_a_public_address_is_public() -> None:
    assert address_problem(ipaddress.ip_address("2002:808:808::")) is None  # 8.8.8.8


async def test_a_name_resolving_to_loopback_is_refused_at_registration() -> None:
    # localhost is in every /etc/hosts; resolved_problem asks the system resolver.
    problem = await resolved_problem("https://localhost", STRICT)
    assert problem is not None and "loopback" in problem
    assert await resolved_problem("https://localhost", UrlPolicy(allow_private=True)) is None


async def test_a_name_that_does_not_resolve_is_accepted() -> None:
    # .invalid never resolves (RFC 6761); the connect-time guard will judge it.
    assert await resolved_problem("https://shop.invalid", STRICT) is None
