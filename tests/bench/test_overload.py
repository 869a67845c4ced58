"""The overload scenario's arithmetic and report section, on fake results (no processes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.figures import derive
from bench.loadgen import Outcome, Run
from bench.overload import Variant, figures
from bench.report import markdown
from tests.bench.test_report import RAW


def _result() -> dict[str, Any]:
    outcomes = [Outcome(101.0, 101.5, status=201), Outcome(101.1, 102.9, status=201)]
    outcomes += [Outcome(101.0 + i / 100, 101.02 + i / 100, "http_503", 503) for i in range(7)]
    outcomes += [Outcome(102.0, 102.0, error="not_sent")]
    run = Run(start=100.0, warmup=1.0, duration=2.0, offered_rate=5.0, outcomes=outcomes)
    return run.summary()


def test_figures_read_accepted_and_shed_apart() -> None:
    summary = _result()
    assert summary["latency_by_status_ms"]["201"]["max"] == pytest.approx(1800.0)
    assert summary["worst_ms"] == pytest.approx(1800.0)  # not_sent left out
    got = figures(summary)
    assert got["accepted_share"] == pytest.approx(0.2)
    assert got["shed_share"] == pytest.approx(0.7)
    assert got["failed_share"] == pytest.approx(0.1)  # the one not sent
    assert got["accepted_p99_ms"] == pytest.approx(1800.0)
    assert got["shed_p99_ms"] == pytest.approx(20.0)


def test_variant_parsing() -> None:
    assert Variant.parse("after") == Variant("after")
    before = Variant.parse("before=/tmp/old:MAX_IN_FLIGHT=0,DB_WAIT_S=5")
    assert before.source == Path("/tmp/old").resolve()
    assert before.settings == {"MAX_IN_FLIGHT": "0", "DB_WAIT_S": "5"}


def test_report_has_an_overload_section_only_when_measured() -> None:
    assert "## 6. Overload" not in markdown(derive(RAW), "")
    run = _result() | figures(_result())
    raw = RAW | {
        "overload": {
            "rate": 1500.0,
            "capacity": 150.0,
            "deadline_s": 2.0,
            "max_in_flight": 64,
            "runs": [run],
        }
    }
    text = markdown(derive(raw), "")
    assert "## 6. Overload (1500 3-bag carts/s" in text and "at most 64 in flight" in text
    assert "70.0%" in text  # the shed share
