"""The route table: one ``Route`` per endpoint, read by both the router and the OpenAPI builder.

Declaring method, path, auth, body and answers once keeps ``/openapi.json`` true to the code.
A ``Route`` takes keyword arguments only, so each entry of the table reads as named fields.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Auth = Literal["app", "admin", "none"]


@dataclass(frozen=True)
class QueryParam:
    name: str
    schema: dict[str, Any]
    description: str = ""


@dataclass(frozen=True, kw_only=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    auth: Auth
    body: Any = None  # a pydantic model, or a type like list[Model]
    ok_status: int = 200
    ok_body: Any = None  # a pydantic model; None for no body
    errors: tuple[int, ...] = ()
    query: tuple[QueryParam, ...] = field(default_factory=tuple)
    headers_in: tuple[QueryParam, ...] = field(default_factory=tuple)
    operation_id: str = ""
