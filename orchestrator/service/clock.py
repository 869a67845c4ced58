"""The service's one wall clock, in UTC: what clients are shown and what rows record.

One function, not a copy per module (there were seven): the use cases take it as their default
``clock`` and tests pass their own. The database's own clock, for leases, claims and expiry
comparisons, is ``store/db_clock.py``'s.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
