"""Columns copied as they are between a table's rows and the domain object with those fields.

A store module names such columns once and reads them off the object to write a row, and off the
row to build the object; the columns it converts (enums, JSON, parents) it spells out itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def copied(source: object, names: Sequence[str]) -> dict[str, Any]:
    """``names`` read off ``source`` (a domain object or a row) by attribute."""
    return {name: getattr(source, name) for name in names}
