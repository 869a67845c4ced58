"""Elastic Path's error answers, translated once into the error taxonomy.

Why a module of its own: Elastic Path answers every failure with a JSON:API-like
``{"errors": [{"status", "title", "detail", "meta"}]}`` body
(https://elasticpath.dev/guides/Getting-Started/errors), where ``status`` is sometimes a string
and a bulk add reports one entry per failed item, naming it in ``meta.id`` (the product) or
``meta.sku`` (https://elasticpath.dev/docs/carts-orders/bulk-add-to-cart). Reading those bodies,
and tying each refused item to the line that asked for it (``line_problems``), is pure
translation; the adapter decides what a refusal means for the cart.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from adapters.base import ExternalCart, LineProblem, LineRequest
from adapters.calls.http import Answer, Headers
from adapters.calls.platform_text import platform_text
from adapters.calls.statuses import error_for_status
from bags import Platform
from errors import Cause, PlatformAuthFailed, PlatformError, PlatformRejected, clip

NAME = Platform("ELASTIC_PATH")  # this platform's one name, in its rows and its errors
PLATFORM: str = NAME
# "Insufficient stock" (400 on an add or a quantity update), and the inventory service's 422
# "insufficient stock levels" (https://elasticpath.dev/docs/api/carts/manage-carts).
_STOCK = re.compile(r"stock", re.IGNORECASE)
# 404 "Product not found" / "The requested product could not be found".
_UNKNOWN_PRODUCT = re.compile(r"product.*(not found|could not be found)", re.IGNORECASE)
# The statuses of an add whose entries name the items it refused (a bulk add).
_ITEM_REFUSALS = frozenset({400, 404, 422})


@dataclass(frozen=True)
class ItemError:
    """One entry of an ``errors`` array, with the item it names, if it names one."""

    status: int
    title: str
    detail: str
    product_id: str | None = None
    sku: str | None = None

    @property
    def message(self) -> str:
        if self.title and self.detail:
            return f"{self.title}: {self.detail}"
        return self.title or self.detail or f"Elastic Path answered HTTP {self.status}"

    @property
    def cause(self) -> Cause:
        """What refusing an item to add means. On an add, a 404 is the product: Elastic Path
        never answers 404 for a cart: it makes an empty one
        (https://elasticpath.dev/docs/api/carts/get-a-cart)."""
        if _STOCK.search(self.message):
            return Cause.OUT_OF_STOCK
        if self.status == 404 or _UNKNOWN_PRODUCT.search(self.message):
            return Cause.SKU_NOT_FOUND_ON_PLATFORM
        return Cause.PLATFORM_REJECTED

    def names(self, platform_ref: Mapping[str, Any]) -> bool:
        """True when this entry is about the catalog item ``platform_ref``."""
        if self.sku is not None and str(platform_ref.get("sku", "")) == self.sku:
            return True
        product = str(platform_ref.get("product_id", "")).lower()
        return self.product_id is not None and product == self.product_id.lower()


class ItemsRejected(PlatformRejected):
    """An add refused; ``items`` says which item failed why, when the answer named them."""

    def __init__(self, message: str, *, items: Sequence[ItemError], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.items = tuple(items)


def _status(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _text(value: Any) -> str:
    """A title or detail, sanitised as it is read (``platform_text``)."""
    return platform_text(value) if isinstance(value, str) else ""


def error_items(body: Any, default_status: int) -> list[ItemError]:
    """The ``errors`` entries of an answer (an object where an array belongs is read as one)."""
    raw = body.get("errors") if isinstance(body, dict) else None
    entries = [raw] if isinstance(raw, dict) else raw if isinstance(raw, list) else []
    items = []
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        meta = entry["meta"] if isinstance(entry.get("meta"), dict) else {}
        product, sku = meta.get("id"), meta.get("sku")
        items.append(
            ItemError(
                status=_status(entry.get("status"), default_status),
                title=_text(entry.get("title")),
                detail=_text(entry.get("detail")),
                product_id=str(product) if isinstance(product, str | int) else None,
                sku=str(sku) if isinstance(sku, str | int) else None,
            )
        )
    return items


def body_of(response: Answer) -> Any:
    try:
        return orjson.loads(response.body)
    except orjson.JSONDecodeError:
        return None


def _is_item_add(response: Answer) -> bool:
    request = response.request
    if request is None:  # an answer built by hand, never sent
        return False
    return request.method == "POST" and urlsplit(request.url).path.endswith("/items")


def rejection(
    items: Sequence[ItemError], *, status: int | None, sku_ids: Sequence[str]
) -> ItemsRejected:
    """The error of an add whose items were all refused: their shared cause, else REJECTED."""
    causes = {item.cause for item in items}
    message = "; ".join(dict.fromkeys(item.message for item in items)) or "items refused"
    return ItemsRejected(
        message,
        items=items,
        platform=PLATFORM,
        status=status,
        cause=causes.pop() if len(causes) == 1 else Cause.PLATFORM_REJECTED,
        data={"sku_ids": list(sku_ids)} if sku_ids else None,
    )


def line_problems(
    lines: Sequence[LineRequest], errors: Sequence[ItemError], cart: ExternalCart
) -> tuple[LineProblem, ...]:
    """Each refused line with the entry naming it (an unnamed entry, the one line not held)."""
    missing = [line for line in lines if cart.line_for(line.platform_ref) is None]
    problems = []
    for line in lines:
        error = next((e for e in errors if e.names(line.platform_ref)), None)
        if error is None and len(errors) == 1 and missing == [line]:
            error = errors[0] if errors[0].product_id is None and errors[0].sku is None else None
        if error is None:
            continue
        held = cart.line_for(line.platform_ref)
        problems.append(
            LineProblem(
                platform_ref=line.platform_ref,
                cause=error.cause,
                message=clip(error.message),  # stored in the cart's errors
                requested_quantity=line.quantity,
                held_quantity=held.quantity if held is not None else 0,
            )
        )
    return tuple(problems)


def retry_after_of(headers: Headers) -> float | None:
    """Seconds to wait. Elastic Path documents no rate-limit headers, only the 429
    (https://elasticpath.dev/guides/Getting-Started/rate-limits); honour a Retry-After if sent."""
    try:
        return max(float(headers["retry-after"]), 0.0)
    except (KeyError, ValueError):
        return None


def map_error(op: str, response: Answer, sku_ids: Sequence[str] = ()) -> PlatformError:
    """Every non-2xx answer of a carts route: the shared status table, refined.

    400 "Insufficient stock" is OUT_OF_STOCK; 404 "Product not found" SKU_NOT_FOUND; an add's
    refusals keep the item each entry names (``ItemsRejected``); 401 "Unable to validate access
    token" and 403 AUTH_FAILED; 409 "Write conflict detected" a conflict; 429 throttled.
    """
    status = response.status
    items = error_items(body_of(response), status)
    message = items[0].message if items else f"Elastic Path answered HTTP {status}"
    if len(items) > 1:
        message += f" (and {len(items) - 1} more)"
    data = {"sku_ids": list(sku_ids)} if sku_ids else None
    if status in _ITEM_REFUSALS and items and _is_item_add(response):
        return rejection(items, status=status, sku_ids=sku_ids)
    if status in (400, 422) and _STOCK.search(message):
        return PlatformRejected(
            message, platform=PLATFORM, status=status, cause=Cause.OUT_OF_STOCK, data=data
        )
    if status == 404 and _UNKNOWN_PRODUCT.search(message):
        return PlatformRejected(
            message,
            platform=PLATFORM,
            status=status,
            cause=Cause.SKU_NOT_FOUND_ON_PLATFORM,
            data=data,
        )
    wait = retry_after_of(response.headers) if status in (429, 503) else None
    return error_for_status(status, message, platform=PLATFORM, retry_after=wait, data=data)


def token_error(op: str, response: Answer, sku_ids: Sequence[str] = ()) -> PlatformError:
    """A non-2xx answer of ``POST /oauth/access_token``: 400 and 401 are the credentials
    (https://elasticpath.dev/docs/api/authentication/create-an-access-token)."""
    status = response.status
    if status in (400, 401, 403):
        items = error_items(body_of(response), status)
        said = f": {items[0].message}" if items else ""
        return PlatformAuthFailed(
            f"Elastic Path refused the client credentials (HTTP {status}{said})",
            platform=PLATFORM,
            status=status,
        )
    return map_error(op, response, sku_ids)
