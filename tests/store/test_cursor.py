"""decode_cursor: a crafted cursor is a ValueError (a 400), never RecursionError/OverflowError."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest

from orchestrator.store.cart_cursor import decode_cursor, encode_cursor


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,
        json.dumps(["0001-01-01T00:00:00+05:00", "c"]).encode(),
        json.dumps(["9999-12-31T23:59:59-05:00", "c"]).encode(),
        json.dumps(["2024-01-01T00:00:00", "c"]).encode(),
        json.dumps(["2024-01-01T00:00:00+00:00", "c\u0000"]).encode(),
        json.dumps(["2024-01-01T00:00:00+00:00", "c" * 65]).encode(),
    ],
)
def test_crafted_cursors_are_value_errors(raw: bytes) -> None:
    with pytest.raises(ValueError, match="malformed cursor"):
        decode_cursor(_b64(raw))


def test_round_trip_in_utc() -> None:
    stamp = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    assert decode_cursor(encode_cursor(stamp, "cart_1")) == (stamp, "cart_1")
