"""The ``e2e`` mark: every test under tests/e2e has it, and a test without it starts no process.

Why: ``make test-fast`` (``-m "not e2e"``) promises no real processes. A ``pytestmark`` in a
conftest applies to nothing (pytest reads marks from test modules only), so the directory's
tests are marked here by path; and a test elsewhere that starts a program (``subprocess``,
asyncio's subprocesses, ``os.posix_spawn``/``system``/``exec*``) without the mark fails at the
start with a message saying so, on every run, instead of a list someone has to keep. Not
counted: a plain ``os.fork`` (a copy of the test process, no program started), and a process
a third-party library starts on its own (a font cache built once per machine).

The hooks are re-exported by tests/conftest.py; a test runs this module as a plugin too
(``-p tests.process_marks``) to show the guard on a test of its own.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

E2E_DIR = Path(__file__).resolve().parent / "e2e"
_STARTS_A_PROCESS = ("subprocess.Popen", "os.posix_spawn", "os.system", "os.exec", "os.spawn")
_STDLIB = tuple({sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"]})
_LIBRARY = re.compile(r"[/\\](site|dist)-packages[/\\]")

_running: list[pytest.Item] = []  # the test being set up, run or torn down (none between)


class UnmarkedProcess(RuntimeError):
    """A test without the ``e2e`` mark tried to start a process."""


def _started_by_a_library() -> bool:
    """Whether the code that started the process is a library's (matplotlib building its font
    cache with ``fc-list`` on a fresh machine), not a test's or ours: the first caller outside
    the standard library (``subprocess``, ``asyncio``) decides."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename
        if _LIBRARY.search(path):
            return True
        if not (path.startswith(_STDLIB) or path.startswith("<")):
            return False
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _audit(event: str, _args: tuple[Any, ...]) -> None:
    if _running and event.startswith(_STARTS_A_PROCESS) and not _started_by_a_library():
        item = _running[-1]
        if item.get_closest_marker("e2e") is None:
            raise UnmarkedProcess(
                f"{item.nodeid} starts a process ({event}) but is not marked e2e: "
                "mark it @pytest.mark.e2e (make test-fast must start no process)"
            )


def pytest_configure(config: pytest.Config) -> None:
    # An audit hook cannot be removed; once per interpreter, idle outside a test.
    if not getattr(sys, "_multicart_process_audit", False):
        sys.addaudithook(_audit)
        sys._multicart_process_audit = True  # type: ignore[attr-defined]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(E2E_DIR):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    _running.append(item)
    try:
        return (yield)
    finally:
        _running.pop()
