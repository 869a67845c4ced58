"""Two ``multicart serve`` processes on one database, their clocks five minutes apart.

The second process's clock is moved ahead with time-machine (``_AHEAD``: its travel starts
before ``orchestrator.cli.main``; the database's clock, which both share, is untouched). Each
test starts slow work in the first process (a platform call held by the sandbox's latency fault)
and shows the process ahead takes nothing that work holds: the cart's lease (a DELETE is
``cart_busy``), the Idempotency-Key (409, then the first answer replayed), the create's born
lease (its reconciler does not create the cart again). While these were compared on each
process's own clock, the process ahead found every one of them expired and took it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from examples.client import Multicart, Sandbox, register_sandbox
from tests.conftest import drop_database, new_database
from tests.e2e.conftest import wait_until
from tests.support.launch import (
    Process,
    migrate,
    orchestrator_env,
    start,
    start_orchestrator,
    start_sandbox,
)

pytestmark = pytest.mark.e2e

SKEW = timedelta(minutes=5)  # far past every margin: a 13 s key lock, an 8 s create lease
SLOW_MS = 1500  # the held platform call: inside the 2 s attempt timeout and 3 s deadlines
BC, EP = "outdoors1", "garden6"

# ``python -c _AHEAD <seconds> serve ...``: multicart with this process's clock moved ahead.
_AHEAD = (
    "import datetime, sys, time_machine\n"
    "ahead = datetime.timedelta(seconds=float(sys.argv.pop(1)))\n"
    "time_machine.travel(datetime.datetime.now(datetime.UTC) + ahead, tick=True).start()\n"
    "from orchestrator.cli import main\n"
    "main()\n"
)


@dataclass
class TwoClocks:
    here: Process
    ahead: Process
    admin: Multicart
    sandbox: Sandbox
    stores: dict[str, Any]

    def apps(self) -> tuple[Multicart, Multicart]:
        """One new app, as seen through each process."""
        key = self.admin.create_app("skewed")["api_key"]
        return Multicart(self.here.url, api_key=key), Multicart(self.ahead.url, api_key=key)

    def sku(self, store: str) -> str:
        return str(self.stores[store]["skus"]["p0"])

    def calls(self, store: str, method: str) -> list[str]:
        """The paths of the ``method`` requests the sandbox's ``store`` received."""
        return [r["path"] for r in self.sandbox.requests(store) if r["method"] == method]

    def cart_creates(self, store: str) -> int:
        """BigCommerce's creates: ``POST .../carts`` (its items are ``.../carts/{id}/items``)."""
        return sum(path.endswith("/carts") for path in self.calls(store, "POST"))


@pytest.fixture(scope="module")
def two(db_engine: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoClocks]:
    workdir = tmp_path_factory.mktemp(f"skew-{db_engine}")
    url, pg_name = new_database(db_engine, workdir)
    started: list[Process] = []
    try:
        started.append(start_sandbox(workdir))
        env = orchestrator_env(
            url,
            create_deadline_s="3",
            request_deadline_s="3",
            platform_attempt_timeout_s="2",
            external_delete_retry_s="0.2",  # the reconcilers run often
            circuit_failure_threshold="1000",
        )
        migrate(env)
        started.append(start_orchestrator(workdir, env, name="multicart-here"))
        argv = [sys.executable, "-c", _AHEAD, str(SKEW.total_seconds())]
        serve = ["serve", "--host", "127.0.0.1", "--port", "0"]
        started.append(start("multicart-ahead", [*argv, *serve], env, workdir))
        sandbox_proc, here, ahead = started
        admin = Multicart(here.url, admin_token=env["MULTICART_ADMIN_TOKEN"])
        sandbox = Sandbox(sandbox_proc.url)
        stores = register_sandbox(admin, sandbox, ("BIGCOMMERCE", "ELASTIC_PATH"))
        yield TwoClocks(here, ahead, admin, sandbox, stores)
    finally:
        for process in reversed(started):
            process.stop()
        drop_database(pg_name)


