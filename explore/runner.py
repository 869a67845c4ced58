"""Bounded and long runs of the explorer, their statistics, and what they found.

Why: the same machine serves ``make test`` (a bounded run per engine, a fixed seed, failing
honestly when an invariant breaks) and ``make explore`` (``EXPLORE_SECONDS`` per engine, seeds
from ``EXPLORE_SEED`` or fresh ones). A run is a series of chunks, each one hypothesis run of
``CHUNK_EXAMPLES`` examples under its own seed (``base seed + chunk number``), until the time
is spent. A failing chunk's finding (hypothesis shrinks it, for at most ``shrink_s``; the
minimal steps are in the exception's notes) is recorded with its seed, and its signature (the
invariant, and the platform or operation: ``Finding.signature``) is counted rather than raised
in later chunks, so that the run goes on to find the others.
``EXPLORE_SEED=<chunk seed>`` replays one chunk first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, seed, settings
from hypothesis.errors import Flaky
from hypothesis.reporting import with_reporter
from hypothesis.stateful import run_state_machine_as_test

from explore.clock import shift_wall_clock
from explore.invariants import INVARIANTS
from explore.machine import RunLog, machine_for
from explore.world import Finding, World

CHUNK_EXAMPLES = 10
STEPS_PER_EXAMPLE = 30
SHRINK_S = 60.0  # how long hypothesis may shrink one finding (then examples do nothing)
CHECKED = (
    *INVARIANTS,
    "idempotent_replay_differs",
    "unexpected_500",
    "escaped_exception",
)


@dataclass
class FoundIssue:
    kind: str
    seed: int
    message: str
    steps: list[str]


@dataclass
class Report:
    engine: str
    seconds: float = 0.0
    chunks: int = 0
    steps: int = 0
    examples: int = 0
    interleavings: int = 0
    findings: list[FoundIssue] = field(default_factory=list)
    repeats: dict[str, int] = field(default_factory=dict)
    rules: dict[str, int] = field(default_factory=dict)
    platform_faults: dict[str, int] = field(default_factory=dict)
    db_faults: dict[str, int] = field(default_factory=dict)
    answers: dict[int, int] = field(default_factory=dict)
    tolerated_500: int = 0
    flaky: int = 0  # shrunk replays that diverged (the service's own timing): reported apart
    reported: list[str] = field(default_factory=list)

    def render(self) -> str:
        lines = [
            f"explore [{self.engine}]: {self.seconds:.0f} s, {self.chunks} chunks,"
            f" {self.examples} examples, {self.steps} steps,"
            f" {self.interleavings} distinct interleavings",
            f"  invariants checked: {', '.join(CHECKED)}",
            f"  rules: {dict(sorted(self.rules.items()))}",
            f"  platform faults struck: {dict(sorted(self.platform_faults.items()))}",
            f"  database faults struck: {dict(sorted(self.db_faults.items()))}",
            f"  answers by status: {dict(sorted(self.answers.items()))} (500s while an injected"
            f" database failure struck, not findings: {self.tolerated_500})",
            f"  shrunk replays that diverged (timing): {self.flaky}",
            f"  findings: {len(self.findings)}"
            + (f" (seen again later: {self.repeats})" if self.repeats else ""),
        ]
        for found in self.findings:
            lines.append(f"  - {found.kind}  (replay: EXPLORE_SEED={found.seed})")
            lines.append(f"    {found.message}")
            lines += [f"      {step}" for step in found.steps]
        return "\n".join(lines)


def _issues(error: BaseException) -> list[BaseException]:
    if isinstance(error, BaseExceptionGroup):
        return [leaf for inner in error.exceptions for leaf in _issues(inner)]
    return [error]


def _collect(into: list[str]) -> Callable[[object], None]:
    return lambda text: into.append(str(text))


def _steps(error: BaseException, reported: list[str]) -> list[str]:
    """The shrunk steps: hypothesis's notes on the error, or what it reported last."""
    notes = getattr(error, "__notes__", [])
    text = [line for note in [*notes, *reported] for line in str(note).splitlines()]
    starts = [i for i, line in enumerate(text) if line.startswith("state = ")]
    if not starts:
        return [line for line in text if line.strip()][-40:]
    shown = text[starts[-1] :]
    ends = [i for i, line in enumerate(shown) if line.startswith("state.teardown()")]
    return shown[: ends[0] + 1] if ends else shown


