"""The soak's fault schedule: which sandbox fault each store carries, phase by phase.

Why a rotating matrix: every platform must meet every fault mode (its adapter classifies each
one differently: retried, waited out, unknown outcome), and at the same time some stores stay
healthy so multi-bag carts mix failing and succeeding bags. Store ``i`` carries mode
``(i + slot) % len(MATRIX)`` in slot ``slot``; over ``len(MATRIX)`` slots each store has carried
each mode once. Every store also carries a small base latency in every load phase, so latencies
are dominated by the platform's answer rather than by scheduling noise, and a SIGKILL has
creates in flight to catch.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

import aiohttp

from bench.soak.stack import StoreInfo

BASE_LATENCY_MS = 20
SHOPIFY_THROTTLES = ("THROTTLED", "429", "430", "503")

# (label, mode, parameters); "error" rates and statuses are drawn per slot (0-30% 5xx).
MATRIX: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("5xx 0-30%", "error", {}),
    ("429 with reset", "rate_limit", {"count": 4}),
    ("hang", "hang", {"count": 2}),
    ("close_after_read", "close_after_read", {"count": 3}),
    ("apply_then_hang", "apply_then_hang", {"count": 2}),
    ("apply_then_500", "apply_then_error", {"status": 500, "count": 3}),
    ("5xx 0-30%", "error", {}),
    ("healthy", "", {}),
)


class FaultPlan:
    """Arms the sandbox's faults through its control API; counts what it armed."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        sandbox_url: str,
        stores: list[StoreInfo],
        rng: random.Random,
    ) -> None:
        self.session, self.url, self.stores, self.rng = session, sandbox_url, stores, rng
        self.armed: Counter[str] = Counter()  # "PLATFORM label" -> slots

    async def _post(self, body: dict[str, Any]) -> None:
        async with self.session.post(self.url + "/__sandbox/faults", json=body) as response:
            if response.status != 201:
                raise RuntimeError(f"sandbox refused fault {body}: {await response.text()}")

    async def clear(self, store: str | None = None) -> None:
        query = f"?store={store}" if store else ""
        async with self.session.delete(self.url + "/__sandbox/faults" + query) as response:
            response.raise_for_status()

    async def _base(self, store: StoreInfo) -> None:
        await self.clear(store.name)
        await self._post({"store": store.name, "mode": "latency", "ms": BASE_LATENCY_MS})

    async def healthy(self) -> None:
        for store in self.stores:
            await self._base(store)

    async def degrade(self, platform: str, status: int = 503) -> None:
        """Every store of ``platform`` answers ``status`` to everything; the others are healthy."""
        for store in self.stores:
            await self._base(store)
            if store.platform == platform:
                await self._post({"store": store.name, "mode": "error", "status": status})

    async def matrix_slot(self, slot: int) -> dict[str, str]:
        """Arm slot ``slot`` of the matrix; returns each store's label."""
        labels: dict[str, str] = {}
        for index, store in enumerate(self.stores):
            label, mode, params = MATRIX[(index + slot) % len(MATRIX)]
            await self._base(store)
            labels[store.name] = label
            self.armed[f"{store.platform} {label}"] += 1
            if not mode:
                continue
            body: dict[str, Any] = {"store": store.name, "mode": mode, **params}
            if mode == "error":
                body["status"] = self.rng.choice((500, 502, 503, 504))
                body["rate"] = round(self.rng.uniform(0.05, 0.3), 2)
            elif mode == "rate_limit":
                body["reset_ms"] = self.rng.choice((200, 300, 400))
                if store.platform == "SHOPIFY":
                    body["form"] = self.rng.choice(SHOPIFY_THROTTLES)
            await self._post(body)
        return labels
