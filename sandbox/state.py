"""The sandbox's in-memory world: stores, stock, carts, rate-limit windows, faults, request log.

Why this module exists: the platform simulators and the control API must share one state that
``POST /__sandbox/reset`` can restore in one step. It is platform-neutral: each platform package
keeps its own rules (validation, pricing, answers) and stores its carts here.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from sandbox.catalog import ProductSeed, Sellable, StoreSeed, sellables
from sandbox.faults import FaultBook

Key = tuple[Any, ...]


def iso_time(ts: float) -> str:
    """ISO 8601 UTC with milliseconds and ``Z``, as BigCommerce's ``created_time``."""
    millis = int(ts * 1000) % 1000
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{millis:03d}Z"


@dataclass(slots=True)
class Line:
    """One cart line. ``extra`` holds what only its platform renders (variant, options...)."""

    id: str
    key: Key
    platform_ref: dict[str, Any]
    quantity: int
    list_price: int  # unit price in cents, after any override
    original_price: int
    name: str
    sku: str
    kind: str = "physical"  # or "custom"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Cart:
    id: str
    created: float
    updated: float
    lines: list[Line]
    attrs: dict[str, Any]
    version: int = 1

    def touch(self, now: float) -> None:
        """A successful change: BigCommerce's ``version`` increments, the expiry restarts."""
        self.updated = now
        self.version += 1

    def line(self, line_id: str) -> Line | None:
        return next((line for line in self.lines if line.id == line_id), None)


@dataclass(slots=True)
class RateWindow:
    """A fixed per-store quota per window (BigCommerce: per store, refreshed every 30 s)."""

    quota: int
    window_ms: int
    started: float = 0.0  # time.monotonic() of the window's start
    used: int = 0

    def _roll(self, now: float) -> None:
        if (now - self.started) * 1000 >= self.window_ms:
            self.started, self.used = now, 0

    def take(self, now: float) -> bool:
        """Spend one request of the quota; False when the window's quota is spent."""
        self._roll(now)
        if self.used >= self.quota:
            return False
        self.used += 1
        return True

    def left(self) -> int:
        return max(0, self.quota - self.used)

    def reset_ms(self, now: float) -> int:
        self._roll(now)
        return max(0, round(self.window_ms - (now - self.started) * 1000))


@dataclass(slots=True)
class Store:
    seed: StoreSeed
    products: dict[int, ProductSeed]  # on-platform products by the platform's product id
    sellables: dict[Key, Sellable]  # everything listed, including triggers not on the platform
    stock: dict[Key, int]
    carts: dict[str, Cart]
    rate: RateWindow
    unknown_product_status: int  # BigCommerce
    token_ttl_s: int  # Elastic Path: lifetime of the bearer tokens issued from now on
    tokens: dict[str, float] = field(default_factory=dict)  # Elastic Path: token -> expiry
    write_conflicts: int = 0  # Elastic Path: the next N writes answer 409
    unknown_variant_code: str = "INVALID"  # Shopify: or MERCHANDISE_NOT_APPLICABLE (2025-10+)

    @classmethod
    def from_seed(cls, seed: StoreSeed) -> Store:
        units = sellables(seed)
        return cls(
            seed=seed,
            products={p.product_id: p for p in seed.products if p.on_platform},
            sellables={u.key: u for u in units},
            stock={u.key: u.stock for u in units if u.on_platform},
            carts={},
            rate=RateWindow(seed.quota, seed.window_ms, time.monotonic()),
            unknown_product_status=seed.unknown_product_status,
            token_ttl_s=seed.token_ttl_s,
        )

    def on_platform(self) -> list[Sellable]:
        """What the platform itself knows (not the ``not_on_platform`` trigger)."""
        return [unit for unit in self.sellables.values() if unit.on_platform]

    @property
    def name(self) -> str:
        return self.seed.store

    @property
    def platform(self) -> str:
        return self.seed.platform

    @property
    def token(self) -> str:
        return self.seed.access_token

    def cart(self, cart_id: str, now: float) -> Cart | None:
        """The live cart, or None; an expired cart is gone (``StoreSeed.cart_ttl`` idle)."""
        cart = self.carts.get(cart_id)
        if cart is not None and now - cart.updated > self.seed.cart_ttl:
            del self.carts[cart_id]
            return None
        return cart

    def live_carts(self, now: float) -> list[Cart]:
        return [c for c in list(self.carts.values()) if self.cart(c.id, now) is not None]


class RequestLog:
    """A bounded ring of the platform requests received, so tests can count attempts."""

    def __init__(self, size: int = 1000) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=size)
        self._seq = itertools.count(1)

    def record(
        self, store: str, platform: str, method: str, path: str, query: str
    ) -> dict[str, Any]:
        """Log a request on arrival; the caller fills in ``status`` (None: never answered)."""
        entry = {
            "seq": next(self._seq),
            "time": time.time(),
            "store": store,
            "platform": platform,
            "method": method,
            "path": path,
            "query": query,
            "status": None,
            "fault": None,
        }
        self._entries.append(entry)
        return entry

    def list(self, store: str | None = None) -> list[dict[str, Any]]:
        return [
            {**e, "time": iso_time(e["time"])}
            for e in self._entries
            if store is None or e["store"] == store
        ]

    def clear(self) -> None:
        self._entries.clear()


class SandboxState:
    """Everything the sandbox holds; ``reset()`` restores the seeded world."""

    def __init__(
        self,
        seeds: list[StoreSeed],
        *,
        latency_ms: int = 0,
        hang_max_s: float = 120.0,
        requests_kept: int = 1000,
    ) -> None:
        self.seeds = seeds
        self.latency_ms = latency_ms
        self.hang_max_s = hang_max_s
        self.faults = FaultBook()
        self.requests = RequestLog(requests_kept)
        self.stores: dict[str, Store] = {}
        self.clock_offset_s = 0.0
        self.closing = False  # set on shutdown: hung requests let go
        self.reset()

    def reset(self) -> None:
        self.stores = {seed.store: Store.from_seed(seed) for seed in self.seeds}
        self.faults.clear()
        self.requests.clear()
        self.clock_offset_s = 0.0

    def now(self) -> float:
        """Wall-clock seconds for cart timestamps and expiry (the control API can advance it)."""
        return time.time() + self.clock_offset_s
