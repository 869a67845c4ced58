"""``python -m bench.soak`` (``make soak``): the fault-matrix soak over real processes.

    python -m bench.soak                      # both engines, >= 1,000 carts each, < 10 min
    python -m bench.soak --short              # ~100 carts per engine, < 1 min each
    python -m bench.soak --engines sqlite     # one engine

Per engine, all on 127.0.0.1: a sandbox, and ``multicart serve`` on SQLite (one process) or on
a fresh PostgreSQL database (two processes on two ports, traffic round-robin over both). Phases,
each bounded in count and time, open loop:

0. ``warm-up`` (not counted in the p99 comparison): connections, tokens, caches;
1. ``healthy``: every store answers after a small base latency;
2. ``degraded``: every store of one platform answers 503 (30 s in the full run, scaled down in
   ``--short``), then ``healthy-after``; the other platforms' create p99 in the 503 phase is
   compared with the healthy phases' on both sides of it (half of ``healthy_s`` each);
3. ``faults``: the rotating fault matrix (``bench.soak.faults``: 0-30% 5xx, 429 with reset,
   hangs, ``close_after_read``, ``apply_then_hang``, apply-then-500) over every platform's
   stores;
4. ``kills``: the matrix goes on while ``multicart serve`` is SIGKILLed at random moments
   (each time: the creates in flight are classified right after the kill, then the process is
   restarted on its port).

Throughout, some creates are retried with the same ``Idempotency-Key`` and some are DELETEd
while still PENDING (``bench.soak.traffic``). Then faults are cleared, the reconciler settles
(until the outbox and the unsettled bags stop changing, bounded), and ``bench.soak.audit``
counts the invariant from the sandbox's carts and the database. Exit status 1 when any engine
found a duplicate or an orphan, or answered a request more than 10% past its deadline.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import orjson

from bench.soak.report import Result
from bench.soak.run import FULL, REPO, SHORT, engine_database, run_engine
from bench.soak.stack import PG_ADMIN_URL


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--short", action="store_true", help="~100 carts per engine")
    parser.add_argument("--engines", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument("--pg-url", default=PG_ADMIN_URL, help="a server to CREATE DATABASE on")
    parser.add_argument(
        "--degrade", default="BIGCOMMERCE", choices=("BIGCOMMERCE", "SHOPIFY", "ELASTIC_PATH")
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=REPO / ".bench" / "soak", help="logs and soak.json"
    )
    args = parser.parse_args(argv)
    profile = SHORT if args.short else FULL
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if not set(engines) <= {"sqlite", "postgresql"}:
        parser.error("--engines takes sqlite and/or postgresql")
    args.out.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    for engine in engines:
        workdir = Path(tempfile.mkdtemp(prefix=f"{engine}-", dir=args.out))
        print(f"== soak ({profile.name}) on {engine}: logs in {workdir}", flush=True)
        try:
            with engine_database(engine, workdir, args.pg_url) as (url, processes):
                result = run_engine(url, processes, workdir, profile, args.degrade, args.seed)
        except Exception as exc:  # a run that could not happen fails the soak, saying why
            result = Result(engine, failures=[f"the run failed: {type(exc).__name__}: {exc}"])
        results.append(result)
        print(f"-- {result.engine}", flush=True)
        for line in result.lines:
            print(line, flush=True)
        print(f"verdict: {'ok' if result.ok else 'FAILED: ' + '; '.join(result.failures)}")
    (args.out / "soak.json").write_bytes(
        orjson.dumps(
            [
                {"engine": r.engine, "ok": r.ok, "failures": r.failures, **r.figures}
                for r in results
            ],
            option=orjson.OPT_INDENT_2,
            default=str,
        )
    )
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
