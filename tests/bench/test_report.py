"""Figures and targets from raw measurements; the markdown keeps hand-written analysis."""

from __future__ import annotations

import math
from typing import Any

from bench.report import ANALYSIS_MARKER, derive, markdown, ratios, stat


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
    "engines": {"multicart-sqlite": [190.0], "multicart-pg-1proc": [250.0, 260.0]},
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
    targets = {t["name"]: t for t in results["targets"]}
    capacity = targets["capacity, multicart / reference"]
    assert math.isclose(capacity["figure"]["median"], 190.0 / 225.0)
    assert capacity["holds"] and capacity["holds_every_run"]
    tail = targets["p99 / p50 at half capacity"]
    assert tail["holds"] and not tail["holds_every_run"]  # 10 / 4.5 > 2 once
    fan = targets["p50 10-bag / 1-bag at 50 ms"]
    assert math.isclose(fan["figure"]["median"], 58.0 / 53.0) and fan["holds"]
    overhead = next(t for n, t in targets.items() if n.startswith("p50 overhead"))
    assert overhead["figure"]["median"] == 4.0 and overhead["holds"]
    http = results["figures"]["httpstack"]["httpx-aiohttp"]["vs_aiohttp"]
    assert http["median"] == 0.4


def test_markdown_shows_every_target_and_keeps_the_analysis() -> None:
    results = derive(RAW)
    previous = f"# old\n{ANALYSIS_MARKER}\nWhere the time goes: kept.\n"
    text = markdown(results, "bench/results/latency.png", previous)
    for target in results["targets"]:
        assert target["name"] in text
    assert "Where the time goes: kept." in text and "# old" not in text
    assert "bench/results/latency.png" in text
