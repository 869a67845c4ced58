"""What ``multicart`` checks before it serves or touches a database, and the one error it shows.

An operator's mistakes (a missing or invalid setting, a weak admin token, a port in use, a
database not migrated) end with one line saying what to do and exit status 2, never a
traceback: ``ConfigError`` carries that line from wherever it is found to ``main``.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from pydantic import ValidationError

from config import Settings

CONFIG_ERROR = 2


class ConfigError(Exception):
    """A setting or the environment is wrong; the message is the one line shown."""


def version_text() -> str:
    try:
        return version("multicart")
    except PackageNotFoundError:
        return "0.0.0"


def masked(url: str) -> str:
    """``url`` with its password hidden, for messages and logs."""
    from sqlalchemy import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def load_settings(**overrides: Any) -> Settings:
    """``Settings`` from the environment, or ``ConfigError`` naming each bad variable."""
    if os.environ.get("DATABASE_URL") and not os.environ.get("MULTICART_DATABASE_URL"):
        print(
            "multicart: DATABASE_URL is set but not read; set MULTICART_DATABASE_URL "
            "to use that database",
            file=sys.stderr,
        )
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"MULTICART_{'__'.join(str(p) for p in err['loc']).upper()}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc


ADMIN_TOKEN_MIN_LENGTH = 24
ADMIN_TOKEN_MIN_DISTINCT = 8


def check_admin_token(token: str, name: str = "MULTICART_ADMIN_TOKEN") -> None:
    """``ConfigError`` for a guessable admin token: ``MULTICART_ADMIN_TOKEN=a`` was accepted.
    ``name`` says which one in the message (the token itself never is).

    Empty stays allowed (admin routes off). 24 characters with 8 distinct ones refuses
    ``a``, ``admin-secret`` and ``aaaa...``; ``secrets.token_urlsafe(32)`` (43) always passes."""
    if token and (
        len(token) < ADMIN_TOKEN_MIN_LENGTH or len(set(token)) < ADMIN_TOKEN_MIN_DISTINCT
    ):
        raise ConfigError(
            f"{name} is too weak: it needs at least {ADMIN_TOKEN_MIN_LENGTH} "
            f"characters, {ADMIN_TOKEN_MIN_DISTINCT} of them distinct (make one with: python -c "
            '"import secrets; print(secrets.token_urlsafe(32))"), or empty to turn admin routes off'
        )
    if token and not (token.isascii() and token.isprintable() and " " not in token):
        # A Bearer credential is printable ASCII without spaces (auth.bearer_token): any other
        # token could never be sent, and every admin request would be 401.
        raise ConfigError(
            f"{name} must be printable ASCII without spaces (make one with: "
            'python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )


def check_admin_tokens(settings: Settings) -> None:
    """Every admin token passes ``check_admin_token``: MULTICART_ADMIN_TOKEN's, and each of
    MULTICART_ADMIN_TOKENS' by its position (1 for the first)."""
    check_admin_token(settings.admin_token.get_secret_value())
    listed = [t.strip() for t in settings.admin_tokens.get_secret_value().split(",")]
    for at, token in enumerate((t for t in listed if t), start=1):
        check_admin_token(token, f"MULTICART_ADMIN_TOKENS (token {at})")


def check_serving_settings(settings: Settings) -> None:
    """What ``serve`` needs beyond types: a strong admin token (or none), settings sections
    that name platforms, a usable encryption key and database URL."""
    from orchestrator.service.secrets import CredentialBox
    from orchestrator.store.engines import make_engine

    check_admin_tokens(settings)
    check_platform_sections(settings)
    try:
        CredentialBox.from_settings(settings)
    except ValueError as exc:
        hint = "" if "keygen" in str(exc) else " (`multicart keygen` prints a new key)"
        raise ConfigError(f"{exc}{hint}") from exc
    try:
        make_engine(settings.database_url, null_pool=True)
    except Exception as exc:
        raise ConfigError(f"MULTICART_DATABASE_URL: {exc}") from exc


def check_platform_sections(settings: Settings) -> None:
    """``ConfigError`` for a settings section no platform has: ``MULTICART_SHOPFY__...`` (a
    typo) would otherwise tune nothing, silently."""
    from adapters import PLATFORMS

    known = sorted(spec.settings_section for spec in PLATFORMS.values())
    unknown = sorted(set(settings.platform_overrides) - set(known))
    if unknown:
        raise ConfigError(
            f"MULTICART_{unknown[0].upper()}__*: no platform has the settings section"
            f" {unknown[0]!r} (the platforms' sections: {', '.join(known)})"
        )


def backend(url: str) -> str:
    from sqlalchemy import make_url

    return make_url(url).get_backend_name()


async def check_schema(url: str) -> None:
    """``ConfigError`` unless the database at ``url`` answers and is at the latest migration."""
    from orchestrator.store import Store

    try:
        store = Store.from_url(url)
    except Exception as exc:  # an unsupported or unparsable URL
        raise ConfigError(f"MULTICART_DATABASE_URL: {exc}") from exc
    try:
        state = await store.schema_state()
    except Exception as exc:
        raise ConfigError(f"cannot reach the database {masked(url)}: {type(exc).__name__}") from exc
    finally:
        await store.close()
    if not state.ok:
        raise ConfigError(state.problem())


def migrate(url: str) -> None:
    """``alembic upgrade head`` on ``url``, or ``ConfigError`` saying why it could not."""
    from orchestrator.store.migrate import upgrade_sync

    try:
        upgrade_sync(url)
    except ValueError as exc:  # an unsupported URL
        raise ConfigError(str(exc)) from exc
    except (TimeoutError, OSError) as exc:
        raise ConfigError(f"cannot reach the database {masked(url)}: {exc}") from exc
    except Exception as exc:  # the driver's connection or permission errors
        if type(exc).__module__.startswith(("sqlalchemy", "asyncpg", "sqlite3")):
            raise ConfigError(
                f"cannot migrate the database {masked(url)}: {type(exc).__name__}: "
                f"{str(exc).splitlines()[0] if str(exc) else ''}"
            ) from exc
        raise
