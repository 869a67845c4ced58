"""The soak's short version, in ``make test``: the same code as ``make soak`` (``bench.soak``),
about 100 carts on one engine (PostgreSQL with two ``multicart serve`` processes when
MULTICART_TEST_DATABASE_URL is set, else SQLite with one; ``make soak`` runs both engines),
its phases scaled down (the 503 phase is 3 s, not 30 s).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak.run import SHORT, run_engine
from tests.conftest import drop_database, new_database, one_engine

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def db_engine() -> str:
    """One engine (``make soak`` runs both; ``tests.conftest.one_engine``)."""
    return one_engine()


@pytest.mark.timeout(240)
def test_short_soak_keeps_the_invariants(db_engine: str, tmp_path: Path) -> None:
    url, name = new_database(db_engine, tmp_path)
    try:
        result = run_engine(url, 1 if db_engine == "sqlite" else 2, tmp_path / "soak", SHORT)
    finally:
        drop_database(name)
    report = "\n".join([result.engine, *result.lines, *result.failures])
    figures = result.figures
    assert figures["carts"] >= 60, report
    assert figures["audit"]["duplicates"] == 0, report
    assert figures["audit"]["orphans"] == 0, report
    assert figures["audit"]["dangling"] == 0, report
    assert figures["audit"]["unresolved"] == 0, report
    assert figures["latency"]["over"] == 0, report
    assert figures["kills"] == SHORT.kills, report
    assert result.ok, report
