"""Start the sandbox and the orchestrator as real processes on loopback, and stop them cleanly.

Used by ``make demo``, the end-to-end tests and the benchmark, so all three run the service
exactly as an operator would: ``multicart sandbox`` and ``multicart serve`` in their own
processes, talking real HTTP.
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

_LISTENING = re.compile(r"listening on (http://\S+)")
BIN = Path(sys.executable).parent


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[str]
    url: str
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    def stop(self, timeout: float = 10.0) -> int:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout)
        return self.popen.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _pump(stream: IO[str], lines: queue.Queue[str], log: IO[str]) -> None:
    for line in stream:
        lines.put(line)
        log.write(line)
        log.flush()


def start(
    name: str, argv: list[str], env: dict[str, str], log_dir: Path, timeout: float = 30.0
) -> Process:
    """Run ``argv``; wait (bounded) for its ``listening on URL`` line; return the process."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    log = log_path.open("a")
    popen = subprocess.Popen(  # noqa: S603 - our own console scripts
        argv, env=env, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1
    )
    lines: queue.Queue[str] = queue.Queue()
    assert popen.stdout is not None
    threading.Thread(target=_pump, args=(popen.stdout, lines, log), daemon=True).start()
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            if popen.poll() is not None:
                break
            continue
        found = _LISTENING.search(line)
        if found:
            return Process(name, popen, found.group(1), log_path, env)
    popen.kill()
    popen.wait(5)
    raise RuntimeError(f"{name} did not start: see {log_path}\n{log_path.read_text()[-3000:]}")


def base_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MULTICART_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def start_sandbox(log_dir: Path, *extra: str) -> Process:
    argv = [str(BIN / "multicart"), "sandbox", "--host", "127.0.0.1", "--port", "0", *extra]
    return start("sandbox", argv, base_env(), log_dir)


def orchestrator_env(database_url: str, **settings: str) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = base_env()
    env.update(
        MULTICART_DATABASE_URL=database_url,
        MULTICART_ADMIN_TOKEN="admin-" + secrets.token_urlsafe(16),
        MULTICART_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        MULTICART_LOG_FORMAT="json",
        # The sandbox's stores are plain http on loopback, which a real deployment refuses.
        MULTICART_ALLOW_PRIVATE_PLATFORM_URLS="true",
    )
    env.update({f"MULTICART_{k.upper()}": v for k, v in settings.items()})
    return env


def migrate(env: dict[str, str]) -> None:
    subprocess.run(  # noqa: S603
        [str(BIN / "multicart"), "db", "upgrade"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )


def start_orchestrator(log_dir: Path, env: dict[str, str], name: str = "multicart") -> Process:
    argv = [str(BIN / "multicart"), "serve", "--host", "127.0.0.1", "--port", "0"]
    return start(name, argv, env, log_dir)


@contextlib.contextmanager
def running(*processes: Process) -> Iterator[None]:
    try:
        yield
    finally:
        for process in reversed(processes):
            process.stop()


@contextlib.contextmanager
def sandbox_and_multicart(
    workdir: Path, database_file: str, **settings: str
) -> Iterator[tuple[Process, Process]]:
    """A sandbox and ``multicart serve`` (with ``settings``) on the SQLite file
    ``workdir / database_file``, migrated first; both stopped on the way out."""
    sandbox = start_sandbox(workdir)
    env = orchestrator_env(f"sqlite+aiosqlite:///{workdir / database_file}", **settings)
    migrate(env)
    multicart = start_orchestrator(workdir, env)
    with running(sandbox, multicart):
        yield sandbox, multicart
