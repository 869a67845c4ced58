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


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b"480.0", 480),
        (b"4.8e2", 480),
        (b"-0.0", 0),
        (b"0.1e1", 1),
        (b"9007199254740993.0", 9007199254740993),  # exact, not through a float
        (b"9223372036854775807.00", 2**63 - 1),
    ],
)
def test_whole_numbers_with_a_fraction_or_exponent_are_integers(raw: bytes, value: int) -> None:
    # JSON Schema counts 480.0 an integer, so a client generated from the document may send it.
    parsed = parse_json(raw)
    assert parsed == value and type(parsed) is int


@pytest.mark.parametrize("raw", [b"480.5", b"1e400", b"1e20", b"1e999999999", b"1e-400"])
def test_other_numbers_stay_floats(raw: bytes) -> None:
    # Refused wherever an integer is taken; a huge whole number never becomes a huge int.
    assert type(parse_json(raw)) is float


def test_booleans_stay_booleans() -> None:
    assert parse_json(b"[true, false, 1, 1.0]") == [True, False, 1, 1]
    assert [type(v) for v in parse_json(b"[true, 1.0]")] == [bool, int]
