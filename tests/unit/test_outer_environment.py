"""A developer's own ``MULTICART_*`` variables do not reach the tests' ``Settings()``.

Shown the only way that can fail: pytest run in a process of its own, with such variables in
its environment, on a tiny test that reads ``Settings()``; the tests' own variables are kept.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e  # runs pytest in a process of its own

ROOT = Path(__file__).resolve().parents[2]

TINY = """
import os

from config import Settings


def test_settings_are_the_defaults() -> None:
    assert Settings().cart_ttl_days == 30
    assert Settings().admin_token.get_secret_value() == ""
    assert "MULTICART_CART_TTL_DAYS" not in os.environ
    assert os.environ["MULTICART_SHARED_DIR"] == "/kept/for/the/tests"
"""


def test_outer_multicart_variables_are_cleared_for_every_test(tmp_path: Path) -> None:
    (tmp_path / "test_tiny.py").write_text(TINY)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "MULTICART_CART_TTL_DAYS": "1",
        "MULTICART_ADMIN_TOKEN": "from-the-developers-shell",
        "MULTICART_SHARED_DIR": "/kept/for/the/tests",
    }
    done = subprocess.run(  # noqa: S603 - this interpreter's pytest, fixed arguments
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "-q",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "1 passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]
