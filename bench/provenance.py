"""What a benchmark run was measured on and how: the report's header and its method list.

The machine (CPU, memory, OS, packages, the commit and whether the tree was dirty), the command
and the settings, and the method with the profile's own numbers, so a figure in BENCHMARKS.md
can be read, and repeated, without the code.
"""

from __future__ import annotations

import os
import platform
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import overload
from bench.scenarios import (
    FANOUT_SHARE,
    FULL,
    QUICK,
    REPO,
    SUSTAINED_ACHIEVED,
    SUSTAINED_ERROR_RATE,
    SUSTAINED_P99_MS,
    WARM_RATE,
    WARM_S,
    Profile,
)


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
