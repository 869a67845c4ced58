"""The soak's client traffic: open-loop creates of mixed carts, client retries under one
``Idempotency-Key``, DELETEs racing creates, and every request timed against its deadline.

Why it is shaped so: a client that lost an answer retries, and one that wants a cart gone does
not wait for the create to finish; both are where duplicates and orphans come from, so they are
sent on purpose beside plain creates. Each *logical* create carries its own id in the cart's
``metadata`` (``soak``) and ``customer_id``, so the audit can find, in the database, every cart
it made (several when a retry was not deduplicated) and what a SIGKILL interrupted.

Requests go round-robin to the live ``multicart serve`` processes; each opens its own
connection (no pooled connection outlives a kill). A request cut short by a SIGKILL of its
target is marked ``killed`` and kept out of the deadline bound (it has no answer to time).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from bench.soak.stack import Serve, SoakStack, StoreInfo

# How a logical create is sent, with its share of the traffic.
FORMS: dict[str, float] = {
    "plain": 0.62,
    "delete_after": 0.08,  # created, then deleted (204)
    "race_delete": 0.10,  # listed while PENDING and deleted at once (409 cart_busy or 204)
    "retry_after": 0.07,  # answered, then sent again with the same key
    "retry_concurrent": 0.06,  # sent twice at once with the same key
    "retry_lost": 0.07,  # the client gives up before the answer, then retries with the key
}
RETRY_FORMS = frozenset({"retry_after", "retry_concurrent", "retry_lost"})
MAX_INFLIGHT = 200


@dataclass
class Sent:
    """One HTTP request and what came of it."""

    kind: str  # create, retry, list, delete
    phase: str
    target: str
    deadline_s: float
    platforms: frozenset[str]
    started: float
    ended: float = math.nan
    status: int = 0
    error: str | None = None  # no answer: the transport's failure
    killed: bool = False  # a SIGKILL of the target cut it short
    abandoned: bool = False  # the client gave up on purpose (a lost answer)
    replayed: bool = False  # Idempotent-Replayed: true
    cart_id: str | None = None
    code: str | None = None  # the error envelope's "error"

    @property
    def latency(self) -> float:
        return self.ended - self.started

    @property
    def timed(self) -> bool:
        """Answered by the server: it counts against the deadline bound."""
        return self.error is None and not self.killed and not self.abandoned


@dataclass
class Logical:
    """One logical create: its stores, how it was sent, and every request it made."""

    id: str
    phase: str
    form: str
    stores: tuple[StoreInfo, ...]
    sends: list[Sent] = field(default_factory=list)
    found_pending: bool = False  # race_delete: listed while its bags were PENDING

    @property
    def platforms(self) -> frozenset[str]:
        return frozenset(s.platform for s in self.stores)


class Traffic:
    """Sends the soak's requests and keeps every one; ``inflight`` is per serve process."""

    def __init__(
        self,
        stack: SoakStack,
        session: aiohttp.ClientSession,
        rng: random.Random,
        create_deadline_s: float,
        request_deadline_s: float,
    ) -> None:
        self.stack, self.session, self.rng = stack, session, rng
        self.create_deadline_s, self.request_deadline_s = create_deadline_s, request_deadline_s
        self.headers = {"Authorization": f"Bearer {stack.api_key}"}
        self.sent: list[Sent] = []
        self.logicals: list[Logical] = []
        self.inflight: dict[str, dict[int, tuple[Logical, str]]] = {
            s.name: {} for s in stack.serves
        }
        self.not_sent = 0  # due while MAX_INFLIGHT were out, or no process was up
        self._ids = itertools.count(1)
        self._turn = itertools.count()
        self._tag = f"{int(time.time()) % 100000:05d}"

    # -- sending -------------------------------------------------------------------------

    async def _target(self) -> Serve | None:
        """The next live process, round-robin; waits (bounded) while every one is down."""
        for _ in range(200):
            live = [s for s in self.stack.serves if s.up]
            if live:
                return live[next(self._turn) % len(live)]
            await asyncio.sleep(0.05)
        return None

    async def _send(
        self,
        method: str,
        path: str,
        logical: Logical,
        kind: str,
        *,
        body: dict[str, Any] | None = None,
        key: str | None = None,
        give_up_s: float | None = None,
    ) -> Sent | None:
        serve = await self._target()
        if serve is None:
            self.not_sent += 1
            return None
        deadline_s = (
            self.create_deadline_s if kind in ("create", "retry") else (self.request_deadline_s)
        )
        sent = Sent(kind, logical.phase, serve.name, deadline_s, logical.platforms, 0.0)
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        if key is not None:
            headers["Idempotency-Key"] = key
        # Long enough to see any overrun; shorter only when the client means to lose the answer.
        timeout = aiohttp.ClientTimeout(total=give_up_s or deadline_s * 2 + 5)
        epoch, token = serve.epoch, id(sent)
        self.inflight[serve.name][token] = (logical, kind)
        sent.started = time.monotonic()
        try:
            async with self.session.request(
                method,
                serve.url + path,
                data=orjson.dumps(body) if body is not None else None,
                headers=headers,
                timeout=timeout,
            ) as response:
                raw = await response.read()
                sent.status = response.status
                sent.replayed = response.headers.get("Idempotent-Replayed", "") == "true"
                parsed = orjson.loads(raw) if raw else None
                if isinstance(parsed, dict):
                    sent.cart_id = parsed.get("id") if response.status == 201 else None
                    sent.code = parsed.get("error") if response.status >= 400 else None
                    if kind == "list":
                        sent.cart_id = _first_id(parsed)
        except TimeoutError:
            sent.error, sent.abandoned = "client_timeout", give_up_s is not None
        except (aiohttp.ClientError, orjson.JSONDecodeError) as exc:
            sent.error = type(exc).__name__
        finally:
            sent.ended = time.monotonic()
            self.inflight[serve.name].pop(token, None)
        if sent.error is not None and (serve.epoch != epoch or not serve.up):
            sent.killed = True
        logical.sends.append(sent)
        self.sent.append(sent)
        return sent

    def _body(self, logical: Logical) -> dict[str, Any]:
        return {
            "skus": [{"sku_id": s.sku_id, "quantity": 1} for s in logical.stores],
            "customer_id": logical.id,
            "metadata": {"soak": logical.id},
        }

    # -- one logical create, by form -----------------------------------------------------

    def new_logical(self, phase: str) -> Logical:
        stores = self.stack.stores
        count = 1 if self.rng.random() < 0.6 else self.rng.choice((2, 3))
        chosen = tuple(self.rng.sample(stores, count))
        form = self.rng.choices(list(FORMS), weights=list(FORMS.values()))[0]
        logical = Logical(f"s{self._tag}-{next(self._ids)}", phase, form, chosen)
        self.logicals.append(logical)
        return logical

    async def run_logical(self, logical: Logical) -> None:
        body, key = self._body(logical), f"key-{logical.id}"
        form = logical.form
        if form == "retry_concurrent":
            first = asyncio.create_task(
                self._send("POST", "/v1/carts", logical, "create", body=body, key=key)
            )
            await asyncio.sleep(0.01)
            await self._send("POST", "/v1/carts", logical, "retry", body=body, key=key)
            await first
            return
        if form == "race_delete":
            await self._race_delete(logical, body, key)
            return
        give_up = self.rng.uniform(0.02, 0.15) if form == "retry_lost" else None
        sent = await self._send(
            "POST", "/v1/carts", logical, "create", body=body, key=key, give_up_s=give_up
        )
        if sent is None:
            return
        if form in ("retry_after", "retry_lost"):
            await asyncio.sleep(0.05)
            await self._send("POST", "/v1/carts", logical, "retry", body=body, key=key)
        elif form == "delete_after" and sent.cart_id:
            await self._send("DELETE", f"/v1/carts/{sent.cart_id}", logical, "delete")

    async def _race_delete(self, logical: Logical, body: dict[str, Any], key: str) -> None:
        """List the cart while its create is in flight and DELETE it: 409 cart_busy or 204."""
        create = asyncio.create_task(
            self._send("POST", "/v1/carts", logical, "create", body=body, key=key)
        )
        path = f"/v1/carts?customer_id={logical.id}&limit=1"
        ends = time.monotonic() + self.create_deadline_s
        while not create.done() and time.monotonic() < ends:
            listed = await self._send("GET", path, logical, "list")
            if listed is not None and listed.cart_id and not create.done():
                logical.found_pending = True
                await self._send("DELETE", f"/v1/carts/{listed.cart_id}", logical, "delete")
                break
            await asyncio.sleep(0.01)
        sent = await create
        if sent is not None and sent.cart_id:  # whatever the race did, the client wants it gone
            deleted = await self._send("DELETE", f"/v1/carts/{sent.cart_id}", logical, "delete")
            if deleted is not None and deleted.status == 409:
                await asyncio.sleep(1.0)  # Retry-After
                await self._send("DELETE", f"/v1/carts/{sent.cart_id}", logical, "delete")

    # -- an open-loop phase --------------------------------------------------------------

    async def run_phase(self, phase: str, seconds: float, rate: float) -> int:
        """Start ``rate`` logical creates a second for ``seconds`` (open loop), then wait
        (bounded) for them to end. Returns how many were started."""
        loop = asyncio.get_running_loop()
        # The harness's own garbage collections would pause every request in flight at once
        # and be measured as the server's latency: collected between phases, not during.
        gc.collect()
        gc.disable()
        try:
            return await self._run_phase(loop, phase, seconds, rate)
        finally:
            gc.enable()

    async def _run_phase(
        self, loop: asyncio.AbstractEventLoop, phase: str, seconds: float, rate: float
    ) -> int:
        start = loop.time()
        tasks: set[asyncio.Task[None]] = set()
        started = 0
        for index in range(math.floor(seconds * rate)):
            await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
            if len(tasks) >= MAX_INFLIGHT:
                self.not_sent += 1
                continue
            task = loop.create_task(self.run_logical(self.new_logical(phase)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            started += 1
        if tasks:
            bound = self.create_deadline_s * 3 + 10
            _, pending = await asyncio.wait(set(tasks), timeout=bound)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        return started


def _first_id(listing: dict[str, Any]) -> str | None:
    """The first cart of a ``GET /v1/carts`` page that is still being created, if any."""
    for cart in listing.get("data") or []:
        if isinstance(cart, dict) and any(
            b.get("status") == "PENDING" for b in cart.get("bags") or []
        ):
            return str(cart["id"])
    return None
