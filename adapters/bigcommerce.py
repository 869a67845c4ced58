"""BigCommerce Server-to-Server Carts v3 as a ``CartPlatform``.

Why it exists: this is the one place that knows BigCommerce's cart routes, payloads, JSON-number
money and error answers (platforms/README.md §2, specs/bigcommerce_carts.v3.yml). It speaks
``adapters.base`` types upward and raises only ``errors.PlatformError`` subclasses; timing,
retries, the bulkhead and the store's circuit breaker come from ``adapters.http`` and
``adapters.resilience``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, SecretStr, field_validator

from adapters.base import Capabilities, ExternalCart, ExternalLine, LineRequest
from adapters.http import PlatformCaller, RetryPolicy
from adapters.resilience import Resilience
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

T = TypeVar("T")
PLATFORM = Platform.BIGCOMMERCE.value
_CREATES = frozenset({"create_cart", "add_lines"})
# 422 titles that mean "not enough stock". BigCommerce's exact wording is unconfirmed
# (platforms/README.md §2.6 and §5 q2), so match the words any such title would use.
_STOCK_WORDS = re.compile(r"stock|available|sold out", re.IGNORECASE)
_UNKNOWN_PRODUCT = re.compile(r"(product|variant).*(not found|not exist|n't exist)", re.IGNORECASE)

# BigCommerce's status-code guide says to retry a 500 "3-5 times with increasing delays" and that
# a 503 means the store is down for maintenance
# (https://developer.bigcommerce.com/docs/start/about/status-codes, platforms/README.md §2.6 [S12]).
# So a 500 or 503 *answer* is retried even for creates and adds (the lead's decision); 502, 504
# and timeouts leave the outcome unknown and are never blindly repeated for them.
RETRY_ANSWERS_ON_CREATE = frozenset({500, 503})


class BigCommerceConnection(BaseModel):
    """A merchant's BigCommerce store: ``.../stores/{store_hash}/v3`` and its API token."""

    model_config = ConfigDict(extra="forbid")

    api_url: str
    access_token: SecretStr

    @field_validator("api_url")
    @classmethod
    def _http_base(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                "must be an http(s) URL such as https://api.bigcommerce.com/stores/abc/v3"
            )
        if parts.query or parts.fragment:
            raise ValueError("must not carry a query or fragment")
        return value.strip().rstrip("/")

    @field_validator("access_token")
    @classmethod
    def _not_empty(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value


class BigCommerceAdapter:
    platform = Platform.BIGCOMMERCE
    capabilities = Capabilities(can_delete_cart=True, caller_chosen_cart_ids=False)

    def __init__(
        self,
        merchant_id: str,
        connection: BigCommerceConnection,
        client: httpx.AsyncClient,
        resilience: Resilience,
        policy: RetryPolicy,
    ) -> None:
        self.merchant_id = merchant_id
        self._base = connection.api_url
        self._token = connection.access_token
        self._caller = PlatformCaller(
            platform=PLATFORM,
            merchant_id=merchant_id,
            store_key=self._base,
            client=client,
            resilience=resilience,
            policy=policy,
            map_error=map_error,
        )

    # --- CartPlatform ----------------------------------------------------------------------

    async def create_cart(
        self,
        lines: Sequence[LineRequest],
        *,
        currency: str,
        deadline: float,
        cart_ref: str | None = None,  # BigCommerce mints its own cart ids
    ) -> ExternalCart:
        body = {
            "line_items": [_line_item(line) for line in lines],
            "currency": {"code": currency},
            "channel_id": 1,
        }
        return await self._call(
            "create_cart",
            "POST",
            "/carts",
            deadline=deadline,
            idempotent=False,
            json=body,
            params={"include": "redirect_urls"},
            sku_ids=[ln.sku_id for ln in lines],
            parse=_cart_of,
        )

    async def get_cart(self, external_id: str, *, deadline: float) -> ExternalCart:
        return await self._call(
            "get_cart",
            "GET",
            f"/carts/{_seg(external_id)}",
            deadline=deadline,
            idempotent=True,
            params={"include": "redirect_urls"},
            parse=_cart_of,
        )

    async def add_lines(
        self, external_id: str, lines: Sequence[LineRequest], *, deadline: float
    ) -> ExternalCart:
        return await self._call(
            "add_lines",
            "POST",
            f"/carts/{_seg(external_id)}/items",
            deadline=deadline,
            idempotent=False,
            json={"line_items": [_line_item(line) for line in lines]},
            sku_ids=[ln.sku_id for ln in lines],
            parse=_cart_of,
        )

    async def update_line(
        self,
        external_id: str,
        line_id: str,
        quantity: int,
        *,
        platform_ref: Mapping[str, Any],
        deadline: float,
    ) -> ExternalCart | None:
        # The spec's Cart_Line_Item_Update_Put takes a singular ``line_item`` (README §2.3).
        item = _line_item(LineRequest(platform_ref=platform_ref, quantity=quantity))
        return await self._call(
            "update_line",
            "PUT",
            f"/carts/{_seg(external_id)}/items/{_seg(line_id)}",
            deadline=deadline,
            idempotent=True,
            json={"line_item": item},
            parse=_cart_of,
        )

    async def remove_line(
        self, external_id: str, line_id: str, *, deadline: float
    ) -> ExternalCart | None:
        # 200 with the cart, or 204 when that was the last line: the cart is deleted (§2.5).
        unknown: list[PlatformError] = []
        try:
            return await self._call(
                "remove_line",
                "DELETE",
                f"/carts/{_seg(external_id)}/items/{_seg(line_id)}",
                deadline=deadline,
                idempotent=True,
                parse=_cart_or_none,
                unknown=unknown,
            )
        except PlatformNotFound as exc:
            if not unknown:
                raise
            missing = exc
        # A retry found the line gone after an attempt whose answer was lost: that attempt
        # applied. Read the cart back (absent: the lost answer was the 204).
        try:
            cart = await self.get_cart(external_id, deadline=deadline)
        except PlatformNotFound:
            return None
        if any(line.external_id == line_id for line in cart.lines):
            raise missing
        return cart

    async def delete_cart(self, external_id: str, *, deadline: float) -> None:
        try:
            await self._call(
                "delete_cart",
                "DELETE",
                f"/carts/{_seg(external_id)}",
                deadline=deadline,
                idempotent=True,
                parse=lambda _response: None,
            )
        except PlatformNotFound:
            return  # already gone: what deleting wanted (platforms/README.md §4)

    async def aclose(self) -> None:
        """Nothing to release: the client, bulkheads and breakers belong to the registry."""

    async def _call(
        self,
        op: str,
        method: str,
        path: str,
        *,
        parse: Callable[[httpx.Response], T],
        **kwargs: Any,
    ) -> T:
        return await self._caller.call(
            op, method, self._base + path, parse=parse, headers=self._headers(), **kwargs
        )

    def _headers(self) -> dict[str, str]:
        # README §2.1 [S10][S12]: X-Auth-Token; Accept is required by the spec.
        return {
            "X-Auth-Token": self._token.get_secret_value(),
            "Accept": "application/json",
            "Content-Type": "application/json",
        }


def _seg(external_id: str) -> str:
    """An id as one path segment: ids can come from callers (cart references), never a path."""
    return quote(external_id, safe="")


# --- payloads -----------------------------------------------------------------------------------


def _line_item(line: LineRequest) -> dict[str, Any]:
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
        return response.json()["data"]
    except (ValueError, KeyError, TypeError) as exc:
        raise PlatformServerError(
            f"BigCommerce answered {response.status_code} with a body that is not the documented"
            " {data, meta} JSON",
            platform=PLATFORM,
            status=response.status_code,
        ) from exc


def _cart_or_none(response: httpx.Response) -> ExternalCart | None:
    return None if response.status_code == 204 else _cart_of(response)


def _cart_of(response: httpx.Response) -> ExternalCart:
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
