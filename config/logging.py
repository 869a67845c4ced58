"""structlog set up once: JSON lines in production, readable console lines in a terminal.

Every event, structlog's and stdlib logging's (aiohttp, asyncio) alike, goes through one
renderer and out as one whole line in one write (``write_line``), so processes sharing a
stderr never splice their lines. A processor scrubs secrets (tokens, keys, passwords) from
every event, wherever they appear, so that no credential can reach a log line by accident.

Hostile clients shaped the rest. aiohttp's header-parse errors were logged as
multi-line tracebacks holding the header's bytes (``Authorization: Bearer admin-secret\x01``
logged the admin token; a 9 KB ``Authorization`` header too), breaking the one-JSON-object-a-
line stream: records of aiohttp's loggers now keep only their message template and their
exception's class (``reduce_foreign``). Credential-shaped text is redacted in every string
(``redact_credentials``), and control characters (C0, DEL, C1: an ESC in a path reached the
terminal raw in console format) are escaped as ``\x1b`` in every string (``escape_controls``),
in both formats; our own tracebacks keep their newlines (JSON escapes them: still one line).
Unicode format and separator characters (categories Cf, Zl, Zp: ``/v1/carts/abc%E2%80%AEtxt.exe``
put a right-to-left override in ``path``, which a console shows as ``exe.txt``) are escaped as
``\u202e``. A secret typed into a URL path (``GET /v1/carts/<admin token>``) was logged
verbatim: in ``path``, ``url`` and ``query``, a run of 32 or more base64/hex characters is
redacted (``redact_url_secrets``); our ids (``mer_`` + 20 hex) and UUIDs stay readable.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import unicodedata
from collections.abc import MutableMapping
from typing import Any

import structlog

_SECRET_KEYS = ("token", "secret", "password", "api_key", "authorization", "access_token", "key")
_REDACTED = "[redacted]"


def _is_secret_key(key: str) -> bool:
    lowered = key.lower()
    if lowered.endswith("_id") or lowered in {"idempotency_key", "key_id"}:
        return False
    return any(part in lowered for part in _SECRET_KEYS)


# A token, a Fernet key, a 32-hex platform token: a run of 32 or more characters of the
# base64, base64url and hex alphabets. "/" is left out: it is the path's own separator, and
# with it every path of 32 characters or more (``/v1/admin/merchants/mer_...``) is one run; a
# standard-base64 secret's "/" splits it into segments the router reads apart anyway.
_URL_KEYS = frozenset({"path", "url", "query", "raw_path"})
_LONG_RUN = re.compile(r"[A-Za-z0-9_=+\-]{32,}")
# "-" is base64url's, so a UUID is one run of 36: kept when the run is exactly one UUID.
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def _redact_run(match: re.Match[str]) -> str:
    return match.group() if _UUID.fullmatch(match.group()) else _REDACTED


def redact_url_secrets(text: str) -> str:
    """``text`` (a path, URL or query) with each run of 32+ base64/hex characters redacted."""
    return _LONG_RUN.sub(_redact_run, text)


def _scrub_item(key: Any, value: Any) -> Any:
    if _is_secret_key(str(key)):
        return _REDACTED
    if isinstance(value, str) and str(key).lower() in _URL_KEYS:
        return redact_url_secrets(value)
    return _scrub(value)


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _scrub_item(k, v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def scrub_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        event_dict[key] = _scrub_item(key, event_dict[key])
    return event_dict


# A header named with its value (``Authorization: Basic x``, ``X-Auth-Token=x``), a scheme and
# its credentials anywhere (``Bearer x``), and an app key by its prefix (``KEY_PREFIX`` in
# orchestrator/service/secrets.py; config must not import it). The value ends at whitespace,
# a quote or a separator: a control character after a key (``\x0b``) ends it too.
_HEADER_VALUE = re.compile(
    r"(?i)\b(authorization|proxy-authorization|x-auth-token|x-api-key)(\s*[:=]\s*)"
    r"(?:(?:bearer|basic|digest|token)\s+)?[^\s\"',;]+"
)
_SCHEME_VALUE = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]+=*")
_APP_KEY = re.compile(r"mc_live_[A-Za-z0-9_\-]+")


def _redact_text(text: str) -> str:
    if not text:
        return text
    text = _HEADER_VALUE.sub(r"\1\2" + _REDACTED, text)
    text = _SCHEME_VALUE.sub(r"\1\2" + _REDACTED, text)
    return _APP_KEY.sub("mc_live_" + _REDACTED, text)


_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROLS_BUT_NEWLINES = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


_FORMAT_CATEGORIES = frozenset({"Cf", "Zl", "Zp"})


def _hex(match: re.Match[str]) -> str:
    return f"\\x{ord(match.group()):02x}"


def _escape(text: str, controls: re.Pattern[str]) -> str:
    """C0/DEL/C1 (``controls``) as ``\\x1b``, then format and line/paragraph separators
    (U+200B-U+200F, U+202A-U+202E, U+2066-U+2069, U+FEFF, U+2028/2029...) as ``\\u202e``.
    ``isprintable`` (False for every one of them) keeps the common case one C call."""
    text = controls.sub(_hex, text)
    if text.isprintable():
        return text
    return "".join(
        (f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
        if unicodedata.category(c) in _FORMAT_CATEGORIES
        else c
        for c in text
    )


def _deep(value: Any, fix: Any) -> Any:
    if isinstance(value, str):
        return fix(value)
    if isinstance(value, dict):
        return {fix(k) if isinstance(k, str) else k: _deep(v, fix) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_deep(v, fix) for v in value]
    return value


def redact_credentials(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Credential-shaped text (``Bearer x``, ``X-Auth-Token: x``, an app key) in any string."""
    for key, value in list(event_dict.items()):
        event_dict[key] = _deep(value, _redact_text)
    return event_dict


