"""The SKUs a platform error names, and the refusal of a line whose catalog reference cannot be
sent to its platform.

Why a module of its own: every adapter reports both the same way. An error's ``data.sku_ids``
lists the SKUs it concerns, empty ids left out; and a catalog reference of the wrong shape for
its platform is refused before any call, as ``SKU_NOT_FOUND_ON_PLATFORM``: the platform could
not even be asked for that product.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.base import LineRequest
from errors import Cause, PlatformRejected


def sku_data(sku_ids: Sequence[str]) -> dict[str, Any] | None:
    """An error's ``data`` naming ``sku_ids`` (the non-empty ones); None when none is left."""
    ids = [s for s in sku_ids if s]
    return {"sku_ids": ids} if ids else None


def reference_refused(line: LineRequest, message: str, *, platform: str) -> PlatformRejected:
    """``line``'s catalog reference cannot be sent to ``platform``: refused before any call."""
    return PlatformRejected(
        message,
        platform=platform,
        cause=Cause.SKU_NOT_FOUND_ON_PLATFORM,
        data=sku_data([line.sku_id]),
    )
