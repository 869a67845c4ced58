"""Who an admin is, without the token: the id the audit log and the admin token list share.

An audit entry, a log line or an answer must name the admin who acted without ever holding
what would let a reader act as them. The first 12 hex characters of the token's SHA-256 name a
token (48 bits: no two tokens an operator holds collide by chance) and give nothing back of it.
"""

from __future__ import annotations

import hashlib

TOKEN_ID_LENGTH = 12


def admin_token_id(token: str) -> str:
    """The public id of an admin token: the first 12 hex characters of its SHA-256."""
    return hashlib.sha256(token.encode()).hexdigest()[:TOKEN_ID_LENGTH]
