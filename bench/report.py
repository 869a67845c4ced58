"""Turn a run's raw measurements into figures, targets, a JSON file, a PNG plot and BENCHMARKS.md.

``derive`` reduces every repeated measurement to ``{"median", "min", "max", "runs"}`` and checks
the benchmark's seven targets (``LIMITS``; the RSS one from ``make bench-soak``'s result, when there
is one); ``markdown`` renders BENCHMARKS.md, keeping any hand-written text below
``ANALYSIS_MARKER``. The PNG is ``bench/plot.py``'s (matplotlib is imported only there).

    python -m bench.report .bench/bench.json --markdown BENCHMARKS.md --plot out.png
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

ANALYSIS_MARKER = "<!-- analysis: hand-written, kept across runs -->"
MC, REF = "multicart", "reference"
PG1, PG2, PG4, REF_PG = (
    "multicart-pg-1worker",
    "multicart-pg-2workers",
    "multicart-pg-4workers",
    "reference-pg",
)
GROWTH_LIMIT = 0.10  # RSS after the long run within 10% of RSS after warm-up
# The targets' limits, named so the tables, texts and the plot print the ones ``targets`` checks.
LIMITS = {
    "capacity": 0.6,  # multicart / reference, SQLite, same run
    "pg_capacity": 0.6,  # PostgreSQL 1 worker / the reference on PostgreSQL
    "pg_scaling": 1.3,  # PostgreSQL 2 workers / 1 worker
    "tail": 2.0,  # p99 / p50 at half capacity
    "overhead_ms": 2.0,  # multicart p50 - reference p50 at half capacity
    "fanout": 1.1,  # p50 10-bag / 1-bag at 50 ms platform latency
    "rss": GROWTH_LIMIT,
}
NOT_MEASURED = "not measured in this run"


def growth_verdict(memory: dict[str, Any]) -> dict[str, Any]:
    """Each process's RSS growth from the sample after the warm-up (the second sample; the
    first is before any load) to the last one, and the worst of them against the limit."""
    samples = memory.get("samples", [])
    growth: dict[str, float] = {}
    if len(samples) >= 3:
        warm, last = samples[1]["rss_kib"], samples[-1]["rss_kib"]
        for pid, before in warm.items():
            after = last.get(pid)
            if before and after:
                growth[pid] = (after - before) / before
    worst = max(growth.values()) if growth else math.nan
    return {
        "growth": growth,
        "worst_growth": worst,
        "holds": bool(growth) and worst <= GROWTH_LIMIT,
    }


def stat(values: Sequence[float]) -> dict[str, Any]:
    """Median and range of repeated figures (NaNs dropped); NaN everywhere when none is left."""
    clean = [float(v) for v in values if not math.isnan(float(v))]
    if not clean:
        return {"median": math.nan, "min": math.nan, "max": math.nan, "runs": []}
    return {
        "median": statistics.median(clean),
        "min": min(clean),
        "max": max(clean),
        "runs": clean,
    }


def ratios(top: Sequence[float], bottom: Sequence[float]) -> list[float]:
    """Per-repetition ratios (repetition i of ``top`` over repetition i of ``bottom``)."""
    return [t / b if b else math.nan for t, b in zip(top, bottom, strict=False)]


def _lat(runs: Sequence[dict[str, Any]], key: str) -> list[float]:
    return [float(r["latency_ms"][key]) for r in runs]


def _latency_figures(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    out = {k: stat(_lat(runs, k)) for k in ("p50", "p90", "p99", "max")}
    out["error_rate"] = stat([r["error_rate"] for r in runs])
    return out


def derive(raw: dict[str, Any]) -> dict[str, Any]:
    """Figures and targets from the raw measurements (``bench.run`` makes them)."""
    fig: dict[str, Any] = {}
    cap = raw.get("capacity", {})
    fig["capacity"] = {name: stat(values) for name, values in cap.items()}
    fig["capacity"]["ratio"] = stat(ratios(cap.get(MC, []), cap.get(REF, [])))
    half = raw.get("half", {})
    fig["half"] = {"rate": half.get("rate")}
    for name, shapes in half.get("runs", {}).items():
        runs = shapes.get("3", [])
        fig["half"][name] = _latency_figures(runs)
        fig["half"][name]["p99_over_p50"] = stat(ratios(_lat(runs, "p99"), _lat(runs, "p50")))
    runs_mc = half.get("runs", {}).get(MC, {}).get("3", [])
    runs_ref = half.get("runs", {}).get(REF, {}).get("3", [])
    diffs = [m - r for m, r in zip(_lat(runs_mc, "p50"), _lat(runs_ref, "p50"), strict=False)]
    fig["half"]["p50_minus_reference_ms"] = stat(diffs)
    fan = raw.get("fanout", {})
    base = float(fan.get("platform_latency_ms", 0.0))
    fig["fanout"] = {"rate": fan.get("rate"), "platform_latency_ms": base}
    for name, shapes in fan.get("runs", {}).items():
        fig["fanout"][name] = {shape: _latency_figures(runs) for shape, runs in shapes.items()}
        one, ten = shapes.get("1", []), shapes.get("10", [])
        fig["fanout"][name]["p50_10_over_1"] = stat(ratios(_lat(ten, "p50"), _lat(one, "p50")))
        fig["fanout"][name]["overhead_1_ms"] = stat([v - base for v in _lat(one, "p50")])
    engines = raw.get("engines", {})
    fig["engines"] = {k: stat(v) for k, v in engines.items()}
    fig["engines_ratio"] = {
        "pg1_over_reference_pg": stat(ratios(engines.get(PG1, []), engines.get(REF_PG, []))),
        "pg2_over_pg1": stat(ratios(engines.get(PG2, []), engines.get(PG1, []))),
        "pg4_over_pg1": stat(ratios(engines.get(PG4, []), engines.get(PG1, []))),
    }
    fig["memory"] = _memory_figures(raw.get("memory"))
    ovl = raw.get("overload", {})
    fig["overload"] = {k: ovl.get(k) for k in ("rate", "capacity", "deadline_s", "max_in_flight")}
    for key in ("accepted_p50_ms", "accepted_p99_ms", "shed_share", "failed_share", "worst_ms"):
        fig["overload"][key] = stat([r[key] for r in ovl.get("runs", [])])
    fig["overload"]["accepted_rate"] = stat(
        [r["accepted_share"] * r["offered_rate"] for r in ovl.get("runs", [])]
    )
    http = raw.get("httpstack", {}).get("runs", {})
    fig["httpstack"] = {}
    for stack, runs in http.items():
        fig["httpstack"][stack] = {
            "throughput": stat([r["throughput"] for r in runs]),
            "p50": stat(_lat(runs, "p50")),
            "p99": stat(_lat(runs, "p99")),
            "vs_aiohttp": stat(
                ratios([r["throughput"] for r in runs], [r["throughput"] for r in http["aiohttp"]])
            )
            if "aiohttp" in http
            else stat([]),
        }
    return {**raw, "figures": fig, "targets": targets(fig)}


def _memory_figures(memory: dict[str, Any] | None) -> dict[str, Any]:
    """The memory run's worst RSS growth (``bench/memory.py``), or an empty figure."""
    if not memory:
        return {"growth": stat([])}
    verdict = growth_verdict(memory)
    samples = memory.get("samples", [])
    rss = {
        pid: {
            "warm_kib": samples[1]["rss_kib"].get(pid),
            "final_kib": samples[-1]["rss_kib"].get(pid),
        }
        for pid in verdict["growth"]
    }
    return {
        "growth": stat([verdict["worst_growth"]]),
        "by_process": rss,
        "roles": memory.get("roles", {}),
        "carts": memory.get("carts"),
        "errors": memory.get("errors"),
        "meta": memory.get("meta", {}),
    }


