"""The capacity search and the 'sustained' rule, on fake probes (no processes, no timing)."""

from __future__ import annotations

import math
from typing import Any

from bench.scenarios import FULL, QUICK, search, sustained


def _result(offered: float, achieved: float, errors: float, p99: float) -> dict[str, Any]:
    return {
        "requests": 100,
        "offered_rate": offered,
        "achieved_rate": achieved,
        "error_rate": errors,
        "latency_ms": {"p99": p99},
    }


def test_sustained_needs_few_errors_full_throughput_and_a_bounded_tail() -> None:
    assert sustained(_result(100, 100, 0.0, 50))
    assert sustained(_result(100, 97.5, 0.0009, 999))
    assert not sustained(_result(100, 100, 0.001, 50))  # 0.1% errors
    assert not sustained(_result(100, 90, 0.0, 50))  # fell behind
    assert not sustained(_result(100, 100, 0.0, 1000))  # tail unbounded
    assert not sustained(_result(100, 100, 0.0, math.nan))  # nothing answered


def test_search_brackets_the_threshold_within_tolerance() -> None:
    for threshold in (37.0, 212.0, 480.0):
        probed: list[float] = []

        def probe(rate: float, threshold: float = threshold, probed: list[float] = probed) -> bool:
            probed.append(rate)
            return rate <= threshold

        best = search(probe, 100.0, 1.5, FULL)
        assert best <= threshold
        failed = min(r for r in probed if r > threshold)
        assert failed / best <= 1 + FULL.tolerance
        assert len(probed) <= FULL.max_probes


def test_search_goes_down_when_the_first_probe_fails() -> None:
    best = search(lambda rate: rate <= 20.0, 100.0, 1.5, QUICK)
    assert 0 < best <= 20.0


def test_search_reports_zero_when_nothing_is_sustained() -> None:
    assert search(lambda rate: False, 10.0, 1.5, QUICK) == 0.0


def test_search_stops_after_max_probes() -> None:
    probed: list[float] = []

    def always(rate: float) -> bool:
        probed.append(rate)
        return True

    search(always, 1.0, 1.5, QUICK)
    assert len(probed) == QUICK.max_probes
