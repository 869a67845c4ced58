"""Figures and the benchmark's targets from raw measurements; the markdown and the plot show each
figure beside its target and keep the hand-written analysis."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from bench.figures import LIMITS, NOT_MEASURED, derive, ratios, stat
from bench.report import ANALYSIS_MARKER, markdown


def _run(p50: float, p99: float) -> dict[str, Any]:
    latency = {"p50": p50, "p90": (p50 + p99) / 2, "p99": p99, "max": p99 * 1.5}
    return {"latency_ms": latency, "error_rate": 0.0}


RAW: dict[str, Any] = {
    "meta": {"summary": "test", "machine": {"cores (nproc)": "2"}, "method": ["m"]},
    "capacity": {"multicart": [180.0, 200.0, 190.0], "reference": [220.0, 230.0, 225.0]},
    "half": {
        "rate": 95.0,
        "runs": {
            "multicart": {"3": [_run(4.0, 7.0), _run(4.5, 10.0), _run(3.9, 7.5)]},
            "reference": {"3": [_run(2.0, 3.0), _run(2.1, 3.2), _run(2.2, 3.1)]},
        },
    },
    "fanout": {
        "rate": 28.0,
        "platform_latency_ms": 50.0,
        "runs": {"multicart": {"1": [_run(53.0, 60.0)] * 3, "10": [_run(58.0, 70.0)] * 3}},
    },
    "engines": {
        "multicart-sqlite": [190.0],
        "reference-pg": [400.0, 420.0, 410.0],
        "multicart-pg-1worker": [250.0, 260.0, 240.0],
        "multicart-pg-2workers": [350.0, 320.0, 330.0],
        "multicart-pg-4workers": [380.0, 390.0, 385.0],
    },
    "httpstack": {
        "runs": {
            "aiohttp": [{"throughput": 10000.0, "latency_ms": {"p50": 5.0, "p99": 9.0}}],
            "httpx-aiohttp": [{"throughput": 4000.0, "latency_ms": {"p50": 15.0, "p99": 30.0}}],
        }
    },
    "probes": [],
    "notes": [],
}


def test_stat_is_median_and_range() -> None:
    assert stat([3.0, 1.0, 2.0]) == {"median": 2.0, "min": 1.0, "max": 3.0, "runs": [3.0, 1.0, 2.0]}
    assert math.isnan(stat([math.nan])["median"])
    assert ratios([2.0, 3.0], [1.0, 0.0])[0] == 2.0 and math.isnan(ratios([3.0], [0.0])[0])


def test_derive_checks_each_target_on_the_median_and_on_every_run() -> None:
    results = derive(RAW)
    targets = {t["key"]: t for t in results["targets"]}
    assert list(targets) == list(LIMITS)  # the benchmark's seven, each with its own limit
    assert all(t["limit"] == LIMITS[k] for k, t in targets.items())
    capacity = targets["capacity"]
    assert math.isclose(capacity["figure"]["median"], 190.0 / 225.0)
    assert capacity["op"] == ">=" and capacity["holds"] and capacity["holds_every_run"]
    pg = targets["pg_capacity"]
    assert math.isclose(pg["figure"]["median"], 260.0 / 420.0) and pg["holds"]
    assert not pg["holds_every_run"]  # 240 / 410 < 0.6 once
    scaling = targets["pg_scaling"]
    assert math.isclose(scaling["figure"]["median"], 330.0 / 240.0)
    assert scaling["holds"] and not scaling["holds_every_run"]  # 320 / 260 < 1.3 once
    tail = targets["tail"]
    assert tail["holds"] and not tail["holds_every_run"]  # 10 / 4.5 > 2 once
    fan = targets["fanout"]
    assert math.isclose(fan["figure"]["median"], 58.0 / 53.0) and fan["holds"]
    overhead = targets["overhead_ms"]  # multicart p50 - reference p50, same repetition
    assert overhead["figure"]["median"] == pytest.approx(2.0) and overhead["op"] == "<="
    assert overhead["figure"]["runs"] == pytest.approx([2.0, 2.4, 1.7])
    assert not targets["rss"]["figure"]["runs"] and not targets["rss"]["holds"]  # no memory run
    ratio4 = results["figures"]["engines_ratio"]["pg4_over_pg1"]
    assert math.isclose(ratio4["median"], 380.0 / 250.0)
    http = results["figures"]["httpstack"]["httpx-aiohttp"]["vs_aiohttp"]
    assert http["median"] == 0.4


def test_the_rss_target_reads_the_memory_run() -> None:
    samples = [{"carts": 0, "rss_kib": {"7": 50_000}}, {"carts": 5000, "rss_kib": {"7": 100_000}}]
    samples += [{"carts": 100_000, "rss_kib": {"7": 108_000}}]
    raw = RAW | {"memory": {"samples": samples, "roles": {"7": "worker"}, "meta": {"rate": 100}}}
    results = derive(raw)
    rss = next(t for t in results["targets"] if t["key"] == "rss")
    assert rss["figure"]["median"] == pytest.approx(0.08) and rss["holds"]
    text = markdown(results, "")
    assert "## 7. Memory" in text and "+8.0%" in text and "97.7 MiB" in text
    samples[-1]["rss_kib"]["7"] = 115_000
    rss = next(t for t in derive(raw)["targets"] if t["key"] == "rss")
    assert not rss["holds"]


def test_markdown_shows_every_target_and_keeps_the_analysis() -> None:
    results = derive(RAW)
    previous = f"# old\n{ANALYSIS_MARKER}\nWhere the time goes: kept.\n"
    text = markdown(results, "bench/results/latency.png", previous)
    for target in results["targets"]:
        assert target["name"] in text
    assert "Where the time goes: kept." in text and "# old" not in text
    assert "bench/results/latency.png" in text
    assert NOT_MEASURED in text  # the RSS row, with no memory run recorded
    for line in ("target >= 0.6", "target >= 1.3", "target <= 1.1", "target <= 2 ms"):
        assert line in text


def test_the_plot_is_drawn_with_every_target(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from bench.plot import plot

    path = tmp_path / "latency.png"
    plot(derive(RAW), path)
    assert path.stat().st_size > 10_000
