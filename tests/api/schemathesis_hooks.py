"""Extra schemathesis checks for tests/api/test_schemathesis.py (loaded by SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import schemathesis
from schemathesis import CheckContext, Response
from schemathesis.generation.case import Case

import tests.api.schemathesis_spare_app  # noqa: F401  (registers its hook)


@schemathesis.check
def valid_data_is_never_malformed(ctx: CheckContext, response: Response, case: Case) -> None:
    """Data generated from the document (positive mode) is never ``malformed_json``."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 400:
        return
    body = response.json()
    assert body.get("error") != "malformed_json", body
