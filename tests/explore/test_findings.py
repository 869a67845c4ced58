"""The explorer's findings on the current code, each as its minimal sequence of rules.

Each sequence is what ``make explore`` found (shrunk by hypothesis, then trimmed by hand to the
steps that matter) and ``explore.runner.run_sequence`` replays it deterministically on both
engines. Each failed on the code the explorer was written against (06ea00d) and passes since
the races it shows were fixed: they stay as regression tests.
"""

from __future__ import annotations

import pytest

from explore.runner import Step, run_sequence

CREATE_EP_PARKED_AFTER_APPLY: Step = (
    "create_cart",
    {"merchants": ["ep"], "quantity": 1, "fault": "park_after", "fault_on": 0, "keyed": False},
)

SEQUENCES: dict[str, list[Step]] = {
    # A create overruns its lease while its Elastic Path call is parked after applying; the
    # reconciler adopts the bag's cart by reference; the create's late outcome write is stale,
    # so it queues and tries the delete of the external ids it made: the adopted cart goes.
    "lease_overrun_deletes_the_adopted_cart": [
        CREATE_EP_PARKED_AFTER_APPLY,
        ("jump", {"how": "past_lease"}),
        ("reconcile_round", {"fault": None, "fault_on": 0}),
        ("resume", {"index": 0}),
    ],
    # A create's outcome write fails at COMMIT: it queues the delete of the Elastic Path cart
    # it made (whose own try times out), the PENDING bag is the reconciler's, which adopts the
    # same cart by reference; the queued delete then removes it.
    "failed_outcome_write_deletes_the_adopted_cart": [
        CREATE_EP_PARKED_AFTER_APPLY,
        ("arm_fault", {"label": "ep", "fault": "timeout_before"}),
        ("fail_a_write", {"skip": 0, "phase": "at_commit"}),
        ("resume", {"index": 0}),
        ("jump", {"how": "past_settle_cutoff"}),
        ("reconcile_round", {"fault": None, "fault_on": 0}),
        ("jump", {"how": "past_backoff"}),
        ("outbox_round", {"fault": None, "fault_on": 0}),
    ],
    # An add to an existing bag is applied on the platform, then the save fails at COMMIT:
    # the line the platform now holds is in no record and no order error.
    "failed_save_loses_a_line": [
        (
            "create_cart",
            {"merchants": ["bc"], "quantity": 1, "fault": None, "fault_on": 0, "keyed": False},
        ),
        ("fail_a_write", {"skip": 1, "phase": "at_commit"}),
        ("add_sku", {"cart": 0, "label": "bc", "sku": 1, "fault": None}),
        ("settle", {}),
    ],
    # The same with a quantity change on a cart saved by reference: the platform holds 2, the
    # record 1.
    "failed_save_loses_a_quantity_change": [
        ("save_reference", {"label": "ep", "existing": False, "fault": None, "keyed": False}),
        ("fail_a_write", {"skip": 1, "phase": "at_commit"}),
        ("set_quantity", {"cart": 0, "line": 0, "quantity": 2, "fault": None}),
        ("settle", {}),
    ],
    # A create's answers are lost on Elastic Path and Shopify (both bags UNKNOWN); the shopper
    # saves the Elastic Path cart by reference (its id, the bag's, held by no bag yet); the
    # reconciler's adoption of that cart then breaks the bags' unique (merchant, external id)
    # on every round: the cart never settles, and its Shopify bag's possible cart is never
    # counted undetectable.
    "reference_to_an_unknown_create_wedges_the_reconciler": [
        ("arm_fault", {"label": "shop", "fault": "lost_answer"}),
        (
            "create_cart",
            {
                "merchants": ["ep", "shop"],
                "quantity": 1,
                "fault": "lost_answer",
                "fault_on": 0,
                "keyed": False,
            },
        ),
        ("save_reference", {"label": "ep", "existing": True, "fault": None, "keyed": False}),
        ("settle", {}),
    ],
    # While a create's call is parked after the platform made the cart, that cart is saved by
    # reference (no bag holds its id yet); the create's outcome write then breaks the bags'
    # unique (merchant, external id): a 500, and the create queues the delete of the cart the
    # reference now holds. Any platform (Elastic Path here; BigCommerce alike).
    "reference_to_an_in_flight_create_fails_its_outcome_write": [
        CREATE_EP_PARKED_AFTER_APPLY,
        ("save_reference", {"label": "ep", "existing": True, "fault": None, "keyed": False}),
        ("resume", {"index": 0}),
    ],
    # The same through a line change: an add makes a new Shopify bag, its cart is saved by
    # reference while the call is parked after applying, and the add's save is a 500.
    "reference_to_an_in_flight_add_fails_its_save": [
        (
            "create_cart",
            {"merchants": ["ep"], "quantity": 1, "fault": None, "fault_on": 0, "keyed": False},
        ),
        ("add_sku", {"cart": 0, "label": "shop", "sku": 0, "fault": "park_after"}),
        ("save_reference", {"label": "shop", "existing": True, "fault": None, "keyed": False}),
        ("resume", {"index": 0}),
    ],
    # A 2-bag create's Elastic Path answer is lost (its bag UNKNOWN, the cart made); that cart
    # is saved by reference (no bag holds its id, no outbox entry names it yet); the first
    # cart's DELETE queues an ``unknown_create`` entry, which deletes by reference the cart
    # the saved reference now holds.
    "reference_to_an_unknown_create_deleted_by_its_cart_delete": [
        (
            "create_cart",
            {
                "merchants": ["ep", "bc"],
                "quantity": 1,
                "fault": "lost_answer",
                "fault_on": 0,
                "keyed": False,
            },
        ),
        ("save_reference", {"label": "ep", "existing": True, "fault": None, "keyed": False}),
        ("delete_cart", {"cart": 0, "fault": None, "fault_on": 0}),
        ("jump", {"how": "past_backoff"}),
        ("outbox_round", {"fault": None, "fault_on": 0}),
    ],
    # A create's outcome write commits but its answer is lost (after COMMIT): the create takes
    # the write for failed and queues the delete of the external carts its own committed
    # record holds. Any platform (BigCommerce here).
    "committed_outcome_write_whose_answer_is_lost_deletes_its_carts": [
        ("fail_a_write", {"skip": 1, "phase": "after_commit"}),
        (
            "create_cart",
            {"merchants": ["bc"], "quantity": 1, "fault": None, "fault_on": 0, "keyed": False},
        ),
    ],
}


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_known_finding_sequence(migrated_database_url: str, name: str) -> None:
    finding = run_sequence(migrated_database_url, SEQUENCES[name])
    assert finding is None, f"{name}: {finding.kind}: {finding}"
