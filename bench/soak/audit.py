"""The soak's invariant count: what the sandbox holds against what the database accounts for.

Why it reads the database directly (SQLAlchemy, read only) rather than the API: the API shows
an app's live carts, while the invariant is about every bag and every outbox entry, including
carts already discarded or deleted. The rules (README "Unknown outcomes"):

* a sandbox cart *holding lines* is accounted for by a live bag's ``external_id``, or by an
  outbox entry still ``pending`` (or ``dead``: kept, counted) whose ``external_id`` names it
  (an ``unknown_create``'s is the bag id, which is the cart id on Elastic Path);
* otherwise, where the platform mints the ids (Shopify, BigCommerce) an ``undetectable``
  ``unknown_create`` entry of the same merchant may cover it: on Shopify exactly, by the
  ``_multicart_bag_id`` attribute; on BigCommerce (no link back) by count, at most one cart per
  entry. Those are *undetectable orphans*, the documented case, counted apart;
* anything else is an *orphan*. A *duplicate* is a second cart for one bag: by the bag-id
  attribute on Shopify; on Elastic Path the cart id is the bag id, so a second create lands in
  the same cart and shows as more quantity than the bag holds (``lines_disagree``); on
  BigCommerce a duplicate cannot be told from an orphan, and is counted as one (a Shopify
  duplicate no bag accounts for is an orphan too);
* a live bag whose external cart is missing is ``dangling``; a bag still ``PENDING``/``UNKNOWN``
  or an ``unknown_create`` entry still pending is an *unresolved unknown outcome*.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import select

from bench.soak.stack import StoreInfo
from orchestrator.store.engines import make_engine
from orchestrator.store.tables import bags, carts, external_deletes, order_skus

BAG_ATTRIBUTE = "_multicart_bag_id"
UNSETTLED = ("PENDING", "UNKNOWN")


@dataclass
class DbState:
    bags: list[dict[str, Any]]  # with the cart's status and soak id
    outbox: list[dict[str, Any]]
    quantities: dict[str, int]  # bag id -> units its lines hold
    carts_by_soak_id: Counter[str]


async def read_db(url: str) -> DbState:
    engine = make_engine(url, null_pool=True)
    try:
        async with engine.connect() as conn:
            cart_rows = (
                await conn.execute(select(carts.c.id, carts.c.status, carts.c.metadata))
            ).all()
            bag_rows = (await conn.execute(select(bags))).mappings().all()
            outbox = (await conn.execute(select(external_deletes))).mappings().all()
            lines = (await conn.execute(select(order_skus.c.bag_id, order_skus.c.quantity))).all()
    finally:
        await engine.dispose()
    cart_of = {row.id: (row.status, (row.metadata or {}).get("soak")) for row in cart_rows}
    quantities: Counter[str] = Counter()
    for bag_id, quantity in lines:
        quantities[bag_id] += quantity
    listed = []
    for row in bag_rows:
        status, soak = cart_of.get(row["cart_id"], (None, None))
        listed.append({**row, "cart_status": status, "soak": soak})
    soak_ids = Counter(soak for _, soak in cart_of.values() if soak)
    return DbState(listed, [dict(r) for r in outbox], dict(quantities), soak_ids)


def sandbox_carts(sandbox_url: str) -> list[dict[str, Any]]:
    return httpx.get(sandbox_url + "/__sandbox/carts", timeout=30).raise_for_status().json()  # type: ignore[no-any-return]


def units(cart: dict[str, Any]) -> int:
    return sum(int(line["quantity"]) for line in cart["lines"])


def bag_attribute(cart: dict[str, Any]) -> str | None:
    for attribute in cart.get("attributes") or []:
        if attribute.get("key") == BAG_ATTRIBUTE:
            return str(attribute.get("value"))
    return None


def live(bag: dict[str, Any]) -> bool:
    return bool(bag["external_id"]) and bag["status"] != "DELETED"


@dataclass
class Audit:
    sandbox_carts: int = 0  # holding lines
    accounted: int = 0  # by a live bag
    awaiting_delete: int = 0  # by a pending outbox entry
    dead_letters: int = 0  # covered by a dead entry (kept, counted)
    undetectable_orphans: int = 0
    undetectable_entries: int = 0
    orphans: int = 0
    duplicates: int = 0
    lines_disagree: int = 0  # a live bag's cart holds other quantities than the bag
    dangling: int = 0  # a live bag whose external cart is missing
    unresolved: int = 0  # bags PENDING/UNKNOWN, unknown_create entries pending
    outbox: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if len(self.examples) < 12:
            self.examples.append(text)


def audit(db: DbState, sandbox: list[dict[str, Any]], stores: list[StoreInfo]) -> Audit:
    out = Audit()
    out.outbox = dict(Counter(f"{e['kind']}/{e['state']}" for e in db.outbox))
    out.unresolved = sum(
        1 for b in db.bags if b["status"] in UNSETTLED and b["cart_status"] == "IN_PROGRESS"
    ) + sum(1 for e in db.outbox if e["kind"] == "unknown_create" and e["state"] == "pending")
    for store in stores:
        held = [c for c in sandbox if c["store"] == store.name]
        mine = [b for b in db.bags if b["merchant_id"] == store.merchant_id]
        entries = [e for e in db.outbox if e["merchant_id"] == store.merchant_id]
        _audit_store(out, store, held, mine, entries, db.quantities)
    return out


def _audit_store(
    out: Audit,
    store: StoreInfo,
    held: list[dict[str, Any]],
    mine: list[dict[str, Any]],
    entries: list[dict[str, Any]],
    quantities: dict[str, int],
) -> None:
    live_bags = {b["external_id"]: b for b in mine if live(b)}
    pending = {e["external_id"] for e in entries if e["state"] == "pending"}
    dead = {e["external_id"] for e in entries if e["state"] == "dead"}
    undetectable = {e["external_id"] for e in entries if e["state"] == "undetectable"}
    out.undetectable_entries += len(undetectable)
    ids = {c["id"] for c in held}
    for external_id, bag in live_bags.items():
        if external_id not in ids:
            out.dangling += 1
            out.note(f"dangling: bag {bag['id']} ({store.name}) -> missing {external_id}")
    by_bag = Counter(bag_attribute(c) for c in held if bag_attribute(c))
    for bag_id, count in by_bag.items():
        if count > 1:
            out.duplicates += count - 1
            out.note(f"duplicate: {count} {store.platform} carts for bag {bag_id}")
    unmatched = 0
    for cart in held:
        if units(cart) == 0:
            continue  # emptied (Shopify's delete) or never filled: nothing is held
        out.sandbox_carts += 1
        owner = live_bags.get(cart["id"])
        if owner is not None:
            out.accounted += 1
            if units(cart) != quantities.get(owner["id"], 0):
                out.lines_disagree += 1
                out.note(
                    f"lines: {store.name} cart {cart['id']} holds {units(cart)} units, "
                    f"bag {owner['id']} {quantities.get(owner['id'], 0)}"
                )
        elif cart["id"] in pending:
            out.awaiting_delete += 1
        elif cart["id"] in dead:
            out.dead_letters += 1
        elif store.platform == "SHOPIFY" and bag_attribute(cart) in undetectable:
            out.undetectable_orphans += 1
        elif store.platform == "BIGCOMMERCE":
            unmatched += 1
        else:
            out.orphans += 1
            out.note(
                f"orphan: {store.name} cart {cart['id']} ({units(cart)} units, "
                f"bag attribute {bag_attribute(cart)})"
            )
    covered = min(unmatched, len(undetectable))
    out.undetectable_orphans += covered
    if unmatched > covered:
        out.orphans += unmatched - covered
        out.note(
            f"orphan: {store.name} holds {unmatched} unmatched carts, "
            f"{len(undetectable)} undetectable entries"
        )


def unsettled_counts(db: DbState) -> tuple[int, int]:
    """(outbox entries pending, bags PENDING/UNKNOWN in live carts): what settling moves."""
    pending = sum(1 for e in db.outbox if e["state"] == "pending")
    open_bags = sum(
        1 for b in db.bags if b["status"] in UNSETTLED and b["cart_status"] == "IN_PROGRESS"
    )
    return pending, open_bags


async def settle(url: str, *, min_s: float, stable_s: float, bound_s: float) -> dict[str, Any]:
    """Let the reconciler work until nothing is left, or nothing has moved for ``stable_s``
    after ``min_s`` (its settle margin), or ``bound_s`` has passed. Returns what it saw."""
    began = time.monotonic()
    last, last_change = (-1, -1), began
    while True:
        counts = unsettled_counts(await read_db(url))
        now = time.monotonic()
        if counts != last:
            last, last_change = counts, now
        waited = now - began
        if counts == (0, 0) and waited >= 1.0:
            break
        if waited >= min_s and now - last_change >= stable_s:
            break
        if waited >= bound_s:
            break
        await asyncio.sleep(0.5)
    return {
        "seconds": round(time.monotonic() - began, 1),
        "outbox_pending": last[0],
        "bags_unsettled": last[1],
    }


def kill_points(
    db: DbState, sandbox: list[dict[str, Any]], soak_ids: set[str], stores: list[StoreInfo]
) -> Counter[str]:
    """Where a SIGKILL caught each create in flight on the killed process (right after it,
    before the restart): no record yet, a bag still PENDING with no cart on the platform
    (before the platform call), PENDING with the cart made (after the platform created it,
    before our commit), or every bag settled (after the commit)."""
    platform_of = {s.merchant_id: s.platform for s in stores}
    made_ep = {c["id"] for c in sandbox if c["platform"] == "ELASTIC_PATH" and units(c)}
    made_shopify = {bag_attribute(c) for c in sandbox if c["platform"] == "SHOPIFY"}
    points: Counter[str] = Counter()
    for soak_id in soak_ids:
        mine = [b for b in db.bags if b["soak"] == soak_id]
        if not mine:
            points["no record (before the platform call)"] += 1
            continue
        open_bags = [b for b in mine if b["status"] == "PENDING"]
        if not open_bags:
            points["after the commit"] += 1
            continue
        made, unknown = False, False
        for bag in open_bags:
            platform = platform_of.get(bag["merchant_id"])
            if platform == "ELASTIC_PATH":
                made = made or bag["id"] in made_ep
            elif platform == "SHOPIFY":
                made = made or bag["id"] in made_shopify
            else:
                unknown = True
        if made:
            points["platform created, before our commit"] += 1
        elif unknown:
            points["pending on BigCommerce (cannot tell)"] += 1
        else:
            points["before the platform call"] += 1
    return points
