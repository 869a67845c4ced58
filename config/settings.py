"""pydantic-settings ``Settings``: every knob of the service, read from ``MULTICART_*`` variables.

Built once (``Settings()``) by the composition root and passed down; nothing else reads the
environment.
"""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MULTICART_", extra="ignore")

    database_url: str = Field(
        default="sqlite+aiosqlite:///./multicart.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port the API listens on.")
    admin_token: SecretStr = Field(
        default=SecretStr(""), description="Bearer token of the /v1/admin routes (empty: disabled)."
    )
    encryption_key: SecretStr = Field(
        default=SecretStr(""),
        description="Fernet key (urlsafe base64, 32 bytes) encrypting merchant credentials.",
    )
    default_currency: str = Field(
        default="USD", pattern="^[A-Z]{3}$", description="Currency of carts created without one."
    )
    create_deadline_s: float = Field(
        default=8.0, gt=0, description="Deadline of one cart creation's whole platform fan-out."
    )
    request_deadline_s: float = Field(
        default=8.0, gt=0, description="Deadline of other platform work done inside one request."
    )
    platform_connect_timeout_s: float = Field(
        default=2.0, gt=0, description="Longest wait to connect to a platform."
    )
    platform_attempt_timeout_s: float = Field(
        default=5.0, gt=0, description="Longest wait for one platform answer."
    )
    platform_max_attempts: int = Field(
        default=3, ge=1, le=10, description="Attempts per platform call, when a retry is safe."
    )
    platform_retry_after_cap_s: float = Field(
        default=5.0, ge=0, description="Longest wait a platform's Retry-After may impose."
    )
    platform_concurrency: int = Field(
        default=64, ge=1, description="Concurrent calls per platform (bulkhead)."
    )
    circuit_failure_threshold: int = Field(
        default=5, ge=1, description="Consecutive transient failures that open a store's circuit."
    )
    circuit_reset_s: float = Field(
        default=10.0, gt=0, description="How long an open circuit fails fast before a trial call."
    )
    max_skus: int = Field(default=100, ge=1, description="Lines per cart.")
    max_bags: int = Field(default=20, ge=1, description="Merchants per cart.")
    max_quantity: int = Field(default=999, ge=1, description="Quantity per line.")
    max_body_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Largest request body (413 above)."
    )
    max_metadata_entries: int = Field(default=20, ge=0, description="Entries of a cart's metadata.")
    cart_ttl_days: float = Field(
        default=30.0, gt=0, description="Carts expire this long after last change."
    )
    external_delete_retry_s: float = Field(
        default=5.0,
        gt=0,
        description="Interval of the background retry of failed external deletes.",
    )
    log_format: str = Field(
        default="auto",
        pattern="^(auto|json|console)$",
        description="json, console, or auto (console on a terminal).",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
