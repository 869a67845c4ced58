"""``-m "not e2e"`` (``make test-fast``) selects no test that starts a process.

Two halves (tests/process_marks.py): every test under tests/e2e carries the mark by path, and
a test elsewhere that starts a process without it fails, saying so. Both are shown by running
pytest itself, so this test starts processes and is marked too.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.process_marks import E2E_DIR

pytestmark = pytest.mark.e2e  # runs pytest in a process of its own

ROOT = Path(__file__).resolve().parents[2]


def _pytest(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter's pytest, fixed arguments
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # tests.process_marks, from any cwd
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_not_e2e_collects_nothing_under_tests_e2e() -> None:
    assert list(E2E_DIR.glob("test_*.py")), "no end-to-end tests to deselect"
    done = _pytest("--collect-only", "-q", "-m", "not e2e", "tests")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    selected = [line for line in done.stdout.splitlines() if "::" in line]
    assert len(selected) > 100  # the suite was collected, not an error
    assert [n for n in selected if n.startswith("tests/e2e/")] == []
    # The modules whose every test starts a process are left out whole.
    for module in ("tests/soak/test_soak_short.py", "tests/unit/test_log_lines.py"):
        assert [n for n in selected if n.startswith(module)] == [], module


def test_an_unmarked_test_starting_a_process_fails(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    e2e: real processes\n")
    library = tmp_path / "site-packages"  # a third-party library's own process (fc-list)
    library.mkdir()
    (library / "fontlib.py").write_text(
        "import subprocess, sys\n\n"
        "def build_cache():\n"
        "    subprocess.run([sys.executable, '-c', 'pass'], check=True, timeout=30)\n"
    )
    (tmp_path / "test_spawns.py").write_text(
        "import os, subprocess, sys\n"
        "import pytest\n\n"
        "def start():\n"
        "    subprocess.run([sys.executable, '-c', 'pass'], check=True, timeout=30)\n\n"
        "def test_unmarked():\n"
        "    start()\n\n"
        "@pytest.mark.e2e\n"
        "def test_marked():\n"
        "    start()\n\n"
        "def test_a_librarys_own_process_is_not_the_tests():\n"
        f"    sys.path.insert(0, {str(library)!r})\n"
        "    import fontlib\n"
        "    fontlib.build_cache()\n\n"
        "def test_a_fork_is_no_program():\n"
        "    pid = os.fork()\n"
        "    if pid == 0:\n"
        "        os._exit(0)\n"
        "    assert os.waitpid(pid, 0)[1] == 0\n"
    )
    done = _pytest("-p", "tests.process_marks", "-q", str(tmp_path), cwd=tmp_path)
    out = done.stdout
    assert "1 failed, 3 passed" in out, out[-3000:]
    assert "test_spawns.py::test_unmarked starts a process (subprocess.Popen)" in out
    assert "not marked e2e" in out
