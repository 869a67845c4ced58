"""A platform's words, made fit to show an app: printable, one line, bounded, no credentials.

Why a module of its own: error texts come from merchants' endpoints (a BigCommerce ``title``
and ``detail``, an Elastic Path ``errors[].detail``, a Shopify ``userErrors[].message``), and
multicart returned them to apps verbatim (``data.platform_message``). A hostile or compromised
endpoint could then put anything in front of an app and its users: terminal escapes (ESC),
bidi overrides that reorder what is read (U+202E), zero-width characters, kilobytes of text,
or a token it echoes back. ``platform_text`` is applied where each adapter reads such a text
and again where one reaches an answer (``orchestrator.service.merge``, ``.references``).
"""

from __future__ import annotations

import re
import unicodedata

# The bound of ``data.platform_message`` (the OpenAPI document's maxLength says the same).
PLATFORM_MESSAGE_MAX = 200
REDACTED = "[redacted]"
# Only the first ``limit * _WINDOW`` characters are read (cut at a space, so no credential is
# cut short of its pattern): measured, a 10 kB text took 2.8 ms and the 2 MB an answer may
# hold would take about 0.6 s of the event loop; a 2,000-character window takes 0.5 ms.
_WINDOW = 10

# Unicode categories never shown: controls (Cc: ESC, NUL, DEL, C1), format characters (Cf:
# bidi overrides and isolates U+202A-U+202E, U+2066-U+2069, zero-width U+200B-U+200D, BOM),
# private use (Co), surrogates (Cs), unassigned (Cn), line and paragraph separators (Zl, Zp).
_HIDDEN = frozenset({"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"})
_SPACES = re.compile(r"\s+")
# What looks like a credential: an auth scheme and its value, a key=value whose key names a
# secret, platform token prefixes (Shopify shpat_/shpss_/shpca_), JWTs, and long runs of
# token characters (32 or more: hex keys, base64 secrets; a UUID is let through, and "/" ends a
# run, so paths and GIDs such as gid://shopify/ProductVariant/1 stay readable). A setting's
# name (``MULTICART_PLATFORM_HOST_ALLOWLIST``, 33 characters, in our own refusal's text) is
# let through too: it was redacted as if a credential, hiding what the operator must change.
_CREDENTIALS = re.compile(
    r"(?i)\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|\b(?:access_token|refresh_token|client_secret|client_id|api[_-]?key|token|secret|"
    r"password|passwd|x-auth-token|authorization|key)\b\s*[:=]\s*(?:(?:bearer|basic)\s+)?\S+"
    r"|\bshp[a-z]{2}_[A-Za-z0-9]{8,}"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}(?:\.[A-Za-z0-9_-]+)?"
    r"|(?<![A-Za-z0-9+_=-])(?![0-9a-fA-F]{8}-[0-9a-fA-F]{4}-)"
    r"(?!(?-i:MULTICART_[A-Z0-9_]+)(?![A-Za-z0-9+_=-]))[A-Za-z0-9+_=-]{32,}"
)
# ANSI escape sequences (CSI ``ESC [ ... m``, OSC ``ESC ] ... BEL``): dropped whole, not
# only their ESC, so no ``[31m`` is left behind. ``errors.clip`` (every ``PlatformError``'s
# message) has already turned control characters into U+FFFD, so that introduces one too.
_ESC = "[\x1b\ufffd]"
_ANSI = re.compile(rf"{_ESC}(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b\ufffd]*(?:\x07|\ufffd|{_ESC}\\)?)")


def platform_text(text: object, limit: int = PLATFORM_MESSAGE_MAX) -> str:
    """``text`` with hidden characters dropped, whitespace collapsed to single spaces,
    credential-like runs replaced by ``[redacted]``, cut to ``limit`` characters (an ellipsis
    marking the cut)."""
    raw = str(text)
    window = limit * _WINDOW
    if len(raw) > window:  # never shown past the limit: not worth a regex pass over 2 MB
        head = raw[:window]
        raw = head.rsplit(None, 1)[0] if any(c.isspace() for c in head) else head
    raw = _ANSI.sub("", raw)
    shown = "".join(" " if c.isspace() else c for c in raw if not _hidden(c))
    shown = _SPACES.sub(" ", shown).strip()
    shown = _CREDENTIALS.sub(REDACTED, shown)
    return shown if len(shown) <= limit else shown[: limit - 1].rstrip() + "\u2026"


def _hidden(char: str) -> bool:
    if char == "\ufffd":  # what ``errors.clip`` left of a control character
        return True
    return not char.isspace() and unicodedata.category(char) in _HIDDEN
