"""What every platform connection must be: a clean base URL, header-safe secrets, and a host
the operator allows multicart to call.

Why a module of its own: each platform's connection model (``adapters/<platform>/``) checks the
same things about its base URL and its secrets when a merchant is registered, and the admin
route applies one policy to the URL: ``https`` to a public host, unless the operator allows
private and plain-http ones (the sandbox, tests) or narrows hosts to an allow-list. Without it,
a merchant registration could point multicart at cloud metadata (169.254.169.254), private
ranges, loopback ports of other services or integer-encoded addresses (``http://2130706433``).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic.config import JsonDict

# Names that always mean "this machine" or an internal network, whatever DNS says.
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_INTERNAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "metadata", "metadata.google.internal"}
)


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


def url_problem(url: str, policy: UrlPolicy) -> str | None:
    """Why ``policy`` refuses to call ``url``, or None when it may."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if policy.allowed_hosts and not any(
        host == allowed or (allowed.startswith(".") and host.endswith(allowed))
        for allowed in policy.allowed_hosts
    ):
        return f"host {host} is not in MULTICART_PLATFORM_HOST_ALLOWLIST"
    if policy.allow_private:
        return None
    if parts.scheme != "https":
        return "must use https"
    address = _ip_literal(host)
    if address is not None:
        if not address.is_global or address.is_multicast:
            return f"host {host} is not a public address"
    elif host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES) or "." not in host:
        return f"host {host} is not a public name"
    return None


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a host names literally, in any form a resolver accepts: dotted, integer
    (``2130706433``), hex (``0x7f.1``) or octal (``0177.0.0.1``), or IPv6."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:  # inet_aton is what resolvers use for the short and numeric IPv4 forms
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None
