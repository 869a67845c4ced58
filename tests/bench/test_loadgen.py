"""The load generator's arithmetic: schedule, percentiles, intended-time latency, the window."""

from __future__ import annotations

import math

import pytest

from bench.loadgen import Outcome, Run, latency_summary, parse_header, percentile, schedule


def test_schedule_is_constant_rate_from_zero() -> None:
    offsets = schedule(4.0, 2.0)
    assert offsets == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


def test_schedule_counts_rate_times_seconds_without_float_loss() -> None:
    assert len(schedule(300.0, 0.1)) == 30
    assert len(schedule(0.5, 3.0)) == 1
    assert schedule(0.0, 5.0) == [] and schedule(10.0, 0.0) == []


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == 50.0
    assert percentile(values, 90) == 90.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0
    assert math.isnan(percentile([], 50))


def test_latency_summary_is_in_milliseconds() -> None:
    summary = latency_summary([0.001, 0.002, 0.003, 0.004])
    assert summary["p50"] == pytest.approx(2.0)
    assert summary["max"] == pytest.approx(4.0)
    assert summary["mean"] == pytest.approx(2.5)
    assert math.isnan(latency_summary([])["p99"])


def test_latency_runs_from_the_intended_time_not_the_send_time() -> None:
    # Due at t=10.0, but the client only got to send it at 10.4 and the answer came at 10.5:
    # the user waited 500 ms, not 100 ms.
    assert Outcome(intended=10.0, ended=10.5).latency == pytest.approx(0.5)


def _run(outcomes: list[Outcome]) -> Run:
    return Run(start=100.0, warmup=1.0, duration=2.0, offered_rate=2.0, outcomes=outcomes)


def test_summary_leaves_the_warmup_out_and_counts_errors_in_the_window() -> None:
    outcomes = [
        Outcome(100.0, 109.0),  # warm-up: ignored however slow
        Outcome(100.5, 100.6, error="timeout"),  # warm-up error: ignored
        Outcome(101.0, 101.01),
        Outcome(101.5, 101.52),
        Outcome(102.0, 102.0, error="not_sent"),
        Outcome(102.5, 102.53, error="http_500", status=500),
        Outcome(103.0, 103.01),  # due after the window: ignored
    ]
    summary = _run(outcomes).summary()
    assert summary["requests"] == 4
    assert summary["ok"] == 2
    assert summary["errors"] == {"not_sent": 1, "http_500": 1}
    assert summary["error_rate"] == pytest.approx(0.5)
    assert summary["latency_ms"]["max"] == pytest.approx(20.0)
    assert summary["statuses"] == {"500": 1}


def test_achieved_rate_counts_successes_ending_inside_the_window() -> None:
    # Four due in the window, but a stalled server finished two of them after it ended.
    outcomes = [
        Outcome(101.0, 101.1),
        Outcome(101.5, 102.9),
        Outcome(102.0, 103.5),
        Outcome(102.5, 104.0),
    ]
    summary = _run(outcomes).summary()
    assert summary["achieved_rate"] == pytest.approx(1.0)  # 2 within 2 s
    assert summary["latency_ms"]["max"] == pytest.approx(1500.0)


def test_parse_header() -> None:
    assert parse_header("Authorization: Bearer a:b") == ("Authorization", "Bearer a:b")
    with pytest.raises(Exception, match="Name: value"):
        parse_header("no-colon")
