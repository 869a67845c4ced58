"""The cart listing's page cursor: opaque to clients, and refused as malformed if not ours.

A cursor holds the last listed cart's (``date_created``, ``id``), the listing's sort key.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime


def encode_cursor(date_created: datetime, cart_id: str) -> str:
    """An opaque urlsafe cursor holding the last listed cart's (date_created, id)."""
    raw = json.dumps([date_created.isoformat(), cart_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (date_created, id) of ``cursor``; ``ValueError`` if this module did not make it.

    A cursor is the caller's input: deep JSON (``RecursionError``), a date that overflows when
    moved to UTC (``OverflowError``) or a NUL in the id (PostgreSQL refuses it) are all
    "malformed", never a 500.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
        if not (
            isinstance(value, list)
            and len(value) == 2
            and all(isinstance(v, str) for v in value)
            and value[1]
            and len(value[1]) <= 64
            and value[1].isprintable()
        ):
            raise ValueError("not a cursor")
        stamp = datetime.fromisoformat(value[0])
        if stamp.tzinfo is None:
            raise ValueError("not a cursor")
        stamp = stamp.astimezone(UTC)
    except (
        ValueError,
        TypeError,
        binascii.Error,
        UnicodeDecodeError,
        RecursionError,
        OverflowError,
    ) as exc:
        raise ValueError(f"malformed cursor {cursor[:80]!r}") from exc
    return stamp, value[1]
