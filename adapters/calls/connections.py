"""What every platform connection must be: a clean base URL, header-safe secrets, and a host
the operator allows multicart to call.

Why a module of its own: each platform's connection model (``adapters/<platform>/``) checks the
same things about its base URL and its secrets when a merchant is registered, and the admin
route applies one policy to the URL: ``https`` to a public host, unless the operator allows
private and plain-http ones (the sandbox, tests) or narrows hosts to an allow-list. Without it,
a merchant registration could point multicart at cloud metadata (169.254.169.254), private
ranges, loopback ports of other services or integer-encoded addresses (``http://2130706433``).
A name is only a name, though: ``address_problem`` and ``host_problem`` are also what
``adapters.calls.address_guard`` applies when the outbound connector connects, to the
addresses the name resolves to then.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic.config import JsonDict

from config import PlatformSettings

# Names that always mean "this machine" or an internal network, whatever DNS says.
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_INTERNAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "metadata", "metadata.google.internal"}
)

# Cloud metadata services. Most sit in a class refused anyway (AWS, GCP and Azure IMDS at
# 169.254.169.254, AWS ECS at 169.254.170.2: link-local; AWS IMDS over IPv6 at fd00:ec2::254:
# unique local; Alibaba at 100.100.100.200: shared address space), but Azure's wire server
# (168.63.129.16) is a public address and Oracle's (192.0.0.192) is one Python 3.11 calls global,
# so they are named. https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/instancedata-data-retrieval.html
# https://learn.microsoft.com/azure/virtual-network/what-is-ip-address-168-63-129-16
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",
        "169.254.170.2",
        "fd00:ec2::254",
        "100.100.100.200",
        "168.63.129.16",
        "192.0.0.192",
    )
)
# NAT64's well-known prefix (RFC 6052): 64:ff9b::a9fe:a9fe reaches 169.254.169.254 through a
# NAT64 gateway, so it is judged by the IPv4 address it carries.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def http_base_url(value: str, example: str) -> str:
    """A base URL: http(s) with a host, no query, fragment, user info, whitespace or control
    characters, a valid port; without its trailing slash."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL such as {example}")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError("must not carry a query or fragment")
    if "@" in parts.netloc:
        raise ValueError("must not carry user information; credentials have their own fields")
    _ = parts.port  # raises ValueError for a port that is not a number in range
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("must not contain whitespace or control characters")
    return value.rstrip("/")


def header_secret(value: SecretStr) -> SecretStr:
    """A secret sent in a header or a form: visible ASCII only (a CR/LF would split the header;
    other bytes cannot be sent)."""
    text = value.get_secret_value()
    if not text.strip():
        raise ValueError("must not be empty")
    if not all(0x21 <= ord(c) <= 0x7E for c in text):
        raise ValueError("must be visible ASCII, without spaces or control characters")
    return value


# What ``http_base_url`` and ``header_secret`` accept, as the connection models' JSON Schema
# (the OpenAPI document shows it; the admin route's policy, https to a public host, is added to
# the URL's by the document's builder from the settings, which hold that policy).
BASE_URL_SCHEMA: JsonDict = {"format": "uri"}
SECRET_SCHEMA: JsonDict = {"minLength": 1, "pattern": "^[\\x21-\\x7e]+$"}


@dataclass(frozen=True)
class UrlPolicy:
    """``allow_private``: plain http and private, loopback or link-local hosts are allowed (the
    sandbox and tests); ``allowed_hosts``: when not empty, the only hosts (``shop.example`` or
    ``.example`` for every name under it)."""

    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: PlatformSettings) -> UrlPolicy:
        return cls(allow_private=settings.allow_private_urls, allowed_hosts=settings.allowed_hosts)


def url_problem(url: str, policy: UrlPolicy) -> str | None:
    """Why ``policy`` refuses to call ``url``, or None when it may."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    problem = host_problem(host, policy)
    if problem is not None or policy.allow_private:
        return problem
    if parts.scheme != "https":
        return "must use https"
    address = _ip_literal(host)
    if address is not None:
        why = address_problem(address)
        if why is not None:
            return f"host {host} is not a public address ({why})"
    elif host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES) or "." not in host:
        return f"host {host} is not a public name"
    return None


def host_problem(host: str, policy: UrlPolicy) -> str | None:
    """Why ``policy``'s allow-list refuses ``host`` (lower case, no trailing dot), or None."""
    if policy.allowed_hosts and not any(
        host == allowed or (allowed.startswith(".") and host.endswith(allowed))
        for allowed in policy.allowed_hosts
    ):
        return f"host {host} is not in MULTICART_PLATFORM_HOST_ALLOWLIST"
    return None


def address_problem(address: IPv4Address | IPv6Address) -> str | None:
    """The class of address multicart never calls unless private URLs are allowed, or None for
    a public one. An IPv6 address carrying an IPv4 one (mapped ``::ffff:a.b.c.d``, NAT64,
    6to4) is judged by the IPv4 address: that is where the connection ends up."""
    if isinstance(address, IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return address_problem(embedded)
        if address.is_site_local:  # fec0::/10, deprecated; Python 3.11 calls it global
            return "a site-local address"
    if address in _METADATA_ADDRESSES:
        return "a cloud metadata address"
    for refused, name in (
        (address.is_unspecified, "the unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (not address.is_global, "not a public address"),  # 100.64.0.0/10, shared by carriers
    ):
        if refused:
            return name
    return None


def _ip_literal(host: str) -> IPv4Address | IPv6Address | None:
    """The address a host names literally, in any form a resolver accepts: dotted, integer
    (``2130706433``), hex (``0x7f.1``) or octal (``0177.0.0.1``), or IPv6."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # inet_aton is what resolvers use for the short and numeric IPv4 forms
        return IPv4Address(socket.inet_aton(host))
    except OSError:
        return None
