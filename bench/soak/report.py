"""The soak's figures and verdict, from the requests sent and the invariant count.

Why separate: the figures are pure functions of what ``traffic`` recorded and what
``audit`` counted, so they can be tested without processes, and the CLI and the short
test in ``make test`` read the same verdict.

Verdict (``failures``): no duplicate external cart, no orphan (undetectable orphans, the
documented case, are counted apart), no dangling bag (a live bag pointing at an external cart
the platform does not hold), no unknown outcome left unresolved once the reconciler has
settled (a bag still ``PENDING``/``UNKNOWN``, an ``unknown_create`` entry still pending), no
answered request later than its deadline + 10%, and,
once the server honours ``Idempotency-Key`` (it replayed at least once), no second cart made by
a retry under the same key. The degraded-phase p99 comparison is printed with its own verdict.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.loadgen import percentile
from bench.soak.audit import Audit, DbState
from bench.soak.traffic import RETRY_FORMS, Sent, Traffic

DEADLINE_SLACK = 1.10  # an answer may come at most 10% past its deadline
P99_SLACK = 1.20  # the other platforms' p99 while one platform fails, against the healthy phase


@dataclass
class Result:
    engine: str
    figures: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures


def latency_bound(sent: list[Sent]) -> dict[str, Any]:
    """The answered request latest against its own deadline, and how many overran by > 10%."""
    timed = [s for s in sent if s.timed]
    if not timed:
        return {"ratio": 0.0, "over": 0, "timed": 0}
    worst = max(timed, key=lambda s: s.latency / s.deadline_s)
    over = [s for s in timed if s.latency > DEADLINE_SLACK * s.deadline_s]
    return {
        "ratio": worst.latency / worst.deadline_s,
        "worst_s": worst.latency,
        "deadline_s": worst.deadline_s,
        "kind": worst.kind,
        "phase": worst.phase,
        "status": worst.status,
        "over": len(over),
        "timed": len(timed),
    }


def degraded_p99(sent: list[Sent], platform: str) -> dict[str, Any]:
    """p99 of creates touching none of ``platform``'s stores: healthy phase against degraded."""

    def p99(*phases: str) -> tuple[float, int]:
        values = sorted(
            s.latency
            for s in sent
            if s.phase in phases and s.kind == "create" and s.timed and platform not in s.platforms
        )
        return percentile(values, 99) * 1000.0, len(values)

    healthy, n_healthy = p99("healthy", "healthy-after")
    degraded, n_degraded = p99("degraded")
    ratio = degraded / healthy if healthy > 0 else float("nan")
    return {
        "platform": platform,
        "healthy_ms": healthy,
        "degraded_ms": degraded,
        "n_healthy": n_healthy,
        "n_degraded": n_degraded,
        "ratio": ratio,
        "holds": ratio <= P99_SLACK,
        "before_ms": p99("healthy")[0],  # the two halves of the baseline: its own noise
        "after_ms": p99("healthy-after")[0],
    }


def success(traffic: Traffic) -> dict[str, tuple[int, int]]:
    """(succeeded, answered) logical creates by phase: a 201 to any of its sends."""
    out: dict[str, list[int]] = {}
    for logical in traffic.logicals:
        creates = [s for s in logical.sends if s.kind in ("create", "retry")]
        if not any(s.status for s in creates):
            continue
        counts = out.setdefault(logical.phase, [0, 0])
        counts[0] += any(s.status == 201 for s in creates)
        counts[1] += 1
    return {phase: (ok, n) for phase, (ok, n) in out.items()}


def idempotency(traffic: Traffic, db: DbState) -> dict[str, int]:
    retried = [lg for lg in traffic.logicals if lg.form in RETRY_FORMS]
    sends = [s for lg in retried for s in lg.sends if s.kind in ("create", "retry")]
    return {
        "logical": len(retried),
        "replayed": sum(s.replayed for s in sends),
        "in_use": sum(s.code == "idempotency_key_in_use" for s in sends),
        "extra_carts": sum(max(0, db.carts_by_soak_id[lg.id] - 1) for lg in retried),
    }


def races(traffic: Traffic) -> dict[str, Any]:
    raced = [lg for lg in traffic.logicals if lg.form == "race_delete"]
    first: Counter[str] = Counter()
    for logical in raced:
        deletes = [s for s in logical.sends if s.kind == "delete"]
        if logical.found_pending and deletes:
            first[str(deletes[0].status or deletes[0].error)] += 1
    return {
        "raced": len(raced),
        "found_pending": sum(lg.found_pending for lg in raced),
        "first_delete": dict(first),
    }


