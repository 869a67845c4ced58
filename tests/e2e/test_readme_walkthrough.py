"""The README's curl walk-through runs as written (ports substituted) against real processes."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.launch import (
    migrate,
    orchestrator_env,
    running,
    start_orchestrator,
    start_sandbox,
)

pytestmark = pytest.mark.e2e
README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def walkthrough() -> str:
    after = README.split("Then, in a third:", 1)[1]
    block = re.search(r"```sh\n(.*?)```", after, re.DOTALL)
    assert block, "the README lost its walk-through"
    return block.group(1)


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_walkthrough(tmp_path: Path) -> None:
    sandbox = start_sandbox(tmp_path)
    env = orchestrator_env(f"sqlite+aiosqlite:///{tmp_path / 'readme.db'}")
    env["MULTICART_ADMIN_TOKEN"] = secrets.token_urlsafe(32)  # as the README makes one
    migrate(env)
    api = start_orchestrator(tmp_path, env)
    with running(sandbox, api):
        script = walkthrough()
        script = script.replace("localhost:8090", sandbox.url.removeprefix("http://"))
        script = script.replace("localhost:8080", api.url.removeprefix("http://"))
        result = subprocess.run(  # noqa: S603
            ["bash", "-eu", "-c", script],  # noqa: S607
            env={**os.environ, "MULTICART_ADMIN_TOKEN": env["MULTICART_ADMIN_TOKEN"]},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    out = result.stdout
    assert '{"upserted":1}' in out
    assert '"status": "IN_PROGRESS"' in out  # the created cart, pretty-printed
    assert "204\n" in out  # the DELETE status line
    assert '"code":2503' in out and '"cleared":1' in out