def _target(name: str, figure: dict[str, Any], op: str, limit: float, unit: str) -> dict[str, Any]:
    def ok(v: float) -> bool:
        return v >= limit if op == ">=" else v <= limit

    median = figure["median"]
    holds = not math.isnan(median) and ok(median)
    every = bool(figure["runs"]) and all(ok(v) for v in figure["runs"])
    return {"name": name, "figure": figure, "op": op, "limit": limit, "unit": unit} | {
        "holds": holds,
        "holds_every_run": every,
    }


def targets(fig: dict[str, Any]) -> list[dict[str, Any]]:
    """The benchmark's targets, each checked on the median (and on every repetition)."""
    half = fig.get("half", {})
    fan = fig.get("fanout", {}).get(MC, {})
    eng = fig.get("engines_ratio", {})
    none = stat([])
    rows = [
        ("capacity", "capacity SQLite, multicart / reference", fig["capacity"]["ratio"], "x"),
        (
            "pg_capacity",
            "capacity PostgreSQL 1 worker / reference on PostgreSQL",
            eng.get("pg1_over_reference_pg", none),
            "x",
        ),
        (
            "pg_scaling",
            "capacity PostgreSQL 2 workers / 1 worker",
            eng.get("pg2_over_pg1", none),
            "x",
        ),
        ("tail", "p99 / p50 at half capacity", half.get(MC, {}).get("p99_over_p50", none), "x"),
        (
            "overhead_ms",
            "p50 overhead over the reference at half capacity",
            half.get("p50_minus_reference_ms", none),
            " ms",
        ),
        ("fanout", "p50 10-bag / 1-bag at 50 ms", fan.get("p50_10_over_1", none), "x"),
        (
            "rss",
            "RSS growth after the long run, worst process",
            fig.get("memory", {}).get("growth", none),
            "",
        ),
    ]
    out = []
    for key, name, figure, unit in rows:
        op = "<=" if key in ("tail", "overhead_ms", "fanout", "rss") else ">="
        out.append(_target(name, figure, op, LIMITS[key], unit) | {"key": key})
    return out


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
