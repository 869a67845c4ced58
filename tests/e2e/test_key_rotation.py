"""`multicart keys rotate`: the encryption key is rotated without downtime, over real processes.

Serve with the new key and the old one as decrypt-only, re-seal every merchant, then the old
key can go: carts are still created for every merchant.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from examples.client import Multicart, Sandbox, register_sandbox
from tests.support.launch import (
    BIN,
    migrate,
    orchestrator_env,
    running,
    start_orchestrator,
    start_sandbox,
)

pytestmark = pytest.mark.e2e


def rotate(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603
        [str(BIN / "multicart"), "keys", "rotate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_rotating_the_key_keeps_every_merchant_usable(tmp_path: Path) -> None:
    old = orchestrator_env(f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}")
    migrate(old)
    sandbox_proc = start_sandbox(tmp_path)
    with running(sandbox_proc):
        sandbox = Sandbox(sandbox_proc.url)
        with running(api_proc := start_orchestrator(tmp_path, old, name="before")):
            admin = Multicart(api_proc.url, admin_token=old["MULTICART_ADMIN_TOKEN"])
            stores = register_sandbox(admin, sandbox)

        new_key = Fernet.generate_key().decode()
        both = {
            **old,
            "MULTICART_ENCRYPTION_KEY": new_key,
            "MULTICART_ENCRYPTION_KEYS_OLD": old["MULTICART_ENCRYPTION_KEY"],
        }
        first = rotate(both)
        assert first.returncode == 0, first.stderr
        assert f"re-sealed {len(stores)} merchant connection(s)" in first.stdout
        assert "re-sealed 0 merchant connection(s)" in rotate(both).stdout  # all current now

        only_new = {k: v for k, v in both.items() if k != "MULTICART_ENCRYPTION_KEYS_OLD"}
        with running(api_proc := start_orchestrator(tmp_path, only_new, name="after")):
            admin = Multicart(api_proc.url, admin_token=old["MULTICART_ADMIN_TOKEN"])
            api = admin.as_app(admin.create_app("shop")["api_key"])
            cart = api.create_cart([(s["skus"]["p0"], 1) for s in stores.values()])
            assert [b["status"] for b in cart["bags"]] == ["IN_PROGRESS"] * len(stores)

        without_the_old_key = rotate(
            {**only_new, "MULTICART_ENCRYPTION_KEY": Fernet.generate_key().decode()}
        )
        assert without_the_old_key.returncode == 1  # nothing opens: named, not a traceback
        assert "Traceback" not in without_the_old_key.stderr
