"""The explorer's machine: hypothesis's ``RuleBasedStateMachine`` over one ``World``.

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

from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from explore.app_rules import AppRules
from explore.clock import jump_clock
from explore.faults import PLATFORM_FAULTS, WRITE_PHASES, PlatformFault
from explore.invariants import check_quiescent, check_step
from explore.steps import JUMPS, LABELS, RunLog, faults, indexes
from explore.world import World, settle_everything
from orchestrator.store.database import WritePhase

__all__ = ["ExplorerMachine", "RunLog", "machine_for"]


class ExplorerMachine(AppRules):
    """The app's rules (``app_rules.py``) and the rest: background rounds, gates, the clock,
    faults, settling, the invariants and the teardown."""

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
        self.world.jumped(JUMPS[how])
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
        if not self.idle and self.calls:  # before the first step there is nothing of ours
            self._judged(check_step(self.world))

    def teardown(self) -> None:
        self.log.examples += 1
        self.log.interleavings.add(hashlib.blake2b("|".join(self.trace).encode()).hexdigest())
        if self.idle or self.failed:
            self.world.run(self.world.drain())
            return
        self._settle_and_check()


def machine_for(world: World, log: RunLog) -> type[ExplorerMachine]:
    return type("Explorer", (ExplorerMachine,), {"world": world, "log": log})
