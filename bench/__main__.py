"""``python -m bench`` (``make bench``): set up the stack, run the five scenarios, write the report.

    python -m bench            # full run, < 15 min: .bench/ plus BENCHMARKS.md, bench/results/
    python -m bench --quick    # ~2 min smoke run: .bench/ only
    python -m bench --out DIR

Processes (all on 127.0.0.1, each its own process): a sandbox with 0 ms and one with 50 ms
platform latency; ``multicart serve`` on SQLite; the reference on SQLite; then, on a fresh
PostgreSQL database, ``multicart serve --workers N`` for N = 1, 2, 4 and the reference, each
started only for its own capacity searches; a JSON server for the HTTP-stack micro-benchmark;
and one load-generator process per measurement. Every process is stopped and the PostgreSQL
database dropped whatever happens. The RSS target is read from ``make bench-soak``'s latest
result (``bench/results/memory.json``, ``bench/memory.py``) when there is one.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import platform
import secrets
import shutil
import statistics
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench import httpstack, overload, reference
from bench.plot import plot
from bench.report import MC, REF, derive, markdown, verdict
from bench.scenarios import (
    FULL,
    QUICK,
    REPO,
    SUSTAINED_ACHIEVED,
    SUSTAINED_ERROR_RATE,
    SUSTAINED_P99_MS,
    OnDemand,
    Profile,
    Runner,
    Stack,
    capacity_round,
    fixed_round,
    register,
    start_sandboxes,
)
from tests.support.launch import BIN, Process, migrate, orchestrator_env, start, start_orchestrator

FANOUT_SHARE = 0.15  # fan-out rate: this share of multicart's capacity (10-bag carts: ~half)
# The per-app rate limit is lifted: this measures the service, not one app's allowance (the
# limiter still runs, so its cost is in the figures).
SETTINGS = {
    "log_level": "WARNING",
    "circuit_failure_threshold": "1000",
    "app_rate_limit": "1000000/second",
}
PG_SERVER = "postgres@127.0.0.1:5432"
WARM_RATE, WARM_S = 60.0, 3.0  # a fresh PostgreSQL system's warm-up before its first probe


class PostgresUnavailable(Exception):
    """No PostgreSQL to benchmark on: the engines scenario is skipped (and says so)."""


@contextlib.contextmanager
def postgres_database() -> Iterator[tuple[str, str]]:
    """A fresh database ``mc_bench_<hex>`` (SQLAlchemy URL, asyncpg DSN), dropped afterwards."""
    import asyncpg

    name = f"mc_bench_{secrets.token_hex(4)}"

    async def admin(sql: str) -> str:
        conn = await asyncpg.connect(f"postgresql://{PG_SERVER}/test", timeout=10)
        try:
            await conn.execute(sql)
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    try:
        version = asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        raise PostgresUnavailable(f"PostgreSQL at {PG_SERVER}: {exc}") from exc
    print(f"  PostgreSQL {version}: database {name}", flush=True)
    try:
        yield f"postgresql+asyncpg://{PG_SERVER}/{name}", f"postgresql://{PG_SERVER}/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo").splitlines()
                if line.startswith("model name")), platform.processor() or "unknown")  # fmt: skip
    mem = next((line.split(":", 1)[1].strip() for line in _read("/proc/meminfo").splitlines()
                if line.startswith("MemTotal")), "unknown")  # fmt: skip
    versions = ", ".join(f"{p} {_version(p)}" for p in PACKAGES)
    return {
        "tree": _git_revision(),
        "cores (nproc)": str(os.cpu_count()),
        "CPU": cpu,
        "memory": mem,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "packages": versions,
    }


PACKAGES = ("aiohttp", "httpx", "httpx-aiohttp", "uvloop", "orjson", "SQLAlchemy", "aiosqlite",
            "asyncpg")  # fmt: skip


def _git_revision() -> str:
    """The commit measured, and whether the working tree differed from it."""
    import subprocess

    def git(*args: str) -> str:
        argv = [shutil.which("git") or "git", *args]  # read-only queries
        done = subprocess.run(  # noqa: S603
            argv, cwd=REPO, capture_output=True, text=True, timeout=30, check=False
        )
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f"commit {commit}" + (" with uncommitted changes" if dirty else "")


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "-"


def sqlite_part(runner: Runner, stack: Stack, raw: dict[str, Any]) -> dict[str, float]:
    """Scenarios 1-3 on SQLite: capacity, half-capacity latency, fan-out at 50 ms."""
    env = orchestrator_env(f"sqlite+aiosqlite:///{stack.workdir / 'multicart.db'}", **SETTINGS)
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
        env = orchestrator_env(sa_url, **SETTINGS)
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


def describe(raw: dict[str, Any], quick: bool) -> None:
    meta = raw["meta"]
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta["command"] = "make bench  (= .venv/bin/python -m bench" + (" --quick)" if quick else ")")
    meta["summary"] = f"{'quick' if quick else 'full'} run of {when}, {meta['elapsed_s']:.0f} s"
    meta["settings"] = (
        "multicart serve with MULTICART_LOG_LEVEL=WARNING (no per-request log line) and "
        "MULTICART_CIRCUIT_FAILURE_THRESHOLD=1000 (an overloaded probe must not open circuits "
        "for the next one); everything else default (MULTICART_MAX_IN_FLIGHT=64: a probe past "
        "capacity sees 503 overloaded answers, counted as its errors)"
    )
    meta["method"] = method(QUICK if quick else FULL)


def method(p: Profile) -> list[str]:
    """How the figures were made, with this profile's numbers."""
    return [
        "every component is its own process on 127.0.0.1: the sandbox (one at 0 ms, one at 50 ms "
        "platform latency), `multicart serve`, the reference (`python -m bench.reference`: "
        "aiohttp server and client, the same two write transactions per cart through raw "
        "aiosqlite/asyncpg, nothing else) and one load generator process per run "
        "(`python -m bench.loadgen`); the sandbox is reset before every run",
        "open loop: request i is due at t0 + i/rate whatever happened before; latency runs from "
        "that intended time to the end of the answer; at most 256 requests in flight, a request "
        "due beyond that is not sent and counts as an error; 2 s per-request timeout",
        f"sustained rate: errors < {100 * SUSTAINED_ERROR_RATE:g}%, achieved >= "
        f"{100 * SUSTAINED_ACHIEVED:g}% of offered, p99 < {SUSTAINED_P99_MS:g} ms. Capacity "
        f"search: from {p.first_rate:g}/s in x1.6 steps until a probe fails, then bisection to "
        f"within {100 * p.tolerance:g}%; later repetitions start at 0.95x the median so far and "
        f"step x1.1. A probe is {p.warmup_s:g} s of warm-up and {p.probe_s:g} s measured; "
        f"half-capacity runs measure {p.half_s:g} s, fan-out runs {p.fixed_s:g} s",
        f"{p.reps} repetitions interleave the systems (reference, multicart, reference, ...); "
        "each figure is the median [min-max] of the repetitions",
        "carts: one SKU per merchant, quantity 1; 10 merchants are registered on the sandbox's "
        "BigCommerce stores (merchant j on store j mod n: each merchant is its own bag)",
        "p50 overhead over the reference at half capacity: multicart's p50 minus the "
        "reference's in the same repetition, both at half of multicart's capacity with 0 ms of "
        "injected platform latency (the sandbox's own handling is in both); the 1-bag fan-out "
        "p50 minus its 50 ms is shown too",
        f"fan-out runs at {100 * FANOUT_SHARE:g}% of multicart's capacity in carts/s (10-bag "
        "carts then make about half of the platform calls/s of the capacity runs)",
        "engines: on one fresh PostgreSQL database, `multicart serve --workers N` (N pre-forked "
        "processes accepting on one port; one URL each) for N = 1, 2, 4, and the reference on "
        "PostgreSQL; each system's processes are started for its own capacity search and "
        f"stopped after it (a few seconds each) and warmed up with {WARM_S:g} s at "
        f"{WARM_RATE:g}/s before its first probe, so idle pools never hold PostgreSQL's 100 "
        "connections and idle background workers never run during another system's probes; "
        "the machine's 2 cores are shared by the workers, PostgreSQL, the sandbox and the load "
        "generator",
        f"time: the order is SQLite, engines, overload, HTTP stack; past {p.budget_s:g} s a "
        "scenario's later repetitions are skipped (noted below). To keep `make bench` under 15 "
        f"minutes with the 4-worker system, fan-out runs measure {p.fixed_s:g} s (were 5), "
        f"overload runs {p.overload_reps} x {p.overload_s:g} s (were 3 x 10) and the HTTP "
        f"stack {p.http_reps} repetitions (were 3)",
        "memory (`make bench-soak`, `python -m bench.memory`): at least 100,000 3-bag carts at "
        "a moderate rate against one `multicart serve` on SQLite, RSS of every process sampled "
        "after the warm-up and every few thousand carts; the target compares the last sample "
        "with the warm-up's",
        f"overload: {overload.FACTOR:g}x multicart's capacity of 3-bag carts for "
        f"{p.overload_s:g} s (after {p.warmup_s:g} s of warm-up) against a fresh `multicart "
        f"serve` on SQLite with a {overload.DEADLINE_S:g} s create deadline and the default "
        f"in-flight cap; the client allows {overload.CLIENT_INFLIGHT} requests in flight and "
        f"waits {overload.CLIENT_TIMEOUT_S:g} s for each, so the server decides what queues; "
        "accepted = 201, shed = 503",
    ]


