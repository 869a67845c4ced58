"""The Elastic Path bearer token: fetched once, shared, renewed before expiry and once on a 401.

Why a module of its own: every carts call needs ``Authorization: Bearer <token>`` from a
client-credentials grant, ``POST {api_url}/oauth/access_token`` with a form body
(https://elasticpath.dev/docs/api/authentication/create-an-access-token). Tokens live an hour.
``ClientCredentialsAuth`` is the ``adapters.calls.caller.Auth`` of one store: concurrent callers
share one token and one in-flight fetch (an ``asyncio.Lock``), it is renewed a margin before it
expires, and a 401 renews it once (the caller never loops). The fetch goes through its own
``PlatformCaller``, so it has a bulkhead, the breaker, the deadline and retries (it is
idempotent). Neither the token nor the client secret is ever logged or put in an error.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from adapters.calls.caller import PlatformCaller
from adapters.calls.http import Answer, Headers
from adapters.elastic_path.connection import ElasticPathConnection
from adapters.elastic_path.failures import PLATFORM, body_of
from errors import PlatformAuthFailed, PlatformError, PlatformServerError, PlatformTimeout

# The docs: "Access tokens expire after 1 hour" (used when an answer gives no lifetime).
DEFAULT_LIFETIME_S = 3600.0
MAX_MARGIN_S = 60.0  # renew this long before expiry, or at 90% of a short lifetime
FORM_HEADERS: Headers = {
    "Content-Type": "application/x-www-form-urlencoded",
    "Accept": "application/json",
}


@dataclass(frozen=True)
class Token:
    headers: Headers = field(repr=False)  # the carts calls' headers, bearer included
    renew_at: float  # on the auth's clock

    @property
    def bearer(self) -> str:
        return self.headers["Authorization"]


class ClientCredentialsAuth:
    """One store's token (``adapters.calls.caller.Auth``)."""

    def __init__(
        self,
        connection: ElasticPathConnection,
        caller: PlatformCaller,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = f"{connection.api_url}/oauth/access_token"
        # Form-encoded, as the spec's requestBody and Elastic Path's JS SDK send it (the docs'
        # curl sample says JSON but sends form fields).
        self._form = urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": connection.client_id.get_secret_value(),
                "client_secret": connection.client_secret.get_secret_value(),
            }
        ).encode("ascii")
        self._caller = caller
        self._clock = clock
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0  # tokens fetched, for tests and diagnostics

    def __repr__(self) -> str:
        return f"ClientCredentialsAuth({self._url!r})"

    async def headers(self, deadline: float) -> Headers:
        token = self._token
        if token is None or self._clock() >= token.renew_at:
            token = await self._renew(deadline, stale=token)
        return token.headers

    async def refresh(self, rejected: Headers, deadline: float) -> bool:
        """A 401 to ``rejected``: renew, unless another call has renewed since it was sent."""
        current = self._token
        if current is not None and current.bearer != _bearer(rejected):
            return True
        await self._renew(deadline, stale=current)
        return True

    async def _renew(self, deadline: float, *, stale: Token | None) -> Token:
        """The current token, fetched by the first of the callers that found ``stale``."""
        try:
            async with asyncio.timeout(max(deadline - time.monotonic(), 0.0)):
                await self._lock.acquire()
        except TimeoutError:
            raise PlatformTimeout(
                "no Elastic Path access token before the deadline (another call is fetching"
                " it); nothing was sent",
                platform=PLATFORM,
                may_have_applied=False,
            ) from None
        try:
            current = self._token
            if current is not None and current is not stale and self._clock() < current.renew_at:
                return current  # fetched while this call waited
            self._token = await self._fetch(deadline)
            return self._token
        finally:
            self._lock.release()

    async def _fetch(self, deadline: float) -> Token:
        started = self._clock()
        try:
            token = await self._caller.call(
                "access_token",
                "POST",
                self._url,
                deadline=deadline,
                idempotent=True,  # a grant changes nothing; a lost answer just costs a token
                content=self._form,
                parse=lambda response: _token_of(response, started),
            )
        except PlatformAuthFailed:
            raise
        except PlatformError as exc:
            # The carts request this token was for was never sent: say so, keeping the cause.
            raise type(exc)(
                f"no Elastic Path access token: {exc.message}; nothing was sent",
                platform=PLATFORM,
                cause=exc.cause,
                status=exc.platform_status,
                retry_after=exc.retry_after,
                may_have_applied=False,
            ) from exc
        self.fetches += 1
        return token


def _bearer(headers: Headers) -> str | None:
    found = [v for k, v in headers.items() if k.lower() == "authorization"]
    return str(found[0]) if found else None


def _token_of(response: Answer, fetched_at: float) -> Token:
    """An ``AccessTokenResponse``: unwrapped as the docs and the JS SDK read it, or in the
    ``{"data": ...}`` the OpenAPI example shows
    (https://elasticpath.dev/docs/api/authentication/create-an-access-token)."""
    body: Any = body_of(response)
    if isinstance(body, dict) and "access_token" not in body and isinstance(body.get("data"), dict):
        body = body["data"]
    try:
        token = body["access_token"]
        if (
            not isinstance(token, str)
            or not token
            or not token.isascii()
            or not token.isprintable()
        ):
            raise ValueError("access_token is not a printable string")
        if str(body.get("token_type") or "Bearer").lower() != "bearer":
            raise ValueError(f"token_type {body.get('token_type')!r} is not Bearer")
        lifetime = _lifetime(body)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlatformServerError(
            f"Elastic Path answered {response.status} to the token request with a body"
            f" this adapter cannot read ({type(exc).__name__})",
            platform=PLATFORM,
            status=response.status,
        ) from None  # the body holds the token: keep it out of the chain
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    margin = min(MAX_MARGIN_S, lifetime * 0.1)
    return Token(headers=headers, renew_at=fetched_at + lifetime - margin)


def _lifetime(body: dict[str, Any]) -> float:
    """``expires_in`` seconds, else ``expires`` (epoch seconds) from now, else one hour."""
    expires_in, expires = body.get("expires_in"), body.get("expires")
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool):
        lifetime = float(expires_in)
    elif isinstance(expires, int | float) and not isinstance(expires, bool):
        lifetime = float(expires) - time.time()
    else:
        lifetime = DEFAULT_LIFETIME_S
    if lifetime <= 0:
        raise ValueError("the token has already expired")
    return lifetime
