"""The service's one wall clock, in UTC: what clients are shown and what rows record.

One function, not a copy per module (there were seven): the composition root
(``orchestrator/bootstrap.py``) hands it to every use case through ``UseCaseContext``, and
tests hand their own. The database's own clock, for leases, claims and expiry comparisons, is
``store/db_clock.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)
