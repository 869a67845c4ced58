"""Turn a run's raw measurements into figures, targets, a JSON file, a PNG plot and BENCHMARKS.md.

``derive`` reduces every repeated measurement to ``{"median", "min", "max", "runs"}`` and checks
the issue's four targets; ``plot`` draws latency against offered rate for multicart beside the
reference, one panel per other scenario and the targets; ``markdown`` renders BENCHMARKS.md,
keeping any hand-written text below ``ANALYSIS_MARKER``. matplotlib is imported only by ``plot``.

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
    """Figures and targets from the raw measurements (see ``bench.__main__`` for the shape)."""
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
    fig["engines"] = {k: stat(v) for k, v in raw.get("engines", {}).items()}
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
    """The issue's four targets, each checked on the median (and on every repetition)."""
    half = fig.get("half", {}).get(MC, {})
    fan = fig.get("fanout", {}).get(MC, {})
    none = stat([])
    return [
        _target("capacity, multicart / reference", fig["capacity"]["ratio"], ">=", 0.8, "x"),
        _target("p99 / p50 at half capacity", half.get("p99_over_p50", none), "<=", 2.0, "x"),
        _target("p50 10-bag / 1-bag at 50 ms", fan.get("p50_10_over_1", none), "<=", 1.15, "x"),
        _target(
            "p50 overhead above platform latency at half capacity (0 ms)",
            half.get("p50", none),
            "<=",
            5.0,
            " ms",
        ),
    ]


def fmt(figure: dict[str, Any], digits: int = 1, unit: str = "") -> str:
    """``median [min-max]`` of a stat, e.g. ``212.0 [198.3-220.1] /s``."""
    if math.isnan(figure.get("median", math.nan)):
        return "n/a"
    m, lo, hi = (f"{figure[k]:.{digits}f}" for k in ("median", "min", "max"))
    return f"{m}{unit} [{lo}-{hi}]" if len(figure["runs"]) > 1 else f"{m}{unit}"


def verdict(target: dict[str, Any]) -> str:
    if target["holds"] and target["holds_every_run"]:
        return "**holds**"
    if target["holds"]:
        return "**holds** on the median (not in every repetition)"
    return "**missed**"


COLORS = {f"{MC} p50": "tab:blue", f"{MC} p99": "lightsteelblue", f"{REF} p50": "tab:orange",
          f"{REF} p99": "navajowhite", MC: "tab:blue", REF: "tab:orange"}  # fmt: skip


def _bars(ax: Any, groups: list[str], series: dict[str, list[dict[str, Any]]], unit: str) -> None:
    """Grouped bars of medians with min-max whiskers, each labelled with its median."""
    width = 0.8 / max(1, len(series))
    for i, (label, figures) in enumerate(series.items()):
        xs = [g + i * width - 0.4 + width / 2 for g in range(len(groups))]
        med = [f["median"] for f in figures]
        err = [
            [max(0.0, f["median"] - f["min"]) for f in figures],
            [max(0.0, f["max"] - f["median"]) for f in figures],
        ]
        bars = ax.bar(xs, med, width, yerr=err, capsize=3, label=label, color=COLORS.get(label))
        labels = [f"{m:.3g}" if m < 1000 else f"{m:.0f}" for m in med]
        ax.bar_label(bars, labels=labels, fontsize=6, padding=2)
    ax.set_xticks(range(len(groups)), groups, fontsize=7)
    ax.set_ylabel(unit)
    if len(series) > 1:
        ax.legend(fontsize=7)


def _title(ax: Any, first: str, second: str) -> None:
    ax.set_title(f"{first}\n{second}", fontsize=9)