def profile(workdir: Path, rate: float, seconds: float) -> Path:
    """Run ``multicart serve`` (SQLite) under pyinstrument while 3-bag carts arrive at ``rate``;
    print where its busy time goes and write the session, a text tree and HTML to ``workdir``."""
    import subprocess

    from tests.support.launch import start

    session = workdir / "multicart.pyisession"
    env = orchestrator_env(f"sqlite+aiosqlite:///{workdir / 'profile.db'}", **SETTINGS)
    migrate(env)
    with Stack(workdir) as stack:
        start_sandboxes(stack, 50)
        argv = [sys.executable, "-m", "pyinstrument", "-i", "0.001", "-r", "pyisession"]
        argv += ["-o", str(session), "-m", "orchestrator.cli", "serve", "--host", "127.0.0.1"]
        mc = stack.keep(start("multicart-profiled", [*argv, "--port", "0"], env, workdir))
        reg = register(mc.url, env["MULTICART_ADMIN_TOKEN"], stack.sandboxes, workdir, "prof")
        runner = Runner(QUICK, before_run=stack.reset_sandboxes)
        result = runner.load(reg.systems(MC, [mc.url])[0], rate, "3", seconds)
        lat = result["latency_ms"]
        print(f"  {rate:.0f}/s for {seconds:.0f} s: p50 {lat['p50']:.1f} ms, "
              f"p99 {lat['p99']:.1f} ms, errors {result['error_rate']:.4f}")  # fmt: skip
        stack.stop(mc)
    for renderer, options in (("pstats", ["-p", "processor_options.filter_threshold=0"]),
                              ("text", ["--show-all"]), ("html", [])):  # fmt: skip
        subprocess.run(  # noqa: S603 - our own venv's pyinstrument
            [sys.executable, "-m", "pyinstrument", "--load", str(session), "-r", renderer,
             *options, "-o", str(session.with_suffix("." + renderer))],
            check=True, capture_output=True, timeout=300,
        )  # fmt: skip
    shares(session)
    print(f"  text tree: {session.with_suffix('.text')}; HTML: {session.with_suffix('.html')}")
    return session


