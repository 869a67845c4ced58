"""Fair sharing between apps: no app can starve the others, guess keys, or fill the database.

``InFlightShares`` (each app's share of the in-flight slots), ``AppRates`` (a rate per app),
``AuthThrottle`` (failed authentications per address and token prefix) and ``AddressRates``
(requests without an app); live carts per app are ``quota.py``. Every bound is per process;
``serve --workers N`` divides the rates. Why each bound, and the measurements:
docs/decisions/0009-fair-sharing.md.
"""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter

from config import Settings
from errors import ApiError, ErrorCode

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


class AddressRates:
    """``MULTICART_ANONYMOUS_RATE_LIMIT``: requests no app answers for, per client address."""

    def __init__(self, settings: Settings) -> None:
        self._windows = _Windows(settings.anonymous_rate_limit)

    async def hit(self, address: str) -> float | None:
        """None within the limit; else seconds until this address may send again."""
        return await self._windows.hit("anonymous", address)


def _throttled(wait_s: float) -> ApiError:
    return rate_limited(
        "failed_auth",
        wait_s,
        "Too many failed authentications from this address or for this key; retry after "
        "Retry-After.",
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
                raise _throttled(wait)

    async def failed(self, address: str, token: str) -> None:
        """Count a failure; 429 ``failed_auth`` (not 401) when it is past the limit."""
        waits = [await self._windows.hit("auth", *key) for key in self._keys(address, token)]
        wait = max((w for w in waits if w is not None), default=None)
        if wait is not None:
            raise _throttled(wait)
