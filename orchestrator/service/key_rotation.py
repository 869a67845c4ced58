"""Encryption-key rotation: every merchant's connection re-sealed under the primary key.

Why a module of its own: rotating ``MULTICART_ENCRYPTION_KEY`` is an operator's step between two
configurations, run by ``multicart keys rotate`` once every process has the new key as primary
and the old one in ``MULTICART_ENCRYPTION_KEYS_OLD`` (``CredentialBox`` decrypts with either).
``reseal_all`` then moves every stored connection to the primary key, after which the old key
can be dropped. It is safe to run again: a connection already under the primary is not
rewritten, so a second run writes nothing.
"""

from __future__ import annotations

import structlog

from orchestrator.service.secrets import CredentialBox, CredentialsUnreadable
from orchestrator.store import Store

log = structlog.get_logger("multicart.keys")


class ResealIncomplete(CredentialsUnreadable):
    """Some merchants' connections open under no configured key: they were left as they are.

    ``resealed`` says how many others were re-sealed, ``merchant_ids`` which were left."""

    def __init__(self, merchant_ids: list[str], resealed: int) -> None:
        shown = ", ".join(merchant_ids[:20]) + (" ..." if len(merchant_ids) > 20 else "")
        super().__init__(
            f"{len(merchant_ids)} merchants' credentials cannot be decrypted with any configured"
            f" key and were left as they are ({shown}); {resealed} others were re-sealed."
            " Add their key to MULTICART_ENCRYPTION_KEYS_OLD and run again, or register them"
            " anew."
        )
        self.merchant_ids = merchant_ids
        self.resealed = resealed


async def reseal_all(store: Store, box: CredentialBox, *, batch: int = 100) -> int:
    """Re-seal every merchant's connection under ``box``'s primary key; how many were rewritten.

    Raises ``ResealIncomplete`` (a ``CredentialsUnreadable``) after the others are done when any
    connection opens under no configured key, so one bad row never blocks the rotation.
    """
    unreadable: list[str] = []

    def reseal(merchant_id: str, sealed: bytes) -> bytes | None:
        if box.is_current(sealed):
            return None
        try:
            return box.reseal(sealed)
        except CredentialsUnreadable:
            unreadable.append(merchant_id)
            return None

    resealed = await store.catalog.reseal_connections(reseal, batch=batch)
    log.info("merchant_credentials_resealed", resealed=resealed, unreadable=len(unreadable))
    if unreadable:
        raise ResealIncomplete(unreadable, resealed)
    return resealed
