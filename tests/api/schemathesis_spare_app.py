"""A hook both schemathesis runs load: the run's own app is never disabled nor its key revoked.

Why: schemathesis takes ids from answers (``GET /v1/admin/apps`` lists the run's app) and,
holding the admin token, disabled that app, so every app route after answered 401. The
destructive admin calls naming that app go to an app that does not exist instead (404): the
routes are still exercised, and the rest of the run keeps its key.
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.generation.case import Case

RUN_APP = "app_st"  # tests/api/test_schemathesis.py's seed_app
SPARED = "app_st_spared"


@schemathesis.hook
def before_call(ctx: Any, case: Case, **kwargs: Any) -> None:
    path = case.operation.path
    params = case.path_parameters
    destructive = path.endswith("/disable") or "/keys/" in path
    if destructive and params is not None and params.get("app_id") == RUN_APP:
        params["app_id"] = SPARED
