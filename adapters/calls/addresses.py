"""Is this address public? The one answer, at registration and at every connect.

Why a module of its own: the admin route judges a merchant URL's literal host and the
addresses its name resolves to (``adapters.calls.connections``), and the outbound connector
judges the addresses it is about to connect to (``adapters.calls.address_guard``). A second
copy of the rules would drift, and the hostile cases live in the details: IPv6 forms that
carry an IPv4 address (mapped, IPv4-compatible, 6to4, NAT64) end up at that IPv4 address, so
``2002:7f00:1::`` is judged as 127.0.0.1; Teredo is refused whole (see ``address_problem``).
"""

from __future__ import annotations

import ipaddress
import socket
from ipaddress import IPv4Address, IPv6Address

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
# NAT64 gateway, so it is judged by the IPv4 address it carries. The local-use prefix
# 64:ff9b:1::/48 (RFC 8215) translates to whatever the operator's gateway chooses: refused.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
# Teredo (RFC 4380): 2001::/32, a tunnel through a relay to an obfuscated IPv4 client; no
# merchant API is served there, and Python 3.11 calls the whole prefix private anyway.
_TEREDO = ipaddress.ip_network("2001::/32")
# IPv4-compatible addresses (RFC 4291 2.5.5.1, deprecated): ::a.b.c.d, with ``::`` and ``::1``
# left to their own classes. Measured on Python 3.11.7: ``::7f00:1`` is_global is True.
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one leads to (mapped, 6to4, NAT64, IPv4-compatible), or None."""
    embedded = address.ipv4_mapped or address.sixtofour
    if embedded is not None:
        return embedded
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address: IPv4Address | IPv6Address) -> str | None:
    """The class of address multicart never calls unless private URLs are allowed, or None for
    a public one. An IPv6 address carrying an IPv4 one is judged by the IPv4 address: that is
    where the connection ends up."""
    if isinstance(address, IPv6Address):
        if address.scope_id:  # fe80::1%eth0: an interface's, never public
            return "a link-local address"
        embedded = embedded_ipv4(address)
        if embedded is not None:
            return address_problem(embedded)
        if address in _TEREDO:
            return "a Teredo tunnel address"
        if address in _NAT64_LOCAL:
            return "a local-use NAT64 address"
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


def text_problem(text: str) -> str | None:
    """``address_problem`` of an address as a resolver answers it (text), or why it cannot be
    read: an unreadable answer is not connected to."""
    try:
        return address_problem(ipaddress.ip_address(text))
    except ValueError:
        return "not an IP address"


def ip_literal(host: str) -> IPv4Address | IPv6Address | None:
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
