"""API keys and merchant credentials: the only module that sees secrets in the clear.

App keys are random, shown once, stored only as a SHA-256 hash (they carry 256 bits of entropy,
so a slow KDF adds nothing) and compared in constant time. Merchant connections are encrypted
at rest with Fernet (AES-128-CBC + HMAC-SHA256) under the key from settings.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

KEY_PREFIX = "mc_live_"


def new_id(prefix: str) -> str:
    """An opaque id we mint: a readable prefix and 20 random base32 characters."""
    return f"{prefix}_{secrets.token_hex(10)}"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def tokens_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class CredentialBox:
    """Encrypts and decrypts merchant connection dicts."""

    def __init__(self, key: str) -> None:
        if not key:
            raise ValueError(
                "MULTICART_ENCRYPTION_KEY is empty; generate one with `multicart keygen`"
            )
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError) as exc:
            raise ValueError("MULTICART_ENCRYPTION_KEY is not a valid Fernet key") from exc

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def seal(self, connection: dict[str, Any]) -> bytes:
        return self._fernet.encrypt(json.dumps(connection, sort_keys=True).encode())

    def open(self, ciphertext: bytes) -> dict[str, Any]:
        try:
            value = json.loads(self._fernet.decrypt(ciphertext))
        except InvalidToken as exc:
            raise ValueError("merchant credentials cannot be decrypted with this key") from exc
        if not isinstance(value, dict):
            raise ValueError("merchant credentials are not an object")
        return value
