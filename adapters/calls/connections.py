"""What every platform connection must be: a clean base URL, header-safe secrets, and a host
the operator allows multicart to call.

Why a module of its own: each platform's connection model (``adapters/<platform>/``) checks the
same things about its base URL and its secrets when a merchant is registered, and the admin
route applies one policy to the URL: ``https`` to a public host, unless the operator allows
private and plain-http ones (the sandbox, tests) or narrows hosts to an allow-list. Without it,
a merchant registration could point multicart at cloud metadata (169.254.169.254), private
ranges, loopback ports of other services or integer-encoded addresses (``http://2130706433``).
A name is only a name, though: it is resolved at registration (``resolved_problem``, bounded),
and ``address_problem`` (``adapters.calls.addresses``) and ``host_problem`` are also what
``adapters.calls.address_guard`` applies when the outbound connector connects, to the
addresses the name resolves to then.

Every check reads the URL as the outbound client will (yarl, which aiohttp uses: IDNA and NFKC
on the host), and the normalised URL is what the connection stores: measured before this, a
base URL typed with fullwidth digits for 127.0.0.1 passed the text check and
aiohttp connected to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr
from pydantic.config import JsonDict
from yarl import URL

from adapters.calls.addresses import address_problem, ip_literal, text_problem
from config import PlatformSettings

__all__ = ["address_problem"]  # re-exported: its home is ``adapters.calls.addresses``

# Names that always mean "this machine" or an internal network, whatever DNS says.
_INTERNAL_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
_INTERNAL_NAMES = frozenset(
    {"localhost", "localhost.localdomain", "metadata", "metadata.google.internal"}
)
# A host as yarl leaves it once normalised (IDNA, NFKC, lower case): LDH labels (and ``_``,
# which some DNS names carry), or an IPv6 literal. Anything else (``127.0.0.1%2f``) is no
# host a resolver would read the same way.
_HOST = re.compile(
    r"^(?:[a-z0-9_-]+\.)*[a-z0-9_-]+\.?$|^[0-9a-f.]*:[0-9a-f:.]*(?:%[A-Za-z0-9_.-]+)?$"
)
HTTPS_PORT = 443
# How long a registration waits for its name's addresses; past it the name is accepted and
# the connect-time guard (``address_guard``) judges the addresses on every connect.
RESOLVE_TIMEOUT_S = 2.0
# RFC 6761's special-use names, which the global DNS never answers: not looked up at
# registration (a stalled resolver held every test registering `fake.test` 2 s).
NEVER_IN_DNS = frozenset({"test", "example", "invalid"})
# Registration's lookups run on threads of their own: one that outlives its 2 s bound (a
# stalled resolver) must not hold the event loop's default executor, whose shutdown waits for
# it (3 s more at every test's teardown, measured).
_LOOKUPS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="registration-lookup")


def http_base_url(value: str, example: str) -> str:
    """A base URL: http(s) with a host, no query, fragment, user info, whitespace or control
    characters, a valid port; without its trailing slash, and normalised as the outbound
    client will use it (yarl, aiohttp's URL: IDNA and NFKC on the host, so 127.0.0.1 typed
    in fullwidth or circled digits becomes 127.0.0.1): what is checked and stored."""
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL such as {example}")
    if parts.query or parts.fragment or "?" in value or "#" in value:
        raise ValueError("must not carry a query or fragment")
    if "@" in parts.netloc:
        raise ValueError("must not carry user information; credentials have their own fields")
    _ = parts.port  # raises ValueError for a port that is not a number in range
    bracketed = bracket_problem(parts.netloc)
    if bracketed is not None:
        raise ValueError(bracketed)
    if any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        raise ValueError("must not contain whitespace or control characters")
    try:
        url = URL(value)
        host = url.raw_host or ""
    except (ValueError, UnicodeError) as exc:  # an IDNA label no encoder takes
        raise ValueError("must have a host name the URL library can encode") from exc
    if not _HOST.fullmatch(host.lower()):
        raise ValueError("must have a host of letters, digits, dots and hyphens, or an IP")
    return str(url).rstrip("/")


def bracket_problem(netloc: str) -> str | None:
    """Why a host written in brackets is refused, or None: only an IPv6 literal may be, without
    a zone id. urlsplit takes RFC 3986's IPvFuture (``[v1.x]``) and yarl drops the brackets:
    measured, ``https://[v1.x]/`` was registered as host ``v1.x`` and
    ``https://[v1.x.myshopify.com]/`` passed MULTICART_PLATFORM_HOST_ALLOWLIST."""
    if "[" not in netloc and "]" not in netloc:
        return None
    inside = netloc.partition("[")[2].partition("]")[0]
    try:
        if "%" in inside:
            raise ValueError(inside)
        ipaddress.IPv6Address(inside)
    except ValueError:
        return "must write only an IPv6 address in brackets, without a zone id"
    return None


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
    """``allow_private``: plain http, private, loopback or link-local hosts and any port are
    allowed (the sandbox and tests); ``allowed_hosts``: when not empty, the only hosts
    (``shop.example`` or ``.example`` for every name under it); ``allowed_ports``: ports
    besides 443 a merchant URL may name."""

    allow_private: bool = False
    allowed_hosts: tuple[str, ...] = ()
    allowed_ports: tuple[int, ...] = ()

    @classmethod
    def of(cls, settings: PlatformSettings) -> UrlPolicy:
        return cls(
            allow_private=settings.allow_private_urls,
            allowed_hosts=settings.allowed_hosts,
            allowed_ports=settings.allowed_ports,
        )


