"""How one platform's calls are timed, retried and bounded: the knobs the retry engine and
sender read.

Why a module of its own: the numbers come from two places (the operator's ``PlatformSettings``
and the platform's own retry rules in the registry table) and meet here once, per platform, so
the retry engine reads one object instead of settings, adapters and the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from config import PlatformSettings


@dataclass(frozen=True)
class RetryRules:
    """A platform's own answer to "may this be tried again?", from its documentation."""

    # Statuses whose *answer* is retried even for creates and adds. Empty by default: a 5xx
    # leaves the outcome unknown. A platform opts in only where its docs say so.
    retry_answers_on_create: frozenset[int] = frozenset()


@dataclass(frozen=True)
class RetryPolicy:
    """How one platform's calls are timed and retried."""

    max_attempts: int = 3
    connect_timeout_s: float = 2.0
    attempt_timeout_s: float = 5.0
    retry_after_cap_s: float = 5.0
    backoff_base_s: float = 0.05
    backoff_max_s: float = 1.0
    retry_answers_on_create: frozenset[int] = frozenset()
    # An attempt is not started with less time than this left before the deadline.
    min_attempt_s: float = 0.01
    # The longest answer body read (``adapters.calls.http``); a longer one is a platform error.
    max_answer_bytes: int = 2 * 1024 * 1024

    @classmethod
    def for_platform(
        cls, settings: PlatformSettings, rules: RetryRules = RetryRules(), **overrides: Any
    ) -> RetryPolicy:
        values: dict[str, Any] = {
            "max_attempts": settings.max_attempts,
            "connect_timeout_s": settings.connect_timeout_s,
            "attempt_timeout_s": settings.attempt_timeout_s,
            "retry_after_cap_s": settings.retry_after_cap_s,
            "max_answer_bytes": settings.max_answer_bytes,
            "retry_answers_on_create": rules.retry_answers_on_create,
        }
        values.update(overrides)
        return cls(**values)
