"""The benchmark's scenarios: what runs against what, at which rates, in which order.

A ``System`` is something the load generator can be pointed at (multicart on SQLite, on
PostgreSQL with one or two processes, or the reference), with one body file per cart shape.
Every measurement is a separate ``python -m bench.loadgen`` process; repetitions interleave the
systems (reference, multicart, reference, multicart, ...) so drift hits both alike.

- Capacity (``capacity``): the highest rate that is *sustained* (errors < 0.1%, achieved rate at
  least 97% of offered, p99 < 1 s), found by growing the rate geometrically until a probe fails and
  then bisecting to within ``tolerance``; later repetitions start near the earlier ones' median.
- Fixed-rate runs (``fixed``): half of multicart's capacity, the fan-out shapes at 50 ms.

The processes measured, and how a system is registered, are ``bench.stack``'s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

REPO = Path(__file__).resolve().parents[1]
SUSTAINED_ERROR_RATE = 0.001
SUSTAINED_ACHIEVED = 0.97
SUSTAINED_P99_MS = 1000.0
FANOUT_SHARE = 0.15  # fan-out rate: this share of multicart's capacity (10-bag carts: ~half)
WARM_RATE, WARM_S = 60.0, 3.0  # a fresh PostgreSQL system's warm-up before its first probe


@dataclass(frozen=True)
class Profile:
    """How long and how often: ``FULL`` (< 15 min with set-up) or ``QUICK`` (a smoke run)."""

    name: str
    reps: int
    warmup_s: float
    probe_s: float  # measured seconds of one capacity probe
    fixed_s: float  # measured seconds of a fan-out run
    half_s: float  # measured seconds of a half-capacity run (enough samples for a p99)
    first_rate: float  # the first probe of the first capacity search
    tolerance: float  # bisect until highest-failed / highest-sustained <= 1 + tolerance
    max_probes: int
    http_s: float  # measured seconds of one HTTP-stack run
    reference_on_postgres: bool
    budget_s: float  # scenarios are cut short (and say so) past this
    overload_s: float = 10.0  # measured seconds of the overload run (bench/overload.py)
    overload_reps: int = 1
    http_reps: int = 1


# The full profile's shares of its 15 minutes: the engines section grew a 4-worker
# system (about 90 s of probes over 3 repetitions), paid for by 4 s fan-out runs (were 5 s),
# 2 overload runs of 8 s (were 3 of 10 s) and 2 HTTP-stack repetitions (were 3).
FULL = Profile("full", 3, 1.0, 4.0, 4.0, 10.0, 120.0, 0.08, 9, 2.0, True, 11 * 60, 8.0, 2, 2)
QUICK = Profile("quick", 1, 0.5, 2.0, 3.0, 4.0, 100.0, 0.2, 6, 1.0, False, 100, 3.0)


@dataclass
class System:
    """A load target: one or more URLs, the app's key, and a body file per cart shape."""

    name: str
    urls: list[str]
    api_key: str
    bodies: dict[str, Path]


@dataclass
class Probe:
    system: str
    rate: float
    sustained: bool
    result: dict[str, Any]


@dataclass
class Runner:
    """Runs load-generator processes and keeps every probe for the plot and the JSON file."""

    profile: Profile
    before_run: Callable[[], None] = lambda: None  # e.g. reset the sandboxes
    started: float = field(default_factory=time.monotonic)
    probes: list[Probe] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def over_budget(self) -> bool:
        return self.elapsed() > self.profile.budget_s

    def load(
        self,
        system: System,
        rate: float,
        shape: str,
        seconds: float,
        *,
        timeout_s: float = 2.0,
        max_inflight: int = 256,
    ) -> dict[str, Any]:
        """One open-loop run of ``rate`` carts/s of ``shape`` against ``system`` (a process)."""
        argv = [sys.executable, "-m", "bench.loadgen"]
        for url in system.urls:
            argv += ["--url", url]
        argv += ["--rate", f"{rate:.3f}", "--duration", str(seconds)]
        argv += ["--warmup", str(self.profile.warmup_s), "--timeout", str(timeout_s)]
        argv += ["--body-file", str(system.bodies[shape])]
        argv += ["--header", f"Authorization: Bearer {system.api_key}"]
        argv += ["--max-inflight", str(max_inflight)]
        bound = self.profile.warmup_s + seconds + timeout_s + 30
        self.before_run()
        done = subprocess.run(  # noqa: S603 - our own module
            argv, cwd=REPO, capture_output=True, text=True, timeout=bound, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"load generator failed ({done.returncode}): {done.stderr[-2000:]}")
        result: dict[str, Any] = orjson.loads(done.stdout)
        result["system"], result["shape"] = system.name, shape
        return result

    def probe(self, system: System, rate: float) -> bool:
        """One capacity probe of 3-bag carts; True when ``rate`` was sustained."""
        result = self.load(system, rate, "3", self.profile.probe_s)
        ok = sustained(result)
        self.probes.append(Probe(system.name, rate, ok, result))
        lat = result["latency_ms"]
        print(
            f"  {system.name:<22} {rate:7.1f}/s  {'ok  ' if ok else 'FAIL'} "
            f"achieved {result['achieved_rate']:7.1f}/s  errors {result['error_rate']:.4f}  "
            f"p50 {lat['p50']:7.1f} ms  p99 {lat['p99']:7.1f} ms",
            flush=True,
        )
        time.sleep(0.3 if ok else 1.2)  # let an overloaded server drain its backlog
        return ok

    def capacity(self, system: System, start: float, grow: float) -> float:
        return search(lambda rate: self.probe(system, rate), start, grow, self.profile)


