"""Overload: creates offered at about 10x capacity for a short, bounded run.

Why: before load shedding, 1,500 creates with 600 in flight were answered with a p50 of 4.1 s
against a 2 s deadline: with no shedding every request queued (event loop, SQLite write
lock, PostgreSQL pool) and almost none made its deadline. This scenario offers ``FACTOR`` times
multicart's measured capacity of 3-bag carts (0 ms platform latency, SQLite) to a ``multicart
serve`` whose create deadline is ``DEADLINE_S``, and reads the answers apart: accepted (201)
p50/p99, the share shed (503 ``overloaded``), and the worst wait of anything sent.

The client allows ``CLIENT_INFLIGHT`` requests in flight and waits ``CLIENT_TIMEOUT_S`` for
each, so the server, not the client, decides what is queued and the tail is seen, not clipped.

    python -m bench.overload --rate 1500 --seconds 10 --reps 2 \
        --variant before=/path/to/old/tree --variant after --variant cap64:MAX_IN_FLIGHT=64

A variant is ``label[=SOURCE][:SETTING=VALUE,...]``: ``SOURCE`` runs ``multicart serve`` from
another checkout (``PYTHONPATH``), the settings are ``MULTICART_*`` without the prefix.
Repetitions interleave the variants. Every process runs on 127.0.0.1 and is stopped whatever
happens; each run is bounded by the load generator's own bound (warm-up + seconds + timeout).
"""

from __future__ import annotations

import argparse
import math
import re
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson

from bench.scenarios import QUICK, Runner, System
from bench.stack import SERVE_SETTINGS, Stack, register, start_sandboxes
from tests.support.launch import Process, orchestrator_env, start

FACTOR = 10.0
DEADLINE_S = 2.0  # the create deadline of that measurement
CLIENT_TIMEOUT_S = 15.0
CLIENT_INFLIGHT = 2000
SHAPE = "3"


@dataclass
class Variant:
    label: str
    source: Path | None = None  # another checkout of multicart; None: this one
    settings: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Variant:
        head, _, tail = text.partition(":")
        label, _, source = head.partition("=")
        settings = dict(kv.split("=", 1) for kv in tail.split(",") if kv)
        return cls(label, Path(source).resolve() if source else None, settings)


def start_variant(stack: Stack, variant: Variant, tag: str) -> Process:
    """``multicart serve`` on a fresh SQLite file, with the variant's source and settings."""
    db = f"sqlite+aiosqlite:///{stack.workdir / f'overload-{tag}.db'}"
    settings = {**SERVE_SETTINGS, "create_deadline_s": str(DEADLINE_S), **variant.settings}
    env = orchestrator_env(db, **{k.lower(): v for k, v in settings.items()})
    if variant.source is not None:
        env["PYTHONPATH"] = str(variant.source)
    # --migrate: the schema of the very code that serves (a --variant's own checkout)
    # -P: no working directory on sys.path, so PYTHONPATH (a variant's checkout) decides
    argv = [sys.executable, "-P", "-m", "orchestrator.cli", "serve", "--migrate"]
    argv += ["--host", "127.0.0.1"]
    return stack.keep(start(f"multicart-{tag}", [*argv, "--port", "0"], env, stack.workdir))


def overload_run(
    runner: Runner, stack: Stack, variant: Variant, rate: float, seconds: float, tag: str
) -> dict[str, Any]:
    """One bounded run of ``rate`` 3-bag carts/s against a fresh process of ``variant``."""
    process = start_variant(stack, variant, tag)
    try:
        sandbox = {0: stack.sandboxes[0]}
        token = process.env["MULTICART_ADMIN_TOKEN"]
        reg = register(process.url, token, sandbox, stack.workdir, tag)
        system = System(variant.label, [process.url + "/v1/carts"], reg.api_key, reg.bodies[0])
        result = runner.load(
            system, rate, SHAPE, seconds, timeout_s=CLIENT_TIMEOUT_S, max_inflight=CLIENT_INFLIGHT
        )
        result["shed_by_reason"] = shed_by_reason(process.url)
    finally:
        stack.stop(process)
    result["variant"] = variant.label
    result |= figures(result)
    return result


def shed_by_reason(url: str) -> dict[str, float]:
    """``multicart_http_shed_requests_total`` by reason, from the server's /metrics (absent on a
    server without shedding)."""
    try:
        text = httpx.get(url + "/metrics", timeout=10).text
    except httpx.HTTPError:
        return {}
    found = re.findall(r'^multicart_http_shed_requests_total\{reason="(\w+)"\} (\S+)$', text, re.M)
    return {reason: float(value) for reason, value in found}


def figures(result: dict[str, Any]) -> dict[str, Any]:
    """Accepted p50/p99, shed share, other failures' share and the worst wait of one run."""
    by_status = result.get("latency_by_status_ms", {})
    accepted = by_status.get("201", {})
    requests = max(1, result["requests"])
    statuses = result.get("statuses", {})
    # 503: over the process's cap; 429: over the one app's share of it (fairness.py).
    shed = statuses.get("503", 0) + statuses.get("429", 0)
    return {
        "accepted_share": statuses.get("201", 0) / requests,
        "accepted_p50_ms": accepted.get("p50", math.nan),
        "accepted_p99_ms": accepted.get("p99", math.nan),
        "shed_share": shed / requests,
        "shed_p99_ms": by_status.get("503", {}).get("p99", math.nan),
        "failed_share": (result["error_count"] - shed) / requests,
        "worst_ms": result.get("worst_ms", math.nan),
    }


def line(result: dict[str, Any]) -> str:
    return (
        f"  overload {result['variant']:<12} {result['offered_rate']:7.1f}/s  "
        f"accepted {100 * result['accepted_share']:5.1f}% p50 {result['accepted_p50_ms']:7.1f} "
        f"p99 {result['accepted_p99_ms']:7.1f} ms  shed {100 * result['shed_share']:5.1f}% "
        f"(p99 {result['shed_p99_ms']:6.1f} ms)  other failures "
        f"{100 * result['failed_share']:5.1f}%  worst {result['worst_ms']:7.1f} ms  "
        f"server shed {result.get('shed_by_reason', {})}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.overload", description=__doc__)
    parser.add_argument("--rate", type=float, required=True, help="offered 3-bag carts/s")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--variant", action="append", type=Variant.parse, required=True)
    parser.add_argument("--out", type=Path, default=Path(".bench"))
    args = parser.parse_args(argv)
    if not 0 < args.rate <= 5000 or not 0 < args.seconds <= 60 or not 1 <= args.reps <= 5:
        parser.error("rate in (0, 5000], seconds in (0, 60], reps in 1..5")
    workdir = args.out.resolve() / f"overload-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    workdir.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    with Stack(workdir) as stack:
        start_sandboxes(stack)
        runner = Runner(QUICK, before_run=stack.reset_sandboxes)
        for rep in range(args.reps):
            for i, variant in enumerate(args.variant):
                tag = f"{variant.label}-{rep}-{i}"
                results.append(overload_run(runner, stack, variant, args.rate, args.seconds, tag))
                print(line(results[-1]), flush=True)
                time.sleep(1.0)
    for variant in args.variant:
        mine = [r for r in results if r["variant"] == variant.label]
        med = {
            k: statistics.median(r[k] for r in mine)
            for k in ("accepted_p50_ms", "accepted_p99_ms", "shed_share", "worst_ms")
        }
        print(f"median {variant.label}: " + ", ".join(f"{k} {v:.3f}" for k, v in med.items()))
    (workdir / "overload.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(f"results: {workdir / 'overload.json'}")


if __name__ == "__main__":
    main()
