"""Key rotation on both engines: every merchant re-sealed under the primary key, in batches."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.shopify import SHOPIFY
from bags.models import Merchant
from orchestrator.service.key_rotation import ResealIncomplete, reseal_all
from orchestrator.service.secrets import CredentialBox, CredentialsUnreadable
from orchestrator.store import Store

OLD, NEW, LOST = (CredentialBox.generate_key() for _ in range(3))


async def add_merchants(store: Store, key: str, count: int, prefix: str = "mer") -> list[str]:
    box = CredentialBox(key)
    ids = [f"{prefix}_{n:02d}" for n in range(count)]
    for merchant_id in ids:
        merchant = Merchant(id=merchant_id, name=merchant_id, platform=SHOPIFY)
        connection = {"shop_url": f"https://{merchant_id}.test", "storefront_token": "tok"}
        await store.catalog.create_merchant(merchant, box.seal(connection))
    return ids


async def sealed(store: Store, ids: list[str]) -> dict[str, bytes]:
    return {m: row[1] for m, row in (await store.catalog.get_merchants(ids)).items()}


@pytest.mark.parametrize("batch", [1, 2, 100])  # 4 merchants: batches that divide them, or not
async def test_every_merchant_is_resealed_under_the_primary_and_a_rerun_writes_nothing(
    store: Store, batch: int
) -> None:
    ids = await add_merchants(store, OLD, 4)
    box = CredentialBox(NEW, [OLD])

    assert await reseal_all(store, box, batch=batch) == 4

    after = await sealed(store, ids)
    only_new = CredentialBox(NEW)
    assert {m: only_new.open(c)["shop_url"] for m, c in after.items()} == {
        m: f"https://{m}.test" for m in ids
    }
    assert await reseal_all(store, box, batch=batch) == 0  # already under the primary
    assert await sealed(store, ids) == after


async def test_an_unreadable_connection_is_left_and_named_after_the_rest_are_resealed(
    store: Store,
) -> None:
    good = await add_merchants(store, OLD, 3)
    bad = await add_merchants(store, LOST, 1, prefix="lost")
    before = await sealed(store, bad)
    box = CredentialBox(NEW, [OLD])

    with pytest.raises(ResealIncomplete) as caught:
        await reseal_all(store, box, batch=2)

    assert isinstance(caught.value, CredentialsUnreadable)
    assert (caught.value.merchant_ids, caught.value.resealed) == (bad, 3)
    assert all(box.is_current(c) for c in (await sealed(store, good)).values())
    assert await sealed(store, bad) == before


async def test_no_merchants_nothing_to_do(store: Store) -> None:
    assert await reseal_all(store, CredentialBox(NEW, [OLD])) == 0


async def test_each_write_transaction_holds_at_most_one_batch(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await add_merchants(store, OLD, 5)
    seen: list[int] = []
    write = store.db.write

    def counting_write() -> Any:
        seen.append(0)
        return write()

    monkeypatch.setattr(store.db, "write", counting_write)
    rows: list[str] = []

    def reseal(merchant_id: str, ciphertext: bytes) -> bytes | None:
        rows.append(merchant_id)
        seen[-1] += 1
        return None

    assert await store.catalog.reseal_connections(reseal, batch=2) == 0
    assert seen == [2, 2, 1] and rows == sorted(rows) and len(rows) == 5
