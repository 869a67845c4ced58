"""``make bench-soak`` (``bench/memory.py``): the RSS sampling, the verdict, and a tiny real run
so the long one cannot rot unnoticed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from bench.figures import growth_verdict
from bench.memory import main, process_tree, rss_kib


@pytest.mark.e2e  # a real process
def test_rss_is_read_for_a_process_and_its_descendants() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        tree = process_tree(os.getpid())
        assert tree[0] == os.getpid() and child.pid in tree
        own = rss_kib(os.getpid())
        assert own is not None and own > 10_000  # a Python process with pytest loaded: > 10 MiB
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(10)
    assert rss_kib(child.pid) is None  # reaped: gone


def _samples(*rss: int) -> list[dict[str, object]]:
    return [{"carts": i * 100, "rss_kib": {"1": v, "2": 2 * v}} for i, v in enumerate(rss)]


def test_growth_is_measured_from_the_warm_up_sample_to_the_last() -> None:
    flat = growth_verdict({"samples": _samples(40_000, 100_000, 120_000, 105_000)})
    assert flat["growth"] == pytest.approx({"1": 0.05, "2": 0.05}) and flat["holds"]
    grew = growth_verdict({"samples": _samples(40_000, 100_000, 100_000, 111_000)})
    assert grew["worst_growth"] == pytest.approx(0.11) and not grew["holds"]
    too_short = growth_verdict({"samples": _samples(40_000, 100_000)})
    assert too_short["growth"] == {} and not too_short["holds"]


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_tiny_memory_run_samples_every_chunk(tmp_path: Path) -> None:
    argv = ["--carts", "300", "--warmup", "100", "--chunk", "100", "--rate", "100"]
    main([*argv, "--no-docs", "--out", str(tmp_path)])
    (found,) = tmp_path.glob("memory-*/memory.json")
    result = orjson.loads(found.read_bytes())
    assert result["carts"] == 300 and result["errors"] == 0
    assert [s["carts"] for s in result["samples"]] == [0, 100, 200, 300]
    assert all(v and v > 10_000 for s in result["samples"] for v in s["rss_kib"].values())
    assert result["meta"]["stopped_by"] == "carts" and set(result["growth"]) == set(result["roles"])
