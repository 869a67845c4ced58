"""Merchant credentials under MultiFernet: sealed by the primary key, opened by any configured."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from adapters.bigcommerce import BIGCOMMERCE
from adapters.registry import AdapterRegistry
from bags.models import Merchant
from config import Settings
from orchestrator.service.merchants import MerchantAdapters
from orchestrator.service.secrets import CredentialBox, CredentialsUnreadable, split_keys

OLD, NEW, OTHER = (CredentialBox.generate_key() for _ in range(3))
CONNECTION = {"api_url": "https://api.bigcommerce.test/stores/abc/v3", "access_token": "t"}


def test_a_connection_sealed_under_an_old_key_opens_and_reseals_under_the_primary() -> None:
    sealed = CredentialBox(OLD).seal(CONNECTION)
    box = CredentialBox(NEW, [OLD])
    assert box.open(sealed) == CONNECTION
    assert not box.is_current(sealed)

    moved = box.reseal(sealed)
    assert box.is_current(moved)
    assert CredentialBox(NEW).open(moved) == CONNECTION  # the old key is no longer needed
    assert box.is_current(box.seal(CONNECTION))  # new seals use the primary


def test_a_connection_no_configured_key_opens_is_one_clear_error() -> None:
    sealed = CredentialBox(OTHER).seal(CONNECTION)
    box = CredentialBox(NEW, [OLD])
    for attempt in (box.open, box.reseal):
        with pytest.raises(CredentialsUnreadable) as caught:
            attempt(sealed)
        assert isinstance(caught.value, ValueError)  # old `except ValueError` handlers hold
        assert "t" not in caught.value.args[0].split()  # no plaintext, no key


def test_a_sealed_value_that_is_not_an_object_is_unreadable() -> None:
    box = CredentialBox(NEW)
    raw = Fernet(NEW.encode())
    for plaintext in (b"[1, 2]", b"not json \xff"):
        with pytest.raises(CredentialsUnreadable):
            box.open(raw.encrypt(plaintext))


def test_the_old_keys_come_from_settings_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MULTICART_ENCRYPTION_KEY", NEW)
    monkeypatch.setenv("MULTICART_ENCRYPTION_KEYS_OLD", f" {OLD} ,, {OTHER},")
    box = CredentialBox.from_settings(Settings())
    for key in (OLD, OTHER):
        assert box.open(CredentialBox(key).seal(CONNECTION)) == CONNECTION
    assert split_keys("") == []


def test_an_invalid_old_key_is_named_by_position_never_echoed() -> None:
    with pytest.raises(ValueError, match="MULTICART_ENCRYPTION_KEYS_OLD: key 2") as caught:
        CredentialBox(NEW, [OLD, "not-a-fernet-key"])
    assert "not-a-fernet-key" not in str(caught.value)
    with pytest.raises(ValueError, match="MULTICART_ENCRYPTION_KEY is empty"):
        CredentialBox("", [OLD])


def test_the_adapter_of_a_merchant_whose_key_was_removed_raises_credentials_unreadable() -> None:
    merchants = MerchantAdapters(AdapterRegistry(Settings()), CredentialBox(NEW))
    sealed = CredentialBox(OLD).seal(CONNECTION)
    merchant = Merchant(id="mer_1", name="m", platform=BIGCOMMERCE)
    with pytest.raises(CredentialsUnreadable):
        merchants.adapter_for(merchant, sealed)
    rotated = MerchantAdapters(AdapterRegistry(Settings()), CredentialBox(NEW, [OLD]))
    assert rotated.adapter_for(merchant, sealed) is not None
