"""The background-worker shape: rounds repeat, a failed round is survived, stop ends the loop."""

from __future__ import annotations

import asyncio

from structlog.testing import capture_logs

from orchestrator.service.workers import BackgroundWorker


async def test_rounds_repeat_a_failure_is_logged_and_survived_and_stop_ends_the_loop() -> None:
    rounds: list[int] = []
    third_round = asyncio.Event()

    async def run_once() -> None:
        rounds.append(len(rounds) + 1)
        if len(rounds) == 1:
            raise RuntimeError("the database blinked")
        if len(rounds) == 3:
            third_round.set()

    worker = BackgroundWorker("probe", run_once, interval_s=0.001)
    with capture_logs() as logs:
        worker.start()
        await asyncio.wait_for(third_round.wait(), timeout=5)
        await worker.stop()
    seen = len(rounds)
    assert seen >= 3
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["probe_round_failed"]
    await asyncio.sleep(0.01)
    assert len(rounds) == seen  # stopped: no round after stop()
    await worker.stop()  # stopping twice is harmless
