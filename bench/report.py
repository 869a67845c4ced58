"""Turn a run's raw measurements into figures, targets, a JSON file, a PNG plot and BENCHMARKS.md.

``derive`` (``bench.figures``) reduces every repeated measurement to ``{"median", "min", "max",
"runs"}`` and checks the benchmark's seven targets (``LIMITS``; the RSS one from ``make
bench-soak``'s result, when there is one); ``markdown`` renders BENCHMARKS.md, keeping any
hand-written text below ``ANALYSIS_MARKER``. The PNG is ``bench/plot.py``'s (matplotlib is
imported only there).

    python -m bench.report .bench/bench.json --markdown BENCHMARKS.md --plot out.png
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import orjson

from bench.figures import GROWTH_LIMIT, LIMITS, MC, NOT_MEASURED, REF, derive, stat
from bench.scenarios import REPO

ANALYSIS_MARKER = "<!-- analysis: hand-written, kept across runs -->"


def fmt(figure: dict[str, Any], digits: int = 1, unit: str = "") -> str:
    """``median [min-max]`` of a stat, e.g. ``212.0 [198.3-220.1] /s``."""
    if math.isnan(figure.get("median", math.nan)):
        return "n/a"
    m, lo, hi = (f"{figure[k]:.{digits}f}" for k in ("median", "min", "max"))
    return f"{m}{unit} [{lo}-{hi}]" if len(figure["runs"]) > 1 else f"{m}{unit}"


def verdict(target: dict[str, Any]) -> str:
    if not target["figure"]["runs"]:
        return NOT_MEASURED
    if target["holds"] and target["holds_every_run"]:
        return "**holds**"
    if target["holds"]:
        return "**holds** on the median (not in every repetition)"
    return "**missed**"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _overload(ovl: dict[str, Any]) -> list[str]:
    """Section 6: what 10x capacity gets, accepted and shed apart."""
    if not ovl.get("rate"):
        return []
    title = (
        f"## 6. Overload ({ovl['rate']:.0f} 3-bag carts/s, 10x capacity, SQLite, "
        f"{ovl['deadline_s']:g} s create deadline, at most {ovl['max_in_flight']} in flight)"
    )
    shed = ovl["shed_share"]
    shed_pct = shed | {k: 100 * shed[k] for k in ("median", "min", "max")}
    rows = [
        [
            fmt(ovl["accepted_rate"], 0, "/s"),
            fmt(ovl["accepted_p50_ms"], 0, " ms"),
            fmt(ovl["accepted_p99_ms"], 0, " ms"),
            fmt(shed_pct, 1, "%"),
            fmt(ovl["worst_ms"], 0, " ms"),
        ]
    ]
    out = ["", title, ""]
    return out + _table(["accepted", "accepted p50", "accepted p99", "shed (503)", "worst"], rows)


def _engines(fig_: dict[str, Any]) -> list[str]:
    """Section 4: capacity by engine and process count, and the two PostgreSQL targets."""
    out = ["", "## 4. Engines (capacity, 3-bag carts, 0 ms platform latency)", ""]
    out += _table(["engine", "highest sustained rate"],
                  [[k, fmt(v, 0, "/s")] for k, v in fig_.get("engines", {}).items()])  # fmt: skip
    eng = fig_.get("engines_ratio", {})
    out += [
        "",
        f"- PostgreSQL, 1 worker / the reference on PostgreSQL: "
        f"{fmt(eng.get('pg1_over_reference_pg', stat([])), 2)} (target >= "
        f"{LIMITS['pg_capacity']:g})",
        f"- PostgreSQL, 2 workers / 1 worker: {fmt(eng.get('pg2_over_pg1', stat([])), 2)} "
        f"(target >= {LIMITS['pg_scaling']:g}); 4 workers / 1 worker: "
        f"{fmt(eng.get('pg4_over_pg1', stat([])), 2)} (no target)",
        "- workers are `multicart serve --workers N` (pre-forked processes on one port); this "
        "machine has 2 cores, shared by the workers, PostgreSQL, the sandbox and the load "
        "generator, so 4 workers cannot be twice 2",
    ]
    return out


def _memory(mem: dict[str, Any]) -> list[str]:
    """Section 7: the memory run (``make bench-soak``), if one was recorded."""
    out = ["", "## 7. Memory (`make bench-soak`: RSS after warm-up and after the long run)", ""]
    meta = mem.get("meta")
    if not meta:
        return [*out, f"{NOT_MEASURED[0].upper()}{NOT_MEASURED[1:]}: run `make bench-soak`."]
    out += [
        f"{meta.get('when', '')}: `{meta.get('command', '')}`; {mem.get('carts')} 3-bag carts at "
        f"{meta.get('rate', 0):g}/s on {meta.get('engine')} ({meta.get('workers')} worker(s)), "
        f"{mem.get('errors')} errors, {meta.get('elapsed_s', 0):.0f} s, stopped by "
        f"{meta.get('stopped_by')}; warm-up {meta.get('warmup_carts')} carts, a sample every "
        f"{meta.get('chunk_carts')}.",
        "",
    ]
    rows = []
    for pid, rss in mem.get("by_process", {}).items():
        warm, final = rss["warm_kib"], rss["final_kib"]
        growth = f"{100 * (final - warm) / warm:+.1f}%"
        role = mem.get("roles", {}).get(pid, "")
        rows.append([pid, role, f"{warm / 1024:.1f} MiB", f"{final / 1024:.1f} MiB", growth])
    out += _table(["pid", "role", "RSS after warm-up", "RSS at the end", "growth"], rows)
    out += ["", f"Worst growth {fmt(mem['growth'], 3)} (target <= {GROWTH_LIMIT:g})."]
    return out


def markdown(results: dict[str, Any], plot_path: str, previous: str = "") -> str:
    """BENCHMARKS.md: every figure beside its target, the command, the machine, the method."""
    meta, fig_ = results.get("meta", {}), results["figures"]
    out = ["# Benchmarks", "", meta.get("summary", ""), ""]
    out += [f"- command: `{meta.get('command', 'make bench')}`"]
    out += [f"- {k}: {v}" for k, v in meta.get("machine", {}).items()]
    out += [f"- settings: {meta.get('settings', '')}", ""]
    out += ["## Targets", ""]
    rows = [[t["name"], fmt(t["figure"], 2, t["unit"]), f"{t['op']} {t['limit']:g}",
             verdict(t)] for t in results["targets"]]  # fmt: skip
    out += _table(["target", "measured: median [min-max]", "target", "verdict"], rows)
    if plot_path:
        out += ["", f"![latency against offered rate, and every scenario]({plot_path})"]
    cap = fig_["capacity"]
    out += ["", "## 1. Capacity (3-bag carts, 0 ms platform latency, SQLite)", ""]
    rows = [[n, fmt(cap[n], 0, "/s")] for n in (MC, REF) if n in cap]
    rows.append(["ratio multicart / reference",
                 f"{fmt(cap['ratio'], 2)} (target >= {LIMITS['capacity']:g})"])  # fmt: skip
    out += _table(["system", "highest sustained rate"], rows)
    half = fig_.get("half", {})
    out += [
        "",
        f"## 2. Latency at half of multicart's capacity ({half.get('rate') or 0:.0f}/s)",
        "",
    ]
    rows = [[n] + [fmt(half[n][k], 1, " ms") for k in ("p50", "p90", "p99", "max")]
            + [fmt(half[n]["p99_over_p50"], 2)] for n in (MC, REF) if n in half]  # fmt: skip
    out += _table(["system", "p50", "p90", "p99", "max",
                   f"p99/p50 (target <= {LIMITS['tail']:g})"], rows)  # fmt: skip
    beyond = fmt(half.get("p50_minus_reference_ms", stat([])), 1, " ms")
    out += ["", "p50 overhead over the reference (0 ms of injected platform latency, so the "
            "sandbox's own handling is in both p50s and cancels): multicart's p50 minus the "
            f"reference's in the same repetition: {beyond} (target <= "
            f"{LIMITS['overhead_ms']:g} ms)."]  # fmt: skip
    fan = fig_.get("fanout", {})
    out += ["", f"## 3. Fan-out ({fan.get('platform_latency_ms', 0):.0f} ms platform latency, "
            f"{fan.get('rate') or 0:.0f} carts/s)", ""]  # fmt: skip
    rows = [[n, f"{s}"] + [fmt(fan[n][s][k], 1, " ms") for k in ("p50", "p99")]
            for n in (MC, REF) if n in fan for s in ("1", "3", "10") if s in fan[n]]  # fmt: skip
    out += _table(["system", "bags", "p50", "p99"], rows)
    for n in (MC, REF):
        if n in fan:
            out += [f"- {n}: p50 10-bag / 1-bag {fmt(fan[n]['p50_10_over_1'], 3)} (target <= "
                    f"{LIMITS['fanout']:g}); 1-bag p50 above the platform latency "
                    f"{fmt(fan[n]['overhead_1_ms'], 1, ' ms')}"]  # fmt: skip
    out += _engines(fig_)
    out += ["", "## 5. Outbound HTTP stack (64 concurrent requests, loopback JSON server)", ""]
    rows = [[k, fmt(v["throughput"], 0, "/s"), fmt(v["vs_aiohttp"], 2), fmt(v["p50"], 1, " ms"),
             fmt(v["p99"], 1, " ms")] for k, v in fig_.get("httpstack", {}).items()]  # fmt: skip
    out += _table(["stack", "throughput", "vs raw aiohttp", "p50", "p99"], rows)
    out += _overload(fig_.get("overload", {}))
    out += _memory(fig_.get("memory", {}))
    out += ["", "## Method", ""] + [f"- {line}" for line in meta.get("method", [])]
    out += [f"- note: {note}" for note in results.get("notes", [])]
    kept = previous[previous.index(ANALYSIS_MARKER) :] if ANALYSIS_MARKER in previous else ""
    out += ["", kept or ANALYSIS_MARKER]
    return "\n".join(out).rstrip() + "\n"


def add_output_options(parser: argparse.ArgumentParser, docs_help: str) -> None:
    """``--out`` (the run's directory, default .bench/) and ``--docs``/``--no-docs`` (whether the
    repository's BENCHMARKS.md and bench/results/ are written too; ``None`` when not given)."""
    parser.add_argument("--out", type=Path, default=Path(".bench"), help="default .bench/")
    parser.add_argument(
        "--docs", action=argparse.BooleanOptionalAction, default=None, help=docs_help
    )


def rewrite_benchmarks_md(results: dict[str, Any]) -> None:
    """The repository's BENCHMARKS.md from ``results``, keeping its hand-written analysis."""
    target = REPO / "BENCHMARKS.md"
    previous = target.read_text() if target.exists() else ""
    target.write_text(markdown(results, "bench/results/latency.png", previous))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("results", type=Path, help="a JSON file written by python -m bench")
    parser.add_argument("--markdown", type=Path, help="write BENCHMARKS.md here")
    parser.add_argument("--plot", type=Path, help="write the PNG plot here")
    args = parser.parse_args(argv)
    results = derive(orjson.loads(args.results.read_bytes()))
    if args.plot:
        from bench.plot import plot

        plot(results, args.plot)
    if args.markdown:
        previous = args.markdown.read_text() if args.markdown.exists() else ""
        args.markdown.write_text(markdown(results, str(args.plot or ""), previous))


if __name__ == "__main__":
    main()
