"""pydantic-settings ``Settings``: every knob of the service, read from ``MULTICART_*`` variables.

Built once (``Settings()``) by the composition root and passed down; nothing else reads the
environment. Platform calls are tuned by the knobs of ``config.platform_knobs``: flat for every
platform, and per platform under its settings section (``MULTICART_SHOPIFY__ATTEMPT_TIMEOUT_S=3``);
``Settings.for_platform`` merges the two, so each adapter receives only its own part.
"""

from __future__ import annotations

from limits import parse_many
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.platform_knobs import (
    ENV_PREFIX,
    SECTION_DELIMITER,
    FlatPlatformKnobs,
    PlatformKnobs,
    PlatformSections,
    PlatformSettings,
    flat_name,
)


def divided(rates: str, workers: int) -> str:
    """``'100/second;3000/minute'`` for one of ``workers`` processes: each amount over N,
    rounded up (a process never gets 0)."""
    if not rates.strip():
        return rates
    return ";".join(
        f"{-(-item.amount // workers)}/{item.multiples} {item.GRANULARITY.name}"
        for item in parse_many(rates)
    )


class Settings(FlatPlatformKnobs):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter=SECTION_DELIMITER, extra="allow"
    )

    # The settings sections, by name (``shopify``): each platform's overrides of the flat
    # knobs, read by ``PlatformSections`` (or given by keyword: ``Settings(shopify={...})``).
    __pydantic_extra__: dict[str, PlatformKnobs] = Field(init=False)

    database_url: str = Field(
        default="sqlite+aiosqlite:///./multicart.db",
        description="SQLAlchemy async URL: sqlite+aiosqlite:///path or postgresql+asyncpg://...",
    )
    host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    port: int = Field(default=8080, ge=0, le=65535, description="Port the API listens on.")
    header_timeout_s: float = Field(
        default=10.0,
        ge=0,
        description="Seconds a connection has to send a request line and all its headers, from "
        "its start or from the first byte of its next request; else it is closed (0: no limit).",
    )
    keepalive_timeout_s: float = Field(
        default=15.0,
        ge=0,
        description="Seconds an idle keep-alive connection is held open before it is closed.",
    )
    max_connections: int = Field(
        default=1000,
        ge=0,
        description="Open connections per process (per worker under --workers); one accepted "
        "above it is closed at once (0: no cap).",
    )
    admin_token: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer token of the /v1/admin routes (empty: disabled); a list of one, "
        "joined to MULTICART_ADMIN_TOKENS when both are set.",
    )
    admin_tokens: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer tokens of the /v1/admin routes, comma-separated, each accepted: "
        "rotate by adding the new one on every process, then removing the old one.",
    )
    key_cache_s: float = Field(
        default=2.0,
        ge=0,
        description="Seconds a process trusts its cached answer for an app's API key: a "
        "revoked key or a disabled app is refused by every process within this bound "
        "(0: every request reads the database).",
    )
    key_cache_size: int = Field(
        default=10_000, ge=1, description="API keys each process's key cache holds."
    )
    metrics_token: SecretStr = Field(
        default=SecretStr(""),
        description="Bearer token /metrics requires (empty: /metrics is open to whoever reaches "
        "its port); compared in constant time, the anonymous rate limit still applies.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=0,
        le=65535,
        description="Serve /metrics only on this port (the API's port answers 404 for it); "
        "unset: /metrics is on the API's port. Refused with --workers above 1.",
    )
    metrics_host: str = Field(
        default="",
        description="Address of MULTICART_METRICS_PORT (empty: MULTICART_HOST).",
    )
    metrics_cache_s: float = Field(
        default=5.0,
        ge=0,
        description="Seconds /metrics reuses its database counts (carts, bags, outbox): a "
        "scrape flood costs one count per period (0: counted on every scrape).",
    )
    encryption_key: SecretStr = Field(
        default=SecretStr(""),
        description="Fernet key (urlsafe base64, 32 bytes) encrypting merchant credentials.",
    )
    encryption_keys_old: SecretStr = Field(
        default=SecretStr(""),
        description="Older Fernet keys, comma-separated: they only decrypt, until re-sealed.",
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
    max_in_flight: int = Field(
        default=64,
        ge=0,
        description="Requests handled at once; above it 503 overloaded at once (0: no cap).",
    )
    body_timeout_s: float = Field(
        default=5.0,
        gt=0,
        description="Base time a request body may take to arrive; it grows with the body's "
        "declared length at MULTICART_BODY_MIN_RATE (408 request_timeout past it). A body is "
        "read before the request takes an in-flight slot.",
    )
    body_min_rate: int = Field(
        default=16_384,
        ge=1,
        description="Slowest a request body may arrive, in bytes per second.",
    )
    app_in_flight_reserve: float = Field(
        default=0.25,
        ge=0,
        lt=1,
        description="Share of MULTICART_MAX_IN_FLIGHT no single app can take: apps holding "
        "slots divide the rest evenly (429 rate_limited, reason in_flight); 0: no per-app "
        "bound.",
    )
    app_rate_limit: str = Field(
        default="100/second",
        description="Requests per app and process, in the `limits` notation ('100/second', "
        "'100/second;3000/minute'); 429 rate_limited past it; empty: no limit. Under "
        "`serve --workers N` each process takes 1/N of it.",
    )
    app_max_live_carts: int = Field(
        default=50_000,
        ge=0,
        description="Live (not expired) carts one app may hold; a create past it answers 403 "
        "quota_exceeded (0: no quota).",
    )
    anonymous_rate_limit: str = Field(
        default="50/second",
        description="Requests without an app (probes, /metrics, /openapi.json, unknown routes) "
        "per client address and process ('limits' notation); past it 429 rate_limited "
        "(reason anonymous); empty: no limit.",
    )
    auth_failure_limit: str = Field(
        default="20/minute",
        description="Failed authentications allowed per client address and per token prefix "
        "('limits' notation); past it 429 rate_limited (reason failed_auth); empty: none.",
    )
    db_wait_s: float = Field(
        default=10.0,
        gt=0,
        description="Longest wait for a database connection or write lock outside a request.",
    )
    max_skus: int = Field(default=100, ge=1, le=1000, description="Lines per cart.")
    max_bags: int = Field(default=20, ge=1, description="Merchants per cart.")
    max_quantity: int = Field(default=999, ge=1, le=10_000, description="Quantity per line.")
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
    outbox_give_up_after_s: float = Field(
        default=129_600.0,
        gt=0,
        description="An external delete failing this long (from its first real failure; "
        "throttling and open circuits do not count) becomes a dead letter, kept for "
        "`multicart outbox retry` (default 36 h).",
    )
    catalog_refresh_s: float = Field(
        default=1.0,
        ge=0,
        description="Staleness bound of each process's catalog cache: how often it checks the "
        "catalog's version (0: no cache, every create reads the catalog).",
    )
    catalog_cache_size: int = Field(
        default=10_000, ge=1, description="SKUs (and as many merchants) the catalog cache holds."
    )
    log_format: str = Field(
        default="auto",
        pattern="^(auto|json|console)$",
        description="json, console, or auto (console on a terminal).",
    )
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    allow_private_platform_urls: bool = Field(
        default=False,
        description="Allow merchant URLs over plain http or to private, loopback or link-local "
        "hosts (the sandbox, tests). Off: https to a public host only, and every connect "
        "refuses a host that resolves to such an address.",
    )
    platform_host_allowlist: str = Field(
        default="",
        description="Comma-separated hosts merchant URLs may use (`.example.com`: every name "
        "under it), at registration and at every connect; empty: any public host.",
    )
    platform_allowed_ports: str = Field(
        default="",
        pattern=r"^\s*(?:[0-9]{1,5}\s*(?:,\s*[0-9]{1,5}\s*)*)?$",
        description="Comma-separated ports merchant URLs may name besides 443 (e.g. `8443`); "
        "empty: 443 only. MULTICART_ALLOW_PRIVATE_PLATFORM_URLS lifts the rule.",
    )

    @field_validator("app_rate_limit", "auth_failure_limit", "anonymous_rate_limit")
    @classmethod
    def _rate_notation(cls, value: str) -> str:
        if value.strip():
            try:
                parse_many(value)
            except ValueError as exc:
                raise ValueError(
                    f"not a rate in the limits notation ('100/second'): {exc}"
                ) from None
        return value.strip()

    def per_process(self, workers: int) -> Settings:
        """These settings for one of ``workers`` processes: each takes 1/N of every rate."""
        if workers <= 1:
            return self
        return self.model_copy(
            update={
                "app_rate_limit": divided(self.app_rate_limit, workers),
                "auth_failure_limit": divided(self.auth_failure_limit, workers),
                "anonymous_rate_limit": divided(self.anonymous_rate_limit, workers),
            }
        )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sections = PlatformSections(settings_cls)
        return init_settings, env_settings, sections, dotenv_settings, file_secret_settings

    def admin_token_list(self) -> list[str]:
        """Every accepted admin token: MULTICART_ADMIN_TOKEN's and MULTICART_ADMIN_TOKENS'
        (comma-separated, blanks and spaces ignored), each once, in that order."""
        listed = [self.admin_token.get_secret_value().strip()]
        listed += self.admin_tokens.get_secret_value().split(",")
        return list(dict.fromkeys(token.strip() for token in listed if token.strip()))

    @property
    def platform_overrides(self) -> dict[str, PlatformKnobs]:
        """Each settings section's knobs, by section name (only those it sets override)."""
        return dict(self.__pydantic_extra__ or {})

    def platform_defaults(self) -> PlatformSettings:
        """Every platform's part before its section: the flat knobs and the URL policy."""
        return PlatformSettings(
            **{name: getattr(self, flat_name(name)) for name in PlatformKnobs.model_fields},
            allow_private_urls=self.allow_private_platform_urls,
            allowed_hosts=tuple(
                h.strip().rstrip(".").lower()
                for h in self.platform_host_allowlist.split(",")
                if h.strip()
            ),
            allowed_ports=tuple(
                int(p) for p in self.platform_allowed_ports.split(",") if p.strip()
            ),
        )

    def for_platform(self, section: str) -> PlatformSettings:
        """The part of the platform whose settings section is ``section`` (``shopify``; case
        does not matter): the flat values, with the section's on top. A platform without a
        section takes the flat values."""
        overrides = self.platform_overrides.get(section.lower())
        chosen = overrides.model_dump(include=overrides.model_fields_set) if overrides else {}
        merged = self.platform_defaults().model_copy(update=chosen)
        if merged.store_concurrency > merged.concurrency:  # a store may not take every slot
            merged = merged.model_copy(update={"store_concurrency": merged.concurrency})
        return merged
