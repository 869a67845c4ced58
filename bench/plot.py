"""The benchmark's PNG: latency against offered rate, one panel per scenario, and the targets.

Every panel's title puts its figure beside its target (``report.LIMITS``), and the targets
table repeats all seven with their verdicts. matplotlib (the ``bench`` extra) is imported only
when a plot is drawn.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from bench.figures import LIMITS, MC, NOT_MEASURED, REF, stat
from bench.report import fmt

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


def _latency_vs_rate(ax: Any, results: dict[str, Any]) -> None:
    fig_ = results["figures"]
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
    ratio = fmt(fig_["capacity"]["ratio"], 2)
    limit = LIMITS["capacity"]
    _title(ax, "1. latency vs offered rate",
           f"capacity multicart / reference {ratio} (target >= {limit:g})")  # fmt: skip
    ax.legend(fontsize=7, title="filled: sustained; dashed: capacity", title_fontsize=7)


def _half(ax: Any, half: dict[str, Any]) -> None:
    keys = ["p50", "p90", "p99", "max"]
    _bars(ax, keys, {n: [half[n][k] for k in keys] for n in (MC, REF) if n in half}, "ms")
    ref_p50 = half.get(REF, {}).get("p50", stat([]))["median"]
    if not math.isnan(ref_p50):  # the overhead target: multicart's p50 below this line
        ax.axhline(ref_p50 + LIMITS["overhead_ms"], color="red", linestyle=":", linewidth=1)
    tail = fmt(half.get(MC, {}).get("p99_over_p50", stat([])), 2)
    over = fmt(half.get("p50_minus_reference_ms", stat([])), 1, " ms")
    _title(ax, f"2. half of multicart's capacity ({half.get('rate') or 0.0:.0f}/s, 0 ms platform)",
           f"p99/p50 {tail} (target <= {LIMITS['tail']:g}); p50 - reference p50 {over} (target "
           f"<= {LIMITS['overhead_ms']:g} ms: red line)")  # fmt: skip


def _fanout(ax: Any, fan: dict[str, Any]) -> None:
    shapes = ["1", "3", "10"]
    series = {f"{n} {k}": [fan[n].get(s, {}).get(k, stat([])) for s in shapes]
              for n in (MC, REF) if n in fan for k in ("p50", "p99")}  # fmt: skip
    _bars(ax, [f"{s}-bag carts" for s in shapes], series, "ms")
    if MC in fan and "1" in fan[MC]:
        limit = LIMITS["fanout"] * fan[MC]["1"]["p50"]["median"]
        ax.axhline(limit, color="red", linestyle=":", linewidth=1)
    ratio = fmt(fan.get(MC, {}).get("p50_10_over_1", stat([])), 2)
    _title(ax, f"3. fan-out, {fan.get('platform_latency_ms', 0):.0f} ms platform latency, "
           f"{fan.get('rate') or 0:.0f} carts/s", f"p50 10-bag / 1-bag {ratio} (target <= "
           f"{LIMITS['fanout']:g}: red line)")  # fmt: skip


def _engines(ax: Any, fig_: dict[str, Any]) -> None:
    engines = fig_.get("engines", {})
    _bars(ax, list(engines), {"capacity": list(engines.values())}, "carts/s")
    eng = fig_.get("engines_ratio", {})
    one = fmt(eng.get("pg1_over_reference_pg", stat([])), 2)
    two = fmt(eng.get("pg2_over_pg1", stat([])), 2)
    _title(ax, "4. capacity by engine and workers (3-bag carts/s, 0 ms; 2 cores shared)",
           f"PG 1 worker / reference-pg {one} (>= {LIMITS['pg_capacity']:g}); "
           f"2 / 1 worker {two} (>= {LIMITS['pg_scaling']:g})")  # fmt: skip
    ax.tick_params(axis="x", labelrotation=20)
    for patch, name in zip(ax.patches, engines, strict=False):
        patch.set_color("tab:orange" if name.startswith(REF) else "tab:blue")


def _memory(ax: Any, mem: dict[str, Any]) -> None:
    samples = mem.get("samples", [])
    for pid in mem.get("roles", {}):
        points = [(s["carts"], s["rss_kib"].get(pid)) for s in samples[1:]]
        points = [(c, kib / 1024) for c, kib in points if kib]
        if points:
            ax.plot(*zip(*points, strict=True), marker=".", label=f"pid {pid}")
    if samples:
        ax.set_xlabel("3-bag carts sent")
        ax.set_ylabel("RSS (MiB)")
        ax.legend(fontsize=7)
    growth = fmt(mem.get("growth", stat([])), 3) if samples else NOT_MEASURED
    _title(ax, "7. memory (make bench-soak)",
           f"worst RSS growth after warm-up {growth} (target <= {LIMITS['rss']:g})")  # fmt: skip


def _targets(ax: Any, targets: list[dict[str, Any]]) -> None:
    cells = [[t["name"], fmt(t["figure"], 2, t["unit"]), f"{t['op']} {t['limit']:g}"]
             for t in targets]  # fmt: skip
    for row, t in zip(cells, targets, strict=True):
        row.append("-" if not t["figure"]["runs"] else "holds" if t["holds"] else "MISSED")
    ax.axis("off")
    table = ax.table(cells, colLabels=["target", "measured", "limit", ""], loc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(8)
    table.scale(1.0, 1.8)
    table.auto_set_column_width([0, 1, 2, 3])
    _title(ax, "targets (BENCHMARKS.md)", "median [min-max] of the repetitions; -: not measured")


def plot(results: dict[str, Any], path: Path) -> None:
    """The PNG: latency against offered rate (multicart beside the reference), each scenario,
    the memory run and the targets table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig_ = results["figures"]
    figure, axes = plt.subplots(2, 4, figsize=(23, 10))
    _latency_vs_rate(axes[0][0], results)
    _half(axes[0][1], fig_.get("half", {}))
    _fanout(axes[0][2], fig_.get("fanout", {}))
    memory = {**(results.get("memory") or {}), **fig_.get("memory", {})}
    _memory(axes[0][3], memory)
    _engines(axes[1][0], fig_)
    http = fig_.get("httpstack", {})
    _bars(axes[1][1], list(http), {"req/s": [v["throughput"] for v in http.values()]}, "req/s")
    _title(axes[1][1], "5. outbound HTTP stack", "requests/s at 64 in flight, loopback")
    axes[1][2].remove()
    axes[1][3].remove()
    _targets(figure.add_subplot(2, 4, (7, 8)), results["targets"])
    figure.suptitle(f"multicart benchmark: {results.get('meta', {}).get('summary', '')}")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)
