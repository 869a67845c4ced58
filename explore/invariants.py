"""Design §7's invariants, read against the fake platforms' ground truth and the database.

Why here, apart from the rules: each check is a plain function of one ``Snapshot`` (what the
database holds, what every fake store holds), so what an invariant means is readable in one
place. Each broken invariant raises its own ``Finding`` subclass, so that hypothesis keeps
distinct races apart while shrinking, and the runner counts them apart.

- ``check_live_bags``: no live bag (not DELETED, FAILED or EXPIRED, in a live cart) names an
  external cart its platform does not hold. After every step, for the carts no operation in
  flight is changing; at quiescence, for all.
- ``check_one_cart_per_bag``: no bag has two external carts (not counting one a pending outbox
  entry is deleting). After every step.
- ``check_accounted``: every external cart multicart made is on a live bag (or an EXPIRED one:
  the platform drops it, the fakes do not model that), named by an outbox
  entry still pending (or dead: visible, requeueable), or counted undetectable (its bag's
  ``unknown_create`` entry buried ``undetectable``). At quiescence only.
- ``check_settled``: the reconciler drives every unsettled bag to a final state: once settled,
  no live cart has a PENDING or UNKNOWN bag. At quiescence only.
- ``check_lines``: a live bag's lines are what its external cart holds (SKU and quantity),
  except the SKUs an order error on the bag says are uncertain ("mutations change the external
  cart first and our record second ... leaving the line as the platform really has it"). At
  quiescence only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from adapters.fake import ref_key
from explore.world import Finding, World
from orchestrator.store.tables import bags, carts, external_deletes, order_errors, order_skus

LIVE_BAG = ("IN_PROGRESS", "PENDING", "UNKNOWN")
INVARIANTS = (
    "live_bag_without_external_cart",
    "two_carts_for_one_bag",
    "unsettled_after_settle",
    "unaccounted_cart",
    "line_drift",
)


class LiveBagWithoutExternalCart(Finding):
    kind = "live_bag_without_external_cart"


class TwoCartsForOneBag(Finding):
    kind = "two_carts_for_one_bag"


class UnaccountedExternalCart(Finding):
    kind = "unaccounted_cart"


class UnsettledAfterSettle(Finding):
    kind = "unsettled_after_settle"


class LineDrift(Finding):
    kind = "line_drift"


class ReplayDiffers(Finding):
    kind = "idempotent_replay_differs"


@dataclass(frozen=True)
class BagRow:
    id: str
    cart_id: str
    cart_live: bool
    status: str
    merchant: str  # the merchant's label
    external_id: str | None
    lines: dict[str, int]  # platform ref key -> quantity (lines with a quantity)
    uncertain: frozenset[str]  # platform ref keys of SKUs with an order error on the bag


@dataclass(frozen=True)
class OutboxRow:
    bag_id: str
    merchant: str
    external_id: str
    kind: str
    state: str


@dataclass(frozen=True)
class Snapshot:
    bags: list[BagRow]
    outbox: list[OutboxRow]
    external: dict[tuple[str, str], str]  # (merchant label, external id) -> bag made for
    external_lines: dict[tuple[str, str], dict[str, int]]  # -> platform ref key -> quantity


async def snapshot(world: World) -> Snapshot:
    async with world.store.db.read() as conn:
        bag_rows = (
            await conn.execute(
                select(
                    bags.c.id,
                    bags.c.cart_id,
                    carts.c.status.label("cart_status"),
                    bags.c.status,
                    bags.c.merchant_id,
                    bags.c.external_id,
                ).join(carts, carts.c.id == bags.c.cart_id)
            )
        ).all()
        outbox_rows = (await conn.execute(select(external_deletes))).all()
        line_rows = (await conn.execute(select(order_skus))).all()
        error_rows = (await conn.execute(select(order_errors))).all()
    refs = {sku_id: ref_key(ref) for sku_id, ref in world.sku_refs.items()}
    lines: dict[str, dict[str, int]] = {}
    for row in line_rows:
        if row.quantity > 0:
            held = lines.setdefault(row.bag_id, {})
            key = ref_key(row.platform_ref)
            held[key] = held.get(key, 0) + row.quantity
    uncertain: dict[str, set[str]] = {}
    for row in error_rows:
        if row.bag_id is not None and row.entity_id in refs:
            uncertain.setdefault(row.bag_id, set()).add(refs[row.entity_id])
    external_lines = {
        (label, cart.id): _held(cart.lines)
        for label in world.merchant_ids
        for cart in world.fake(label).carts.values()
    }
    external = {
        (label, cart.id): cart.made_for
        for label in world.merchant_ids
        for cart in world.fake(label).carts.values()
    }
    return Snapshot(
        [
            BagRow(
                r.id,
                r.cart_id,
                r.cart_status == "IN_PROGRESS",
                r.status,
                world.label_of(r.merchant_id),
                r.external_id,
                lines.get(r.id, {}),
                frozenset(uncertain.get(r.id, ())),
            )
            for r in bag_rows
        ],
        [
            OutboxRow(r.bag_id, world.label_of(r.merchant_id), r.external_id, r.kind, r.state)
            for r in outbox_rows
        ],
        external,
        external_lines,
    )


def _held(platform_lines: Sequence[Any]) -> dict[str, int]:
    held: dict[str, int] = {}
    for line in platform_lines:
        key = ref_key(line.ref)
        held[key] = held.get(key, 0) + line.quantity
    return held


def check_live_bags(shot: Snapshot, busy: set[str]) -> None:
    for bag in shot.bags:
        if not bag.cart_live or bag.status not in LIVE_BAG or bag.cart_id in busy:
            continue
        if bag.external_id and (bag.merchant, bag.external_id) not in shot.external:
            raise LiveBagWithoutExternalCart(
                f"bag {bag.id} ({bag.status}, cart {bag.cart_id}) names {bag.merchant} cart"
                f" {bag.external_id}, which the platform does not hold",
                _whose(bag),
            )


def _whose(bag: BagRow) -> str:
    """The platform, and whether the missing cart was made for another bag (a reference to
    a cart an Elastic Path bag made, named by that bag's id)."""
    other = bool(
        bag.external_id and bag.external_id.startswith("bag_") and bag.external_id != bag.id
    )
    return f"{bag.merchant}:another-bag's-cart" if other else bag.merchant


def check_one_cart_per_bag(shot: Snapshot) -> None:
    deleting = {(e.merchant, e.external_id) for e in shot.outbox if e.state == "pending"}
    made = Counter(
        bag_id for key, bag_id in shot.external.items() if bag_id and key not in deleting
    )
    for bag_id, count in made.items():
        if count > 1:
            held = sorted(k[1] for k, b in shot.external.items() if b == bag_id)
            raise TwoCartsForOneBag(f"bag {bag_id} has {count} external carts: {held}")


def check_accounted(shot: Snapshot) -> None:
    # An EXPIRED bag's cart the platform drops on its own (the fakes keep carts for ever, so
    # it is still there); the sweep deletes it with the cart anyway (docs/api.md, Expiry).
    on_bags = {
        (b.merchant, b.external_id)
        for b in shot.bags
        if b.cart_live and b.status in (*LIVE_BAG, "EXPIRED") and b.external_id
    }
    named = {(e.merchant, e.external_id) for e in shot.outbox if e.state in ("pending", "dead")}
    undetectable = {e.bag_id for e in shot.outbox if e.state == "undetectable"}
    for key, made_for in shot.external.items():
        if not made_for:
            continue  # a shopper's own cart (saved by reference or not): not ours to account
        if key in on_bags or key in named or made_for in undetectable:
            continue
        raise UnaccountedExternalCart(
            f"{key[0]} cart {key[1]} (made for bag {made_for}) is on no live bag, in no pending"
            f" outbox entry and counted nowhere; bags: {_about(shot, made_for)}",
            key[0],
        )


def check_settled(shot: Snapshot) -> None:
    for bag in shot.bags:
        if bag.cart_live and bag.status in ("PENDING", "UNKNOWN"):
            raise UnsettledAfterSettle(
                f"bag {bag.id} ({bag.merchant}, cart {bag.cart_id}) is still {bag.status} after"
                " every flight ended and the reconciler ran to quiescence",
                bag.merchant,
            )


def check_lines(shot: Snapshot, unrecorded: Collection[str] = ()) -> None:
    """``unrecorded``: carts a line change answered 5xx on while injected database failures
    struck every write it tried (``World.unrecorded``): the platform holds the change, the
    record cannot; the client was told the outcome is unknown, and the line is set right by
    the next change of it (an absolute update) or a refresh from the platform."""
    for bag in shot.bags:
        if not bag.cart_live or bag.status != "IN_PROGRESS" or not bag.external_id:
            continue
        if bag.cart_id in unrecorded:
            continue
        held = shot.external_lines.get((bag.merchant, bag.external_id))
        if held is None:
            continue  # check_live_bags' concern
        keys = (set(held) | set(bag.lines)) - bag.uncertain
        differ = {k: (bag.lines.get(k, 0), held.get(k, 0)) for k in keys}
        differ = {k: v for k, v in differ.items() if v[0] != v[1]}
        if differ:
            raise LineDrift(
                f"bag {bag.id} ({bag.merchant} cart {bag.external_id}): recorded vs platform"
                f" quantities differ with no order error saying so: {differ}",
                bag.merchant,
            )


def _about(shot: Snapshot, bag_id: str) -> str:
    rows = [b for b in shot.bags if b.id == bag_id]
    entries = [e for e in shot.outbox if e.bag_id == bag_id]
    return f"{rows} outbox: {entries}"


async def check_step(world: World) -> None:
    """After every step: the checks that hold with operations in flight."""
    shot = await snapshot(world)
    check_live_bags(shot, world.busy_carts())
    check_one_cart_per_bag(shot)


async def check_quiescent(world: World) -> None:
    """Once everything has settled (``world.settle_everything``): every check, every cart."""
    shot = await snapshot(world)
    check_live_bags(shot, set())
    check_one_cart_per_bag(shot)
    check_settled(shot)
    check_accounted(shot)
    check_lines(shot, world.unrecorded)
