"""The platforms' published specs the simulators are checked against, and one exchange's check.

Why this module exists: every platform's spec test finds the specs folder shared beside the
repository (``MULTICART_SHARED_DIR`` overrides it) and skips when a spec is absent; the OpenAPI
ones also validate a real sandbox exchange the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import ClientResponse

REPO_ROOT = next(p for p in Path(__file__).resolve().parents if (p / "pyproject.toml").exists())
SHARED = Path(os.environ.get("MULTICART_SHARED_DIR", REPO_ROOT.parent / "shared"))
SPECS = SHARED / "platforms/specs"


def spec_or_skip(path: Path, what: str) -> Path:
    """The spec file, or skip the test that needs it."""
    if not path.exists():
        pytest.skip(f"{what} file not found at {path} (set MULTICART_SHARED_DIR)")
    return path


def load_openapi(path: Path, what: str) -> Any:
    from openapi_core import OpenAPI

    return OpenAPI.from_path(spec_or_skip(path, what))


async def check_exchange(
    api: Any,
    host: str,
    response: ClientResponse,
    path: str,
    headers: dict[str, str],
    sent: bytes | None,
    content_type: str = "application/json",
) -> Any:
    """Validate one real exchange (the request as the spec's ``host`` would see it at ``path``,
    and the sandbox's answer); return the decoded answer."""
    from openapi_core.testing import MockRequest, MockResponse

    data = await response.read()
    request = MockRequest(
        host,
        response.method,
        path,
        args=dict(response.url.query),
        headers=headers,
        data=sent,
        content_type=content_type,
    )
    answer = MockResponse(
        data,
        status_code=response.status,
        headers=dict(response.headers),
        content_type=response.headers.get("Content-Type", "application/json"),
    )
    api.validate_response(request, answer)
    return orjson.loads(data) if data else None
