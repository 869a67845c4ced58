"""MerchantAdapters on a merchant's changed connection: the store's circuits are closed once
for a new connection, never for the same connection resealed (a key rotation)."""

from __future__ import annotations

from structlog.testing import capture_logs

from adapters.fake import FakeRegistry
from bags import Merchant, Platform
from orchestrator.service.merchants import MerchantAdapters
from orchestrator.service.secrets import CredentialBox

OLD = {"api_url": "https://shop.example/stores/a/v3", "access_token": "old-token"}
NEW = {"api_url": "https://shop.example/stores/a/v3", "access_token": "rotated-token"}
MERCHANT = Merchant(id="mer_1", name="Acme", platform=Platform("BIGCOMMERCE"))


def test_a_new_connection_resets_the_circuits_once_a_reseal_never() -> None:
    platforms, box = FakeRegistry(), CredentialBox(CredentialBox.generate_key())
    adapters = MerchantAdapters(platforms, box)
    old = adapters.seal(OLD)
    adapters.adapter_for(MERCHANT, old)
    assert platforms.circuit_resets == []  # a first build is no change

    resealed = adapters.seal(OLD)  # Fernet: a new ciphertext of the same connection
    assert resealed != old
    adapters.adapter_for(MERCHANT, resealed)
    assert platforms.circuit_resets == []

    new = adapters.seal(NEW)
    with capture_logs() as logs:
        adapters.adapter_for(MERCHANT, new)
        adapters.adapter_for(MERCHANT, new)  # built once: no second reset
    assert platforms.circuit_resets == [(Platform("BIGCOMMERCE"), NEW)]
    assert [(e["event"], e["merchant_id"]) for e in logs] == [
        ("merchant_connection_changed", "mer_1")
    ]
    assert "rotated-token" not in str(logs)


def test_another_merchants_first_build_resets_nothing() -> None:
    platforms, box = FakeRegistry(), CredentialBox(CredentialBox.generate_key())
    adapters = MerchantAdapters(platforms, box)
    adapters.adapter_for(MERCHANT, adapters.seal(OLD))
    other = Merchant(id="mer_2", name="Other", platform=Platform("BIGCOMMERCE"))
    adapters.adapter_for(other, adapters.seal(NEW))
    assert platforms.circuit_resets == []
