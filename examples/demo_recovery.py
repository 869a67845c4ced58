"""The third part of `make demo`: what an operator does when a platform stays down.

8. a store refuses every delete: the deleted cart's external cart waits in the outbox, retried
   with backoff until ``MULTICART_OUTBOX_GIVE_UP_AFTER_S`` (36 h in production; a few seconds
   here) of real failures, then kept as a dead letter; ``GET /v1/admin/outbox?state=dead``
   shows it, and once the store is back ``POST /v1/admin/outbox/{id}/retry`` requeues it and
   the reconciler deletes the cart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from examples.client import Multicart, Sandbox

Show = Callable[..., None]
Check = Callable[[bool, str], None]
WAIT_S = 30.0  # every wait below is polled, bounded by this


def _poll(what: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    ends = time.monotonic() + timeout
    while time.monotonic() < ends:
        found = what()
        if found:
            return found
        time.sleep(0.2)  # pacing the poll
    return what()


def dead_letter_requeued(admin: Multicart, api: Multicart, sandbox: Sandbox,
                         stores: dict[str, Any], show: Show, check: Check,
                         store: str) -> None:  # fmt: skip
    cart = api.create_cart([(stores[store]["skus"]["p1"], 1)])
    [external_id] = [b["external_id"] for b in cart["bags"]]
    sandbox.fault(store, "error", status=500, method="DELETE")
    api.delete_cart(cart["id"])

    def dead() -> list[dict[str, Any]]:
        return [e for e in admin.outbox("dead") if e["external_id"] == external_id]

    [entry] = _poll(dead) or [None]
    show("8. a store refusing deletes: the entry given up, as an operator lists it", entry)
    check(entry is not None and entry["attempts"] >= 2, "a dead letter, after real failures")
    held = [c["id"] for c in sandbox.carts(store) if c["lines"]]
    check(external_id in held, "the external cart still holds its lines on the store")

    sandbox.clear_faults()
    requeued = admin.retry_outbox_entry(entry["id"])
    show("   requeued once the store is back", requeued)
    gone = _poll(lambda: external_id not in {c["id"] for c in sandbox.carts(store)})
    check(requeued["state"] == "pending" and gone, "requeued, then deleted by the reconciler")
