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
import contextlib
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.profiling import profile
from bench.provenance import describe
from bench.report import add_output_options
from bench.run import publish, run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a ~2-minute smoke run")
    parser.add_argument(
        "--profile",
        type=float,
        metavar="RATE",
        help="instead: profile multicart (pyinstrument) under RATE 3-bag carts/s for 15 s",
    )
    add_output_options(
        parser, "also write BENCHMARKS.md and bench/results/ (default: on for a full run)"
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
    publish(raw, out, args.docs if args.docs is not None else not args.quick)
    print(f"bench: done in {raw['meta']['elapsed_s']:.0f} s; {out / 'bench.json'}", flush=True)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
    sys.exit(0)