def shares(session_path: Path) -> None:
    """Print where the event loop's busy time went: own time by package, and time in and under
    each of multicart's functions (start-up and the idle loop left out)."""
    from pyinstrument.renderers.pstatsrenderer import PstatsRenderer
    from pyinstrument.session import Session

    renderer = PstatsRenderer(processor_options={"filter_threshold": 0})
    root: Any = renderer.preprocess(Session.load(str(session_path)).root_frame())
    loops: list[Any] = []
    stack = [root]
    while stack:
        frame = stack.pop()
        if (frame.file_path or "").endswith("asyncio/runners.py") and frame.line_no == 86:
            loops.append(frame)
        else:
            stack.extend(frame.children)
    by_package: dict[str, float] = {}
    by_function: dict[str, float] = {}
    ours: dict[tuple[str, int, str], float] = {}
    busy = 0.0

    def visit(frame: Any, seen: frozenset[tuple[str, int, str]]) -> None:
        nonlocal busy
        where = (frame.file_path or "<built-in>").replace(str(REPO) + "/", "")
        where = where.split("site-packages/")[-1]
        package = "stdlib" if "/lib/python3" in where else where.split("/")[0]
        by_package[package] = by_package.get(package, 0.0) + frame.total_self_time
        label = f"{frame.function} ({where.removesuffix('.py')})"
        by_function[label] = by_function.get(label, 0.0) + frame.total_self_time
        busy += frame.total_self_time
        key = (where, frame.line_no or 0, frame.function)
        if "/" in where and where.split("/")[0] in OWN_PACKAGES and key not in seen:
            ours[key] = ours.get(key, 0.0) + frame.time
            seen = seen | {key}
        for child in frame.children:
            if not child.is_synthetic:  # "[self]": already in its parent's total_self_time
                visit(child, seen)

    for loop in loops:
        for child in loop.children:
            if child.function != "_run_server" and not child.is_synthetic:
                visit(child, frozenset())
    if busy <= 0:
        print("  no busy time sampled")
        return
    idle = sum(loop.time for loop in loops) - busy
    print(f"event loop busy {busy:.1f} s, idle {idle:.1f} s; shares of the busy time:")
    ranked = sorted(by_package.items(), key=lambda kv: -kv[1])[:14]
    print("  own time by package: " + ", ".join(f"{n} {100 * t / busy:.0f}%" for n, t in ranked))
    ranked = sorted(by_function.items(), key=lambda kv: -kv[1])[:12]
    print("  top own time: " + ", ".join(f"{n} {100 * t / busy:.1f}%" for n, t in ranked))
    print("  time in and under multicart's functions:")
    for (where, line, func), seconds in sorted(ours.items(), key=lambda kv: -kv[1])[:32]:
        print(f"    {100 * seconds / busy:5.1f}%  {func}  {where}:{line}")


