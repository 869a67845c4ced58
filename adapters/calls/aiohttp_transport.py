"""The production ``Transport``: aiohttp's client, one session per platform.

It keeps what the httpx client it replaced gave (no cookies, no redirects, no proxies from the
environment, a pool capped at the platform's concurrency, the answer read under the size cap),
and resolves through ``adapters.calls.address_guard`` unless every host is allowed, so a store's
host resolving to a loopback, private or metadata address is refused with nothing sent
(``PlatformAddressRefused``). Why aiohttp directly, and the measurements:
docs/decisions/0011-aiohttp-transport.md.
"""

from __future__ import annotations

import asyncio

import aiohttp
import yarl

from adapters.calls.address_guard import (
    AddressRefused,
    GuardedResolver,
    guard_needed,
    literal_problem,
    refusal,
    refused_error,
)
from adapters.calls.connections import UrlPolicy, port_problem
from adapters.calls.http import (
    Answer,
    Request,
    answer_too_large,
    attempt_timed_out,
    transport_error,
)
from config import PlatformSettings

KEEPALIVE_S = 5.0
CONNECT_SHARE = 0.9  # of an attempt's budget, the most that waiting for a connection may take

# --- Was the request sent? ---------------------------------------------------------------------
#
# Only errors aiohttp raises while acquiring or establishing the connection (aiohttp/client.py
# ``_connect_and_send_request``: ``connector.connect`` is wrapped into ConnectionTimeoutError;
# the connector raises ClientConnectorError for a refused connection, DNS, TLS) and URLs it
# refuses before connecting mean "not sent". Everything else is "maybe applied":
#   - ServerDisconnectedError: the server read the request and closed without answering,
#   - ClientOSError / ClientConnectionResetError: reset while sending or waiting,
#   - SocketTimeoutError: no answer within the read timeout,
#   - ClientPayloadError: the answer's body broke off.
_NOT_SENT: tuple[type[BaseException], ...] = (
    aiohttp.ClientConnectorError,
    aiohttp.ConnectionTimeoutError,
    aiohttp.InvalidURL,
    aiohttp.NonHttpUrlClientError,
)


def request_not_sent(exc: BaseException) -> bool:
    """True only when aiohttp's ``exc`` proves that no byte of the request reached the host."""
    return isinstance(exc, _NOT_SENT)


