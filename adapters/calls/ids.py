"""External ids put in URL paths only when they cannot be anything but one id.

Why a module of its own: a cart id an app hands multicart (``POST /v1/cart-references``) and
the cart and line ids platforms answer with are later put in request paths that carry the
merchant's credentials. Percent-quoting is not enough: measured before this, the cart id
``..`` was quoted to ``..`` and yarl collapsed the segment, so multicart sent
``GET /stores/x/v3/?include=redirect_urls`` with the store's ``X-Auth-Token``. So every id is
matched against its platform's id format (each platform package declares its patterns; the
registry's table carries the cart id's) and refused when it is a dot segment or holds ``/``,
``\\``, ``%``, ``?``, ``#``, whitespace or a control character, before it reaches a path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

from errors import Cause, PlatformError

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Never in a path segment, whatever a platform's format allows.
_UNSAFE = re.compile(r"[/\\%?#\s\x00-\x1f\x7f-\x9f]")


@dataclass(frozen=True)
class IdFormat:
    """A platform's id format: ``pattern`` (matched whole) and ``what`` names it in messages,
    which never repeat the value."""

    pattern: re.Pattern[str]
    what: str

    def problem(self, value: str) -> str | None:
        """Why ``value`` is not an id of this format, or None."""
        if value in (".", ".."):
            return "must not be a dot segment (. or ..)"
        if self.pattern.fullmatch(value) is None:
            return f"must be {self.what}"
        return None

    def checked(self, value: str, *, platform: str) -> str:
        """``value`` unchanged, or ``PlatformError`` (nothing sent) when it is not of this
        format: for ids that go into a request body or GraphQL variables."""
        problem = self.problem(value)
        if problem is not None:
            raise _refused(platform, problem)
        return value

    def segment(self, value: str, *, platform: str) -> str:
        """``value`` quoted as one path segment, or ``PlatformError`` (nothing sent) when it is
        not of this format or could be read as anything but one segment."""
        problem = self.problem(value)
        if problem is None and _UNSAFE.search(value):
            problem = "must not contain /, \\, %, ?, #, whitespace or control characters"
        if problem is not None:
            raise _refused(platform, problem)
        return quote(value, safe="")


def _refused(platform: str, problem: str) -> PlatformError:
    return PlatformError(
        f"{platform} was not called: an id to send was refused (it {problem}); nothing was sent",
        platform=platform,
        cause=Cause.PLATFORM_ERROR,
        may_have_applied=False,
    )
