"""Every module that reads the wall clock is either moved by the explorer's clock or named here
with the reason it need not be.

A reader the explorer does not shift keeps real time while the database's clock jumps, and the
explorer then reports races that are its own (it did once: ``utcnow`` moved to
``orchestrator/service/clock.py`` and ``explore.clock.WALL_CLOCK_READERS`` did not follow, so
``reference_to_an_unknown_create_wedges_the_reconciler`` failed on both engines). The use cases
now read the clock the composition root injects, the explorer's ``CLOCK.now``.
"""

from __future__ import annotations

from pathlib import Path

from explore.clock import WALL_CLOCK_READERS

ROOT = Path(__file__).resolve().parents[2]

# Readers the explorer's rules never reach, or whose time no invariant compares.
NOT_SHIFTED = {
    "orchestrator.service.clock": "the default clock; the explorer builds its app with its own",
    "orchestrator.cli.outbox": "the operator's requeue command; the explorer drives no CLI",
    "orchestrator.http.outbox_routes": "the operator's requeue route; no explorer rule calls it",
    "orchestrator.store.catalog": "dates merchant registrations, set up before any jump",
    "orchestrator.store.apps": "dates app registrations, set up before any jump",
}


def _modules_reading_the_wall_clock() -> set[str]:
    found = set()
    for path in (ROOT / "orchestrator").rglob("*.py"):
        if "datetime.now(" in path.read_text(encoding="utf-8"):
            found.add(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return found


def test_every_wall_clock_reader_is_shifted_or_named() -> None:
    readers = _modules_reading_the_wall_clock()
    assert "orchestrator.service.clock" in readers  # the scan sees the one clock
    missing = readers - set(WALL_CLOCK_READERS) - set(NOT_SHIFTED)
    assert not missing, f"read the wall clock but the explorer does not shift them: {missing}"


def test_every_named_module_exists_and_still_reads_it() -> None:
    readers = _modules_reading_the_wall_clock()
    stale = (set(NOT_SHIFTED) | set(WALL_CLOCK_READERS)) - readers
    # WALL_CLOCK_READERS may list modules that only import ``datetime`` for a type; those are
    # harmless to shift. NOT_SHIFTED must not go stale: it is an exemption.
    assert not (stale & set(NOT_SHIFTED)), f"exempt but no longer read the clock: {stale}"