def build(
    engine: str,
    traffic: Traffic,
    db: DbState,
    counted: Audit,
    *,
    platform: str,
    kills: Counter[str],
    kill_count: int,
    settled: dict[str, Any],
    elapsed_s: float,
) -> Result:
    """One engine's result: its figures, the lines that summarise them, its verdict."""
    figures = {
        "carts": len(traffic.logicals),
        "requests": len(traffic.sent),
        "not_sent": traffic.not_sent,
        "phases": dict(Counter(lg.phase for lg in traffic.logicals)),
        "success": success(traffic),
        "latency": latency_bound(traffic.sent),
        "degraded": degraded_p99(traffic.sent, platform),
        "idempotency": idempotency(traffic, db),
        "races": races(traffic),
        "kills": kill_count,
        "kill_points": dict(kills),
        "settle": settled,
        "audit": counted.__dict__,
        "statuses": dict(Counter(f"{s.kind} {s.status or s.error}" for s in traffic.sent)),
        "elapsed_s": elapsed_s,
    }
    internal = sum(s.status == 500 for s in traffic.sent)
    lines = summary(figures, counted, platform, internal)
    lines += [f"  {example}" for example in counted.examples]
    return Result(engine, figures, lines, verdict(figures, counted))


def summary(figures: dict[str, Any], counted: Audit, platform: str, internal: int) -> list[str]:
    """The printed lines of one engine's result (``internal``: answers with status 500)."""
    rates, phases, settled = figures["success"], figures["phases"], figures["settle"]
    bound, slow = figures["latency"], figures["degraded"]
    keys, raced = figures["idempotency"], figures["races"]
    ok = sum(v[0] for v in rates.values())
    answered = sum(v[1] for v in rates.values())
    by_phase = ", ".join(f"{p} {rates[p][0] / rates[p][1]:.1%}" for p in phases if p in rates)
    return [
        f"carts: {figures['carts']} ({', '.join(f'{p} {n}' for p, n in phases.items())};"
        f" {figures['requests']} requests, {figures['not_sent']} not sent,"
        f" {figures['elapsed_s']:.0f} s)",
        f"success rate: {ok / max(answered, 1):.1%} of {answered} answered creates ({by_phase})",
        f"duplicates: {counted.duplicates}",
        f"orphans: {counted.orphans}",
        f"undetectable orphans: {counted.undetectable_orphans} (counted apart: carts covered by"
        f" {counted.undetectable_entries} undetectable entries, Shopify/BigCommerce creates whose"
        " answer was lost; the platform expires them)",
        f"unresolved unknown outcomes: {counted.unresolved}",
        f"worst latency vs deadline: {bound.get('worst_s', 0):.3f} s of"
        f" {bound.get('deadline_s', 0):.1f} s ({bound['ratio']:.2f}x, {bound.get('kind')}"
        f" in {bound.get('phase')}); over deadline +10%: {bound['over']} of {bound['timed']}",
        f"{platform} 503 phase: other platforms' create p99 {slow['degraded_ms']:.1f} ms"
        f" (n={slow['n_degraded']}) vs healthy {slow['healthy_ms']:.1f} ms"
        f" (n={slow['n_healthy']}; before {slow['before_ms']:.1f}, after {slow['after_ms']:.1f})"
        f" = {slow['ratio']:.2f}x (target <= {P99_SLACK:.2f}):"
        f" {'holds' if slow['holds'] else 'MISSED'}",
        f"idempotency-key retries: {keys['logical']} creates sent twice, {keys['replayed']}"
        f" replayed, {keys['in_use']} in use, {keys['extra_carts']} extra carts made"
        + (" (the server did not honour Idempotency-Key)" if not keys["replayed"] else ""),
        f"delete races: {raced['raced']}, {raced['found_pending']} listed while PENDING, first"
        f" DELETE: {raced['first_delete']}",
        f"kills: {figures['kills']}; creates in flight at a kill:"
        f" {figures['kill_points'] or 'none'}",
        f"outbox: {counted.outbox}; settled in {settled['seconds']} s",
        f"also: dangling bags {counted.dangling}, lines disagree {counted.lines_disagree},"
        f" dead letters {counted.dead_letters}, awaiting delete {counted.awaiting_delete},"
        f" 500 answers {internal}",
    ]


def verdict(figures: dict[str, Any], counted: Audit) -> list[str]:
    """Why the run failed: each broken rule, one line each (none: the soak holds)."""
    failures = []
    bound, keys = figures["latency"], figures["idempotency"]
    if counted.duplicates:
        failures.append(f"{counted.duplicates} duplicate external carts")
    if counted.orphans:
        failures.append(f"{counted.orphans} orphaned external carts")
    if counted.dangling:
        failures.append(f"{counted.dangling} dangling bags (live, their external cart missing)")
    if counted.unresolved:
        failures.append(
            f"{counted.unresolved} unknown outcomes unresolved after settling"
            f" ({figures['settle'].get('seconds')} s)"
        )
    if bound["over"]:
        failures.append(f"{bound['over']} requests past their deadline by > 10%")
    if keys["replayed"] and keys["extra_carts"]:
        failures.append(f"{keys['extra_carts']} carts made twice under one key")
    return failures
