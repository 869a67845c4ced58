"""The runnable examples keep working: `make demo` is run here as a user would run it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_demo_shows_every_outcome_and_exits_cleanly() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "examples.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    for step in ("1. one cart across Shopify", "2. each platform failing", "HTTP 502", "4. delete"):
        assert step in out
    for platform in ("SHOPIFY", "BIGCOMMERCE", "ELASTIC_PATH"):
        assert f'"platform": "{platform}"' in out
    assert '"code": 2503' in out and '"cause": "OUT_OF_STOCK"' in out
    assert "$12.99 (1299)" in out  # money as the shopper reads it, beside minor units
    for step in ("5. an empty cart filled later", "6. a storefront cart", "7. /metrics"):
        assert step in out
    assert "409 duplicate_cart" in out and "every metric has a non-zero value" in out
    assert "demo finished" in out
