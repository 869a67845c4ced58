"""The one adapter cache: built once per (merchant, sealed connection), decrypted only on a miss."""

from __future__ import annotations

from typing import Any

from adapters.bigcommerce import BIGCOMMERCE
from adapters.registry import AdapterRegistry
from bags.models import Merchant
from config import Settings
from orchestrator.service.merchants import MerchantAdapters
from orchestrator.service.secrets import CredentialBox

STORE = "https://api.bigcommerce.test/stores/abc123/v3"
OTHER_STORE = "https://api.bigcommerce.test/stores/zzz999/v3"


class CountingBox(CredentialBox):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.opened = 0

    def open(self, ciphertext: bytes) -> dict[str, Any]:
        self.opened += 1
        return super().open(ciphertext)


def merchant(merchant_id: str) -> Merchant:
    return Merchant(id=merchant_id, name=merchant_id, platform=BIGCOMMERCE)


async def test_an_adapter_is_built_once_per_merchant_and_connection() -> None:
    registry = AdapterRegistry(Settings())
    box = CountingBox(CredentialBox.generate_key())
    merchants = MerchantAdapters(registry, box)
    sealed = merchants.seal({"api_url": STORE, "access_token": "t"})
    first = merchants.adapter_for(merchant("m1"), sealed)
    assert merchants.adapter_for(merchant("m1"), sealed) is first
    assert box.opened == 1  # decrypted on the miss only
    assert merchants.adapter_for(merchant("m2"), sealed) is not first
    moved = merchants.seal({"api_url": OTHER_STORE, "access_token": "t"})
    assert merchants.adapter_for(merchant("m1"), moved) is not first
    assert box.opened == 3
    await registry.aclose()


async def test_the_cache_is_bounded() -> None:
    registry = AdapterRegistry(Settings())
    merchants = MerchantAdapters(
        registry, CredentialBox(CredentialBox.generate_key()), max_entries=2
    )
    sealed = merchants.seal({"api_url": STORE, "access_token": "t"})
    first = merchants.adapter_for(merchant("m1"), sealed)
    merchants.adapter_for(merchant("m2"), sealed)
    merchants.adapter_for(merchant("m3"), sealed)  # full: the cache starts again
    assert merchants.adapter_for(merchant("m1"), sealed) is not first
    await registry.aclose()
