"""The string and number types every request schema is built from, and the checks of raw inputs.

Why one module: PostgreSQL rejects NUL (0x00) in text while SQLite stores it, so a NUL that
reached the store answered 500 on one engine and was kept on the other. Every string the API
takes (body fields, path ids, query values, cursors) is checked here, before the store, and
both engines answer the same 400 naming the field.

Each type carries its rule twice, in one place: as a validator (for the clear message) and as
the JSON Schema ``pattern``/``maxLength`` the OpenAPI document shows (so a client generating
data from the document, schemathesis included, produces only what the server accepts).

- ``Text``: printable, one line: no C0 control character, DEL or lone surrogate.
- ``Id``: ``Text`` of 1..64 characters without leading or trailing whitespace (ids are
  compared exactly; an id of ``" "`` used to fit the document and be refused after stripping).
- ``FreeText``: like ``Text`` but tabs and line breaks allowed (metadata values).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import Field, GetCoreSchemaHandler, GetJsonSchemaHandler, StrictInt
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from errors import FieldProblem, InvalidRequest

ID_MAX = 64
NAME_MAX = 200
METADATA_KEY_MAX = 64
METADATA_VALUE_MAX = 500
# A platform_ref's string id: Elastic Path takes SKUs of up to 255 characters.
REF_VALUE_MAX = 255
# Integer minor units. 10**11 (a billion dollars in cents) times the largest quantity (10**4,
# Settings.max_quantity's bound) times the most lines (10**3, Settings.max_skus's bound) is
# 10**18, inside a signed 64-bit column: no line or cart total can overflow BigInteger.
MAX_PRICE = 10**11

# C0 controls and DEL. Lone surrogates are refused too (``_SURROGATES``), but only by the
# server: JSON Schema validators built on Rust's regex refuse a surrogate range in a pattern
# (and a lone surrogate can only arrive escaped, which jsonbody.parse_json already refuses).
_CONTROL = "\\x00-\\x1f\\x7f"
_CONTROL_NO_BREAKS = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f"
_SURROGATES = "\ud800-\udfff"
TEXT_PATTERN = f"^[^{_CONTROL}]*$"
FREE_TEXT_PATTERN = f"^[^{_CONTROL_NO_BREAKS}]*$"
# First and last character neither a control character nor whitespace. U+0085 is named: the
# server's str.isspace counts it, JSON Schema's \s (ECMA-262's) does not.
ID_PATTERN = f"^[^\\s\\x85{_CONTROL}](?:[^{_CONTROL}]*[^\\s\\x85{_CONTROL}])?$"

_BAD_TEXT = re.compile(f"[{_CONTROL}{_SURROGATES}]")
_BAD_FREE_TEXT = re.compile(f"[{_CONTROL_NO_BREAKS}{_SURROGATES}]")


def text_problem(value: str, *, breaks_ok: bool = False) -> str | None:
    """Why ``value`` is refused as text, or None when it is fine."""
    found = (_BAD_FREE_TEXT if breaks_ok else _BAD_TEXT).search(value)
    if found is None:
        return None
    return f"contains the control character U+{ord(found.group()):04X} at index {found.start()}"


def id_problem(value: str, *, max_length: int = ID_MAX) -> str | None:
    """Why ``value`` is refused as an id, or None when it is fine."""
    if not value:
        return "must not be empty"
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    if value[0].isspace() or value[-1].isspace():
        return "must not begin or end with whitespace"
    return text_problem(value)


@dataclass(frozen=True)
class Printable:
    """Annotation: the string must pass ``text_problem`` (or ``id_problem`` when ``id``)."""

    id: bool = False
    breaks_ok: bool = False

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def check(value: str) -> str:
            problem = (
                id_problem(value, max_length=10**9)  # the length is StringConstraints' job
                if self.id
                else text_problem(value, breaks_ok=self.breaks_ok)
            )
            if problem is not None:
                raise PydanticCustomError("printable", problem)
            return value

        return core_schema.no_info_after_validator_function(check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        value = handler(schema)
        if self.id:
            value["pattern"] = ID_PATTERN
        else:
            value["pattern"] = FREE_TEXT_PATTERN if self.breaks_ok else TEXT_PATTERN
        return value


@dataclass(frozen=True)
class KeysStated:
    """Annotation of a ``dict`` whose keys have a pattern: its schema states the pattern for
    every key. pydantic writes it as ``patternProperties``, which constrains only the keys that
    match and lets any other key (a control character in it) hold anything, all of which the
    server refuses; ``propertyNames`` and ``additionalProperties`` say what it enforces."""

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        value = handler(schema)
        for pattern, values in value.pop("patternProperties", {}).items():
            value.setdefault("propertyNames", {})["pattern"] = pattern
            value["additionalProperties"] = values
        return value


Id = Annotated[str, Field(min_length=1, max_length=ID_MAX), Printable(id=True)]
ShortText = Annotated[str, Field(min_length=1, max_length=NAME_MAX), Printable()]
MetadataKey = Annotated[str, Field(min_length=1, max_length=METADATA_KEY_MAX), Printable()]
MetadataValue = Annotated[str, Field(max_length=METADATA_VALUE_MAX), Printable(breaks_ok=True)]
RefKey = Annotated[str, Field(min_length=1, max_length=ID_MAX), Printable(id=True)]
RefValue = Annotated[str, Field(min_length=1, max_length=REF_VALUE_MAX), Printable(id=True)]
Price = Annotated[StrictInt, Field(ge=0, le=MAX_PRICE, description="Integer minor units.")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


def checked_id(value: str, field: str) -> str:
    """A path id or query value, checked before it reaches the store (400 naming ``field``)."""
    problem = id_problem(value)
    if problem is not None:
        raise InvalidRequest([FieldProblem(field, problem)])
    return value


def checked_int(raw: str | None, field: str, default: int, low: int, high: int) -> int:
    """An integer query value in ``low..high``: ASCII digits only (``"²".isdigit()`` is True
    and ``int("²")`` raises), at most 9 of them."""
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9) or not low <= int(raw) <= high:
        raise InvalidRequest([FieldProblem(field, f"must be an integer from {low} to {high}")])
    return int(raw)


# Marks a schema as a platform's name, for the document to refer to its ``Platform``.
PLATFORM_MARK = "x-multicart-platform"
