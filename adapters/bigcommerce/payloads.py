"""BigCommerce's Carts v3 payloads, translated to and from ``adapters.base``.

Why a module of its own: reading BigCommerce's JSON (``Cart_Full``, JSON-number money) and
writing its line items is pure data translation with no I/O; ``adapters.bigcommerce.adapter``
keeps the routes and the calls (https://developer.bigcommerce.com/docs/rest-management/carts),
``adapters.bigcommerce.failures`` the error answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from adapters.base import ExternalCart, ExternalLine, LineRequest
from adapters.bigcommerce.failures import PLATFORM
from adapters.calls.answers import amount_in_range, minor_units, quantity_in_range
from adapters.calls.http import Answer
from adapters.calls.line_refusals import reference_refused
from errors import PlatformServerError


def line_item(line: LineRequest) -> dict[str, Any]:
    """A ``cart_PostVariant`` line: integer product and variant ids
    (https://developer.bigcommerce.com/docs/rest-management/carts/items)."""
    try:
        item: dict[str, Any] = {
            "quantity": line.quantity,
            "product_id": _int_id(line.platform_ref["product_id"]),
        }
        if line.platform_ref.get("variant_id") is not None:
            item["variant_id"] = _int_id(line.platform_ref["variant_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise reference_refused(
            line,
            f"the catalog's BigCommerce ids for {line.sku_id or 'a line'} are not integer"
            " product_id / variant_id values",
            platform=PLATFORM,
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
