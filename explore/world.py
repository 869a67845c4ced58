"""The world the explorer's rules act on: the real app, a real database, three fake platforms.

Why: the invariants are about what the whole service does, so the rules go through the same
composition root as ``multicart serve`` (``orchestrator.http.app.create_app``, with the fake
registry and the background workers stopped so that the rules run their rounds themselves).
Requests go through aiohttp's test client (so an unexpected exception shows as the 500 it
would be, and ``Idempotency-Key`` replays are the real ones).

Every operation runs as an asyncio task (a ``Flight``) on the world's one event loop, which
the rules drive step by step: ``advance`` lets the flights run until each has ended, is parked
at a gate, or has been quiet for a moment (waiting for a lease held by a parked one). One
world serves a whole run; ``reset`` empties the carts' tables and the fakes between examples.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import delete

from adapters.fake import FakePlatform, FakeRegistry
from explore.clock import CLOCK, follow_clock, jump_clock, reset_clock
from explore.faults import DatabaseFaults, PlatformFaults
from explore.stores import CART_TABLES, DEADLINE_S, MERCHANTS, explore_settings, seed_stores
from orchestrator.http.app import create_app
from orchestrator.http.idempotency import LOCK_MARGIN_S
from orchestrator.http.keys import METRICS, SERVICES
from orchestrator.service.deletion import ExternalDeleter
from orchestrator.service.expiry import ExpirySweeper
from orchestrator.service.reconciler import Reconciler
from orchestrator.store import Store

QUIET_S = 0.04  # no flight ended and no gate was reached for this long: the flights wait
ADVANCE_S = 1.0  # the most one step lets the flights run
SETTLE_WAIT_S = 30.0  # the most the settle waits for the flights once every gate is open


class Finding(AssertionError):
    """An invariant broken; ``kind`` names which (one subclass per invariant below).
    ``signature`` (the kind, and the variant when one is given: the platform of the bag, the
    operation that answered) tells findings apart within a run, so that a run goes on to find
    the same invariant broken on another platform or by another operation."""

    kind = "finding"

    def __init__(self, message: str, variant: str = "") -> None:
        super().__init__(message)
        self.variant = variant

    @property
    def signature(self) -> str:
        return f"{self.kind}:{self.variant}" if self.variant else self.kind


class UnexpectedServerError(Finding):
    kind = "unexpected_500"


class EscapedException(Finding):
    kind = "escaped_exception"


@dataclass
class Answer:
    status: int
    body: Any
    replayed: bool = False


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: Any = None
    key: str | None = None


KEY_LOCK_S = DEADLINE_S + LOCK_MARGIN_S  # an Idempotency-Key's claim: the longest deadline + margin


@dataclass(eq=False)
class Flight:
    """One operation in flight: a request, or a background round."""

    label: str
    task: asyncio.Task[Answer | None]
    cart_id: str | None  # the cart it changes, when known before it answers
    faults_before: int  # database faults struck before it started
    request: Request | None = None
    key: str | None = None  # the Idempotency-Key it sends (a keyed request, or a replay)
    # The clock jumped past its key's lock while it ran (``World.jumped``): by the contract a
    # dead request (a real one's deadline ends it first), its key taken over by a retry; its
    # late answer is no answer to compare replays with.
    outlived: bool = False


@dataclass
class Stats:
    steps: int = 0
    tolerated_500: int = 0  # 500s while an injected database failure struck: expected
    answers: dict[int, int] = field(default_factory=dict)


class World:
    """See the module's doc. Built with ``open`` on its own loop; ``close`` at the end."""

    def __init__(self, database_url: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.settings = explore_settings(database_url)
        self.registry = FakeRegistry(default_price=1000)
        self.platform_faults = PlatformFaults()
        self.db_faults = DatabaseFaults()
        self.flights: list[Flight] = []
        self.known_carts: dict[str, Any] = {}  # cart id -> the last cart JSON seen
        # idempotency key -> (request, first answer, whether a database fault struck meanwhile)
        self.keyed: dict[str, tuple[Request, Answer, bool]] = {}
        self.keyed_at: dict[str, timedelta] = {}  # the clock's offset when each was answered
        # Carts a change answered 5xx on while injected database failures struck: the change
        # may be on the platform and in no record (``invariants.check_lines``).
        self.unrecorded: set[str] = set()
        self.merchant_ids: dict[str, str] = {}  # label -> merchant id
        self.skus: dict[str, list[str]] = {}  # merchant label -> sku ids
        self.sku_refs: dict[str, dict[str, Any]] = {}  # sku id -> platform ref
        self.stats = Stats()
        self.client: TestClient[Any, Any] | None = None
        self.app_key = ""
        self._saved_logging: dict[str, Any] = {}

    def run(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return self.loop.run_until_complete(coro)

    # --- the app -------------------------------------------------------------------------

    def open(self) -> None:
        self._saved_logging = structlog.get_config()
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
        self.run(self._open())

    async def _open(self) -> None:
        app = create_app(self.settings, platforms=self.registry, run_worker=False, clock=CLOCK.now)
        self.client = TestClient(TestServer(app))
        await self.client.start_server()
        self.store.db.fault_hook = self.db_faults
        follow_clock(self.store.db)  # leases, claims and locks: the database's clock, moved
        seeded = await seed_stores(self.client, self.registry)
        self.app_key, self.merchant_ids, self.skus, self.sku_refs = seeded
        for label, merchant_id in self.merchant_ids.items():
            self.platform_faults.install(label, self.registry.platforms[merchant_id])

    def close(self) -> None:
        try:
            self.run(self._close())
        finally:
            self.loop.close()
            structlog.configure(**self._saved_logging)

    async def _close(self) -> None:
        await self.drain()
        if self.client is not None:
            await self.client.close()

    @property
    def app(self) -> web.Application:
        assert self.client is not None and isinstance(self.client.server, TestServer)
        return self.client.server.app

    @property
    def store(self) -> Store:
        store: Store = self.app[SERVICES].store
        return store

    @property
    def reconciler(self) -> Reconciler:
        reconciler: Reconciler = self.app[SERVICES].reconciler
        return reconciler

    @property
    def deleter(self) -> ExternalDeleter:
        deleter: ExternalDeleter = self.app[SERVICES].deleter
        return deleter

    @property
    def sweeper(self) -> ExpirySweeper:
        sweeper = self.app[METRICS].state.expiry
        assert isinstance(sweeper, ExpirySweeper)
        return sweeper

    def fake(self, label: str) -> FakePlatform:
        return self.registry.platforms[self.merchant_ids[label]]

    def label_of(self, merchant_id: str) -> str:
        return next(label for label, mid in self.merchant_ids.items() if mid == merchant_id)

    async def reset(self) -> None:
        """Between examples: no flight, no fault, no cart anywhere, the clock back at now."""
        await self.drain()
        await self.store.carts.group_commit.aclose()  # no write of the last example lands late
        async with self.store.db.write() as conn:
            for table in CART_TABLES:
                await conn.execute(delete(table))
        for label, *_ in MERCHANTS:
            self.fake(label).carts.clear()
            self.fake(label).calls.clear()
        self.known_carts.clear()
        self.keyed.clear()
        self.keyed_at.clear()
        self.unrecorded.clear()
        reset_clock()

    # --- operations in flight ------------------------------------------------------------

    async def http(self, request: Request) -> Answer:
        assert self.client is not None
        headers = {"Authorization": f"Bearer {self.app_key}"}
        if request.key is not None:
            headers["Idempotency-Key"] = request.key
        response = await self.client.request(
            request.method, request.path, json=request.body, headers=headers
        )
        body = await response.json() if response.status != 204 else None
        return Answer(response.status, body, response.headers.get("Idempotent-Replayed") == "true")

    def start(
        self,
        label: str,
        work: Callable[[], Awaitable[Answer | None]],
        cart_id: str | None = None,
        request: Request | None = None,
    ) -> Flight:
        async def run() -> Answer | None:
            return await work()

        flight = Flight(label, self.loop.create_task(run()), cart_id, self.db_faults.struck)
        flight.request = request
        flight.key = request.key if request is not None else None
        self.flights.append(flight)
        return flight

    def start_request(self, label: str, request: Request, cart_id: str | None = None) -> Flight:
        return self.start(label, lambda: self.http(request), cart_id, request)

    def jumped(self, seconds: float) -> None:
        """The clock jumped ``seconds``: past an Idempotency-Key's lock, every keyed flight in
        flight is outlived and its key's answer to compare with is forgotten (a retry may take
        the key over now; the next answer it gets is the one replays must repeat)."""
        if seconds < KEY_LOCK_S:
            return
        for flight in self.flights:
            if flight.key is not None:
                flight.outlived = True
                self.keyed.pop(flight.key, None)
                self.keyed_at.pop(flight.key, None)

    def busy_carts(self) -> set[str]:
        return {f.cart_id for f in self.flights if f.cart_id is not None}

    async def advance(self, budget_s: float = ADVANCE_S) -> None:
        """Let the flights run until each has ended or waits (parked, or quiet), then reap."""
        ends = self.loop.time() + budget_s
        while True:
            running = [f.task for f in self.flights if not f.task.done()]
            if not running:
                break
            parked = len(self.platform_faults.parked)
            done, _ = await asyncio.wait(
                running, timeout=QUIET_S, return_when=asyncio.FIRST_COMPLETED
            )
            moved = bool(done) or len(self.platform_faults.parked) != parked
            if not moved or self.loop.time() >= ends:
                break
        self.reap()

    def reap(self) -> None:
        """Take the ended flights' answers: a 500 or an escaped exception is a finding unless
        an injected database failure struck while the flight ran."""
        ended = [f for f in self.flights if f.task.done()]
        self.flights = [f for f in self.flights if not f.task.done()]
        for flight in ended:
            injected = self.db_faults.struck > flight.faults_before
            error = flight.task.exception()
            if isinstance(error, Finding):
                raise error
            if error is not None:
                if injected:
                    if flight.cart_id is not None:
                        self.unrecorded.add(flight.cart_id)
                    continue
                raise EscapedException(f"{flight.label} raised {error!r}", flight.label) from error
            answer = flight.task.result()
            if answer is None:
                continue
            self.stats.answers[answer.status] = self.stats.answers.get(answer.status, 0) + 1
            if answer.status >= 500 and injected and flight.cart_id is not None:
                self.unrecorded.add(flight.cart_id)  # its change may be in no record
            if answer.status == 500:
                if injected:
                    self.stats.tolerated_500 += 1
                    continue
                raise UnexpectedServerError(
                    f"{flight.label} answered 500: {answer.body}", flight.label
                )
            self._note(flight, answer)

    def _note(self, flight: Flight, answer: Answer) -> None:
        body = answer.body
        if isinstance(body, dict) and "bags" in body and "id" in body:
            self.known_carts[body["id"]] = body
        elif answer.status == 404 and flight.cart_id is not None:
            self.known_carts.pop(flight.cart_id, None)
        request = flight.request
        keyed = request is not None and request.key is not None and answer.status < 500
        in_use = isinstance(body, dict) and body.get("error") == "idempotency_key_in_use"
        if keyed and not in_use and not flight.outlived:
            assert request is not None and request.key is not None
            faulted = self.db_faults.struck > flight.faults_before
            self.keyed.setdefault(request.key, (request, answer, faulted))
            self.keyed_at.setdefault(request.key, CLOCK.offset)

    async def drain(self) -> None:
        """Open every gate, disarm every fault, and wait for every flight (bounded)."""
        self.platform_faults.disarm()
        self.db_faults.disarm()
        self.platform_faults.open_all()
        tasks = [f.task for f in self.flights]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=SETTLE_WAIT_S)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
        for flight in self.flights:  # answers are not judged here: the caller reaps first
            if not flight.task.cancelled():
                flight.task.exception()
        self.flights.clear()


SETTLE_JUMP_S = 400.0  # past every lease, the reconciler's cut-off and the outbox's backoff cap
SETTLE_ROUNDS = 8


async def settle_everything(world: World) -> int:
    """Let everything finish: every gate opened, no fault armed, every flight ended and judged,
    then clock jumps with reconciler and sweeper rounds until nothing is unsettled or due.
    Returns the rounds it took."""
    world.platform_faults.disarm()
    world.db_faults.disarm()
    world.platform_faults.open_all()
    tasks = [f.task for f in world.flights]
    if tasks:
        await asyncio.wait(tasks, timeout=SETTLE_WAIT_S)
    world.reap()
    if world.flights:
        raise Finding(f"flights still running after {SETTLE_WAIT_S} s: {world.flights}")
    for rounds in range(1, SETTLE_ROUNDS + 1):
        jump_clock(SETTLE_JUMP_S)
        await world.reconciler.run_once()
        await world.sweeper.run_once()
        now = world.sweeper.clock()
        unsettled = await world.store.carts.unsettled(DEADLINE_S + 6)
        due = await world.store.outbox.due(now)
        if not unsettled and not due:
            return rounds
    return SETTLE_ROUNDS
