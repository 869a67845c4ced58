"""A merchant's platform adapter, decrypted and built once: the one cache of adapters.

Creating carts and deleting external carts both need a merchant's ``CartPlatform``, built from
its connection, which the store keeps only sealed (``CredentialBox``). Decrypting and building
on every call would put Fernet and the adapter's construction on the hot path, so
``MerchantAdapters`` keeps each built adapter under (merchant id, sealed ciphertext): a new
connection is a new ciphertext, hence a new adapter: the old one is dropped and the store's
circuits are closed when the connection itself changed (a rotated token starts afresh rather
than failing fast on the old one's failures; a key rotation's reseal of the same connection
does not reset them). The cache is bounded (cleared when full); the platform
directory itself keeps no per-merchant cache.

Each process sees a changed connection when its catalog cache does (the sealed value comes from
``CatalogStore.lookup``/``get_merchants``): at once in the process that made the change, within
``MULTICART_CATALOG_REFRESH_S`` (plus one poll's read) in the others, never later than 3x that
if the polls fail (``catalog_cache.py``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import structlog

from adapters import CartPlatform, PlatformDirectory
from bags import Merchant
from orchestrator.service.secrets import CredentialBox

ADAPTER_CACHE_SIZE = 10_000
log = structlog.get_logger("multicart.merchants")


class MerchantAdapters:
    """Seals merchants' connections and hands out their adapters, built once per connection."""

    def __init__(
        self,
        platforms: PlatformDirectory,
        box: CredentialBox,
        *,
        max_entries: int = ADAPTER_CACHE_SIZE,
    ) -> None:
        self._platforms = platforms
        self._box = box
        self._max_entries = max_entries
        self._adapters: dict[tuple[str, bytes], CartPlatform] = {}
        # Each merchant's connection last built here: (sealed, a digest of the plain one).
        self._built: dict[str, tuple[bytes, bytes]] = {}

    def seal(self, connection: Mapping[str, Any]) -> bytes:
        """The ciphertext to store for a merchant's (plain) connection."""
        return self._box.seal(dict(connection))

    def cart_id_problem(self, merchant: Merchant, external_id: str) -> str | None:
        """Why ``external_id`` cannot be a cart id on ``merchant``'s platform, or None: asked
        before an id an app hands in reaches an adapter (the adapter checks again)."""
        return self._platforms.cart_id_problem(merchant.platform, external_id)

    def adapter_for(self, merchant: Merchant, sealed: bytes) -> CartPlatform:
        """The merchant's adapter; decrypting its connection only when the sealed value changes.

        ``CredentialsUnreadable`` (a ``ValueError``) when no configured key decrypts ``sealed``.
        """
        key = (merchant.id, sealed)
        adapter = self._adapters.get(key)
        if adapter is None:
            if len(self._adapters) >= self._max_entries:
                self._adapters.clear()
                self._built.clear()
            connection = self._box.open(sealed)
            digest = _digest(connection)
            previous = self._built.get(merchant.id)
            if previous is not None:
                self._adapters.pop((merchant.id, previous[0]), None)
                if previous[1] != digest:  # a new connection, not the same one resealed
                    closed = self._platforms.reset_circuits(merchant.platform, connection)
                    log.info(
                        "merchant_connection_changed",
                        merchant_id=merchant.id,
                        circuits_closed=closed,
                    )
            adapter = self._platforms.for_merchant(merchant.id, merchant.platform, connection)
            self._adapters[key] = adapter
            self._built[merchant.id] = (sealed, digest)
        return adapter


def _digest(connection: Mapping[str, Any]) -> bytes:
    """Tells two plain connections apart without keeping either (a key rotation reseals the
    same connection: a new ciphertext, the same digest, no circuit reset)."""
    return hashlib.sha256(json.dumps(connection, sort_keys=True, default=str).encode()).digest()