def plot(results: dict[str, Any], path: Path) -> None:
    """The PNG: latency against offered rate (multicart beside the reference) and each scenario."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_ = results["figures"]
    figure, axes = plt.subplots(2, 3, figsize=(17, 10))
    ax = axes[0][0]
    for name, color in ((MC, "tab:blue"), (REF, "tab:orange")):
        probes = sorted(
            (p for p in results.get("probes", []) if p["system"] == name), key=lambda p: p["rate"]
        )
        for key, marker in (("p50", "o"), ("p99", "^")):
            ax.scatter(
                [p["rate"] for p in probes],
                [max(p["latency_ms"][key], 0.1) for p in probes],
                marker=marker,
                facecolors=[color if p["sustained"] else "none" for p in probes],
                edgecolors=color,
                label=f"{name} {key}",
            )
        capacity = fig_["capacity"].get(name, stat([]))["median"]
        if not math.isnan(capacity):
            ax.axvline(capacity, color=color, linestyle="--", linewidth=1)
    ax.axhline(1000, color="grey", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel("offered rate (3-bag carts/s, 0 ms platform latency, SQLite)")
    ax.set_ylabel("latency from intended send (ms)")
    ratio = fig_["capacity"]["ratio"]
    _title(ax, "1. latency vs offered rate", f"capacity ratio {fmt(ratio, 2)} (target >= 0.8)")
    ax.legend(fontsize=7, title="filled: sustained; dashed: capacity", title_fontsize=7)

    half = fig_.get("half", {})
    keys = ["p50", "p90", "p99", "max"]
    series = {n: [half[n][k] for k in keys] for n in (MC, REF) if n in half}
    _bars(axes[0][1], keys, series, "ms")
    axes[0][1].axhline(5.0, color="red", linestyle=":", linewidth=1, label="5 ms")
    rate = half.get("rate") or 0.0
    p99p50 = half.get(MC, {}).get("p99_over_p50", stat([]))
    _title(axes[0][1], f"2. half of multicart's capacity ({rate:.0f}/s, 0 ms platform)",
           f"p99/p50 {fmt(p99p50, 2)} (target <= 2); p50 vs 5 ms (red line)")  # fmt: skip

    fan = fig_.get("fanout", {})
    shapes = ["1", "3", "10"]
    series = {
        f"{n} {k}": [fan[n][s][k] for s in shapes] for n in (MC, REF) if n in fan for k in keys[::2]
    }
    _bars(axes[0][2], [f"{s}-bag carts" for s in shapes], series, "ms")
    if MC in fan and "1" in fan[MC]:
        axes[0][2].axhline(
            1.15 * fan[MC]["1"]["p50"]["median"], color="red", linestyle=":", linewidth=1
        )
    ratio_fan = fmt(fan.get(MC, {}).get("p50_10_over_1", stat([])), 2)
    _title(axes[0][2], f"3. fan-out, {fan.get('platform_latency_ms', 0):.0f} ms platform latency, "
           f"{fan.get('rate') or 0:.0f} carts/s", f"p50 10-bag / 1-bag {ratio_fan} (target <= "
           "1.15: red line)")  # fmt: skip

    engines = fig_.get("engines", {})
    _bars(axes[1][0], list(engines), {"capacity": list(engines.values())}, "carts/s")
    _title(axes[1][0], "4. capacity by engine", "3-bag carts/s, 0 ms platform latency")
    axes[1][0].tick_params(axis="x", labelrotation=15)
    for patch, name in zip(axes[1][0].patches, engines, strict=False):
        patch.set_color("tab:orange" if name.startswith(REF) else "tab:blue")

    http = fig_.get("httpstack", {})
    _bars(axes[1][1], list(http), {"req/s": [v["throughput"] for v in http.values()]}, "req/s")
    _title(axes[1][1], "5. outbound HTTP stack", "requests/s at 64 in flight, loopback")

    cells = [[t["name"], f"{fmt(t['figure'], 2)}{t['unit']}", f"{t['op']} {t['limit']:g}"]
             for t in results["targets"]]  # fmt: skip
    for row, t in zip(cells, results["targets"], strict=True):
        row.append("holds" if t["holds"] else "MISSED")
    axes[1][2].axis("off")
    table = axes[1][2].table(cells, colLabels=["target", "measured", "limit", ""], loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1.0, 1.8)
    table.auto_set_column_width([0, 1, 2, 3])
    _title(axes[1][2], "targets", "median [min-max] of the repetitions")
    figure.suptitle(f"multicart benchmark: {results.get('meta', {}).get('summary', '')}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)


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


def markdown(results: dict[str, Any], plot_path: str, previous: str = "") -> str:
    """BENCHMARKS.md: every figure beside its target, the command, the machine, the method."""
    meta, fig_ = results.get("meta", {}), results["figures"]
    out = ["# Benchmarks", "", meta.get("summary", ""), ""]
    out += [f"- command: `{meta.get('command', 'make bench')}`"]
    out += [f"- {k}: {v}" for k, v in meta.get("machine", {}).items()]
    out += [f"- settings: {meta.get('settings', '')}", ""]
    out += ["## Targets", ""]
    rows = [[t["name"], f"{fmt(t['figure'], 2)}{t['unit']}", f"{t['op']} {t['limit']:g}",
             verdict(t)] for t in results["targets"]]  # fmt: skip
    out += _table(["target", "measured: median [min-max]", "target", "verdict"], rows)
    if plot_path:
        out += ["", f"![latency against offered rate, and every scenario]({plot_path})"]
    cap = fig_["capacity"]
    out += ["", "## 1. Capacity (3-bag carts, 0 ms platform latency, SQLite)", ""]
    rows = [[n, fmt(cap[n], 0, "/s")] for n in (MC, REF) if n in cap]
    rows.append(["ratio multicart / reference", fmt(cap["ratio"], 2) + " (target >= 0.8)"])
    out += _table(["system", "highest sustained rate"], rows)
    half = fig_.get("half", {})
    out += [
        "",
        f"## 2. Latency at half of multicart's capacity ({half.get('rate') or 0:.0f}/s)",
        "",
    ]
    rows = [[n] + [fmt(half[n][k], 1, " ms") for k in ("p50", "p90", "p99", "max")]
            + [fmt(half[n]["p99_over_p50"], 2)] for n in (MC, REF) if n in half]  # fmt: skip
    out += _table(["system", "p50", "p90", "p99", "max", "p99/p50 (target <= 2)"], rows)
    beyond = fmt(half.get("p50_minus_reference_ms", stat([])), 1, " ms")
    out += ["", "With 0 ms of injected platform latency the overhead target reads multicart's p50 "
            "itself (target <= 5 ms); multicart's p50 minus the reference's in the same "
            f"repetition: {beyond}."]  # fmt: skip
    fan = fig_.get("fanout", {})
    out += ["", f"## 3. Fan-out ({fan.get('platform_latency_ms', 0):.0f} ms platform latency, "
            f"{fan.get('rate') or 0:.0f} carts/s)", ""]  # fmt: skip
    rows = [[n, f"{s}"] + [fmt(fan[n][s][k], 1, " ms") for k in ("p50", "p99")]
            for n in (MC, REF) if n in fan for s in ("1", "3", "10") if s in fan[n]]  # fmt: skip
    out += _table(["system", "bags", "p50", "p99"], rows)
    for n in (MC, REF):
        if n in fan:
            out += [f"- {n}: p50 10-bag / 1-bag {fmt(fan[n]['p50_10_over_1'], 3)} (target <= "
                    f"1.15); 1-bag p50 above the platform latency "
                    f"{fmt(fan[n]['overhead_1_ms'], 1, ' ms')}"]  # fmt: skip
    out += ["", "## 4. Engines (capacity, 3-bag carts, 0 ms platform latency)", ""]
    out += _table(["engine", "highest sustained rate"],
                  [[k, fmt(v, 0, "/s")] for k, v in fig_.get("engines", {}).items()])  # fmt: skip
    out += ["", "## 5. Outbound HTTP stack (64 concurrent requests, loopback JSON server)", ""]
    rows = [[k, fmt(v["throughput"], 0, "/s"), fmt(v["vs_aiohttp"], 2), fmt(v["p50"], 1, " ms"),
             fmt(v["p99"], 1, " ms")] for k, v in fig_.get("httpstack", {}).items()]  # fmt: skip
    out += _table(["stack", "throughput", "vs raw aiohttp", "p50", "p99"], rows)
    out += _overload(fig_.get("overload", {}))
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
        plot(results, args.plot)
    if args.markdown:
        previous = args.markdown.read_text() if args.markdown.exists() else ""
        args.markdown.write_text(markdown(results, str(args.plot or ""), previous))


if __name__ == "__main__":
    main()
