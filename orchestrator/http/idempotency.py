"""``Idempotency-Key`` on every authenticated POST route, with Stripe's contract.

A client that lost an answer can retry without making a second cart: the first complete answer
to a key is stored and replayed; another request with the key is 422, one while it runs 409. A
5xx is stored only once the request has written something (``RequestBudget.wrote``), and one
key names at most one cart. The contract: docs/api.md, "Idempotency-Key"; why each rule:
docs/decisions/0002-idempotency-keys.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import orjson
import structlog
from aiohttp import web

from config import Settings
from errors import ApiError, ErrorCode, FieldProblem, InvalidRequest, MulticartError
from orchestrator.http.envelope import ABSENT, error_response, read_json
from orchestrator.http.keys import APP_ID, REQUEST_ID
from orchestrator.http.routes import Handler, QueryParam, Route
from orchestrator.service.clock import utcnow
from orchestrator.service.secrets import CredentialBox
from orchestrator.service.workers import BackgroundWorker
from orchestrator.store.idempotency import (
    IN_FLIGHT,
    Claimed,
    IdempotencyStore,
    InUse,
    KeyInFlight,
    Replay,
    Reused,
    StoredAnswer,
)
from orchestrator.store.waits import REQUEST_BUDGET, RequestBudget

log = structlog.get_logger("multicart.idempotency")

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
ADMIN_SCOPE = "admin"  # app ids are minted as app_<hex>: never this
KEEP_FOR = timedelta(hours=24)  # Stripe's window
LOCK_MARGIN_S = 10.0  # past the longest request deadline before a claim counts as abandoned
KEY_MAX = 255
PURGE_EVERY_S = 60.0
SETTLE_TRIES = 3  # storing an answer (or releasing the key): tries, 50 then 100 ms apart
SETTLE_PAUSE_S = 0.05
KEPT_HEADERS = ("Content-Type", "Location", "Retry-After", "ETag")
# Codes whose answers are not stored (see the docstring): the key is released instead.
NOT_STORED = frozenset(
    {
        ErrorCode.INVALID_REQUEST,
        ErrorCode.MALFORMED_JSON,
        ErrorCode.PAYLOAD_TOO_LARGE,
        ErrorCode.UNSUPPORTED_MEDIA_TYPE,
        ErrorCode.CART_BUSY,  # a conflict with another request: Stripe saves none either
    }
)
_PRINTABLE = re.compile(r"[\x20-\x7e]+")

KEY_PARAM = QueryParam(
    HEADER,
    # No space at either end: HTTP drops it, and a key of spaces arrives empty.
    {
        "type": "string",
        "maxLength": KEY_MAX,
        "pattern": "^[\\x21-\\x7e](?:[\\x20-\\x7e]*[\\x21-\\x7e])?$",
    },
    "Makes a retry safe: the first complete answer to this key (per app, 24 h) is replayed "
    "to the same request; another request with it is 422, one while it runs is 409.",
)
REPLAYED_DOC = {
    "description": "`true` when this answer is the stored answer of an earlier request with "
    "the same Idempotency-Key, replayed.",
    "schema": {"const": "true"},
}


class Idempotency:
    """The keys' policy over their store: how long a claim holds and an answer is kept, the clock
    (tests replace ``clock``), and sealing of admin answers."""

    def __init__(
        self,
        store: IdempotencyStore,
        settings: Settings,
        box: CredentialBox,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.store = store
        self.clock = clock
        longest = max(settings.create_deadline_s, settings.request_deadline_s)
        self.lock_for = timedelta(seconds=longest + LOCK_MARGIN_S)
        self._box = box

    def seal(self, scope: str, body: bytes) -> bytes:
        if scope != ADMIN_SCOPE:
            return body  # a cart is no secret: its owner can read it anyway
        return self._box.seal({"body": body.decode()})

    def open(self, scope: str, stored: bytes) -> bytes:
        if scope != ADMIN_SCOPE:
            return stored
        return str(self._box.open(stored)["body"]).encode()

    async def run_once(self) -> int:
        """Purge expired keys: one indexed DELETE (a ``BackgroundWorker`` round)."""
        return await self.store.purge()  # on the database's clock

    def worker(self) -> BackgroundWorker:
        """The purge, at start-up and then every ``PURGE_EVERY_S``: each round deletes about
        that interval's worth of keys, never a day's backlog at once."""
        return BackgroundWorker("idempotency_purge", self.run_once, PURGE_EVERY_S)


IDEMPOTENCY = web.AppKey("idempotency", Idempotency)  # here, not keys.py: keys.py is imported here


def checked_key(values: list[str]) -> str:
    if len(values) != 1:
        raise InvalidRequest([FieldProblem(HEADER, "send the header once")])
    key = values[0]
    if not 1 <= len(key) <= KEY_MAX or not _PRINTABLE.fullmatch(key):
        raise InvalidRequest(
            [FieldProblem(HEADER, f"must be 1 to {KEY_MAX} printable ASCII characters")]
        )
    return key


def fingerprint(method: str, path: str, data: Any) -> str:
    """SHA-256 of the method, path and canonical body: equal JSON bodies, however spaced or
    ordered, match; no body reads as ``{}`` (as the create route reads it)."""
    body = {} if data is ABSENT else data
    try:
        canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits: the standard library can
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


def _replay(answer: StoredAnswer, body: bytes) -> web.Response:
    response = web.Response(body=body, status=answer.status, headers=answer.headers)
    response.headers[REPLAYED] = "true"
    return response


def idempotent(route: Route) -> Route:
    """``route`` taking ``Idempotency-Key`` when it is an authenticated POST (handler wrapped,
    header, codes and ``Idempotent-Replayed`` documented); any other route as it is. The
    wrapper runs inside the authentication (``web.guarded``), which gives it the scope."""
    if route.method != "POST" or route.auth == "none":
        return route
    handler = route.handler

    async def with_key(request: web.Request) -> web.StreamResponse:
        if HEADER not in request.headers:
            return await handler(request)  # the hot path: nothing more
        return await _keyed(request, route, handler)

    with_key.__name__ = handler.__name__
    return dataclasses.replace(
        route,
        handler=with_key,
        headers_in=(*route.headers_in, KEY_PARAM),
        headers_out={**route.headers_out, REPLAYED: REPLAYED_DOC},
        errors=(*route.errors, ErrorCode.IDEMPOTENCY_KEY_IN_USE, ErrorCode.IDEMPOTENCY_KEY_REUSED),
    )


async def _keyed(request: web.Request, route: Route, handler: Handler) -> web.StreamResponse:
    key = checked_key(request.headers.getall(HEADER))
    keys: Idempotency = request.app[IDEMPOTENCY]
    scope = ADMIN_SCOPE if route.auth == "admin" else request[APP_ID]
    data = await read_json(request)  # 400/413/415 here, before any claim; the handler re-reads
    outcome = await keys.store.claim(
        scope,
        key,
        fingerprint(request.method, request.path, data),
        now=keys.clock(),
        lock_for=keys.lock_for,
        keep_for=KEEP_FOR,
    )
    if isinstance(outcome, Replay):
        return _replay(outcome.answer, keys.open(scope, outcome.answer.body))
    if isinstance(outcome, Reused):
        raise ApiError(
            f"This {HEADER} was first used with another request; use a new key for this one.",
            kind=ErrorCode.IDEMPOTENCY_KEY_REUSED,
        )
    if isinstance(outcome, InUse):
        raise ApiError(
            f"A request with this {HEADER} is still running; retry shortly.",
            kind=ErrorCode.IDEMPOTENCY_KEY_IN_USE,
            headers={"Retry-After": "1"},
        )
    assert isinstance(outcome, Claimed)
    return await _claimed(request, route, handler, _Key(keys, scope, key, outcome))


@dataclasses.dataclass(frozen=True)
class _Key:
    """A key this request holds the claim of."""

    keys: Idempotency
    scope: str
    key: str
    claim: Claimed


async def _claimed(
    request: web.Request, route: Route, handler: Handler, held: _Key
) -> web.StreamResponse:
    """Run the route under the claim, then settle the key with its answer."""
    budget = REQUEST_BUDGET.get()
    if budget is not None:
        budget.wrote = False  # the claim's own write: only the handler's count from here
    kind: ErrorCode | None = None
    unexpected: Exception | None = None
    in_flight = IN_FLIGHT.set(KeyInFlight(held.scope, held.key, held.claim.owner))
    try:
        response = await _run(request, route, handler, held.claim)
    except _ClaimKept:
        try:
            await held.keys.store.lapse(held.scope, held.key, held.claim.owner)
        except Exception:  # it lapses at its bound instead
            log.warning("idempotency_lapse_failed", scope=held.scope, exc_info=True)
        raise
    except MulticartError as exc:
        kind = exc.kind
        response = error_response(exc, request[REQUEST_ID])
    except Exception as exc:
        unexpected = exc
    finally:
        IN_FLIGHT.reset(in_flight)
    wrote = _wrote(budget)
    if unexpected is not None:
        if not wrote:
            await _settle(held.keys, held.scope, held.key, held.claim.owner, None)  # released
            raise unexpected
        # It wrote: the 500 is this key's answer, rendered here as the envelope renders it.
        log.error("unhandled_error", method=request.method, path=request.path, exc_info=unexpected)
        kind = ErrorCode.INTERNAL_ERROR
        response = _internal_error(request[REQUEST_ID])
    return await _store_answer(held, response, kind, wrote)


def _internal_error(request_id: str) -> web.Response:
    return error_response(
        ApiError(
            "An unexpected error occurred; report the request_id.",
            kind=ErrorCode.INTERNAL_ERROR,
            data={"request_id": request_id},
        ),
        request_id,
    )


async def _store_answer(
    held: _Key, response: web.StreamResponse, kind: ErrorCode | None, wrote: bool
) -> web.StreamResponse:
    stored = _storable(response, kind, wrote=wrote)
    if stored is None and wrote and response.status >= 500:
        # A 5xx after a write that cannot be stored (not a plain body): the claim is kept
        # until its bound rather than released, so a retry cannot run the work again meanwhile.
        log.warning("idempotency_claim_kept", scope=held.scope, status=response.status)
        return response
    if stored is not None:
        stored = dataclasses.replace(stored, body=held.keys.seal(held.scope, stored.body))
    await _settle(held.keys, held.scope, held.key, held.claim.owner, stored)
    return response


async def _run(
    request: web.Request, route: Route, handler: Handler, claim: Claimed
) -> web.StreamResponse:
    """The route's work, or, when the claim was taken over from a request that died after
    writing a cart (``claim.cart_id``), the answer for that cart: one key, one cart. A cart
    that is no more (its record discarded with a creation failure) runs the route again."""
    if claim.cart_id is not None and route.resume is not None:
        log.warning("idempotency_resumed", cart_id=claim.cart_id)
        try:
            resumed = await route.resume(request, claim.cart_id)
        except MulticartError as exc:
            if exc.kind is not ErrorCode.CART_BUSY:
                raise
            # Another process is settling that cart: the claim stays, naming it (neither
            # released, which would let a retry make a second cart, nor answered).
            raise _resume_later() from None
        except Exception:  # the database failing meanwhile: the same, never a stored 500
            log.exception("idempotency_resume_failed", cart_id=claim.cart_id)
            raise _resume_later() from None
        if resumed is not None:
            return resumed
    return await handler(request)


class _ClaimKept(ApiError):
    """An answer after which the claim is left in flight, lapsed at once (``IdempotencyStore.
    lapse``): the next retry with the key takes it over and resumes the cart it names."""


def _resume_later() -> _ClaimKept:
    return _ClaimKept(
        f"The cart this {HEADER} created is being settled; retry shortly.",
        kind=ErrorCode.IDEMPOTENCY_KEY_IN_USE,
        headers={"Retry-After": "1"},
    )


def _wrote(budget: RequestBudget | None) -> bool:
    """Whether the handler committed a write (see the docstring); the flag is set again, the
    claim having written, so the settling write queues as a finishing one."""
    if budget is None:
        return True  # no signal: never risk running the work twice
    wrote = budget.wrote
    budget.wrote = True
    return wrote


def _storable(
    response: web.StreamResponse, kind: ErrorCode | None, *, wrote: bool
) -> StoredAnswer | None:
    """What to keep of ``response``; None: release the key instead (see the docstring). After
    a write a 5xx is kept too."""
    if not isinstance(response, web.Response) or not isinstance(response.body, bytes):
        return None
    if kind in NOT_STORED:
        return None
    if (
        response.status >= 500
        and kind is not ErrorCode.EXTERNAL_CART_CREATION_FAILURE
        and not wrote
    ):
        return None
    headers = {h: response.headers[h] for h in KEPT_HEADERS if h in response.headers}
    return StoredAnswer(response.status, headers, response.body)


async def _settle(
    keys: Idempotency, scope: str, key: str, owner: str, answer: StoredAnswer | None
) -> None:
    """Store ``answer`` on the claim, or release it. A failure is tried again, boundedly
    (``SETTLE_TRIES``): a claim left in flight would lapse and let a retry run the work
    again. If it still fails it is logged, never answered: the work is done and its answer
    stands; the claim lapses at its bound (a create's then answers the cart it names)."""
    for attempt in range(SETTLE_TRIES):
        try:
            if answer is None:
                await keys.store.release(scope, key, owner)
            elif not await keys.store.complete(scope, key, owner, answer):
                log.warning("idempotency_claim_lost", scope=scope)  # it outlived its bound
            return
        except Exception:
            if attempt + 1 == SETTLE_TRIES:
                log.exception("idempotency_settle_failed", scope=scope)
                return
            await asyncio.sleep(SETTLE_PAUSE_S * 2**attempt)
