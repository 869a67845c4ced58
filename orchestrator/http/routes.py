"""The route table: one ``Route`` per endpoint, read by both the router and the OpenAPI builder.

Declaring method, path, auth, body and answers once keeps ``/openapi.json`` true to the code.
A ``Route`` takes keyword arguments only, so each entry of the table reads as named fields.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web

from errors import ErrorCode

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# (request, the cart the key names) -> the answer, or None when that cart is no more
Resume = Callable[[web.Request, str], Awaitable[web.StreamResponse | None]]
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
    ok_media: str = "application/json"  # another media type is documented as a string
    # The codes this route itself can answer; those implied by its body, auth, parameters
    # (400/401/413/415) and 500 are added by the OpenAPI builder.
    errors: tuple[ErrorCode, ...] = ()
    query: tuple[QueryParam, ...] = field(default_factory=tuple)
    headers_in: tuple[QueryParam, ...] = field(default_factory=tuple)
    # Headers any answer of this route may carry beyond X-Request-ID: name -> OpenAPI header.
    headers_out: dict[str, Any] = field(default_factory=dict)
    operation_id: str = ""
    # OpenAPI links of the success answer: name -> (operationId, {parameter: expression}),
    # so clients (and schemathesis's stateful phase) can follow a create to its reads.
    links: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    # How a retry with an Idempotency-Key whose first request died after writing a cart
    # answers that cart (``idempotency.py``); None: the route runs again.
    resume: Resume | None = None
