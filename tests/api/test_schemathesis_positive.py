"""Every request the document allows is one the server accepts (schemathesis, positive data).

Why: a client generated from /openapi.json sent requests the server refused (``480.0`` as an
integer, control characters in metadata keys, any string as a merchant URL or credential, an
Elastic Path sku longer than the catalog took): each place is now either accepted by the
server or stated in the document. This test holds them together: schemathesis generates only
schema-valid requests for every operation (its examples, coverage and fuzzing phases, positive
mode) and fails on any 4xx but the refusals about state and the rules across fields the
document states in words (``schemathesis_positive_hooks``).

The server is the one of tests/api/test_schemathesis.py (a real socket, a real database of
each engine), with the limits the document cannot express out of reach: as many merchants
as lines per cart, bodies far larger than anything generated, no load shedding; merchant URLs
stay under the default policy (https to a public host), which the document states.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.fake import FakeRegistry
from orchestrator.http.app import create_app
from tests.api.conftest import PRICES
from tests.api.conftest import test_settings as api_settings
from tests.api.test_schemathesis import TOKEN, LoopbackServer, run_schemathesis, seed_app

HERE = Path(__file__).resolve().parent
MAX_EXAMPLES = 30
RUN_TIMEOUT_S = 120  # the whole run; about 20 s per engine on 2 cores


@pytest.fixture
def unlimited(db_engine: str, migrated_database_url: str) -> Iterator[LoopbackServer]:
    from tests.conftest import one_engine, run_in_thread

    if db_engine != one_engine():
        # The document's promises are the server's, checked before the database; PostgreSQL,
        # the stricter engine, when there is one (test_schemathesis.py fuzzes both for 500s).
        pytest.skip("positive fuzzing runs on one engine (tests.conftest.one_engine)")

    run_in_thread(seed_app(migrated_database_url))
    settings = api_settings(
        migrated_database_url,
        admin_token=TOKEN,
        log_level="WARNING",
        max_skus=100,
        max_bags=100,  # every line may be its own merchant's: never a 400 the schema hides
        max_quantity=999,
        max_body_bytes=4 * 1024 * 1024,
        max_in_flight=10_000,
    )
    app = create_app(settings, platforms=FakeRegistry(prices=PRICES), run_worker=False)
    with LoopbackServer(app) as server:
        yield server


@pytest.mark.e2e  # a real process: schemathesis's CLI
def test_every_request_the_document_allows_is_accepted(
    unlimited: LoopbackServer, tmp_path: Path
) -> None:
    run_schemathesis(
        unlimited.port,
        "tests.api.schemathesis_positive_hooks",
        [
            "--checks",
            "positive_data_is_accepted,not_a_server_error",
            "--mode",
            "positive",
            "--phases",
            "examples,coverage,fuzzing",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--seed",
            "15",
            "--max-failures",
            "30",
        ],
        tmp_path,
        RUN_TIMEOUT_S,
    )
