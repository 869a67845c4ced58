"""Before and after of each performance lever: commits measured side by side, interleaved.

Why: a lever's effect (a few percent to tens of percent) is smaller than this machine's drift
between two runs minutes apart (the untouched reference moved 25% between two quick runs), so
one commit against another is only read from repetitions that interleave them in one run.

    python -m bench.levers 6d319c1 452f32c HEAD --reps 3

Each commit is exported with ``git archive`` into the work directory (no git state changes) and
served by ``multicart serve --migrate`` from that tree (``PYTHONPATH``, as ``bench.overload``'s
variants) on a fresh SQLite file; the sandbox and the load generator are this tree's. Every
repetition runs, for the reference and then each commit in turn: a capacity search (3-bag
carts, 0 ms platform latency; the first from ``--first-rate`` in x1.6 steps, later ones from
0.95x that system's median in x1.1 steps) and one fixed-rate run at ``--fixed-rate`` for p50
and p99. Medians [min-max] of the repetitions go to stdout as a Markdown table and to
``levers.json`` in the work directory.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tarfile
from dataclasses import replace
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from typing import Any

import orjson

from bench import reference
from bench.figures import REF
from bench.overload import Variant, start_variant
from bench.scenarios import FULL, REPO, Runner, System
from bench.stack import Stack, register, start_sandboxes


def export(commit: str, into: Path) -> tuple[str, Path]:
    """The commit's short id and a directory holding its tree."""
    short = subprocess.run(  # noqa: S603 - read-only git queries
        ["git", "rev-parse", "--short", commit],  # noqa: S607
        cwd=REPO, capture_output=True, text=True, check=True, timeout=30,
    ).stdout.strip()  # fmt: skip
    target = into / f"tree-{short}"
    if not target.exists():
        archive = subprocess.run(  # noqa: S603
            ["git", "archive", "--format=tar", short],  # noqa: S607
            cwd=REPO, capture_output=True, check=True, timeout=120,
        ).stdout  # fmt: skip
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")
    return short, target


def measure(
    runner: Runner,
    stack: Stack,
    variant: Variant | None,
    seed: float,
    grow: float,
    fixed: float,
    registrar: Variant,
) -> dict[str, Any]:
    """One repetition of one system (``None``: the reference, registered through
    ``registrar``): its capacity and a fixed-rate run."""
    tag = f"{variant.label if variant else 'ref'}-{len(runner.probes)}"
    sandbox = {0: stack.sandboxes[0]}
    if variant is None:  # the reference needs a registration: made on a throwaway multicart
        helper = start_variant(stack, registrar, f"reg-{tag}")
        reg = register(helper.url, helper.env["MULTICART_ADMIN_TOKEN"], sandbox, stack.workdir, tag)
        db = "sqlite:///" + str(stack.workdir / f"reference-{tag}.db")
        process = stack.keep(reference.launch(stack.workdir, reg.catalog, db, f"ref-{tag}"))
        stack.stop(helper)
        name = REF
    else:
        process = start_variant(stack, variant, tag)
        token = process.env["MULTICART_ADMIN_TOKEN"]
        reg = register(process.url, token, sandbox, stack.workdir, tag)
        name = variant.label
    try:
        system = System(name, [process.url + "/v1/carts"], reg.api_key, reg.bodies[0])
        capacity = runner.capacity(system, seed, grow)
        fixed_run = runner.load(system, fixed, "3", runner.profile.half_s)
    finally:
        stack.stop(process)
    lat = fixed_run["latency_ms"]
    print(f"  {name}: capacity {capacity:.0f}/s; at {fixed:.0f}/s p50 {lat['p50']:.1f} ms "
          f"p99 {lat['p99']:.1f} ms", flush=True)  # fmt: skip
    return {"capacity": capacity, "p50": lat["p50"], "p99": lat["p99"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.levers", description=__doc__)
    parser.add_argument("commits", nargs="+", help="commits in order, the first the baseline")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--first-rate", type=float, default=120.0)
    parser.add_argument("--fixed-rate", type=float, default=60.0, help="p50/p99 run, carts/s")
    parser.add_argument("--out", type=Path, default=Path(".bench"))
    args = parser.parse_args(argv)
    workdir = (args.out / f"levers-{datetime.now(UTC):%Y%m%d-%H%M%S}").resolve()
    workdir.mkdir(parents=True)
    variants = [Variant(short, tree) for short, tree in (export(c, workdir) for c in args.commits)]
    profile = replace(FULL, reps=args.reps, budget_s=3600)
    results: dict[str, list[dict[str, Any]]] = {REF: [], **{v.label: [] for v in variants}}
    with Stack(workdir) as stack:
        runner = Runner(profile, before_run=stack.reset_sandboxes)
        start_sandboxes(stack)
        for rep in range(args.reps):
            for variant in [None, *variants]:
                label = variant.label if variant else REF
                done = results[label]
                seed = 0.95 * statistics.median(r["capacity"] for r in done) if done else None
                print(f"repetition {rep + 1}: {label}", flush=True)
                done.append(
                    measure(
                        runner,
                        stack,
                        variant,
                        seed or args.first_rate,
                        1.1 if seed else 1.6,
                        args.fixed_rate,
                        variants[0],
                    )
                )
    (workdir / "levers.json").write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2))
    print(table(results, args.fixed_rate))


def _fig(values: list[float], fmt: str) -> str:
    return f"{statistics.median(values):{fmt}} [{min(values):{fmt}}-{max(values):{fmt}}]"


def table(results: dict[str, list[dict[str, Any]]], fixed: float) -> str:
    ref = statistics.median(r["capacity"] for r in results[REF])
    lines = [
        f"| system | capacity (3-bag, SQLite) | vs reference | p50 at {fixed:g}/s | p99 |",
        "|---|---|---|---|---|",
    ]
    for label, runs in results.items():
        caps = [r["capacity"] for r in runs]
        lines.append(
            f"| {label} | {_fig(caps, '.0f')}/s | {statistics.median(caps) / ref:.2f}x | "
            f"{_fig([r['p50'] for r in runs], '.1f')} ms | "
            f"{_fig([r['p99'] for r in runs], '.1f')} ms |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
    sys.exit(0)
