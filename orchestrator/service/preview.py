"""Previewing a create: the split ``POST /v1/carts`` would make, without making anything.

Why: an app shows the shopper which merchants a basket spans, at what catalog prices, and what
is wrong with it, before committing to a cart. The preview runs a create's own first steps
(``bags.split``: bounds, catalog checks, one bag per merchant) on the same body and stops before
anything is written or any platform is called: one catalog read, nothing else.

Every problem known before a platform call is answered in the body (200), not as the create's
400 ``invalid_skus``: unknown, unavailable or wrong-currency SKUs are listed in ``problems``
and left out of the bags, the rest still split, so one preview shows both what works and what
does not. A body a create would refuse whatever the catalog holds (too many lines, a quantity
over the limit, more merchants than ``max_bags``) is the same 400 ``invalid_request`` as a
create's. Prices are the catalog's; the platform's may differ (a create answers those).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bags import Bag, Limits, RequestedLine, check_catalog, check_lines, split_into_bags
from config import Settings
from errors import InvalidSkus
from orchestrator.store import Store


@dataclass(frozen=True)
class Preview:
    currency: str
    bags: list[Bag]
    problems: list[dict[str, Any]]  # {sku_id, reason, message, field}

    @property
    def sub_total(self) -> int:
        return sum(b.sub_total for b in self.bags)


def _no_id(_prefix: str) -> str:
    return ""  # a preview's bags and lines are never stored: they have no ids


class PreviewService:
    def __init__(self, store: Store, settings: Settings) -> None:
        self._store = store
        self._limits = Limits(settings.max_skus, settings.max_bags, settings.max_quantity)

    async def preview(self, lines: Sequence[RequestedLine], currency: str) -> Preview:
        merged = check_lines(lines, self._limits)  # the create's 400s, before any I/O
        catalog, merchant_rows = await self._store.catalog.lookup({ln.sku_id for _, ln in merged})
        merchants = {mid: row[0] for mid, row in merchant_rows.items()}
        problems: list[dict[str, Any]] = []
        try:
            check_catalog(merged, catalog, currency)
        except InvalidSkus as exc:
            problems = [
                {**sku, "field": where["field"]}
                for sku, where in zip(exc.data["skus"], exc.data["fields"], strict=True)
            ]
        refused = {p["sku_id"] for p in problems}
        usable = [(i, line) for i, line in merged if line.sku_id not in refused]
        bags = split_into_bags(usable, catalog, merchants, currency, self._limits, _no_id)
        return Preview(currency=currency, bags=bags, problems=problems)
