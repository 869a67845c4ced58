"""A run's raw measurements reduced to figures and checked against the benchmark's targets.

``derive`` reduces every repeated measurement to ``{"median", "min", "max", "runs"}`` and checks
the seven targets (``LIMITS``; the RSS one from ``make bench-soak``'s result, when there is one).
Rendering them is ``bench.report``'s and ``bench.plot``'s.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Any

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