@pytest.fixture
def skewed(two: TwoClocks) -> Iterator[TwoClocks]:
    two.sandbox.reset()
    yield two
    two.sandbox.clear_faults()


def test_the_second_process_clock_runs_ahead(skewed: TwoClocks) -> None:
    here, ahead = skewed.apps()
    made = ahead.create_cart([])  # its date_created is the process's clock
    ahead_by = datetime.fromisoformat(made["date_created"]) - datetime.now(UTC)
    assert SKEW - timedelta(seconds=30) < ahead_by <= SKEW
    assert here.get_cart(made["id"]) == made


def test_a_cart_leased_by_a_slow_change_is_busy_in_the_process_ahead(skewed: TwoClocks) -> None:
    here, ahead = skewed.apps()
    cart = here.create_cart([])
    skewed.sandbox.fault(BC, "latency", ms=SLOW_MS, count=1, method="POST", path_contains="/carts")
    with ThreadPoolExecutor(1) as pool:
        adding = pool.submit(here.add_sku, cart["id"], skewed.sku(BC), 1)
        assert wait_until(lambda: skewed.cart_creates(BC) == 1)  # the add holds the lease
        refused = ahead.http.delete(f"/v1/carts/{cart['id']}")
        added = adding.result(timeout=30)
    assert refused.status_code == 409 and refused.json()["error"] == "cart_busy"
    assert [b["status"] for b in added["bags"]] == ["IN_PROGRESS"]
    assert ahead.get_cart(cart["id"])["status"] == "IN_PROGRESS"


def test_a_key_in_flight_is_409_in_the_process_ahead_then_replayed(skewed: TwoClocks) -> None:
    here, ahead = skewed.apps()
    body = {"skus": [{"sku_id": skewed.sku(BC), "quantity": 1}]}
    keyed = {"Idempotency-Key": "skew-1"}
    skewed.sandbox.fault(BC, "latency", ms=SLOW_MS, count=1, method="POST", path_contains="/carts")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(here.http.post, "/v1/carts", json=body, headers=keyed)
        assert wait_until(lambda: skewed.cart_creates(BC) == 1)  # the key is held
        in_use = ahead.http.post("/v1/carts", json=body, headers=keyed)
        answered: httpx.Response = first.result(timeout=30)
    assert in_use.status_code == 409 and in_use.json()["error"] == "idempotency_key_in_use"
    assert answered.status_code == 201
    replayed = ahead.http.post("/v1/carts", json=body, headers=keyed)
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == answered.json()["id"]
    assert len(skewed.sandbox.carts(BC)) == 1 and skewed.cart_creates(BC) == 1


def test_the_reconciler_ahead_leaves_a_create_in_flight_alone(skewed: TwoClocks) -> None:
    here, _ = skewed.apps()
    # An Elastic Path create reads the cart by its reference (the bag's id), which makes it.
    skewed.sandbox.fault(EP, "latency", ms=SLOW_MS, count=1, method="GET", path_contains="/carts/")
    with ThreadPoolExecutor(1) as pool:
        creating = pool.submit(here.create_cart_response, [(skewed.sku(EP), 1)])
        assert wait_until(lambda: len(skewed.calls(EP, "GET")) == 1)  # born leased, PENDING
        # Meanwhile the reconciler ahead runs every 0.2 s; each round must leave it alone.
        answered: httpx.Response = creating.result(timeout=30)
    assert answered.status_code == 201, answered.text
    cart = answered.json()
    assert [b["status"] for b in cart["bags"]] == ["IN_PROGRESS"]
    # Created once, by its reference: read, named, filled; never again by the process ahead.
    assert len(skewed.calls(EP, "GET")) == len(skewed.calls(EP, "PUT")) == 1
    assert sum(path.endswith("/items") for path in skewed.calls(EP, "POST")) == 1
    assert len(skewed.sandbox.carts(EP)) == 1
    assert f'"cart_id": "{cart["id"]}"' not in skewed.ahead.log_text()
