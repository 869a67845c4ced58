"""``list_carts``: newest first, filters, keyset pagination without duplicates or gaps."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest

from bags.models import Cart
from bags.status import CartStatus
from orchestrator.store import Store
from tests.store.factories import T0, make_app, make_cart


async def _insert(store: Store, carts: list[Cart]) -> None:
    for cart in carts:
        await store.carts.insert(cart)


def _newest_first(carts: list[Cart]) -> list[str]:
    return [c.id for c in sorted(carts, key=lambda c: (c.date_created, c.id), reverse=True)]


async def test_newest_first_with_filters(store: Store) -> None:
    app_id, other = await make_app(store), await make_app(store)
    carts = [
        make_cart(app_id, created=T0 + timedelta(minutes=i), customer_id=f"cus_{i % 2}")
        for i in range(6)
    ]
    carts[5].status = CartStatus.DELETED
    carts[4].status = CartStatus.EXPIRED
    await _insert(store, [*carts, make_cart(other, created=T0 + timedelta(hours=1))])

    page, cursor = await store.carts.page(app_id)
    assert [c.id for c in page] == _newest_first(carts[:5])
    assert cursor is None
    assert page[0].bags and page[0].errors  # pages carry whole aggregates
    assert page == sorted(carts[:5], key=lambda c: c.date_created, reverse=True)

    page, _ = await store.carts.page(app_id, customer_id="cus_0")
    assert [c.id for c in page] == _newest_first([carts[4], carts[2], carts[0]])

    page, _ = await store.carts.page(app_id, status=CartStatus.DELETED)
    assert [c.id for c in page] == [carts[5].id]
    page, _ = await store.carts.page(app_id, status=CartStatus.EXPIRED)
    assert [c.id for c in page] == [carts[4].id]
    page, _ = await store.carts.page(app_id, status=CartStatus.IN_PROGRESS, customer_id="cus_1")
    assert [c.id for c in page] == _newest_first([carts[3], carts[1]])

    assert await store.carts.page(app_id, customer_id="nobody") == ([], None)
    assert await store.carts.page("app_unknown") == ([], None)


@pytest.mark.parametrize("limit", [1, 3, 7, 25])
async def test_cursor_walks_every_cart_once(store: Store, limit: int) -> None:
    app_id = await make_app(store)
    # several carts share a date_created: the id breaks the tie
    carts = [
        make_cart(app_id, created=T0 + timedelta(seconds=i // 3), bags=1, lines=1, errors=0)
        for i in range(20)
    ]
    await _insert(store, carts)

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        page, cursor = await store.carts.page(app_id, limit=limit, cursor=cursor)
        pages += 1
        assert len(page) <= limit
        seen.extend(c.id for c in page)
        if cursor is None:
            break
        assert cursor.isascii() and "=" not in cursor and "/" not in cursor and "+" not in cursor
    assert seen == _newest_first(carts)
    assert pages == max(1, -(-20 // limit))


async def test_a_cart_added_while_paging_does_not_shift_the_pages(store: Store) -> None:
    app_id = await make_app(store)
    carts = [make_cart(app_id, created=T0 + timedelta(minutes=i), errors=0) for i in range(4)]
    await _insert(store, carts)
    first, cursor = await store.carts.page(app_id, limit=2)
    await store.carts.insert(make_cart(app_id, created=T0 + timedelta(hours=1)))
    second, cursor = await store.carts.page(app_id, limit=2, cursor=cursor)
    assert [c.id for c in first + second] == _newest_first(carts)
    assert cursor is None


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "not a cursor!",
        "%%%",
        base64.urlsafe_b64encode(b"[1, 2]").decode(),
        base64.urlsafe_b64encode(b'["yesterday", "cart_1"]').decode(),
        base64.urlsafe_b64encode(b'["2026-03-01T12:00:00", "cart_1"]').decode(),  # naive
        base64.urlsafe_b64encode(b'["2026-03-01T12:00:00+00:00", ""]').decode(),
        base64.urlsafe_b64encode(b'{"a": 1}').decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "é",
    ],
)
async def test_malformed_cursor_is_a_value_error(store: Store, cursor: str) -> None:
    app_id = await make_app(store)
    with pytest.raises(ValueError, match="malformed cursor"):
        await store.carts.page(app_id, cursor=cursor)