Step = tuple[str, dict[str, Any]]  # a rule's name and its arguments


def run_sequence(database_url: str, steps: Sequence[Step]) -> Finding | None:
    """Run ``steps`` (rules by name, then the teardown's settle and checks) on a fresh world,
    outside hypothesis: the finding they lead to, or None. For the shrunk sequences of known
    findings, kept as tests (``tests/explore/test_findings.py``)."""
    world = World(database_url)
    with shift_wall_clock():
        world.open()
        try:
            machine = machine_for(world, RunLog())()
            try:
                for name, arguments in steps:
                    getattr(machine, name)(**arguments)
                    machine.step_invariants()
                machine.teardown()
            except Finding as finding:
                world.run(world.drain())
                return finding
        finally:
            world.close()
    return None


def explore(
    database_url: str,
    engine: str,
    seconds: float,
    base_seed: int,
    shrink_s: float = SHRINK_S,
) -> Report:
    """Run chunks for ``seconds`` on the database at ``database_url`` (migrated, empty); each
    finding is shrunk for at most ``shrink_s`` (past ``seconds`` too)."""
    report = Report(engine)
    log = RunLog()
    log.shrink_s = shrink_s
    world = World(database_url)
    started = time.monotonic()
    chunk = 0
    with shift_wall_clock():
        world.open()
        try:
            ends = world.loop.time() + seconds
            while chunk == 0 or world.loop.time() < ends:
                _run_chunk(world, log, report, base_seed + chunk)
                chunk += 1
        finally:
            world.close()
    report.seconds = time.monotonic() - started
    report.chunks = chunk
    _count(report, world, log)
    return report


_CHUNK_SETTINGS = settings(
    max_examples=CHUNK_EXAMPLES,
    stateful_step_count=STEPS_PER_EXAMPLE,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)


def _run_chunk(world: World, log: RunLog, report: Report, chunk_seed: int) -> None:
    """One hypothesis run of the machine from ``chunk_seed``; what fails is a finding."""
    log.out_of_time = float("inf")  # until this chunk's first finding
    machine = seed(chunk_seed)(machine_for(world, log))
    reported: list[str] = []
    try:
        with with_reporter(_collect(reported)):
            run_state_machine_as_test(machine, settings=_CHUNK_SETTINGS)
    except BaseException as error:  # every failure is a finding
        if isinstance(error, KeyboardInterrupt):
            raise
        report.reported = reported
        for issue in _issues(error):
            if isinstance(issue, Flaky) and not isinstance(issue, Finding):
                report.flaky += 1  # a replay that went otherwise (timing)
                continue
            kind = issue.signature if isinstance(issue, Finding) else type(issue).__name__
            log.suppressed.add(kind)
            steps = _steps(issue, reported) or [
                "(hypothesis printed no replay; the shortest failing example seen:)",
                *log.shortest.get(kind, []),
            ]
            report.findings.append(FoundIssue(kind, chunk_seed, str(issue)[:600], steps))


def _count(report: Report, world: World, log: RunLog) -> None:
    report.steps = world.stats.steps
    report.examples = log.examples
    report.interleavings = len(log.interleavings)
    report.repeats = dict(log.repeats)
    report.rules = dict(log.rules)
    report.platform_faults = dict(world.platform_faults.struck)
    report.db_faults = dict(world.db_faults.struck_by_phase)
    report.answers = dict(world.stats.answers)
    report.tolerated_500 = world.stats.tolerated_500