OWN_PACKAGES = ("orchestrator", "adapters", "bags", "config", "errors")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~2-minute smoke run")
    parser.add_argument(
        "--profile",
        type=float,
        metavar="RATE",
        help="instead: profile multicart (pyinstrument) under RATE 3-bag carts/s for 15 s",
    )
    parser.add_argument("--out", type=Path, default=Path(".bench"), help="default .bench/")
    parser.add_argument(
        "--docs",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also write BENCHMARKS.md and bench/results/ (default: on for a full run)",
    )
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    workdir = out / f"run-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    workdir.mkdir(parents=True, exist_ok=True)
    if args.profile:
        profile(workdir, args.profile, 15.0)
        return
    print(f"bench: {'quick' if args.quick else 'full'} run; logs in {workdir}", flush=True)
    raw = run("quick" if args.quick else "full", workdir)
    describe(raw, args.quick)
    memory = REPO / "bench" / "results" / "memory.json"  # `make bench-soak`'s latest, if any
    if memory.exists():
        raw["memory"] = orjson.loads(memory.read_bytes())
    results = derive(raw)
    (out / "bench.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    plot(results, out / "latency.png")
    (out / "BENCHMARKS.md").write_text(markdown(results, "latency.png"))
    if args.docs if args.docs is not None else not args.quick:
        (REPO / "bench" / "results").mkdir(exist_ok=True)
        shutil.copy(out / "latency.png", REPO / "bench" / "results" / "latency.png")
        shutil.copy(out / "bench.json", REPO / "bench" / "results" / "latest.json")
        target = REPO / "BENCHMARKS.md"
        previous = target.read_text() if target.exists() else ""
        target.write_text(markdown(results, "bench/results/latency.png", previous))
    for t in results["targets"]:
        print(f"target {t['name']}: {t['figure']['median']:.3f}{t['unit']} "
              f"{t['op']} {t['limit']:g}: {verdict(t).strip('*')}")  # fmt: skip
    print(f"bench: done in {raw['meta']['elapsed_s']:.0f} s; {out / 'bench.json'}", flush=True)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
    sys.exit(0)
