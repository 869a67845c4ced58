"""The benchmark run of ``python -m bench``: the scenarios in order, into one raw record.

SQLite first (capacity, latency at half of it, fan-out at 50 ms platform latency), then the
engines on PostgreSQL, the overload and the outbound HTTP stack; ``publish`` derives the figures
and writes ``bench.json``, the plot and BENCHMARKS.md (and, for a full run, ``bench/results/``).
"""

from __future__ import annotations

import functools
import shutil
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from bench import httpstack, overload, reference
from bench.figures import MC, REF, derive
from bench.plot import plot
from bench.postgres import PostgresUnavailable, postgres_database
from bench.provenance import machine
from bench.report import markdown, rewrite_benchmarks_md, verdict
from bench.scenarios import (
    FANOUT_SHARE,
    FULL,
    QUICK,
    REPO,
    WARM_RATE,
    WARM_S,
    Runner,
    capacity_round,
    fixed_round,
)
from bench.stack import SERVE_SETTINGS, OnDemand, Stack, register, start_sandboxes
from tests.support.launch import BIN, Process, migrate, orchestrator_env, start, start_orchestrator


def sqlite_part(runner: Runner, stack: Stack, raw: dict[str, Any]) -> dict[str, float]:
    """Scenarios 1-3 on SQLite: capacity, half-capacity latency, fan-out at 50 ms."""
    env = orchestrator_env(
        f"sqlite+aiosqlite:///{stack.workdir / 'multicart.db'}", **SERVE_SETTINGS
    )
    migrate(env)
    mc = stack.keep(start_orchestrator(stack.workdir, env, "multicart-sqlite"))
    reg = register(mc.url, env["MULTICART_ADMIN_TOKEN"], stack.sandboxes, stack.workdir, "sqlite")
    ref_db = "sqlite:///" + str(stack.workdir / "reference.db")
    ref = stack.keep(reference.launch(stack.workdir, reg.catalog, ref_db, "reference-sqlite"))
    mc0, mc50 = reg.systems(MC, [mc.url])
    ref0, ref50 = reg.systems(REF, [ref.url])
    seeds: dict[str, float] = {}
    profile = runner.profile
    print("== 1. capacity (SQLite, 3-bag carts, 0 ms platform latency)", flush=True)
    raw["capacity"] = capacity_round(runner, [ref0, mc0], seeds)
    capacity = statistics.median(raw["capacity"][MC]) or runner.profile.first_rate
    half_rate = max(1.0, 0.5 * capacity)
    print(f"== 2. latency at half of multicart's capacity: {half_rate:.1f}/s", flush=True)
    half = fixed_round(runner, [(mc0, "3"), (ref0, "3")], half_rate, "half", profile.half_s)
    raw["half"] = {"rate": half_rate, "runs": half}
    fan_rate = min(100.0, max(5.0, FANOUT_SHARE * capacity))
    print(f"== 3. fan-out at 50 ms platform latency: {fan_rate:.1f}/s", flush=True)
    runs = [(system, shape) for shape in ("1", "3", "10") for system in (mc50, ref50)]
    fan = fixed_round(runner, runs, fan_rate, "fan-out", profile.fixed_s)
    raw["fanout"] = {"rate": fan_rate, "platform_latency_ms": 50.0, "runs": fan}
    stack.stop(mc, ref)
    return seeds


def overload_part(runner: Runner, stack: Stack, raw: dict[str, Any]) -> None:
    """Scenario 6: 10x multicart's capacity for a short run (``bench/overload.py``)."""
    from config import Settings

    capacity = statistics.median(raw["capacity"].get(MC) or [0.0]) or runner.profile.first_rate
    rate = min(5000.0, overload.FACTOR * capacity)
    print(f"== 6. overload: {rate:.0f}/s, {overload.FACTOR:g}x capacity", flush=True)
    runs = []
    for rep in range(runner.profile.overload_reps):
        if rep and runner.over_budget():
            runner.notes.append(f"overload: {rep} repetitions (time budget)")
            break
        variant = overload.Variant(MC)
        seconds = runner.profile.overload_s
        runs.append(overload.overload_run(runner, stack, variant, rate, seconds, f"ovl{rep}"))
        print(overload.line(runs[-1]), flush=True)
    raw["overload"] = {
        "rate": rate,
        "capacity": capacity,
        "deadline_s": overload.DEADLINE_S,
        "max_in_flight": Settings.model_fields["max_in_flight"].default,
        "runs": runs,
    }


PG_WORKERS = (1, 2, 4)


def pg_name(workers: int) -> str:
    return f"multicart-pg-{workers}worker" + ("s" if workers > 1 else "")


def serve_workers(stack: Stack, env: dict[str, str], workers: int) -> Process:
    """``multicart serve --workers N`` on 127.0.0.1, port chosen by the kernel."""
    argv = [str(BIN / "multicart"), "serve", "--host", "127.0.0.1", "--port", "0"]
    return start(pg_name(workers), [*argv, "--workers", str(workers)], env, stack.workdir)


