"""Fold the platforms' answers into the cart aggregate, and build the 2503 answer.

This is the last step of creating a cart, after the fan-out: a created bag takes the lines and
prices the platform really holds (not what was asked); a failed bag becomes FAILED with one
order error per SKU; a single-bag failure becomes one ``ExternalCartCreationFailure`` with the
status its cause calls for.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

from adapters import ExternalCart, platform_text, ref_matches
from bags import Bag, BagStatus, Cart, OrderError
from errors import (
    MESSAGE_MAX,
    Cause,
    ExternalCartCreationFailure,
    PlatformError,
    PlatformRejected,
)
from orchestrator.service.fanout import BagOutcome

REJECTED_CAUSES = frozenset(
    {Cause.OUT_OF_STOCK, Cause.SKU_NOT_FOUND_ON_PLATFORM, Cause.PLATFORM_REJECTED}
)
THROTTLED_CAUSES = frozenset({Cause.RATE_LIMITED, Cause.PLATFORM_UNAVAILABLE})

_CAUSE_PHRASES: dict[Cause, str] = {
    Cause.PLATFORM_ERROR: "returned a Server Error",
    Cause.PLATFORM_TIMEOUT: "did not answer in time",
    Cause.RATE_LIMITED: "is throttling requests",
    Cause.PLATFORM_UNAVAILABLE: "is unavailable",
    Cause.PLATFORM_HOST_REFUSED: "is at a host multicart is not allowed to call",
    Cause.AUTH_FAILED: "refused the merchant's credentials",
    Cause.OUT_OF_STOCK: "reported the items out of stock",
    Cause.SKU_NOT_FOUND_ON_PLATFORM: "does not know the items",
    Cause.PLATFORM_REJECTED: "rejected the items",
    Cause.PLATFORM_CONFLICT: "reported a conflicting change",
    Cause.CART_NOT_FOUND_ON_PLATFORM: "lost the cart",
}


def apply_outcome(
    bag: Bag,
    outcome: BagOutcome,
    cart: Cart,
    new_error: Callable[..., OrderError],
    answered: datetime,
) -> None:
    """One bag's create, as it ended: ``IN_PROGRESS`` on the cart the platform made (whose own
    expiry counts from ``answered``), ``UNKNOWN`` when the create may have applied without an
    answer (the reconciler resolves it), ``FAILED`` when nothing was made."""
    if outcome.cart is not None:
        apply_created(bag, outcome.cart, cart, new_error)
        bag.platform_changed_at = answered
    elif outcome.error is not None and outcome.error.may_have_applied:
        apply_unknown(bag, outcome.error, cart, new_error)
    elif outcome.error is not None:
        apply_failed(bag, outcome.error, cart, new_error)


def apply_created(
    bag: Bag, external: ExternalCart, cart: Cart, new_error: Callable[..., OrderError]
) -> None:
    """The external cart exists: take its id, checkout URL, lines and prices."""
    bag.external_id = external.external_id
    bag.checkout_url = external.checkout_url
    bag.platform_sub_total = external.sub_total
    bag.move_to(BagStatus.IN_PROGRESS)
    # A line the platform explained (a stock warning) gets its explanation below, once.
    explained = {
        s.sku_id
        for s in bag.skus
        for problem in external.problems
        if ref_matches(s.platform_ref, problem.platform_ref)
    }
    for sku in bag.skus:
        line = external.line_for(sku.platform_ref)
        if line is None:
            requested = sku.quantity
            sku.quantity, sku.line_price, sku.available = 0, 0, False
            if sku.sku_id in explained:
                continue
            cart.errors.append(
                new_error(
                    bag,
                    sku.sku_id,
                    "EXTERNAL_ADD_ITEM",
                    Cause.PLATFORM_REJECTED,
                    f"{bag.platform} created the cart without this item "
                    f"({requested} requested, none held)",
                    retryable=False,
                )
            )
            continue
        sku.external_id = line.external_id
        sku.quantity = line.quantity
        sku.price = line.unit_price
        sku.line_price = line.line_price
    for problem in external.problems:
        sku_id = next(
            (s.sku_id for s in bag.skus if ref_matches(s.platform_ref, problem.platform_ref)),
            None,
        )
        if sku_id is not None:
            cart.errors.append(
                new_error(
                    bag,
                    sku_id,
                    "EXTERNAL_ADD_ITEM",
                    problem.cause,
                    platform_text(problem.message, MESSAGE_MAX),
                    retryable=False,
                )
            )


def apply_unknown(
    bag: Bag, error: PlatformError, cart: Cart, new_error: Callable[..., OrderError]
) -> None:
    """The create may have been applied (no answer, or a 5xx, after it was sent): the bag is
    UNKNOWN until the reconciler finds or clears its external cart. Never "retry freely"."""
    message = (
        f"{platform_text(error.message, MESSAGE_MAX)}. The external cart may exist:"
        " multicart is resolving it."
    )
    _without_cart(bag, BagStatus.UNKNOWN, cart, new_error, error, message, retryable=False)


def apply_failed(
    bag: Bag, error: PlatformError, cart: Cart, new_error: Callable[..., OrderError]
) -> None:
    """No external cart: the bag is FAILED and each of its SKUs gets an order error."""
    message = platform_text(error.message, MESSAGE_MAX)
    _without_cart(bag, BagStatus.FAILED, cart, new_error, error, message, error.retryable)


def _without_cart(
    bag: Bag,
    status: BagStatus,
    cart: Cart,
    new_error: Callable[..., OrderError],
    error: PlatformError,
    message: str,
    retryable: bool,
) -> None:
    """``bag`` moves to ``status`` with no external cart known, one order error per SKU."""
    bag.move_to(status)
    bag.platform_sub_total = None
    for sku in bag.skus:
        cart.errors.append(
            new_error(
                bag, sku.sku_id, "EXTERNAL_CREATE_CART", error.cause, message, retryable=retryable
            )
        )


def error_factory(
    cart: Cart, now: datetime, new_id: Callable[[str], str]
) -> Callable[..., OrderError]:
    def make(
        bag: Bag, entity_id: str, type_: str, cause: Cause, message: str, *, retryable: bool
    ) -> OrderError:
        return OrderError(
            id=new_id("err"),
            order_id=cart.id,
            bag_id=bag.id,
            entity_id=entity_id,
            type=type_,
            message=message,
            date_created=now,
            platform=bag.platform,
            cause=str(cause),
            retryable=retryable,
        )

    return make


def creation_failure(failed: list[tuple[Bag, PlatformError]]) -> ExternalCartCreationFailure:
    """The 2503 exception for the failed bags (one, or every failed one under all_or_nothing)."""
    bag, error = failed[0]
    cause = error.cause
    phrase = _CAUSE_PHRASES.get(cause, "failed")
    headers: dict[str, str] = {}
    if all(e.cause in REJECTED_CAUSES for _, e in failed):
        status = 422
    elif cause in THROTTLED_CAUSES and error.retryable:  # not a refused address: permanent
        status = 503
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after or 1)))
    else:
        status = 502
    # Retrying the request is safe even when the outcome is unknown: no cart is kept, so a
    # retry makes a new cart with new bags (never a second external cart for one bag), and
    # what the first attempt may have made is in the outbox (deleted, or counted).
    unknown = any(e.may_have_applied for _, e in failed)
    # A refused host is refused again (the operator's policy or DNS must change first): the
    # answer said "retryable": true and "Please retry" before.
    refused = any(e.cause is Cause.PLATFORM_HOST_REFUSED for _, e in failed)
    retryable = status != 422 and not refused
    message = f"{bag.platform} {phrase}, preventing the creation of the external cart." + (
        " Please retry your request." if retryable else ""
    )
    sku_message = (
        "Unable to add item to cart due to cart creation failure."
        if retryable
        else f"Unable to add item to cart: {platform_text(error.message)}"
    )
    data = {
        "cause": str(cause),
        "platform": str(bag.platform),
        "merchant_id": bag.merchant_id,
        "retryable": retryable,
        "outcome": "UNKNOWN" if unknown else "FAILED",
        # The platform's words, sanitised and bounded (PLATFORM_MESSAGE_MAX, the document's
        # maxLength): a hostile endpoint's text reaches no app as it was sent.
        "platform_message": platform_text(error.message),
        "skus": [
            {"message": sku_message, "name": sku.name, "sku_id": sku.sku_id}
            for failed_bag, _ in failed
            for sku in failed_bag.skus
        ],
    }
    if len(failed) > 1:
        data["bags"] = [
            {
                "bag_id": b.id,
                "merchant_id": b.merchant_id,
                "platform": str(b.platform),
                "cause": str(e.cause),
                "message": e.message,
            }
            for b, e in failed
        ]
    return ExternalCartCreationFailure(message, data=data, status=status, headers=headers)


def being_removed(bag: Bag) -> PlatformError:
    """Why a bag whose create's outcome could not be recorded is ``FAILED``: the external
    cart it made is queued for deletion (retryable once that delete is done)."""
    error = PlatformError(
        f"the outcome of the create on {bag.platform} could not be recorded; the external cart"
        " it made is being removed (retry the bag once it is gone)",
        platform=str(bag.platform),
        may_have_applied=False,
    )
    error.retryable = True
    return error


def fail_unrecorded(
    cart: Cart, bag: Bag, now: datetime, new_id: Callable[[str], str], taken: bool = False
) -> None:
    """``bag`` (still ``PENDING`` in the record) made an external cart whose outcome could not
    be written: its delete is queued, or (``taken``) another cart saved it by reference
    meanwhile and keeps it. The bag is ``FAILED`` with the order errors saying why, replacing
    any it had."""
    cart.errors = [e for e in cart.errors if e.bag_id != bag.id]
    error = being_removed(bag)
    if taken:
        error = PlatformRejected(
            f"the cart {bag.platform} made for this bag was saved by reference in another cart"
            " while it was being created; it stays there",
            platform=str(bag.platform),
            may_have_applied=False,
        )
    apply_failed(bag, error, cart, error_factory(cart, now, new_id))
