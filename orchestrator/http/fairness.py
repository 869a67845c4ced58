"""Fair sharing between apps: no app can starve the others, guess keys, or fill the database.

Why: one app holding 64 slow connections took every ``MULTICART_MAX_IN_FLIGHT`` slot and every
other app got 503 ``overloaded``; 500 maximal creates in 1.8 s from one app added 26 MB to the
database; 1,000 wrong admin tokens were tried at 1,421/s and then the right one worked. Four
bounds, each answered before the work it guards:

- **A share of the in-flight slots** (``InFlightShares``): the apps holding slots divide
  ``(1 - MULTICART_APP_IN_FLIGHT_RESERVE) * MULTICART_MAX_IN_FLIGHT`` evenly (one app alone:
  48 of 64 by default), so the reserve is always there for an app that holds none; past its
  share an app is answered 429 ``rate_limited`` (``reason: in_flight``). The process-wide cap
  (``shedding.py``) still answers 503 when every slot is taken.
- **A request rate per app** (``AppRates``, ``MULTICART_APP_RATE_LIMIT``): a moving window in
  the ``limits`` library's memory storage (3 us a request, measured); the scale-out work moves
  it to ``limits``' Redis storage, shared across processes, with no other change.
- **Failed authentications** (``AuthThrottle``, ``MULTICART_AUTH_FAILURE_LIMIT``) per client
  address and per token prefix: past the limit every attempt from that address (or with that
  prefix) is 429 ``failed_auth`` until the window moves on, the right key included.
- **Live carts per app** (``LiveCartQuota``, ``MULTICART_APP_MAX_LIVE_CARTS``): 403
  ``quota_exceeded``. An app's count is read from the database (an index range, cut at the
  quota) and remembered for ``QUOTA_RECHECK_S``, with this process's creates added, while it
  stays under ``QUOTA_MARGIN`` of the quota; near the quota every create reads it afresh. The
  quota can be passed by at most the creates racing past that read at one moment.

Every bound is per process; ``serve --workers N`` divides the rates (``Settings.per_process``).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from config import Settings
from errors import ApiError, ErrorCode

QUOTA_RECHECK_S = 5.0
QUOTA_MARGIN = 0.9
PREFIX_CHARS = 12  # "mc_live_" and 4 characters of the key: enough to group one key's guesses


def rate_limited(reason: str, retry_after_s: float, message: str) -> ApiError:
    return ApiError(
        message,
        kind=ErrorCode.RATE_LIMITED,
        status=429,
        data={"reason": reason},
        headers={"Retry-After": str(max(1, math.ceil(retry_after_s)))},
    )


class InFlightShares:
    """Slots held per app, and the share each may hold while others hold some too."""

    def __init__(self, settings: Settings) -> None:
        usable = settings.max_in_flight * (1 - settings.app_in_flight_reserve)
        self.enabled = settings.max_in_flight > 0 and settings.app_in_flight_reserve > 0
        self._usable = max(1, int(usable))
        self.held: dict[str, int] = {}

    def share(self, app_id: str) -> int:
        holders = len(self.held) + (app_id not in self.held)
        return max(1, self._usable // holders)

    def take(self, app_id: str) -> None:
        if not self.enabled:
            return
        held = self.held.get(app_id, 0)
        if held >= self.share(app_id):
            raise rate_limited(
                "in_flight",
                1,
                f"This app has {held} requests in flight, its share of the service while "
                "other apps are served; retry after Retry-After.",
            )
        self.held[app_id] = held + 1

    def give_back(self, app_id: str) -> None:
        if not self.enabled:
            return
        held = self.held[app_id] - 1
        if held:
            self.held[app_id] = held
        else:
            del self.held[app_id]  # a holder no more: the others' shares grow


class _Windows:
    """Moving windows of the ``limits`` notation, kept in this process's memory."""

    def __init__(self, notation: str) -> None:
        self.items: list[RateLimitItem] = parse_many(notation) if notation else []
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    async def hit(self, *key: str) -> float | None:
        """Count one hit on ``key``; None if every window had room, else seconds to wait."""
        for item in self.items:
            if not await self._limiter.hit(item, *key):
                return await self.wait_s(item, *key)
        return None

    async def over(self, *key: str) -> float | None:
        """Seconds to wait if a window of ``key`` is full now (nothing counted), else None."""
        for item in self.items:
            if not await self._limiter.test(item, *key):
                return await self.wait_s(item, *key)
        return None

    async def wait_s(self, item: RateLimitItem, *key: str) -> float:
        stats = await self._limiter.get_window_stats(item, *key)
        return stats.reset_time - time.time()


class AppRates:
    def __init__(self, settings: Settings) -> None:
        self._windows = _Windows(settings.app_rate_limit)

    async def hit(self, app_id: str) -> None:
        wait = await self._windows.hit("app", app_id)
        if wait is not None:
            raise rate_limited(
                "rate", wait, "This app is over its request rate; retry after Retry-After."
            )


class AuthThrottle:
    """Failed authentications per client address and per token prefix."""

    def __init__(self, settings: Settings) -> None:
        self._windows = _Windows(settings.auth_failure_limit)

    @staticmethod
    def _keys(address: str, token: str) -> tuple[tuple[str, str], tuple[str, str]]:
        prefix = hashlib.sha256(token[:PREFIX_CHARS].encode("utf-8", "replace")).hexdigest()
        return ("address", address), ("prefix", prefix[:16])

    async def check(self, address: str, token: str) -> None:
        """429 ``failed_auth`` if this address or token prefix failed too often lately."""
        for key in self._keys(address, token):
            wait = await self._windows.over("auth", *key)
            if wait is not None:
                raise rate_limited(
                    "failed_auth",
                    wait,
                    "Too many failed authentications from this address or for this key; "
                    "retry after Retry-After.",
                )

    async def failed(self, address: str, token: str) -> None:
        for key in self._keys(address, token):
            await self._windows.hit("auth", *key)


@dataclass
class _Count:
    live: int
    read_at: float


class LiveCartQuota:
    """``MULTICART_APP_MAX_LIVE_CARTS``: checked before a create does any work."""

    def __init__(
        self,
        settings: Settings,
        count_live: Callable[[str, int], Awaitable[int]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quota = settings.app_max_live_carts
        self._count_live = count_live  # (app_id, at_most) -> live carts, cut at at_most
        self._clock = clock
        self._counts: dict[str, _Count] = {}

    async def check(self, app_id: str) -> None:
        if not self.quota:
            return
        now = self._clock()
        known = self._counts.get(app_id)
        fresh = known is not None and now - known.read_at < QUOTA_RECHECK_S
        if not (fresh and known is not None and known.live < self.quota * QUOTA_MARGIN):
            known = _Count(await self._count_live(app_id, self.quota), now)
            self._counts[app_id] = known
        if known.live >= self.quota:
            raise ApiError(
                f"This app holds {self.quota} live carts, its quota; delete carts (or let them "
                "expire) before creating more.",
                kind=ErrorCode.QUOTA_EXCEEDED,
                data={"quota": self.quota},
            )
        known.live += 1  # this create, until the next read counts it
