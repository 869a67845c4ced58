"""jsonbody.parse_json: duplicate keys, nesting, NaN, surrogates and UTF-8 are refused."""

from __future__ import annotations

import pytest

from errors import MalformedJson
from orchestrator.http.jsonbody import MAX_DEPTH, parse_json


def test_ordinary_bodies_parse() -> None:
    raw = b'{"skus": [{"sku_id": "a", "quantity": 2}], "metadata": {"k": "\\ud83d\\ude00"}}'
    assert parse_json(raw) == {
        "skus": [{"sku_id": "a", "quantity": 2}],
        "metadata": {"k": "\U0001f600"},
    }


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 1000, 100_000])
def test_deep_nesting_is_refused_without_recursion_errors(levels: int) -> None:
    for raw in (b"[" * levels + b"]" * levels, b'{"a":' * levels + b"1" + b"}" * levels):
        with pytest.raises(MalformedJson, match="nests deeper"):
            parse_json(raw)


def test_nesting_at_the_bound_is_fine() -> None:
    assert parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "a": 2}',
        b'[{"x": {"a": 1, "b": 2, "a": 3}}]',
        b'{"a": NaN}',
        b'{"a": Infinity}',
        b'{"a": "\\udc00"}',
        b'{"a": "\xed\xa0\x80"}',
        b'{"a": 1' + b"0" * 5000 + b"}",
        b"{nope",
    ],
)
def test_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedJson):
        parse_json(raw)
