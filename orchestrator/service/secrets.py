"""API keys and merchant credentials: the only module that sees secrets in the clear.

App keys are random, shown once, stored only as a SHA-256 hash (they carry 256 bits of entropy,
so a slow KDF adds nothing) and compared in constant time. Merchant connections are encrypted
at rest with Fernet (AES-128-CBC + HMAC-SHA256) under ``MultiFernet``: the primary key
(``MULTICART_ENCRYPTION_KEY``) seals, every configured key (``MULTICART_ENCRYPTION_KEYS_OLD``
too) opens, and ``reseal`` moves a connection to the primary, so the key rotates with no
downtime (``orchestrator.service.key_rotation.reseal_all`` re-seals every merchant).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from config import Settings

KEY_PREFIX = "mc_live_"


class _RandomPool:
    """Random bytes from ``os.urandom`` in 4 KiB reads, handed out 10 bytes per id.

    A create mints about ten ids (cart, lease, bags, lines, request); one ``getrandom`` system
    call each was 2.8% of the event loop's busy time (``python -m bench --profile 100``).
    The pool is emptied in a forked child (``multicart serve --workers``), so two processes
    never hand out the same bytes.
    """

    SIZE = 4096

    def __init__(self) -> None:
        self._buf = b""
        self._at = 0
        os.register_at_fork(after_in_child=self.clear)

    def clear(self) -> None:
        self._buf, self._at = b"", 0

    def take(self, n: int) -> bytes:
        if self._at + n > len(self._buf):
            self._buf, self._at = os.urandom(self.SIZE), 0
        chunk = self._buf[self._at : self._at + n]
        self._at += n
        return chunk


_POOL = _RandomPool()


def new_id(prefix: str) -> str:
    """An opaque id we mint: a readable prefix and 20 random hex characters (80 bits)."""
    return f"{prefix}_{_POOL.take(10).hex()}"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def tokens_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class CredentialsUnreadable(ValueError):
    """A sealed connection none of the configured keys opens (its key was removed, or the data
    is damaged), or one that opens to something other than a connection object.

    A ``ValueError``, as before key rotation, so existing ``except ValueError`` handlers still
    catch it; callers that care name this type. Its message never holds key or plaintext.
    """


def split_keys(listed: str) -> list[str]:
    """``MULTICART_ENCRYPTION_KEYS_OLD``'s comma-separated keys (blanks and spaces ignored)."""
    return [key.strip() for key in listed.split(",") if key.strip()]


class CredentialBox:
    """Encrypts and decrypts merchant connection dicts: seals under the primary key, opens
    under any configured key."""

    def __init__(self, key: str, old_keys: Sequence[str] = ()) -> None:
        if not key:
            raise ValueError(
                "MULTICART_ENCRYPTION_KEY is empty; generate one with `multicart keygen`"
            )
        self._primary = _fernet(key, "MULTICART_ENCRYPTION_KEY is not a valid Fernet key")
        older = [k for k in dict.fromkeys(old_keys) if k != key]
        self._fernet = MultiFernet(
            [self._primary]
            + [
                _fernet(k, f"MULTICART_ENCRYPTION_KEYS_OLD: key {at} is not a valid Fernet key")
                for at, k in enumerate(older, start=1)
            ]
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> CredentialBox:
        """The box of ``MULTICART_ENCRYPTION_KEY`` and ``MULTICART_ENCRYPTION_KEYS_OLD``."""
        return cls(
            settings.encryption_key.get_secret_value(),
            split_keys(settings.encryption_keys_old.get_secret_value()),
        )

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def seal(self, connection: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(connection, sort_keys=True).encode())

    def open(self, ciphertext: bytes) -> dict[str, Any]:
        """The connection; ``CredentialsUnreadable`` when no configured key opens it."""
        try:
            value = json.loads(self._fernet.decrypt(ciphertext))
        except InvalidToken:
            raise CredentialsUnreadable(
                "merchant credentials cannot be decrypted with any configured key"
                " (MULTICART_ENCRYPTION_KEY, MULTICART_ENCRYPTION_KEYS_OLD)"
            ) from None
        except ValueError:  # decrypted, but not JSON: never quote it
            raise CredentialsUnreadable("merchant credentials are not a JSON object") from None
        if not isinstance(value, dict):
            raise CredentialsUnreadable("merchant credentials are not a JSON object")
        return value

    def is_current(self, ciphertext: bytes) -> bool:
        """True when ``ciphertext`` is sealed under the primary key (nothing to re-seal)."""
        try:
            self._primary.decrypt(ciphertext)
        except InvalidToken:
            return False
        return True

    def reseal(self, ciphertext: bytes) -> bytes:
        """``ciphertext`` sealed anew under the primary key (``MultiFernet.rotate``: the
        original timestamp is kept); ``CredentialsUnreadable`` when no configured key opens it."""
        try:
            return self._fernet.rotate(ciphertext)
        except InvalidToken:
            raise CredentialsUnreadable(
                "merchant credentials cannot be decrypted with any configured key"
            ) from None


def _fernet(key: str, problem: str) -> Fernet:
    try:
        return Fernet(key.encode())
    except (ValueError, TypeError):
        raise ValueError(problem) from None  # the message never quotes the key
