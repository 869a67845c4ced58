"""Every log event is one whole line, even with several processes writing into one pipe.

``serve --workers N``'s processes share their parent's stdout and stderr, and the end-to-end
tests read those lines back as JSON. A line written in two pieces (the event, then its
newline: what ``print`` does on an unbuffered stream, which ``PYTHONUNBUFFERED=1`` gives) lets
another process's event land in between, and a reader sees two events on one line. Here real
processes log at volume, through structlog and through stdlib logging (aiohttp's path), into
one pipe and one shared file, and every line must be one JSON object, none lost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest

from tests.support.launch import base_env

pytestmark = pytest.mark.e2e  # real processes

WRITERS = 4
EVENTS = 1500  # per writer, each through structlog and stdlib logging

_WRITER = """
import logging, sys
import structlog
from config.logging import configure_logging

configure_logging("json", "INFO")
log = structlog.get_logger("multicart")
stdlib = logging.getLogger("aiohttp.server")
writer = int(sys.argv[1])
for i in range(int(sys.argv[2])):
    log.info("burst", writer=writer, i=i, pad="x" * (i * 7 % 1500))
    stdlib.warning("stdlib burst %d %d %s", writer, i, "y" * (i * 11 % 1500))
"""


def _log_concurrently(stderr: IO[bytes] | int) -> None:
    env = base_env()  # PYTHONUNBUFFERED=1, as the end-to-end tests run the service
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    writers = [
        subprocess.Popen(  # noqa: S603 - this interpreter, our own script
            [sys.executable, "-c", _WRITER, str(n), str(EVENTS)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=env,
        )
        for n in range(WRITERS)
    ]
    for writer in writers:
        assert writer.wait(60) == 0


def _assert_whole_lines(data: bytes) -> None:
    lines = data.decode().splitlines()
    events = []
    for line in lines:
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            pytest.fail(f"not one JSON object per line ({exc}): {line[:300]!r}")
        assert isinstance(event, dict), line
        events.append(event)
    bursts = [e for e in events if e["event"] == "burst"]
    stdlib = [e for e in events if e["event"].startswith("stdlib burst")]
    assert len(bursts) == len(stdlib) == WRITERS * EVENTS  # none lost, none split
    assert {e["level"] for e in stdlib} == {"warning"}
    assert {e["logger"] for e in stdlib} == {"aiohttp.server"}


def test_processes_logging_into_one_pipe_write_whole_lines() -> None:
    read_end, write_end = os.pipe()
    received: list[bytes] = []
    with os.fdopen(read_end, "rb") as reader:
        # Read while they write: a full pipe (64 KiB) blocks its writers until it is read.
        pump = threading.Thread(target=lambda: received.append(reader.read()), daemon=True)
        pump.start()
        try:
            _log_concurrently(write_end)
        finally:
            os.close(write_end)  # the last writer end: the reader sees EOF
        pump.join(30)
    assert received, "the pipe was not read to its end"
    _assert_whole_lines(received[0])


def test_processes_logging_into_one_file_write_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "shared.log"
    with path.open("ab") as shared:  # what tests.support.launch gives a service's stderr
        _log_concurrently(shared)
    _assert_whole_lines(path.read_bytes())
