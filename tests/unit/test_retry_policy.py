"""Which failed deletes spend the give-up window (``retry_policy.spends_budget``), and when the
next attempt comes."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from adapters.calls.http import transport_error
from adapters.calls.resilience import CircuitOpen
from errors import (
    PlatformError,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
    PlatformTimeout,
    PlatformUnavailable,
)
from orchestrator.service.retry_policy import (
    MAX_BACKOFF_S,
    next_attempt,
    next_try,
    spends_budget,
)

P = "BIGCOMMERCE"
LATER, SPENT = 60.0, -1.0  # the deadline, relative to now


@pytest.mark.parametrize(
    ("error", "deadline_in", "spends"),
    [
        (PlatformServerError("500", platform=P, status=500), LATER, True),
        (PlatformServerError("503", platform=P, status=503, may_have_applied=False), LATER, True),
        (PlatformTimeout("no answer", platform=P, may_have_applied=True), SPENT, True),
        (transport_error(ConnectionRefusedError(), not_sent=True, platform=P, op="d"), LATER, True),
        (PlatformRejected("400", platform=P, status=400), LATER, True),
        (PlatformRateLimited("429", platform=P, status=429, retry_after=3), LATER, False),
        (PlatformRateLimited("429", platform=P, status=429), SPENT, False),
        (CircuitOpen("open", platform=P, retry_after=4, may_have_applied=False), LATER, False),
        # The request's own deadline, nothing sent: no time left, or no call slot until then.
        (PlatformTimeout("no time left", platform=P, may_have_applied=False), SPENT, False),
        (PlatformUnavailable("slots busy", platform=P, may_have_applied=False), SPENT, False),
    ],
)
def test_what_spends_the_window(error: PlatformError, deadline_in: float, spends: bool) -> None:
    assert spends_budget(error, time.monotonic() + deadline_in) is spends


def test_backoff_doubles_to_its_cap_and_waits_as_told() -> None:
    now = datetime(2026, 12, 7, tzinfo=UTC)
    waits = [(next_attempt(n, now, 5.0) - now).total_seconds() for n in range(8)]
    assert waits == [5, 10, 20, 40, 80, 160, 300, 300]
    assert next_attempt(0, now, 5.0, retry_after=42) == now + timedelta(seconds=42)
    assert next_attempt(0, now, 5.0, retry_after=1e9) == now + timedelta(seconds=MAX_BACKOFF_S)
    assert next_try(now, 5.0) == now + timedelta(seconds=5)
    assert next_try(now, 5.0, retry_after=30) == now + timedelta(seconds=30)
    assert next_try(now, 5.0, retry_after=1e9) == now + timedelta(seconds=MAX_BACKOFF_S)