def escape_controls(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """C0, DEL and C1 characters in keys and string values, as ``\\x1b``, and Unicode format
    and separator characters as ``\\u202e``; the ``exception`` field (a traceback
    ``format_exc_info`` made, after this) keeps its newlines."""
    fixed = {}
    for key, value in event_dict.items():
        name = _escape(key, _CONTROLS) if isinstance(key, str) else key
        if name == "exception" and isinstance(value, str):
            fixed[name] = _escape(value, _CONTROLS_BUT_NEWLINES)
        else:
            fixed[name] = _deep(value, lambda text: _escape(text, _CONTROLS))
    event_dict.clear()
    event_dict.update(fixed)
    return event_dict


_REDUCED_LOGGERS = ("aiohttp",)


def reduce_foreign(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A record of aiohttp's loggers: its message template (never its args) and its
    exception's class (never its message or traceback): aiohttp puts header bytes in both."""
    record = event_dict.get("_record")
    if not isinstance(record, logging.LogRecord) or not record.name.startswith(_REDUCED_LOGGERS):
        return event_dict
    event_dict["event"] = str(record.msg)
    exc_info = event_dict.pop("exc_info", None)
    event_dict.pop("stack_info", None)
    if isinstance(exc_info, tuple) and exc_info[0] is not None:
        event_dict["error"] = exc_info[0].__name__
    elif isinstance(exc_info, BaseException):
        event_dict["error"] = type(exc_info).__name__
    return event_dict


_WRITE_LOCK = threading.Lock()


def write_line(line: str) -> None:
    """Write ``line`` and its newline to whatever ``sys.stderr`` is now, in ONE write.

    Why one: ``serve --workers N``'s processes share one stderr (a pipe or a file), and a line
    written in pieces (``print`` writes the text, then the newline, on an unbuffered stream)
    lets another process's line land between them: two events on one line. One ``os.write``
    of the whole line is atomic on a file opened for appending and, up to ``PIPE_BUF`` (4 KiB
    on Linux), on a pipe; a longer line on a pipe may still be split by the kernel (POSIX
    promises no more). The stream is looked up on each line, not kept: a replaced stream (a
    test's capture, a daemon's redirection) that was later closed would otherwise break
    every log line after it; one without a descriptor (a capture in memory) gets one write.
    """
    text = line + "\n"
    stream = sys.stderr
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        stream.write(text)
        stream.flush()
        return
    data = text.encode("utf-8", "backslashreplace")
    with _WRITE_LOCK:  # threads of one process: a partial write's rest stays next to it
        stream.flush()  # text written to the stream before this line stays before it
        while data:
            data = data[os.write(fd, data) :]


class _LineLogger:
    """structlog's logger: each rendered event goes out through ``write_line``."""

    def msg(self, message: str) -> None:
        write_line(message)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


class _LineHandler(logging.Handler):
    """stdlib logging (aiohttp's, asyncio's) rendered like structlog's events, one line each."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            write_line(self.format(record))
        except Exception:
            self.handleError(record)


def configure_logging(fmt: str = "auto", level: str = "INFO") -> None:
    """Configure structlog, and stdlib logging through the same renderer, once per process."""
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamper,
            scrub_secrets,
            structlog.processors.format_exc_info,
            redact_credentials,  # after: a traceback's text is redacted too
            escape_controls,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=lambda *_: _LineLogger(),
        cache_logger_on_first_use=True,
    )
    handler = _LineHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.contextvars.merge_contextvars,
                structlog.stdlib.add_log_level,
                structlog.stdlib.add_logger_name,
                timestamper,
                reduce_foreign,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                scrub_secrets,
                structlog.processors.format_exc_info,
                redact_credentials,
                escape_controls,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _LineHandler)]:
        root.removeHandler(old)  # configured again (tests): one handler, the latest
    root.addHandler(handler)
    root.setLevel(max(numeric_level, logging.WARNING))
