"""Parse a request body as strict JSON: UTF-8, no duplicate keys, bounded nesting, no NaN.

The standard library's scanner with an ``object_pairs_hook`` sees every pair (orjson keeps the
last of two equal keys); nesting past ``MAX_DEPTH`` is refused, and a whole number written with
a fraction or exponent (``480.0``) is read as that integer, as JSON Schema counts it. Why, and
the measured cost: docs/decisions/0012-strict-json.md.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import orjson

from errors import MalformedJson

MAX_DEPTH = 16


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_WHOLE_DIGITS = 20  # 2**63 has 19: every integer field of the API fits well inside


def _number(text: str) -> int | float:
    """A JSON number written with a fraction or exponent: its integer when it is whole."""
    value = Decimal(text)  # exact: float("9007199254740993.0") would round
    if value.adjusted() < _WHOLE_DIGITS and value == value.to_integral_value():
        return int(value)
    return float(text)


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_constant=_no_constant, parse_float=_number
)


class _TooDeep(Exception):
    pass


def _descend(value: dict[str, Any] | list[Any], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise _TooDeep
    for child in value.values() if type(value) is dict else value:
        if type(child) is dict or type(child) is list:
            _descend(child, depth + 1)


def too_deep(value: Any) -> bool:
    """True when the parsed JSON ``value`` nests deeper than ``MAX_DEPTH`` (``[]`` is 1)."""
    if type(value) is not dict and type(value) is not list:
        return False
    try:
        _descend(value, 1)
    except _TooDeep:
        return True
    return False


def parse_json(raw: bytes) -> Any:
    """The JSON value of ``raw``, or ``MalformedJson`` saying what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJson("The body is not UTF-8.") from exc
    if "\\ud" in text or "\\uD" in text:  # a surrogate escape: orjson refuses lone ones
        try:
            orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise MalformedJson(f"The body is not valid JSON: {exc.msg}.") from exc
    try:
        value = _DECODER.decode(text)
    except _Duplicate as exc:
        raise MalformedJson(
            f"The body repeats the key {exc.key!r} in one object.",
            data={"duplicate_key": exc.key},
        ) from exc
    except RecursionError as exc:
        raise MalformedJson(f"The body nests deeper than {MAX_DEPTH} levels.") from exc
    except ValueError as exc:  # JSONDecodeError, NaN/Infinity, integers past 4300 digits
        detail = getattr(exc, "msg", None) or str(exc)
        if "int_max_str_digits" in detail:  # Python's own advice is not the client's business
            detail = "a number has more digits than any field takes"
        raise MalformedJson(f"The body is not valid JSON: {detail}.") from exc
    brackets = text.count("{") + text.count("[")
    if brackets > MAX_DEPTH and too_deep(value):
        raise MalformedJson(f"The body nests deeper than {MAX_DEPTH} levels.")
    return value
