"""Fault injection: what the control API arms and what every platform request consults.

Why this module exists: tests and integrators need the sandbox to misbehave on demand (errors,
throttling, hangs, dropped connections, applied-but-unanswered requests) in the same way on
every platform. This is the platform-neutral book of armed faults; ``sandbox.platform_requests``
applies the chosen one and each platform package renders its own error and throttling answers.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

Mode = Literal[
    "error",
    "latency",
    "rate_limit",
    "hang",
    "close_after_read",
    "apply_then_hang",
    "apply_then_error",
]
# Shopify throttles in several ways (https://shopify.dev/docs/api/usage/limits,
# https://shopify.dev/docs/api/usage/response-codes): a 200 whose top-level `errors` carry
# extensions.code THROTTLED (Shopify GraphQL's code; UNCONFIRMED that the Storefront API sends
# it), 429 with Retry-After, 430 (security rejection) and 503.
ThrottleForm = Literal["THROTTLED", "429", "430", "503"]


class FaultSpec(BaseModel):
    """``POST /__sandbox/faults`` body (validated; a bad field answers 400 naming it).

    Modes: ``error`` answers ``status`` in the platform's error shape (with probability
    ``rate``; a BigCommerce 429 this way carries no rate-limit headers, its "platform load"
    signal); ``latency`` delays by ``ms``; ``rate_limit`` is the platform's own throttling answer
    (BigCommerce: 429 with ``X-Rate-Limit-*``, ``reset_ms`` as the reset); ``hang`` never
    answers; ``close_after_read`` reads the request then closes the connection;
    ``apply_then_hang`` applies the request, then never answers; ``apply_then_error`` applies the
    request, then answers ``status`` (a 5xx, default 500) in the platform's error shape.
    ``form`` picks Shopify's throttling answer for ``rate_limit`` (default ``THROTTLED``; the
    other platforms have one form). ``count`` limits the hits, ``method`` and ``path_contains``
    narrow the requests hit.
    """

    model_config = ConfigDict(extra="forbid")

    store: str
    mode: Mode
    status: int | None = Field(default=None, ge=400, le=599, validate_default=True)
    rate: float = Field(default=1.0, ge=0.0, le=1.0, description="mode error: share of requests")
    ms: int | None = Field(default=None, ge=0, le=600_000, validate_default=True)
    reset_ms: int | None = Field(default=None, ge=0, le=3_600_000, description="mode rate_limit")
    form: ThrottleForm | None = Field(default=None, description="mode rate_limit, Shopify only")
    count: int | None = Field(default=None, ge=1, description="requests hit, then it clears")
    method: str | None = Field(default=None, pattern=r"^[A-Za-z]{3,7}$")
    path_contains: str | None = Field(default=None, min_length=1)

    @field_validator("status")
    @classmethod
    def _error_needs_status(cls, status: int | None, info: ValidationInfo) -> int | None:
        mode = info.data.get("mode")
        if status is None and mode == "error":
            raise ValueError("status is required for mode error")
        if mode == "apply_then_error":
            if status is not None and status < 500:
                raise ValueError("status must be a 5xx for mode apply_then_error")
            return status or 500
        return status

    @field_validator("ms")
    @classmethod
    def _latency_needs_ms(cls, ms: int | None, info: ValidationInfo) -> int | None:
        if ms is None and info.data.get("mode") == "latency":
            raise ValueError("ms is required for mode latency")
        return ms


@dataclass(slots=True)
class Fault:
    id: str
    store: str
    mode: Mode
    status: int | None
    rate: float
    ms: int | None
    reset_ms: int | None
    form: ThrottleForm | None
    count: int | None
    remaining: int | None
    method: str | None
    path_contains: str | None
    hits: int = 0

    def matches(self, store: str, method: str, path: str) -> bool:
        return (
            self.store == store
            and (self.method is None or self.method == method)
            and (self.path_contains is None or self.path_contains in path)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "store": self.store,
            "mode": self.mode,
            "status": self.status,
            "rate": self.rate,
            "ms": self.ms,
            "reset_ms": self.reset_ms,
            "form": self.form,
            "count": self.count,
            "remaining": self.remaining,
            "method": self.method,
            "path_contains": self.path_contains,
            "hits": self.hits,
        }


class FaultBook:
    """The armed faults, in the order they were armed."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._rng = rng or random.Random()

    def add(self, spec: FaultSpec) -> Fault:
        fault = Fault(
            id=f"fault-{next(self._ids)}",
            store=spec.store,
            mode=spec.mode,
            status=spec.status,
            rate=spec.rate,
            ms=spec.ms,
            reset_ms=spec.reset_ms,
            form=spec.form,
            count=spec.count,
            remaining=spec.count,
            method=spec.method.upper() if spec.method else None,
            path_contains=spec.path_contains,
        )
        self._faults.append(fault)
        return fault

    def list(self, store: str | None = None) -> list[Fault]:
        return [f for f in self._faults if store is None or f.store == store]

    def remove(self, fault_id: str) -> bool:
        kept = [f for f in self._faults if f.id != fault_id]
        removed = len(kept) != len(self._faults)
        self._faults = kept
        return removed

    def clear(self, store: str | None = None) -> int:
        kept = [f for f in self._faults if store is not None and f.store != store]
        cleared = len(self._faults) - len(kept)
        self._faults = kept
        return cleared

    def pick(self, store: str, method: str, path: str) -> tuple[int, Fault | None]:
        """Consult the book for one request: (added latency in ms, the fault to apply or None).

        Every matching ``latency`` fault adds its delay; the first other matching fault that
        fires (``error`` fires with probability ``rate``) is the one applied. Each fault that
        fires uses one of its ``count``, and leaves the book when none is left.
        """
        if not self._faults:
            return 0, None
        latency, chosen = 0, None
        for fault in list(self._faults):
            if not fault.matches(store, method, path):
                continue
            if fault.mode == "latency":
                latency += fault.ms or 0
            elif chosen is None and self._fires(fault):
                chosen = fault
            else:
                continue
            self._fire(fault)
        return latency, chosen

    def _fires(self, fault: Fault) -> bool:
        return fault.mode != "error" or fault.rate >= 1.0 or self._rng.random() < fault.rate

    def _fire(self, fault: Fault) -> None:
        fault.hits += 1
        if fault.remaining is not None:
            fault.remaining -= 1
            if fault.remaining <= 0:
                self._faults.remove(fault)
