"""The explorer's state machine base: the per-example state and the helpers every rule uses.

Why apart from the rules: recording a step (its name and fault kind for the interleaving's
hash, its call for the report), running a coroutine on the world's loop and judging what it
finds, arming faults and picking carts are shared by the app's rules (``app_rules.py``) and the
background, time and fault rules (``machine.py``).
"""

from __future__ import annotations

import inspect
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.control import current_build_context
from hypothesis.errors import InvalidArgument
from hypothesis.stateful import RuleBasedStateMachine

from explore.faults import PLATFORM_FAULTS, PlatformFault
from explore.stores import DEADLINE_S, MERCHANTS
from explore.world import Finding, Request, World

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
    shrink_s: float = 60.0  # how long hypothesis may shrink one finding
    # Finding signatures (``Finding.signature``) found already: counted, not raised again.
    suppressed: set[str] = field(default_factory=set)
    shortest: dict[str, list[str]] = field(default_factory=dict)  # signature -> failing calls
    repeats: dict[str, int] = field(default_factory=dict)


class StepMachine(RuleBasedStateMachine):
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
        final = _final_replay()
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
        """Run ``coro`` on the world's loop; a finding fails the example, unless its signature
        was found already in this run (then it is counted and the example goes idle)."""
        try:
            return self.world.run(coro)
        except Finding as finding:
            self.failed = True
            if finding.signature not in self.log.suppressed:
                # The first failure of a chunk starts its shrink budget.
                ends = self.world.loop.time() + self.log.shrink_s
                self.log.out_of_time = min(self.log.out_of_time, ends)
                shortest = self.log.shortest.get(finding.signature)
                if shortest is None or len(self.calls) <= len(shortest):
                    self.log.shortest[finding.signature] = list(self.calls)
                raise
            seen = finding.signature
            self.log.repeats[seen] = self.log.repeats.get(seen, 0) + 1
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


def _final_replay() -> bool:
    """Whether hypothesis is replaying the minimal failing example (False outside hypothesis:
    a sequence run by hand, ``runner.run_sequence``)."""
    try:
        return current_build_context().is_final
    except InvalidArgument:
        return False


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