class AiohttpTransport:
    """One platform's session (``adapters.calls.http.Transport``)."""

    def __init__(self, settings: PlatformSettings) -> None:
        self._limit = settings.concurrency
        self._connect_timeout = settings.connect_timeout_s
        self._attempt_timeout = settings.attempt_timeout_s
        # Built once: the timeouts of an attempt with its full budget (the usual case).
        self._full = self._timeout(self._connect_timeout, self._attempt_timeout)
        self._session: aiohttp.ClientSession | None = None
        policy = UrlPolicy.of(settings)
        self._policy = policy if guard_needed(policy) else None
        self._resolver: GuardedResolver | None = None

    @staticmethod
    def _timeout(connect: float, budget: float) -> aiohttp.ClientTimeout:
        # ``connect`` bounds taking a pooled connection or opening one; both fail as
        # ConnectionTimeoutError, "not sent". It ends a little before ``asyncio.timeout(budget)``
        # (which bounds the rest), so a request still waiting for a pool slot at the end of its
        # budget is reported as never sent, not as an attempt that may have applied.
        return aiohttp.ClientTimeout(
            total=None, connect=budget * CONNECT_SHARE, sock_connect=connect, sock_read=budget
        )

    def _open(self) -> aiohttp.ClientSession:
        if self._policy is not None:  # closed by aclose: a connector only closes its own
            self._resolver = GuardedResolver(self._policy, aiohttp.DefaultResolver())
        connector = aiohttp.TCPConnector(
            limit=self._limit,
            limit_per_host=0,
            keepalive_timeout=KEEPALIVE_S,
            resolver=self._resolver,  # None: aiohttp's default, owned by the connector
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=self._full,
            trust_env=False,
            raise_for_status=False,
        )
        # aiohttp resends a GET/PUT/DELETE once when a reused connection breaks (RFC 9112
        # 9.3.1.1). The first copy may have been applied, and if the resend then fails to
        # connect the error would read "not sent": an Elastic Path create (a PUT) would be
        # marked failed while its cart exists. Retries are ours alone (``adapters.calls.retry``,
        # which knows whether an operation may be repeated). ``_retry_connection`` is one of
        # the ClientSession attributes aiohttp lists as settable (``ClientSession.ATTRS``).
        self._session._retry_connection = False
        return self._session

    async def send(
        self,
        request: Request,
        *,
        budget: float,
        connect_timeout: float,
        max_answer_bytes: int,
        platform: str,
        op: str,
    ) -> Answer:
        session = self._session or self._open()
        if budget == self._attempt_timeout and connect_timeout == self._connect_timeout:
            timeout = self._full
        else:
            timeout = self._timeout(connect_timeout, budget)
        try:
            url = yarl.URL(request.url)  # yarl caches parsed URLs: about 0.2 us
        except (ValueError, TypeError) as exc:
            raise transport_error(exc, not_sent=True, platform=platform, op=op) from exc
        if self._policy is not None and url.raw_host:
            # aiohttp connects to a literal IP without asking the resolver: checked here.
            # The port too: a merchant registered before MULTICART_PLATFORM_ALLOWED_PORTS
            # was narrowed is refused, nothing sent.
            problem = literal_problem(url.raw_host, self._policy) or port_problem(
                url.port, self._policy
            )
            if problem is not None:
                raise refused_error(platform=platform, op=op) from refusal(url.raw_host, [problem])
        try:
            # The read timeout is per socket read; this bounds the whole attempt, reading the
            # body included.
            async with (
                asyncio.timeout(budget),
                session.request(
                    request.method,
                    url,
                    headers=request.headers,
                    data=request.body,
                    allow_redirects=False,
                    timeout=timeout,
                ) as response,
            ):
                body = await _read_capped(response, max_answer_bytes, platform=platform, op=op)
                return Answer(response.status, response.headers, body, request)
        except aiohttp.ClientError as exc:  # before TimeoutError: aiohttp's timeouts are both
            os_error = getattr(exc, "os_error", None)  # GuardedResolver's, as a failed lookup
            if isinstance(os_error, AddressRefused):
                raise refused_error(platform=platform, op=op) from exc
            raise transport_error(
                exc, not_sent=request_not_sent(exc), platform=platform, op=op
            ) from exc
        except TimeoutError as exc:
            raise attempt_timed_out(budget, platform=platform, op=op) from exc

    async def aclose(self) -> None:
        session, self._session = self._session, None
        resolver, self._resolver = self._resolver, None
        if session is not None:
            await session.close()
        if resolver is not None:
            await resolver.close()


async def _read_capped(
    response: aiohttp.ClientResponse, cap: int, *, platform: str, op: str
) -> bytes:
    """The body of ``response``, refusing one longer than ``cap`` bytes: a platform (or a proxy
    posing as one) cannot make us buffer gigabytes.

    An oversize Content-Length is refused before a byte of body is read. An unencoded body whose
    length is within the cap is read whole. Otherwise (no length, or a compressed body that
    inflates) the decoded bytes are counted chunk by chunk and the read stops at the cap.
    """
    length = response.content_length
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    if length is not None:
        if length > cap:
            response.close()  # an unread body: the connection is not reused
            raise answer_too_large(response.status, platform=platform, op=op, cap=cap)
        if not encoded:
            return await response.read()
    chunks: list[bytes] = []
    size = 0
    while chunk := await response.content.readany():
        size += len(chunk)
        if size > cap:
            response.close()
            raise answer_too_large(response.status, platform=platform, op=op, cap=cap)
        chunks.append(chunk)
    return b"".join(chunks)
