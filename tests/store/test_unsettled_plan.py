"""The reconciler's scan stays an index lookup, however many carts there are (SQLite's plan;
on PostgreSQL the same partial index exists and the query's answer is checked)."""

from __future__ import annotations

from sqlalchemy.dialects import sqlite

from bags.status import BagStatus
from orchestrator.store import Store
from orchestrator.store.carts import unsettled_query
from orchestrator.store.tables import UNSETTLED_BAG
from tests.store.factories import make_app, make_cart


def test_the_index_holds_exactly_the_unsettled_statuses() -> None:
    compiled = str(
        UNSETTLED_BAG.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True})
    )
    assert compiled == (
        f"bags.status IN ('{BagStatus.PENDING.value}', '{BagStatus.UNKNOWN.value}')"
    )


async def test_unsettled_reads_only_unsettled_bags(store: Store) -> None:
    app_id = await make_app(store)
    settled = make_cart(app_id, bags=3, lines=1, errors=0)
    stuck = make_cart(app_id, bags=3, lines=1, errors=0)
    stuck.bags[1].status = BagStatus.PENDING
    unknown = make_cart(app_id, bags=2, lines=1, errors=0)
    unknown.bags[0].status = BagStatus.UNKNOWN
    for cart in (settled, stuck, unknown):
        await store.carts.insert(cart)
    found = await store.carts.unsettled(1.0)
    assert sorted(found) == sorted([stuck.id, unknown.id])
    if not store.db.sqlite:
        return
    query = unsettled_query(store.db, 1.0, 50).compile(
        dialect=store.db.engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    params = tuple(query.construct_params()[name] for name in query.positiontup or ())
    sync = store.db._sync
    assert sync is not None
    with sync.connect() as conn:  # the plan SQLite makes for the very query the store runs
        plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(query), params)]
    scans = [step for step in plan if step.startswith("SCAN")]
    assert all(
        "USING INDEX ix_bags_unsettled_cart_id" in step or step == "SCAN unsettled"
        for step in scans
    ), plan
    assert any(step.startswith("SEARCH carts") for step in plan), plan
