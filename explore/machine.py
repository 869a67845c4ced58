"""The rules: hypothesis's ``RuleBasedStateMachine`` over one ``World``.

Why hypothesis: it draws the sequence of rules and their arguments, replays it from a seed and
shrinks a failing one to a minimal sequence for free. Each rule starts its operation as a
``Flight`` (a task that may park at a gate inside a platform call, ``faults.py``) and lets the
flights run until they end or wait (``World.advance``); later rules resume parked calls, jump
the clock, run the reconciler, the outbox and the sweeper, or arm database failures, so
operations overlap as they would across requests and processes. The step invariants run after
every rule; the teardown settles everything and runs the quiescent ones.

``machine_for(world)`` binds the class to a world (hypothesis builds one machine per example).
Each example's trace (rule names and fault kinds) is hashed into ``RunLog.interleavings``.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from adapters.base import LineRequest
from explore.clock import jump_clock
from explore.faults import PLATFORM_FAULTS, WRITE_PHASES, PlatformFault
from explore.invariants import ReplayDiffers, check_quiescent, check_step
from explore.world import (
    DEADLINE_S,
    MERCHANTS,
    Answer,
    Finding,
    Request,
    World,
    settle_everything,
)
from orchestrator.store.database import WritePhase

LABELS = [label for label, *_ in MERCHANTS]
# How far a clock jump goes: past a create's lease and the reconciler's cut-off, past a cart
# lease (request_deadline_s * 2 + 5), past the outbox's longest backoff, past cart expiry.
JUMPS = {
    "past_settle_cutoff": DEADLINE_S + 6,
    "past_lease": DEADLINE_S * 2 + 6,
    "past_backoff": 301.0,
    "past_expiry": 31 * 86400.0,
}
faults = st.none() | st.sampled_from(PLATFORM_FAULTS)
indexes = st.integers(min_value=0, max_value=7)


@dataclass
class RunLog:
    """What a run saw, across examples: steps, distinct interleavings, rules and faults."""

    interleavings: set[str] = field(default_factory=set)
    rules: dict[str, int] = field(default_factory=dict)
    examples: int = 0
    out_of_time: float = float("inf")  # loop time past which examples do nothing (shrinking)
    suppressed: set[str] = field(default_factory=set)  # kinds found already: counted, not raised
    shortest: dict[str, list[str]] = field(default_factory=dict)  # kind -> shortest failing calls
    repeats: dict[str, int] = field(default_factory=dict)


class ExplorerMachine(RuleBasedStateMachine):
    world: World
    log: RunLog

    def __init__(self) -> None:
        super().__init__()
        self.trace: list[str] = []  # rule names and fault kinds: the interleaving's identity
        self.calls: list[str] = []  # the rules as called, arguments and all
        self.keys = 0
        self.failed = False
        # Out of time, examples do nothing (a long shrink ends), except hypothesis's final
        # replay of the minimal one, which prints its steps.
        final = current_build_context().is_final
        self.idle = self.world.loop.time() >= self.log.out_of_time and not final
        self.world.run(self.world.reset())

    # --- helpers --------------------------------------------------------------------------

    def _step(self, name: str, *detail: Any) -> bool:
        """Record the step; False when the run is out of time (the example does nothing)."""
        if self.idle:
            return False
        self.trace.append(":".join([name, *(str(d) for d in detail if d is not None)]))
        self.calls.append(_rule_call())
        self.log.rules[name] = self.log.rules.get(name, 0) + 1
        self.world.stats.steps += 1
        return True

    def _judged(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the world's loop; a finding fails the example, unless its kind was
        found already in this run (then it is counted and the example goes idle)."""
        try:
            return self.world.run(coro)
        except Finding as finding:
            self.failed = True
            if finding.kind not in self.log.suppressed:
                shortest = self.log.shortest.get(finding.kind)
                if shortest is None or len(self.calls) <= len(shortest):
                    self.log.shortest[finding.kind] = list(self.calls)
                raise
            self.log.repeats[finding.kind] = self.log.repeats.get(finding.kind, 0) + 1
            self.idle = True
            return None

    def _advance(self) -> None:
        self._judged(self.world.advance())

    def _arm(self, label: str, fault: PlatformFault | None) -> None:
        if fault is not None:
            self.world.platform_faults.arm(label, fault)

    def _cart(self, index: int) -> dict[str, Any] | None:
        known = list(self.world.known_carts)  # in the order they were first seen
        return self.world.known_carts[known[index % len(known)]] if known else None

    def _key(self, keyed: bool) -> str | None:
        if not keyed:
            return None
        self.keys += 1
        return f"explore-{self.keys}"

    def _request(self, name: str, request: Request, cart_id: str | None = None) -> None:
        self.world.start_request(name, request, cart_id)
        self._advance()

    # --- the app's operations -------------------------------------------------------------

    @rule(
        merchants=st.lists(st.sampled_from(LABELS), min_size=1, max_size=3, unique=True),
        quantity=st.integers(1, 3),
        fault=faults,
        fault_on=indexes,
        keyed=st.booleans(),
    )
    def create_cart(
        self,
        merchants: list[str],
        quantity: int,
        fault: PlatformFault | None,
        fault_on: int,
        keyed: bool,
    ) -> None:
        if not self._step("create", len(merchants), fault):
            return
        self._arm(merchants[fault_on % len(merchants)], fault)
        skus = [{"sku_id": self.world.skus[m][0], "quantity": quantity} for m in merchants]
        self._request("create", Request("POST", "/v1/carts", {"skus": skus}, self._key(keyed)))

    @rule(cart=indexes)
    def read_cart(self, cart: int) -> None:
        """GET the cart (no platform call): the rules after it see its lines as they are."""
        found = self._cart(cart)
        if not self._step("read_cart") or found is None:
            return
        path = f"/v1/carts/{found['id']}"
        self.world.start_request("read_cart", Request("GET", path), found["id"])
        self._advance()

    @rule(cart=indexes, label=st.sampled_from(LABELS), sku=st.integers(0, 1), fault=faults)
    def add_sku(self, cart: int, label: str, sku: int, fault: PlatformFault | None) -> None:
        found = self._cart(cart)
        if not self._step("add_sku", fault) or found is None:
            return
        self._arm(label, fault)
        body = {"sku_id": self.world.skus[label][sku], "quantity": 1}
        path = f"/v1/carts/{found['id']}/skus"
        self._request("add_sku", Request("POST", path, body), found["id"])

    @rule(cart=indexes, line=indexes, quantity=st.integers(0, 3), fault=faults)
    def set_quantity(
        self, cart: int, line: int, quantity: int, fault: PlatformFault | None
    ) -> None:
        found = self._cart(cart)
        lines = [(b, s) for b in (found or {}).get("bags", []) for s in b["skus"]]
        if not self._step("set_quantity", fault) or found is None or not lines:
            return
        bag, sku = lines[line % len(lines)]
        self._arm(self.world.label_of(bag["merchant_id"]), fault)
        path = f"/v1/carts/{found['id']}/skus/{sku['id']}"
        self._request("set_quantity", Request("PATCH", path, {"quantity": quantity}), found["id"])

    @rule(cart=indexes, line=indexes, fault=faults)
    def remove_sku(self, cart: int, line: int, fault: PlatformFault | None) -> None:
        found = self._cart(cart)
        lines = [(b, s) for b in (found or {}).get("bags", []) for s in b["skus"]]
        if not self._step("remove_sku", fault) or found is None or not lines:
            return
        bag, sku = lines[line % len(lines)]
        self._arm(self.world.label_of(bag["merchant_id"]), fault)
        path = f"/v1/carts/{found['id']}/skus/{sku['id']}"
        self._request("remove_sku", Request("DELETE", path), found["id"])

    @rule(cart=indexes, fault=faults, fault_on=indexes)
    def delete_cart(self, cart: int, fault: PlatformFault | None, fault_on: int) -> None:
        found = self._cart(cart)
        if not self._step("delete_cart", fault) or found is None:
            return
        self._arm(LABELS[fault_on % len(LABELS)], fault)
        self._request("delete_cart", Request("DELETE", f"/v1/carts/{found['id']}"), found["id"])

    @rule(cart=indexes, bag=indexes, fault=faults)
    def retry_bag(self, cart: int, bag: int, fault: PlatformFault | None) -> None:
        found = self._cart(cart)
        bags = (found or {}).get("bags", [])
        if not self._step("retry_bag", fault) or found is None or not bags:
            return
        chosen = bags[bag % len(bags)]
        self._arm(self.world.label_of(chosen["merchant_id"]), fault)
        path = f"/v1/carts/{found['id']}/bags/{chosen['id']}/retry"
        self._request("retry_bag", Request("POST", path), found["id"])

    @rule(label=st.sampled_from(LABELS), existing=st.booleans(), fault=faults, keyed=st.booleans())
    def save_reference(
        self, label: str, existing: bool, fault: PlatformFault | None, keyed: bool
    ) -> None:
        """Save by reference a shopper's own cart, or (``existing``) one a bag already holds."""
        if not self._step("save_reference", "existing" if existing else "shopper", fault):
            return
        fake = self.world.fake(label)
        held = [cid for cid, cart in fake.carts.items() if cart.made_for]
        shopper = not (existing and held)
        external_id = self.world.run(self._shopper_cart(label)) if shopper else held[0]
        self._arm(label, fault)
        body = {"cart_id": external_id, "source": self.world.merchant_ids[label]}
        self._request(
            "save_reference", Request("POST", "/v1/cart-references", body, self._key(keyed))
        )

    async def _shopper_cart(self, label: str) -> str:
        """A cart the shopper made on the store itself (no multicart call, no fault)."""
        fake = self.world.fake(label)
        hook, fake.hook = fake.hook, None
        try:
            ref = next(refs[0] for name, _, _, refs in MERCHANTS if name == label)
            made = await fake.create_cart([LineRequest(ref, 1)], currency="USD", deadline=1e12)
        finally:
            fake.hook = hook
        return made.external_id

    @rule(index=indexes)
    def replay(self, index: int) -> None:
        """Send a keyed request again, same key and body: a replay answers what the first did."""
        keyed = list(self.world.keyed)
        if not self._step("replay") or not keyed:
            return
        first_request, first, faulted = self.world.keyed[keyed[index % len(keyed)]]
        struck = self.world.db_faults.struck

        async def replay_and_compare() -> Answer:
            again: Answer = await self.world.http(first_request)
            said = f"{first_request.method} {first_request.path} key {first_request.key}"
            if again.replayed and (again.status, again.body) != (first.status, first.body):
                raise ReplayDiffers(
                    f"{said}: first {first.status} {first.body}, replayed {again.status}"
                    f" {again.body}"
                )
            ran_again = not again.replayed and again.status not in (409, 503)
            faulted_now = faulted or self.world.db_faults.struck != struck
            if ran_again and 200 <= first.status < 300 and not faulted_now:
                raise ReplayDiffers(f"{said} ran again (answered {again.status}) after a 2xx")
            return again

        # A flight like any other: run again, the request may park at a gate.
        self.world.start("replay", replay_and_compare)
        self._advance()

    # --- the background rounds ------------------------------------------------------------

    @rule(fault=faults, fault_on=indexes)
    def reconcile_round(self, fault: PlatformFault | None, fault_on: int) -> None:
        if not self._step("reconcile", fault):
            return
        self._arm(LABELS[fault_on % len(LABELS)], fault)
        reconciler = self.world.reconciler

        async def round_() -> None:
            await reconciler.run_once()

        self.world.start("reconcile", round_)
        self._advance()

    @rule(fault=faults, fault_on=indexes)
    def outbox_round(self, fault: PlatformFault | None, fault_on: int) -> None:
        if not self._step("outbox", fault):
            return
        self._arm(LABELS[fault_on % len(LABELS)], fault)
        world = self.world

        async def round_() -> None:
            await world.deleter.run_once(world.sweeper.clock())

        self.world.start("outbox", round_)
        self._advance()

    @rule(fault=faults, fault_on=indexes)
    def sweep_round(self, fault: PlatformFault | None, fault_on: int) -> None:
        if not self._step("sweep", fault):
            return
        self._arm(LABELS[fault_on % len(LABELS)], fault)
        sweeper = self.world.sweeper

        async def round_() -> None:
            await sweeper.run_once()

        self.world.start("sweep", round_)
        self._advance()

    # --- time, gates, database faults, settling -------------------------------------------

    @rule(index=indexes)
    def resume(self, index: int) -> None:
        """Let one parked platform call go on."""
        if not self._step("resume") or not self.world.platform_faults.parked:
            return
        self.world.platform_faults.open(index)
        self._advance()

    @rule(how=st.sampled_from(sorted(JUMPS)))
    def jump(self, how: str) -> None:
        if not self._step("jump", how):
            return
        jump_clock(JUMPS[how])
        self._advance()

    @rule(label=st.sampled_from(LABELS), fault=st.sampled_from(PLATFORM_FAULTS))
    def arm_fault(self, label: str, fault: PlatformFault) -> None:
        """The next call to ``label``'s store, whatever makes it, meets ``fault`` (after any
        fault armed already)."""
        if self._step("arm", fault):
            self._arm(label, fault)

    @rule(skip=st.integers(0, 3), phase=st.sampled_from(WRITE_PHASES))
    def fail_a_write(self, skip: int, phase: WritePhase) -> None:
        """The write transaction ``skip`` writes from now fails at ``phase``."""
        if not self._step("db_fault", phase):
            return
        self.world.db_faults.arm(skip, phase)

    @rule()
    def settle(self) -> None:
        if not self._step("settle"):
            return
        self._settle_and_check()

    def _settle_and_check(self) -> None:
        async def settle_and_check() -> None:
            await settle_everything(self.world)
            await check_quiescent(self.world)

        self._judged(settle_and_check())

    @invariant()
    def step_invariants(self) -> None:
        if not self.idle:
            self._judged(check_step(self.world))

    def teardown(self) -> None:
        self.log.examples += 1
        self.log.interleavings.add(hashlib.blake2b("|".join(self.trace).encode()).hexdigest())
        if self.idle or self.failed:
            self.world.run(self.world.drain())
            return
        self._settle_and_check()


def _rule_call() -> str:
    """``rule(arg=value, ...)`` of the rule calling ``_step`` (its frame's arguments)."""
    frame = inspect.currentframe()
    caller = frame.f_back.f_back if frame is not None and frame.f_back is not None else None
    if caller is None:
        return "?"
    code = caller.f_code
    names = code.co_varnames[1 : code.co_argcount]  # past self
    args = ", ".join(f"{n}={caller.f_locals[n]!r}" for n in names)
    return f"state.{code.co_name}({args})"


def machine_for(world: World, log: RunLog) -> type[ExplorerMachine]:
    return type("Explorer", (ExplorerMachine,), {"world": world, "log": log})