def postgres_part(
    runner: Runner, stack: Stack, raw: dict[str, Any], seeds: dict[str, float]
) -> None:
    """Scenario 4: multicart on PostgreSQL with 1, 2 and 4 worker processes (and the reference),
    each system started only for its own capacity searches (``OnDemand``)."""
    with postgres_database() as (sa_url, dsn):
        env = orchestrator_env(sa_url, **SERVE_SETTINGS)
        migrate(env)
        first = serve_workers(stack, env, 1)
        try:
            token = env["MULTICART_ADMIN_TOKEN"]
            reg = register(first.url, token, stack.sandboxes, stack.workdir, "pg")
        finally:
            first.stop()
        starters: dict[str, Callable[[], Process]] = {
            pg_name(n): functools.partial(serve_workers, stack, env, n) for n in PG_WORKERS
        }
        starters["reference-pg"] = lambda: reference.launch(
            stack.workdir, reg.catalog, dsn, "reference-pg"
        )
        names = [pg_name(n) for n in PG_WORKERS]
        if runner.profile.reference_on_postgres:
            names.insert(0, "reference-pg")
        systems = [reg.systems(name, [])[0] for name in names]
        one = seeds.get(MC, runner.profile.first_rate)
        for n in PG_WORKERS:  # a first guess: more workers, somewhat more
            seeds.setdefault(pg_name(n), one * (1.0 + 0.3 * (n > 1) + 0.2 * (n > 2)))
        seeds.setdefault("reference-pg", seeds.get(REF, runner.profile.first_rate))
        print("== 4. engines: PostgreSQL, multicart with 1, 2 and 4 workers", flush=True)
        # A fresh process's first probe would also measure its start (pools, caches, each
        # worker's first statements): WARM_S at WARM_RATE first, well below any capacity.
        on_demand = OnDemand(stack, starters, warm=lambda s: runner.load(s, WARM_RATE, "3", WARM_S))
        try:
            found = capacity_round(runner, systems, seeds, on_demand)
        finally:
            on_demand.release()
    raw["engines"] = {
        "multicart-sqlite": raw["capacity"].get(MC, []),
        "reference-sqlite": raw["capacity"].get(REF, []),
        **found,
    }


def run(profile_name: str, workdir: Path) -> dict[str, Any]:
    profile = QUICK if profile_name == "quick" else FULL
    raw: dict[str, Any] = {"meta": {"profile": profile.__dict__, "machine": machine()}}
    with Stack(workdir) as stack:
        runner = Runner(profile, before_run=stack.reset_sandboxes)
        start_sandboxes(stack, 50)
        seeds = sqlite_part(runner, stack, raw)
        # PostgreSQL before the overload and HTTP-stack scenarios: if the time budget cuts
        # repetitions, it cuts those, not the engines' capacities (two of the targets).
        try:
            postgres_part(runner, stack, raw, seeds)
        except PostgresUnavailable as exc:  # no PostgreSQL on this machine: say so, keep the rest
            runner.notes.append(f"PostgreSQL scenario skipped: {exc}")
            raw["engines"] = {"multicart-sqlite": raw["capacity"].get(MC, [])}
        overload_part(runner, stack, raw)
        print("== 5. outbound HTTP stack, 64 concurrent requests", flush=True)
        reps = 1 if runner.over_budget() else profile.http_reps
        if reps < profile.http_reps:
            runner.notes.append(f"outbound HTTP stack: {reps} repetition (time budget)")
        raw["httpstack"] = httpstack.compare(workdir, reps, profile.http_s)
    raw["probes"] = [
        {"system": p.system, "rate": p.rate, "sustained": p.sustained}
        | {k: p.result[k] for k in ("latency_ms", "achieved_rate", "error_rate", "errors")}
        for p in runner.probes
    ]
    raw["notes"] = runner.notes
    raw["meta"]["elapsed_s"] = runner.elapsed()
    return raw


def publish(raw: dict[str, Any], out: Path, docs: bool) -> dict[str, Any]:
    """Derive the figures; write ``out/bench.json``, its plot and BENCHMARKS.md, and with ``docs``
    the repository's ``bench/results/`` and BENCHMARKS.md; print each target's verdict."""
    memory = REPO / "bench" / "results" / "memory.json"  # `make bench-soak`'s latest, if any
    if memory.exists():
        raw["memory"] = orjson.loads(memory.read_bytes())
    results = derive(raw)
    (out / "bench.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    plot(results, out / "latency.png")
    (out / "BENCHMARKS.md").write_text(markdown(results, "latency.png"))
    if docs:
        (REPO / "bench" / "results").mkdir(exist_ok=True)
        shutil.copy(out / "latency.png", REPO / "bench" / "results" / "latency.png")
        shutil.copy(out / "bench.json", REPO / "bench" / "results" / "latest.json")
        rewrite_benchmarks_md(results)
    for t in results["targets"]:
        print(f"target {t['name']}: {t['figure']['median']:.3f}{t['unit']} "
              f"{t['op']} {t['limit']:g}: {verdict(t).strip('*')}")  # fmt: skip
    return results
