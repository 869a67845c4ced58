"""Bag and cart status transitions follow the tables, and nothing else."""

import pytest

from bags.status import (
    BAG_TRANSITIONS,
    BagStatus,
    CartStatus,
    IllegalTransition,
    check_bag_transition,
    check_cart_transition,
)


@pytest.mark.parametrize("current", list(BagStatus))
@pytest.mark.parametrize("new", list(BagStatus))
def test_bag_transitions_match_the_table(current: BagStatus, new: BagStatus) -> None:
    if new in BAG_TRANSITIONS[current]:
        check_bag_transition(current, new)
    else:
        with pytest.raises(IllegalTransition):
            check_bag_transition(current, new)


def test_deleted_is_final() -> None:
    with pytest.raises(IllegalTransition):
        check_bag_transition(BagStatus.DELETED, BagStatus.IN_PROGRESS)
    with pytest.raises(IllegalTransition):
        check_cart_transition(CartStatus.DELETED, CartStatus.IN_PROGRESS)
