"""BigCommerce's Carts v3 payloads and error answers, translated to and from ``adapters.base``.

Why a module of its own: reading BigCommerce's JSON (``Cart_Full``, JSON-number money, the
``ErrorResponse`` body and its rate-limit headers) and writing its line items is pure data
translation with no I/O; ``adapters.bigcommerce.adapter`` keeps the routes and the calls
(https://developer.bigcommerce.com/docs/rest-management/carts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from adapters.base import ExternalCart, ExternalLine, LineRequest
from adapters.calls.answers import amount_in_range, minor_units, quantity_in_range
from adapters.calls.http import Answer, Headers
from adapters.calls.platform_text import platform_text
from adapters.calls.statuses import error_for_status
from bags import Platform
from errors import Cause, PlatformError, PlatformRejected, PlatformServerError

PLATFORM = Platform.BIGCOMMERCE.value
_CREATES = frozenset({"create_cart", "add_lines"})
# 422 titles that mean "not enough stock". BigCommerce does not document the exact wording
# (https://developer.bigcommerce.com/docs/start/about/status-codes), so match the words any such
# title would use.
_STOCK_WORDS = re.compile(r"stock|available|sold out", re.IGNORECASE)
_UNKNOWN_PRODUCT = re.compile(r"(product|variant).*(not found|not exist|n't exist)", re.IGNORECASE)


# --- payloads -----------------------------------------------------------------------------------


def line_item(line: LineRequest) -> dict[str, Any]:
    """A ``cart_PostVariant`` line (specs/bigcommerce_carts.v3.yml): integer product/variant ids."""
    try:
        item: dict[str, Any] = {
            "quantity": line.quantity,
            "product_id": _int_id(line.platform_ref["product_id"]),
        }
        if line.platform_ref.get("variant_id") is not None:
            item["variant_id"] = _int_id(line.platform_ref["variant_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise PlatformRejected(
            f"the catalog's BigCommerce ids for {line.sku_id or 'a line'} are not integer"
            " product_id / variant_id values",
            platform=PLATFORM,
            cause=Cause.SKU_NOT_FOUND_ON_PLATFORM,
            data={"sku_ids": [line.sku_id]} if line.sku_id else None,
        ) from exc
    return item


def _int_id(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"not an id: {value!r}")
    number = int(value)
    if not 0 < number < 2**63:  # orjson cannot encode a wider integer
        raise ValueError("not a positive 64-bit id")
    return number


def _json_data(response: Answer) -> Any:
    try:
        # orjson: several times faster than the stdlib's json on every platform answer;
        # numbers still arrive as floats and go through str() in minor_units.
        return orjson.loads(response.body)["data"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PlatformServerError(
            f"BigCommerce answered {response.status} with a body that is not the documented"
            " {data, meta} JSON",
            platform=PLATFORM,
            status=response.status,
        ) from exc


def cart_or_none(response: Answer) -> ExternalCart | None:
    return None if response.status == 204 else cart_of(response)


def cart_of(response: Answer) -> ExternalCart:
    """``Cart_Full`` to an ``ExternalCart``; JSON-number money read exactly."""
    data = _json_data(response)
    try:
        currency = str(data["currency"]["code"])
        items = data.get("line_items") or {}
        lines = [
            _catalog_line(item, currency)
            for kind in ("physical_items", "digital_items")
            for item in items.get(kind) or ()
        ]
        lines += [_custom_line(item, currency) for item in items.get("custom_items") or ()]
        redirect = data.get("redirect_urls") or {}
        return ExternalCart(
            external_id=str(data["id"]),
            currency=currency,
            sub_total=minor_units(data["cart_amount"], currency),
            lines=tuple(lines),
            checkout_url=redirect.get("checkout_url"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlatformServerError(
            f"BigCommerce sent a cart this adapter cannot read ({type(exc).__name__}: {exc})",
            platform=PLATFORM,
            status=response.status,
        ) from exc


def _catalog_line(item: Mapping[str, Any], currency: str) -> ExternalLine:
    ref: dict[str, Any] = {"product_id": int(item["product_id"])}
    if item.get("variant_id") is not None:  # simple products carry their base variant id too
        ref["variant_id"] = int(item["variant_id"])
    return ExternalLine(
        external_id=str(item["id"]),
        platform_ref=ref,
        quantity=quantity_in_range(int(item["quantity"])),
        unit_price=minor_units(item["sale_price"], currency),
        line_price=minor_units(item["extended_sale_price"], currency),
        name=str(item.get("name") or ""),
    )


def _custom_line(item: Mapping[str, Any], currency: str) -> ExternalLine:
    # The spec's ItemCustomGet types quantity and list_price as strings, its examples as numbers.
    quantity = quantity_in_range(int(item["quantity"]))
    unit = minor_units(item["list_price"], currency)
    extended = item.get("extended_list_price")
    return ExternalLine(
        external_id=str(item["id"]),
        platform_ref={"sku": str(item.get("sku") or "")},
        quantity=quantity,
        unit_price=unit,
        line_price=(
            minor_units(extended, currency)
            if extended is not None
            else amount_in_range(unit * quantity)
        ),
        name=str(item.get("name") or ""),
    )


# --- errors ---------------------------------------------------------------------------------------


def retry_after_of(headers: Headers, *, throttled: bool = True) -> float | None:
    """Seconds to wait: for a 429 the window's reset, else X-Retry-After
    (https://developer.bigcommerce.com/docs/start/best-practices/api-rate-limits). Every answer
    carries the window's reset, so for another status (a 503) only a Retry-After counts."""
    names: list[tuple[str, float]] = [("x-retry-after", 1.0), ("retry-after", 1.0)]
    if throttled:
        names.insert(0, ("x-rate-limit-time-reset-ms", 0.001))
    for name, scale in names:
        try:
            return max(float(headers[name]) * scale, 0.0)
        except (KeyError, ValueError):
            continue
    return None


def map_error(op: str, response: Answer, sku_ids: Sequence[str] = ()) -> PlatformError:
    """Every non-2xx BigCommerce answer, translated once: the shared status table, refined.

    ``ErrorResponse`` is ``{status, title, type, detail?, errors?: {field: message}}``
    (https://developer.bigcommerce.com/docs/start/about/status-codes).
    """
    status = response.status
    try:
        body = orjson.loads(response.body)  # as the answers; nesting capped at 1024 levels
    except orjson.JSONDecodeError:
        body = None
    body = body if isinstance(body, dict) else {}
    title = str(body.get("title") or "").strip()
    raw_errors = body.get("errors")
    field_errors: dict[str, Any] = raw_errors if isinstance(raw_errors, dict) else {}
    # The platform's words are sanitised (``platform_text``) as they are read; the title
    # itself, unchanged, is what the classification below matches.
    message = platform_text(title) or f"BigCommerce answered HTTP {status}"
    if body.get("detail"):
        message += f": {platform_text(body['detail'])}"
    if field_errors:
        listed = "; ".join(f"{k}: {v}" for k, v in field_errors.items())
        message += f" ({platform_text(listed)})"
    common: dict[str, Any] = {"platform": PLATFORM, "status": status}
    if sku_ids:
        common["data"] = {"sku_ids": list(sku_ids)}

    if status == 404 and op in _CREATES and not (op == "add_lines" and "cart" in title.lower()):
        # On a cart route the cart (or line) is gone; on create/add, with no mention of the cart,
        # the product is unknown (BigCommerce does not say which of 404 and 422 it uses).
        return PlatformRejected(message, cause=Cause.SKU_NOT_FOUND_ON_PLATFORM, **common)
    if status == 422 and _STOCK_WORDS.search(title):
        return PlatformRejected(message, cause=Cause.OUT_OF_STOCK, **common)
    if status == 422 and ("variant" in field_errors or _UNKNOWN_PRODUCT.search(title)):
        # "This product has options, variant ID is required"
        return PlatformRejected(message, cause=Cause.SKU_NOT_FOUND_ON_PLATFORM, **common)
    # 401/403: bad token, missing scope, wrong store hash; 409: version mismatch; 429: quota
    # spent, wait X-Rate-Limit-Time-Reset-Ms; 503: maintenance, maybe with a wait.
    wait = None
    if status in (429, 503):
        wait = retry_after_of(response.headers, throttled=status == 429)
    return error_for_status(
        status, message, platform=PLATFORM, retry_after=wait, data=common.get("data")
    )
