"""The wait bound and the write lock's order: finishing writers before starting ones."""

from __future__ import annotations

import asyncio
import time

import pytest

from orchestrator.store.waits import (
    REQUEST_BUDGET,
    SETTLE_S,
    START_MIN_S,
    RequestBudget,
    WriteLock,
    bound,
)


def test_bound_is_the_remaining_deadline_with_floors() -> None:
    assert bound(10.0) == 10.0  # no request: the setting
    token = REQUEST_BUDGET.set(RequestBudget(time.monotonic() + 3.0))
    try:
        assert 1.0 < bound(10.0) <= 3.0  # the time left (a loose floor: no clock is injected)
        assert bound(1.0) == 1.0  # never above the setting
    finally:
        REQUEST_BUDGET.reset(token)
    token = REQUEST_BUDGET.set(RequestBudget(time.monotonic() - 1.0))
    try:
        assert bound(10.0) == START_MIN_S  # past its deadline, nothing written: one chance
    finally:
        REQUEST_BUDGET.reset(token)
    token = REQUEST_BUDGET.set(RequestBudget(time.monotonic() - 1.0, wrote=True))
    try:
        assert bound(10.0) == SETTLE_S  # finishing: its outcome must be recorded
    finally:
        REQUEST_BUDGET.reset(token)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_finishing_writers_go_before_starting_ones() -> None:
    lock = WriteLock()
    await lock.acquire()
    order: list[str] = []

    async def writer(name: str, first: bool) -> None:
        await lock.acquire(first=first)
        order.append(name)
        lock.release()

    tasks = [asyncio.create_task(writer("start-1", False))]
    await _settle()
    tasks.append(asyncio.create_task(writer("start-2", False)))
    tasks.append(asyncio.create_task(writer("finish-1", True)))
    await _settle()
    lock.release()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)
    assert order == ["finish-1", "start-1", "start-2"]
    assert not lock.locked()


async def test_a_cancelled_waiter_neither_holds_nor_blocks_the_lock() -> None:
    lock = WriteLock()
    await lock.acquire()
    waiting = asyncio.create_task(lock.acquire())
    await _settle()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    lock.release()
    assert not lock.locked()
    # Granted, then cancelled before it ran: the lock passes on to the next waiter.
    await lock.acquire()
    granted = asyncio.create_task(lock.acquire())
    after = asyncio.create_task(lock.acquire())
    await _settle()
    lock.release()  # hands the lock to `granted`...
    granted.cancel()  # ...which is cancelled before it resumes
    with pytest.raises(asyncio.CancelledError):
        await granted
    await asyncio.wait_for(after, 5)
    assert lock.locked()
    lock.release()
    assert not lock.locked()


async def test_a_timeout_while_waiting_gives_the_lock_up_cleanly() -> None:
    lock = WriteLock()
    await lock.acquire()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await lock.acquire()
    lock.release()
    assert not lock.locked()
