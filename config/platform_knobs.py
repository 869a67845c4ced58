"""How platform calls are tuned: the knobs, written once, and where ``Settings`` reads them.

``PlatformKnobs`` holds each knob's default, bounds and words. ``Settings`` takes one flat
field per knob from it (``FlatPlatformKnobs``: ``MULTICART_PLATFORM_MAX_ATTEMPTS``,
``MULTICART_CIRCUIT_RESET_S``) for every platform, and the settings sections
(``PlatformSections``) that override knobs for one platform: ``MULTICART_SHOPIFY__MAX_ATTEMPTS=2``
or ``MULTICART_SHOPIFY='{"max_attempts": 2}'``. Config knows no platform: any section is read,
and a platform's row in the adapters' table names its own.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsError

ENV_PREFIX = "MULTICART_"
SECTION_DELIMITER = "__"


class PlatformKnobs(BaseModel):
    """How a platform's calls are tuned: each knob's default, bounds and words, written once.

    The flat variables take these for every platform; a settings section holds the ones a
    platform overrides (those it sets: ``model_fields_set``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connect_timeout_s: float = Field(
        default=2.0, gt=0, description="Longest wait to connect to a platform."
    )
    attempt_timeout_s: float = Field(
        default=5.0, gt=0, description="Longest wait for one platform answer."
    )
    max_attempts: int = Field(
        default=3, ge=1, le=10, description="Attempts per platform call, when a retry is safe."
    )
    retry_after_cap_s: float = Field(
        default=5.0, ge=0, description="Longest wait a platform's Retry-After may impose."
    )
    concurrency: int = Field(
        default=64, ge=1, description="Concurrent calls per platform (bulkhead, connection pool)."
    )
    store_concurrency: int = Field(
        default=16,
        ge=1,
        description="Concurrent calls per merchant store, so a hung store never starves the rest.",
    )
    circuit_failure_threshold: int = Field(
        default=5, ge=1, description="Consecutive transient failures that open a store's circuit."
    )
    circuit_reset_s: float = Field(
        default=10.0, gt=0, description="How long an open circuit fails fast before a trial call."
    )
    max_answer_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="Largest platform answer body read; a longer one is a platform error.",
    )


class PlatformSettings(PlatformKnobs):
    """What one platform's adapters are tuned by: the flat knobs with its section's on top,
    and where merchant URLs may point (``adapters.calls.connections.UrlPolicy``: checked when
    a merchant is registered and again, on the resolved addresses, at every connect)."""

    allow_private_urls: bool = False
    allowed_hosts: tuple[str, ...] = ()
    allowed_ports: tuple[int, ...] = ()  # besides 443; any port when private URLs are allowed


def flat_name(knob: str) -> str:
    """The ``Settings`` field (and so the variable) of a knob for every platform:
    ``platform_max_attempts``; the breakers' keep their own words (``circuit_reset_s``)."""
    return knob if knob.startswith("circuit_") else f"platform_{knob}"


# ``Settings``' base: one field per knob, with the knob's default, bounds and words.
if TYPE_CHECKING:
    FlatPlatformKnobs = BaseSettings
else:
    FlatPlatformKnobs = create_model(
        "FlatPlatformKnobs",
        __base__=BaseSettings,
        **{
            flat_name(name): (field.annotation, field)
            for name, field in PlatformKnobs.model_fields.items()
        },
    )


class PlatformSections(PydanticBaseSettingsSource):
    """The settings sections from the environment: ``MULTICART_<SECTION>__<KNOB>`` for a
    section that is no field of ``Settings``, and ``MULTICART_<SECTION>`` holding a JSON
    object; one knob's variable wins over the object's entry. Names ignore case."""

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # the fields are the environment source's

    def __call__(self) -> dict[str, Any]:
        fields = set(self.settings_cls.model_fields)
        sections: dict[str, dict[str, Any]] = {}
        knobs: dict[str, dict[str, Any]] = {}
        for key, value in os.environ.items():
            name = key.lower()
            if not name.startswith(ENV_PREFIX.lower()):
                continue
            name = name[len(ENV_PREFIX) :]
            section, nested, knob = name.partition(SECTION_DELIMITER)
            if not section or section in fields:
                continue
            if nested:
                knobs.setdefault(section, {})[knob] = value
            elif value.lstrip().startswith("{"):
                sections[section] = _json_object(key, value)
        for section, chosen in knobs.items():
            sections[section] = {**sections.get(section, {}), **chosen}
        return sections


def _json_object(key: str, value: str) -> dict[str, Any]:
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise SettingsError(f"{key} is not a JSON object: {exc}") from None
    if not isinstance(parsed, dict):
        raise SettingsError(f"{key} is not a JSON object")
    return parsed
