"""The code's shape, held: no production module over 400 lines, no function over 60.

A newcomer reads a module in one sitting and a function on one screen; these bounds were met
once (issue "the shape") and this test keeps them. Tests, Alembic migrations and data tables
are exempt: a migration is written once and never read as logic, a table is read row by row.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = (
    "bags",
    "errors",
    "config",
    "adapters",
    "orchestrator",
    "sandbox",
    "bench",
    "explore",
    "examples",
)
MODULE_MAX_LINES = 400
FUNCTION_MAX_LINES = 60

# Functions that are data tables: a list of rows built in one expression.
TABLES: dict[str, str] = {}


def _production_files() -> list[Path]:
    files = []
    for package in PRODUCTION:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            files.append(path)
    return files


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_the_scan_sees_the_packages() -> None:
    names = {_name(p) for p in _production_files()}
    assert "orchestrator/bootstrap.py" in names
    assert not any("/migrations/" in n for n in names)


def test_no_module_over_400_lines() -> None:
    long = {
        _name(p): n
        for p in _production_files()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MODULE_MAX_LINES
    }
    assert not long, f"modules over {MODULE_MAX_LINES} lines: {long}"


def test_no_function_over_60_lines() -> None:
    long = {}
    for path in _production_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                where = f"{_name(path)}:{node.name}"
                if lines > FUNCTION_MAX_LINES and where not in TABLES:
                    long[where] = lines
    assert not long, f"functions over {FUNCTION_MAX_LINES} lines: {long}"


def test_every_exemption_is_still_needed() -> None:
    for where in TABLES:
        path, name = where.split(":")
        tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
        found = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name
        ]
        assert found, f"{where} is exempt but gone"
        assert any((n.end_lineno or 0) - n.lineno + 1 > FUNCTION_MAX_LINES for n in found), (
            f"{where} is exempt but short now"
        )