def url_host(url: str) -> str:
    """The host the outbound client connects to (yarl's ``raw_host``: IDNA-encoded, NFKC),
    lower case, without a trailing dot."""
    return (URL(url).raw_host or "").rstrip(".").lower()


def url_problem(url: str, policy: UrlPolicy) -> str | None:
    """Why ``policy`` refuses to call ``url``, or None when it may: read as the outbound client
    reads it (``URL(url)``), never as the raw text."""
    try:
        parsed = URL(url)
        host = (parsed.raw_host or "").rstrip(".").lower()
        bracketed = bracket_problem(urlsplit(url).netloc)
    except (ValueError, UnicodeError):
        return "is not a URL the outbound client can read"
    if bracketed is not None:
        return bracketed
    problem = host_problem(host, policy)
    if problem is not None or policy.allow_private:
        return problem
    if parsed.scheme != "https":
        return "must use https"
    address = ip_literal(host)
    if address is not None:
        why = address_problem(address)
        if why is not None:
            return f"host {host} is not a public address ({why})"
    elif host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES) or "." not in host:
        return f"host {host} is not a public name"
    return port_problem(parsed.port, policy)


def port_problem(port: int | None, policy: UrlPolicy) -> str | None:
    """Why ``policy`` refuses ``port`` (None: the scheme's default), or None: 443 or a listed
    port, any when private URLs are allowed. Asked at registration and on every send."""
    if policy.allow_private or port is None or port == HTTPS_PORT:
        return None
    if port not in policy.allowed_ports:
        return f"port {port} is not allowed (443, or one in MULTICART_PLATFORM_ALLOWED_PORTS)"
    return None


async def resolved_problem(
    url: str, policy: UrlPolicy, timeout_s: float = RESOLVE_TIMEOUT_S
) -> str | None:
    """Why ``url``'s name is refused by the addresses it resolves to now (any one not public
    refuses it: ``localhost`` in /etc/hosts, a DNS name of 127.0.0.1), or None. A lookup that
    fails or takes longer than ``timeout_s`` accepts: the connect-time guard checks again."""
    if policy.allow_private:
        return None
    host = url_host(url)
    if not host or ip_literal(host) is not None:
        return None  # a literal was judged by url_problem
    if host.rsplit(".", 1)[-1] in NEVER_IN_DNS:
        return None  # nothing to ask the world's DNS; the connect-time guard still checks
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout_s):
            infos = await loop.run_in_executor(
                _LOOKUPS, socket.getaddrinfo, host, HTTPS_PORT, 0, socket.SOCK_STREAM
            )
    except (OSError, TimeoutError, UnicodeError):
        return None
    for info in infos:
        address = str(info[4][0])
        why = text_problem(address)
        if why is not None:
            return f"host {host} resolves to {address}, {why}"
    return None


def host_problem(host: str, policy: UrlPolicy) -> str | None:
    """Why ``policy``'s allow-list refuses ``host`` (lower case, no trailing dot), or None."""
    if policy.allowed_hosts and not any(
        host == allowed or (allowed.startswith(".") and host.endswith(allowed))
        for allowed in policy.allowed_hosts
    ):
        return f"host {host} is not in MULTICART_PLATFORM_HOST_ALLOWLIST"
    return None
