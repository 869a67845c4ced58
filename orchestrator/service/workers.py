"""The shape of every background job: run one round every interval, survive a failed round.

The delete retrier runs this way today (``ExternalDeleter.worker``); the cart reconciler and the
expiry sweeper will too. Each job only writes its ``run_once``; the loop, the logging of a
failed round and the clean start and stop live here once. The composition root
(``orchestrator.http.app``) starts the workers with the app and stops them before the
resources they use are closed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

log = structlog.get_logger("multicart.workers")


class BackgroundWorker:
    """Calls ``run_once()`` every ``interval_s`` seconds (after each round ends) until stopped.

    An exception from a round is logged as ``<name>_round_failed`` and the next round tries
    again; only cancellation (``stop``) ends the loop.
    """

    def __init__(
        self, name: str, run_once: Callable[[], Awaitable[Any]], interval_s: float
    ) -> None:
        self.name = name
        self._run_once = run_once
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        """The loop itself (``start`` runs it as a task)."""
        while True:
            try:
                await self._run_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # keep the loop alive; the next round tries again
                log.exception(f"{self.name}_round_failed")
            await asyncio.sleep(self._interval_s)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name=f"worker:{self.name}")

    async def stop(self) -> None:
        """Cancel the loop and wait for it to end (a no-op if it was never started)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
