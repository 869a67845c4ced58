"""BigCommerce's Carts v3 payloads and error answers, translated to and from ``adapters.base``.

Why a module of its own: reading BigCommerce's JSON (``Cart_Full``, JSON-number money, the
``ErrorResponse`` body and its rate-limit headers) and writing its line items is pure data
translation with no I/O; ``adapters.bigcommerce`` keeps the routes and the calls
(platforms/README.md §2, specs/bigcommerce_carts.v3.yml).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import orjson

from adapters.base import ExternalCart, ExternalLine, LineRequest
from bags.money import to_minor_units
from bags.status import Platform
from errors import (
    Cause,
    PlatformAuthFailed,
    PlatformConflict,
    PlatformError,
    PlatformNotFound,
    PlatformRateLimited,
    PlatformRejected,
    PlatformServerError,
)

PLATFORM = Platform.BIGCOMMERCE.value
_CREATES = frozenset({"create_cart", "add_lines"})
# 422 titles that mean "not enough stock". BigCommerce's exact wording is unconfirmed
# (platforms/README.md §2.6 and §5 q2), so match the words any such title would use.
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
    return int(value)


def _json_data(response: httpx.Response) -> Any:
    try:
        # orjson: several times faster than the stdlib's json on every platform answer;
        # numbers still arrive as floats and go through str() in to_minor_units.
        return orjson.loads(response.content)["data"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PlatformServerError(
            f"BigCommerce answered {response.status_code} with a body that is not the documented"
            " {data, meta} JSON",
            platform=PLATFORM,
            status=response.status_code,
        ) from exc


def cart_or_none(response: httpx.Response) -> ExternalCart | None:
    return None if response.status_code == 204 else cart_of(response)


def cart_of(response: httpx.Response) -> ExternalCart:
    """``Cart_Full`` (README §2.4) to an ``ExternalCart``; JSON-number money read exactly."""
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
            sub_total=to_minor_units(data["cart_amount"], currency),
            lines=tuple(lines),
            checkout_url=redirect.get("checkout_url"),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise PlatformServerError(
            f"BigCommerce sent a cart this adapter cannot read ({type(exc).__name__}: {exc})",
            platform=PLATFORM,
            status=response.status_code,
        ) from exc


def _catalog_line(item: Mapping[str, Any], currency: str) -> ExternalLine:
    ref: dict[str, Any] = {"product_id": int(item["product_id"])}
    if item.get("variant_id") is not None:  # simple products carry their base variant id too
        ref["variant_id"] = int(item["variant_id"])
    return ExternalLine(
        external_id=str(item["id"]),
        platform_ref=ref,
        quantity=int(item["quantity"]),
        unit_price=to_minor_units(item["sale_price"], currency),
        line_price=to_minor_units(item["extended_sale_price"], currency),
        name=str(item.get("name") or ""),
    )


def _custom_line(item: Mapping[str, Any], currency: str) -> ExternalLine:
    # ItemCustomGet types quantity and list_price as strings, the examples as numbers (§2.4).
    quantity, unit = int(item["quantity"]), to_minor_units(item["list_price"], currency)
    extended = item.get("extended_list_price")
    return ExternalLine(
        external_id=str(item["id"]),
        platform_ref={"sku": str(item.get("sku") or "")},
        quantity=quantity,
        unit_price=unit,
        line_price=to_minor_units(extended, currency) if extended is not None else unit * quantity,
        name=str(item.get("name") or ""),
    )


# --- errors ---------------------------------------------------------------------------------------


def retry_after_of(headers: httpx.Headers) -> float | None:
    """Seconds to wait (README §2.8 [S11][S12]): the window's reset, else X-Retry-After."""
    for name, scale in (
        ("x-rate-limit-time-reset-ms", 0.001),
        ("x-retry-after", 1.0),
        ("retry-after", 1.0),
    ):
        try:
            return max(float(headers[name]) * scale, 0.0)
        except (KeyError, ValueError):
            continue
    return None


def map_error(op: str, response: httpx.Response, sku_ids: Sequence[str] = ()) -> PlatformError:
    """Every non-2xx BigCommerce answer, translated once (platforms/README.md §2.6).

    ``ErrorResponse`` is ``{status, title, type, detail?, errors?: {field: message}}``.
    """
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    title = str(body.get("title") or "").strip()
    raw_errors = body.get("errors")
    field_errors: dict[str, Any] = raw_errors if isinstance(raw_errors, dict) else {}
    message = title or f"BigCommerce answered HTTP {status}"
    if body.get("detail"):
        message += f": {body['detail']}"
    if field_errors:
        message += " (" + "; ".join(f"{k}: {v}" for k, v in field_errors.items()) + ")"
    common: dict[str, Any] = {"platform": PLATFORM, "status": status}
    if sku_ids:
        common["data"] = {"sku_ids": list(sku_ids)}

    if status in (401, 403):  # bad token, missing scope, wrong store hash [S12]
        return PlatformAuthFailed(message, **common)
    if status == 404:
        # On a cart route the cart (or line) is gone; on create/add, with no mention of the cart,
        # the product is unknown (404 vs 422 for that is unconfirmed, README §2.6).
        if op in _CREATES and not (op == "add_lines" and "cart" in title.lower()):
            return PlatformRejected(message, cause=Cause.SKU_NOT_FOUND_ON_PLATFORM, **common)
        return PlatformNotFound(message, **common)
    if status == 409:  # version mismatch [S10]
        return PlatformConflict(message, **common)
    if status == 429:  # quota spent; wait X-Rate-Limit-Time-Reset-Ms [S11]
        return PlatformRateLimited(message, retry_after=retry_after_of(response.headers), **common)
    if status >= 500:
        retry_after = retry_after_of(response.headers) if status == 503 else None
        return PlatformServerError(message, retry_after=retry_after, **common)
    if status == 422 and _STOCK_WORDS.search(title):
        return PlatformRejected(message, cause=Cause.OUT_OF_STOCK, **common)
    if status == 422 and ("variant" in field_errors or _UNKNOWN_PRODUCT.search(title)):
        # "This product has options, variant ID is required" [S25][S33]
        return PlatformRejected(message, cause=Cause.SKU_NOT_FOUND_ON_PLATFORM, **common)
    return PlatformRejected(message, **common)  # 400, 415, other 422s
