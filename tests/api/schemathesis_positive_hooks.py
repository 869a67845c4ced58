"""The check of tests/api/test_schemathesis_positive.py (loaded by SCHEMATHESIS_HOOKS there).

A request generated from the document (positive mode) must be accepted: a client built from
/openapi.json never sends one the server refuses for its shape. The only refusals allowed are
those about state the document cannot know (``STATEFUL``): an id that names nothing, a SKU the
catalog does not hold as the cart needs it, a cart another request is changing, a version the
cart is not at, a key first used with another request, a cursor this service did not make,
a SKU's ``platform_ref`` or a merchant change's ``connection`` in another platform's shape
than its merchant's (the document offers every platform's); and the rules across fields that
JSON Schema cannot express and the document states in words (``STATEFUL_PROBLEMS``: a SKU's
total quantity, a cart's lines).
"""

from __future__ import annotations

import json
import re
from typing import Any

import schemathesis
from pydantic import ValidationError
from schemathesis import CheckContext, Response
from schemathesis.generation.case import Case

import tests.api.schemathesis_spare_app  # noqa: F401  (registers its hook)
from adapters.registry import PLATFORMS
from orchestrator.http.jsonbody import parse_json

# Status -> the ``error`` values allowed with it (None: any).
STATEFUL: dict[int, frozenset[str] | None] = {
    404: None,  # an unknown cart, line, bag, merchant or external cart
    409: None,  # cart_busy, duplicate_cart, bag_not_retryable, idempotency_key_in_use
    412: None,  # If-Match names a version the cart is not at
    422: frozenset({"idempotency_key_reused"}),
}
# A 400 invalid_request's problems about state, as (field, message) patterns: a cursor is
# "next_cursor of the previous page"; an upsert names registered merchants; a SKU's lines in
# one create (its duplicates are merged) or in the cart after an add hold at most
# max_quantity; a cart holds at most max_skus lines from max_bags merchants; a cart
# reference's id is in its source merchant's platform's format.
STATEFUL_PROBLEMS = [
    (re.compile(field), re.compile(message))
    for field, message in (
        (r"cursor", r""),
        (r"merchant_id", r"unknown merchant ids: "),
        (r"skus\[\d+\]\.quantity", r"total quantity must be at most "),
        (r"quantity", r"the line would hold "),
        (r"sku_id", r"a cart (holds|spans) at most "),
        # A cart reference's id has its source merchant's platform's format (the document
        # says so in words: which platform is the merchant's state).
        (r"cart_id", r"must (be|not be a dot segment)"),
    )
]
_PLATFORM_REF = re.compile(r"^\[(\d+)\]\.platform_ref(\.|$)")


def some_platforms_shape(ref: Any, part: str = "platform_ref") -> bool:
    """Whether ``ref`` is a valid ``platform_ref`` (or ``part``: ``connection``) of at least
    one platform, read as the server reads a body (an integral ``437.0`` is the integer 437)."""
    as_read = parse_json(json.dumps(ref).encode())
    for spec in PLATFORMS.values():
        try:
            getattr(spec, part).model_validate(as_read)
        except ValidationError:
            continue
        return True
    return False


def stateful_problem(problem: dict[str, Any], sent: Any) -> bool:
    """Whether a 400's ``problem`` is about state rather than the shape of ``sent`` (the body)."""
    field, message = str(problem.get("field")), str(problem.get("message"))
    if any(f.fullmatch(field) and m.match(message) for f, m in STATEFUL_PROBLEMS):
        return True
    if field.startswith("connection.") and isinstance(sent, dict) and "platform" not in sent:
        # A merchant change (PATCH): its connection fits another platform than the merchant's.
        return some_platforms_shape(sent.get("connection"), "connection")
    found = _PLATFORM_REF.match(field)
    if found is None or not isinstance(sent, list) or int(found[1]) >= len(sent):
        return False
    return some_platforms_shape(sent[int(found[1])].get("platform_ref"))


def stateful_refusal(status: int, body: Any, sent: Any = None) -> bool:
    """Whether ``status``/``body`` refuses the request for state, not for its shape."""
    error = body.get("error") if isinstance(body, dict) else None
    if status in STATEFUL:
        allowed = STATEFUL[status]
        return allowed is None or error in allowed
    if status != 400:
        return False
    data = body.get("data") or {}
    if error == "invalid_skus":  # the catalog's state: unknown, unavailable, other currency
        return True
    if error == "invalid_request":
        fields = data.get("fields") or [{}]
        return all(stateful_problem(problem, sent) for problem in fields)
    return False


@schemathesis.check
def positive_data_is_accepted(ctx: CheckContext, response: Response, case: Case) -> None:
    """A schema-valid request answers 2xx, or a refusal about state (``STATEFUL``)."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code < 400:
        return
    if response.status_code >= 500:
        return  # not_a_server_error's to report
    try:
        body = response.json()
    except ValueError:
        body = None
    assert stateful_refusal(response.status_code, body, case.body), (
        f"a request valid by the document was refused: {response.status_code} {body}"
    )
