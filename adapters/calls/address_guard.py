"""Merchant hosts checked again when multicart connects to them: the addresses, not the name.

Why a module of its own: the admin route checks a merchant's URL by its text
(``adapters.calls.connections.url_problem``), and a public name can still resolve to
127.0.0.1, 10.0.0.8 or 169.254.169.254, at registration or any time after it (DNS rebinding).
So the outbound connector resolves through ``GuardedResolver``, which drops every address
``adapters.calls.addresses.address_problem`` refuses (the one classification, which the
registration applies too) and fails the connect when none is left, and
``AiohttpTransport`` passes a literal IP in the URL (which aiohttp connects to without asking
any resolver) through ``literal_problem`` first. Both apply the same ``UrlPolicy`` as the name
check: the allow-list always, the address classes unless private URLs are allowed.

The connector connects only to the addresses the resolver returned, so the check and the
connect see the same address (no second lookup to race). A refusal is raised before any
socket is opened: nothing is sent, and ``AiohttpTransport`` reports it as
``errors.PlatformAddressRefused`` (not retried).
"""

from __future__ import annotations

import functools
import ipaddress
import socket

import structlog
from aiohttp.abc import AbstractResolver, ResolveResult

from adapters.calls.addresses import address_problem, text_problem
from adapters.calls.connections import UrlPolicy, host_problem
from errors import PlatformAddressRefused

log = structlog.get_logger("multicart.adapters")


class AddressRefused(OSError):
    """Every address of a host is one the policy refuses. An ``OSError``, so that aiohttp
    wraps it as it wraps any failed lookup (``ClientConnectorDNSError``): "not sent" even
    where it is not recognised."""


def guard_needed(policy: UrlPolicy) -> bool:
    """False when the policy allows every address and host (the sandbox, tests, bench)."""
    return not policy.allow_private or bool(policy.allowed_hosts)


class GuardedResolver(AbstractResolver):
    """``inner``'s answers with the refused addresses taken out; ``AddressRefused`` when none
    is left, or when the host is not on the allow-list (then nothing is looked up)."""

    def __init__(self, policy: UrlPolicy, inner: AbstractResolver) -> None:
        self._policy = policy
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        name = host.rstrip(".").lower()
        problem = host_problem(name, self._policy)
        if problem is not None:
            raise refusal(name, [problem])
        results = await self._inner.resolve(host, port, family)
        if self._policy.allow_private:
            return results
        kept: list[ResolveResult] = []
        dropped: list[str] = []
        for result in results:
            why = text_problem(result["host"])
            if why is None:
                kept.append(result)
            else:
                dropped.append(f"{result['host']} is {why}")
        if not kept:
            raise refusal(name, dropped or ["it resolves to no address"])
        if dropped:  # a name answering with public and private addresses: a rebinding attempt
            log.warning("platform_addresses_dropped", host=name, dropped=dropped)
        return kept

    async def close(self) -> None:
        await self._inner.close()


# Asked on every send, for a handful of store hosts: cached, 0.5 us a call against 10 us
# (ipaddress raising ValueError for a name; timeit, 200,000 calls).
@functools.lru_cache(maxsize=1024)
def literal_problem(host: str, policy: UrlPolicy) -> str | None:
    """Why ``policy`` refuses ``host`` when it is a literal IP address (or any host off the
    allow-list), else None. Names are left to ``GuardedResolver``."""
    problem = host_problem(host.rstrip(".").lower(), policy)
    if problem is not None or policy.allow_private:
        return problem
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None  # a name: resolved, and checked, by the connector
    why = address_problem(address)
    return None if why is None else f"{host} is {why}"


def refusal(host: str, problems: list[str]) -> AddressRefused:
    """The refusal to connect to ``host``, logged (the host and the addresses: no secret)."""
    log.warning("platform_host_refused", host=host, problems=problems)
    return AddressRefused(f"{host}: {'; '.join(problems)}")


def refused_error(*, platform: str, op: str) -> PlatformAddressRefused:
    """The one translation of a refusal into the error taxonomy: nothing was sent.

    The message does not name the host or its addresses (an app reads it in its cart's
    errors); the log line does. The setting's name comes first: ``data.platform_message``
    keeps 200 characters, and the longer text of before lost it past the cut."""
    return PlatformAddressRefused(
        f"{platform} was not called for {op}: the store's host is refused by"
        " MULTICART_PLATFORM_HOST_ALLOWLIST, the allowed ports or the outbound address policy"
        " (a loopback, private, link-local or metadata address); nothing was sent",
        platform=platform,
    )