def sustained(result: dict[str, Any]) -> bool:
    """Sustained: almost nothing failed, all of it got through, and p99 stayed bounded."""
    p99 = result["latency_ms"]["p99"]
    return bool(
        result["requests"] > 0
        and result["error_rate"] < SUSTAINED_ERROR_RATE
        and result["achieved_rate"] >= SUSTAINED_ACHIEVED * result["offered_rate"]
        and p99 == p99  # not NaN
        and p99 < SUSTAINED_P99_MS
    )


def search(probe: Callable[[float], bool], start: float, grow: float, profile: Profile) -> float:
    """The highest rate ``probe`` sustains: grow by ``grow`` until a failure, then bisect.

    Returns the highest sustained rate probed (0.0 if none was), within ``1 + tolerance`` of
    the lowest failed one, after at most ``profile.max_probes`` probes.
    """
    best, worst = 0.0, float("inf")
    rate = start
    for _ in range(profile.max_probes):
        if probe(rate):
            best = max(best, rate)
        else:
            worst = min(worst, rate)
        if worst == float("inf"):
            rate = best * grow
        elif best == 0.0:
            rate = worst / grow
            if rate < 1.0:
                break
        elif worst / best <= 1.0 + profile.tolerance:
            break
        else:
            rate = (best * worst) ** 0.5
    return best


def capacity_round(
    runner: Runner,
    systems: list[System],
    seeds: dict[str, float],
    before: Callable[[System], None] = lambda _system: None,
) -> dict[str, list[float]]:
    """Interleaved capacity searches, ``reps`` times each system in turn: capacities by system.

    A system's first search starts at ``seeds[name]`` (else the profile's first rate); each
    median found is written back into ``seeds``. ``before(system)`` runs before each search
    (``OnDemand`` starts the system's processes there).
    """
    found: dict[str, list[float]] = {s.name: [] for s in systems}
    for rep in range(runner.profile.reps):
        if rep and runner.over_budget():
            runner.notes.append(f"capacity of {[s.name for s in systems]}: {rep} repetitions")
            break
        for system in systems:
            previous = found[system.name]
            if previous:
                start, grow = 0.95 * statistics.median(previous), 1.1
            else:
                start, grow = seeds.get(system.name, runner.profile.first_rate), 1.6
            print(f"capacity {system.name} (repetition {rep + 1})", flush=True)
            before(system)
            previous.append(runner.capacity(system, start, grow))
    for name, values in found.items():
        seeds[name] = statistics.median(values)
    return found


def fixed_round(
    runner: Runner, runs: list[tuple[System, str]], rate: float, label: str, seconds: float
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """``reps`` interleaved fixed-rate runs of each (system, shape); results by system, shape."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for rep in range(runner.profile.reps):
        if rep and runner.over_budget():
            runner.notes.append(f"{label}: {rep} repetitions (time budget)")
            break
        for system, shape in runs:
            result = runner.load(system, rate, shape, seconds)
            lat = result["latency_ms"]
            print(
                f"  {label} {system.name:<16} {shape:>2}-bag {rate:6.1f}/s  "
                f"errors {result['error_rate']:.4f}  p50 {lat['p50']:6.1f}  "
                f"p90 {lat['p90']:6.1f}  p99 {lat['p99']:6.1f}  max {lat['max']:6.1f} ms",
                flush=True,
            )
            out.setdefault(system.name, {}).setdefault(shape, []).append(result)
            time.sleep(0.3)
    return out
