"""What the tests of the call machinery share: their retry policies and a respx-backed caller.

Why a module of its own: the caller's tests and its boundary's build the same
``PlatformCaller`` (one store, respx's httpx transport, quick retries), and the retry engine's
tests and the transports' over loopback sockets use the same short timeouts.
"""

from __future__ import annotations

import httpx

from adapters.calls.caller import Auth, Classifier, PlatformCaller
from adapters.calls.policy import RetryPolicy
from adapters.calls.resilience import PlatformMetrics, Resilience
from tests.adapters.conftest import fast_settings
from tests.support.httpx_transport import HttpxTransport

# The store every respx-backed caller calls (its breaker's key).
STORE_BASE = "https://api.platform.test"
# Three attempts, a millisecond or two apart: a retried call ends at once.
QUICK_RETRIES = RetryPolicy(max_attempts=3, backoff_base_s=0.001, backoff_max_s=0.002)
# Timeouts and waits short enough for loopback servers that never answer.
SHORT_TIMEOUTS = RetryPolicy(
    max_attempts=3,
    connect_timeout_s=0.5,
    attempt_timeout_s=1.0,
    retry_after_cap_s=1.0,
    backoff_base_s=0.01,
    backoff_max_s=0.02,
)


def respx_caller(
    client: httpx.AsyncClient, platform: str, *, classify: Classifier, auth: Auth
) -> PlatformCaller:
    """A ``PlatformCaller`` for ``STORE_BASE`` over ``client`` (which respx mocks)."""
    return PlatformCaller(
        platform=platform,
        merchant_id="mer_1",
        store_key=STORE_BASE,
        transport=HttpxTransport(client),
        resilience=Resilience(fast_settings().for_platform(platform), PlatformMetrics()),
        policy=QUICK_RETRIES,
        classify=classify,
        auth=auth,
    )
