"""Who is asking, and in which order a request earns its slot: credentials, share, body, slot.

Apps authenticate by API key, looked up by its SHA-256 hash and cached per process for at
most ``MULTICART_KEY_CACHE_S`` (``KEYS_CACHE``, ``key_cache.py``: a revoked key is refused by
every process within that bound); admins by any of the admin tokens (``admin_token_id`` names
one without showing it). ``guarded`` wraps a route's handler with what ``Route.auth`` names, so
the route table alone says which routes are open, and puts a request through, in order (each
step answered before the work of the next):

1. its credentials (401; two ``Authorization`` headers 400; failed ones throttled per client
   address and token prefix, ``fairness.AuthThrottle``);
2. for an app, its request rate (429 ``rate``) and its share of the in-flight slots (429
   ``in_flight``), held until the answer: its bodies arriving count against its own share;
3. its body, read whole in bounded time (``intake.py``: 408, 413, 415; 499 when the client
   went away);
4. a slot, under the work's deadline (``admission.py``: 503 when none is free).

An admin request that changes something is recorded in the audit log once answered, whatever
the answer (``audit.recorded``: here, so every admin route is, with no line of its own).
"""

from __future__ import annotations

from aiohttp import web

from errors import FieldProblem, InvalidRequest, Unauthorized
from orchestrator.http.admin_identity import admin_token_id
from orchestrator.http.audit import changes_something, recorded
from orchestrator.http.keys import (
    ADMISSION,
    APP_ID,
    APP_RATES,
    AUTH_THROTTLE,
    IN_FLIGHT_SHARES,
    INTAKE,
    KEYS_CACHE,
    SERVICES,
    SETTINGS,
)
from orchestrator.http.routes import Handler, Route
from orchestrator.service.secrets import hash_api_key, tokens_equal

_TOKEN_MAX = 1024


def bearer_token(request: web.Request) -> str:
    """The Bearer token, or 401 (absent, another scheme, not printable ASCII) or 400 (two
    ``Authorization`` headers: a proxy reading the last would disagree with us on the first)."""
    given = request.headers.getall("Authorization", [])
    if len(given) > 1:
        raise InvalidRequest(
            [FieldProblem("Authorization", "send one Authorization header, not several")]
        )
    scheme, _, token = (given[0] if given else "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Send `Authorization: Bearer <key>`.")
    # Non-ASCII bytes reach us as surrogate escapes: hashing them raised UnicodeEncodeError (a
    # 500 without a login). A key or token is printable ASCII without spaces.
    if len(token) > _TOKEN_MAX or not (token.isascii() and token.isprintable()) or " " in token:
        raise Unauthorized("The credentials are malformed: send `Authorization: Bearer <key>`.")
    return token


async def _token(request: web.Request) -> str:
    """The request's token; a missing or malformed one is a failed authentication."""
    try:
        return bearer_token(request)
    except Unauthorized:
        await request.app[AUTH_THROTTLE].failed(request.remote or "unknown", "")  # 429 past it
        raise


async def authenticate_app(request: web.Request) -> str:
    """The app whose key the request carries. A valid key always passes, even from a throttled
    address: it carries 256 random bits (nothing to guess), and a hostile tester showed that
    holding valid keys back let 20 junk requests a minute lock every app behind one address
    out (every app after a restart: the key cache empty). A wrong one is counted, and answered
    429 instead of 401 past the limit."""
    token = await _token(request)
    found = await request.app[KEYS_CACHE].resolve(
        hash_api_key(token), request.app[SERVICES].store.apps
    )
    if found is None:
        await request.app[AUTH_THROTTLE].failed(request.remote or "unknown", token)
        raise Unauthorized("The API key is not valid.")
    return found.app_id


async def authenticate_admin(request: web.Request) -> str:
    """The id (``admin_token_id``) of the admin token the request carries. Compared in
    constant time with every configured token (MULTICART_ADMIN_TOKEN, MULTICART_ADMIN_TOKENS),
    each one every time, and only while this address and the token's prefix are under the
    failed-authentication limit: a token is an operator's choice, so guessable."""
    accepted = request.app[SETTINGS].admin_token_list()
    if not accepted:
        raise Unauthorized(
            "The admin routes are off: neither MULTICART_ADMIN_TOKEN nor MULTICART_ADMIN_TOKENS"
            " is set on the server."
        )
    token = await _token(request)
    address = request.remote or "unknown"
    throttle = request.app[AUTH_THROTTLE]
    await throttle.check(address, token)
    matched = [tokens_equal(token, expected) for expected in accepted]  # no early exit
    if not any(matched):
        await throttle.failed(address, token)
        raise Unauthorized("The admin token is not valid.")
    return admin_token_id(token)


async def _admitted(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Steps 3 and 4: the body, then a slot."""
    refused = await request.app[INTAKE].take_in(request)
    if refused is not None:
        return refused
    return await request.app[ADMISSION].run(request, handler)


def guarded(route: Route) -> Handler:
    """``route.handler``, behind the steps of the module's docstring."""
    handler = route.handler
    if route.auth == "none":
        return handler

    async def with_auth(request: web.Request) -> web.StreamResponse:
        if route.auth == "admin":
            who = await authenticate_admin(request)
            if not changes_something(request.method):
                return await _admitted(request, handler)
            # The audit log (audit.py): every admin change, whatever its answer.
            return await recorded(request, route.path, who, _admitted(request, handler))
        app_id = request[APP_ID] = await authenticate_app(request)
        await request.app[APP_RATES].hit(app_id)
        shares = request.app[IN_FLIGHT_SHARES]
        shares.take(app_id)
        try:
            return await _admitted(request, handler)
        finally:
            shares.give_back(app_id)

    with_auth.__name__ = handler.__name__
    return with_auth
