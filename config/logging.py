"""structlog set up once: JSON lines in production, readable console lines in a terminal.

Every event, structlog's and stdlib logging's (aiohttp, asyncio) alike, goes through one
renderer and out as one whole line in one write (``write_line``), so processes sharing a
stderr never splice their lines. A processor scrubs secrets (tokens, keys, passwords) from
every event, wherever they appear, so that no credential can reach a log line by accident.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
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


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: (_REDACTED if _is_secret_key(str(k)) else _scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def scrub_secrets(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        if _is_secret_key(key):
            event_dict[key] = _REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
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
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                scrub_secrets,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _LineHandler)]:
        root.removeHandler(old)  # configured again (tests): one handler, the latest
    root.addHandler(handler)
    root.setLevel(max(numeric_level, logging.WARNING))
