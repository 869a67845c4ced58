"""``python -m bench.memory`` (``make bench-soak``): does multicart's memory grow over a long run?

    python -m bench.memory                  # 100,000 3-bag carts at 100/s: ~17 min, capped at 22
    python -m bench.memory --quick          # 3,000 carts at 100/s: a try (~40 s)
    python -m bench.memory --rate 80 --carts 120000 --max-minutes 30
    python -m bench.memory --workers 2      # multicart on a fresh PostgreSQL database instead

All on 127.0.0.1: a sandbox (0 ms platform latency) and ``multicart serve`` (SQLite, one
process; with ``--workers N`` PostgreSQL and N processes). 3-bag carts arrive open loop at
``--rate`` (default 100/s: 40-65% of the SQLite capacity measured by ``make bench`` on the
2-core machine), in chunks of ``--chunk`` carts, each its own load-generator run (the sandbox's
carts are dropped between chunks, so only multicart's state grows). Every multicart process's
RSS (``VmRSS`` of ``/proc/<pid>/status``, the ``--workers`` parent and its children) is
sampled after each chunk; the first chunk (``--warmup`` carts) is the warm-up, and the verdict
compares the last sample with the one after it: the worst process's growth, target <= 10%.

The run is bounded: it stops at ``--carts`` or ``--max-minutes``, whichever comes first (and
says which). Writes ``memory.json`` in the run's directory; a full run (or ``--docs``) also
writes ``bench/results/memory.json`` and re-renders BENCHMARKS.md (the memory section, and the
targets' RSS row) from ``bench/results/latest.json``, keeping the hand-written analysis.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from bench.figures import GROWTH_LIMIT, derive, growth_verdict
from bench.postgres import postgres_database
from bench.report import add_output_options, rewrite_benchmarks_md
from bench.scenarios import QUICK, REPO, Runner, System
from bench.stack import SERVE_SETTINGS, Stack, register, start_sandboxes
from tests.support.launch import BIN, Process, migrate, orchestrator_env, start

RESULTS = REPO / "bench" / "results" / "memory.json"


def rss_kib(pid: int) -> int | None:
    """The process's resident set (``VmRSS``) in KiB; None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return None  # a zombie has no VmRSS line


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants (from every ``/proc/<n>/stat``'s parent pid)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
    tree, frontier = [pid], [pid]
    while frontier:
        children = sorted(n for n, parent in parents.items() if parent in frontier)
        tree += children
        frontier = children
    return tree


def sample(pids: list[int], carts: int, began: float) -> dict[str, Any]:
    return {
        "carts": carts,
        "elapsed_s": round(time.monotonic() - began, 1),
        "rss_kib": {str(pid): rss_kib(pid) for pid in pids},
    }


@contextlib.contextmanager
def multicart(stack: Stack, workers: int) -> Iterator[Process]:
    """``multicart serve``: SQLite with one process, else a fresh PostgreSQL database."""
    database: contextlib.AbstractContextManager[tuple[str, str]]
    if workers == 1:
        url = f"sqlite+aiosqlite:///{stack.workdir / 'memory.db'}"
        database = contextlib.nullcontext((url, ""))
    else:
        database = postgres_database()
    with database as (url, _dsn):
        env = orchestrator_env(url, **SERVE_SETTINGS)
        migrate(env)
        argv = [str(BIN / "multicart"), "serve", "--host", "127.0.0.1", "--port", "0"]
        argv += ["--workers", str(workers)]
        process = stack.keep(start(f"multicart-{workers}w", argv, env, stack.workdir))
        try:
            yield process
        finally:
            stack.stop(process)


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Warm up, then chunks until ``args.carts`` or the time cap; samples and the verdict."""
    cap_s = 60.0 * args.max_minutes
    with Stack(workdir) as stack:
        start_sandboxes(stack)
        with multicart(stack, args.workers) as process:
            token = process.env["MULTICART_ADMIN_TOKEN"]
            reg = register(process.url, token, {0: stack.sandboxes[0]}, workdir, "mem")
            system = System("multicart", [process.url + "/v1/carts"], reg.api_key, reg.bodies[0])
            runner = Runner(dataclasses.replace(QUICK, warmup_s=0.0), stack.reset_sandboxes)
            pids = process_tree(process.popen.pid)
            began = time.monotonic()
            samples = [sample(pids, 0, began)]
            chunks: list[dict[str, Any]] = []
            sent = errors = 0
            stopped_by = "carts"
            while sent < args.carts:
                size = min(args.warmup if not chunks else args.chunk, args.carts - sent)
                seconds = size / args.rate
                if time.monotonic() - began + seconds > cap_s:
                    stopped_by = f"time cap ({args.max_minutes:g} min)"
                    break
                result = runner.load(system, args.rate, "3", seconds)
                sent += result["requests"]
                errors += result["error_count"]
                chunks.append({k: result[k] for k in ("requests", "error_count", "achieved_rate")}
                              | {"latency_ms": result["latency_ms"]})  # fmt: skip
                samples.append(sample(pids, sent, began))
                rss = samples[-1]["rss_kib"]
                lat = result["latency_ms"]
                print(f"  {sent:7d} carts  {time.monotonic() - began:6.0f} s  errors {errors}  "
                      f"p50 {lat['p50']:5.1f} ms  p99 {lat['p99']:6.1f} ms  RSS KiB {rss}",
                      flush=True)  # fmt: skip
    roles = {str(pid): "worker" for pid in pids}
    if args.workers > 1:
        roles[str(pids[0])] = "supervisor"
    out: dict[str, Any] = {
        "meta": {
            "when": f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}",
            "command": "make bench-soak  (= .venv/bin/python -m bench.memory "
            + " ".join(sys.argv[1:])
            + ")",
            "engine": "sqlite" if args.workers == 1 else "postgresql",
            "workers": args.workers,
            "rate": args.rate,
            "target_carts": args.carts,
            "warmup_carts": args.warmup,
            "chunk_carts": args.chunk,
            "max_minutes": args.max_minutes,
            "stopped_by": stopped_by,
            "elapsed_s": round(time.monotonic() - began, 1),
        },
        "roles": roles,
        "carts": sent,
        "errors": errors,
        "samples": samples,
        "chunks": chunks,
    }
    return out | growth_verdict(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3,000 carts, warm-up 500")
    parser.add_argument("--carts", type=int, help="carts to send (default 100,000)")
    parser.add_argument("--rate", type=float, default=100.0, help="3-bag carts/s (default 100)")
    parser.add_argument("--warmup", type=int, help="warm-up carts (default 5,000)")
    parser.add_argument("--chunk", type=int, help="carts between RSS samples (default 5,000)")
    parser.add_argument("--max-minutes", type=float, default=22.0, help="hard cap (default 22)")
    parser.add_argument("--workers", type=int, default=1, help="N > 1: PostgreSQL, N processes")
    add_output_options(
        parser,
        "also write bench/results/memory.json and BENCHMARKS.md (default: on unless --quick)",
    )
    args = parser.parse_args(argv)
    quick = args.quick
    args.carts = args.carts or (3_000 if quick else 100_000)
    args.warmup = args.warmup or (500 if quick else 5_000)
    args.chunk = args.chunk or (500 if quick else 5_000)
    if not 0 < args.rate <= 2000 or not 0 < args.max_minutes <= 120 or args.workers < 1:
        parser.error("rate in (0, 2000], max-minutes in (0, 120], workers >= 1")
    if args.warmup >= args.carts or args.chunk < 1:
        parser.error("--warmup must be below --carts, --chunk at least 1")
    workdir = args.out.resolve() / f"memory-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"bench.memory: {args.carts} carts at {args.rate:g}/s; logs in {workdir}", flush=True)
    result = run(args, workdir)
    (workdir / "memory.json").write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    if args.docs if args.docs is not None else not quick:
        RESULTS.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        rerender()
    worst = result["worst_growth"]
    print(f"bench.memory: {result['carts']} carts, {result['errors']} errors, "
          f"{result['meta']['stopped_by']}; worst RSS growth after warm-up {100 * worst:+.1f}% "
          f"(target <= {100 * GROWTH_LIMIT:g}%): {'holds' if result['holds'] else 'MISSED'}; "
          f"{workdir / 'memory.json'}")  # fmt: skip


def rerender() -> None:
    """BENCHMARKS.md (and the plot, the latest results) again, with this memory run in."""
    from bench.plot import plot

    latest = REPO / "bench" / "results" / "latest.json"
    if not latest.exists():
        print("  no bench/results/latest.json yet: BENCHMARKS.md is written by `make bench`")
        return
    raw = orjson.loads(latest.read_bytes())
    raw["memory"] = orjson.loads(RESULTS.read_bytes())
    results = derive(raw)
    latest.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    plot(results, REPO / "bench" / "results" / "latency.png")
    rewrite_benchmarks_md(results)


if __name__ == "__main__":
    main()
