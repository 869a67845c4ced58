"""The platform knobs' variables, each form as operators write it: flat for every platform,
and per platform under its settings section (one variable per knob, or a JSON object)."""

import pytest
from pydantic import ValidationError

from config import Settings
from orchestrator.cli.checks import ConfigError, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("MULTICART_"):
            monkeypatch.delenv(name)


def test_the_flat_variables_tune_every_platform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MULTICART_PLATFORM_MAX_ATTEMPTS", "4")
    monkeypatch.setenv("MULTICART_CIRCUIT_RESET_S", "3.5")
    monkeypatch.setenv("MULTICART_PLATFORM_MAX_ANSWER_BYTES", "4096")
    settings = Settings()
    assert settings.platform_max_attempts == 4 and settings.circuit_reset_s == 3.5
    for section in ("SHOPIFY", "bigcommerce", "elastic_path", "a_platform_without_a_section"):
        tuned = settings.for_platform(section)
        assert (tuned.max_attempts, tuned.circuit_reset_s, tuned.max_answer_bytes) == (4, 3.5, 4096)


def test_the_defaults() -> None:
    tuned = Settings().for_platform("SHOPIFY")
    assert tuned.connect_timeout_s == 2.0 and tuned.attempt_timeout_s == 5.0
    assert tuned.max_attempts == 3 and tuned.retry_after_cap_s == 5.0
    assert tuned.concurrency == 64 and tuned.store_concurrency == 16
    assert tuned.circuit_failure_threshold == 5 and tuned.circuit_reset_s == 10.0
    assert tuned.max_answer_bytes == 2 * 1024 * 1024
    assert not tuned.allow_private_urls and tuned.allowed_hosts == tuned.allowed_ports == ()


def test_a_section_variable_overrides_one_knob_of_one_platform(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MULTICART_PLATFORM_ATTEMPT_TIMEOUT_S", "4")
    monkeypatch.setenv("MULTICART_SHOPIFY__ATTEMPT_TIMEOUT_S", "3")
    monkeypatch.setenv("MULTICART_BIGCOMMERCE__STORE_CONCURRENCY", "8")
    settings = Settings()
    assert settings.for_platform("SHOPIFY").attempt_timeout_s == 3
    assert settings.for_platform("BIGCOMMERCE").attempt_timeout_s == 4
    assert settings.for_platform("BIGCOMMERCE").store_concurrency == 8
    assert settings.for_platform("ELASTIC_PATH").store_concurrency == 16


def test_a_section_as_a_json_object(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MULTICART_ELASTIC_PATH", '{"max_attempts": 2, "concurrency": 4}')
    monkeypatch.setenv("MULTICART_ELASTIC_PATH__MAX_ATTEMPTS", "5")  # the knob's own wins
    tuned = Settings().for_platform("ELASTIC_PATH")
    assert (tuned.max_attempts, tuned.concurrency) == (5, 4)
    assert tuned.store_concurrency == 4  # a store may not take every slot


def test_a_section_given_by_keyword() -> None:
    settings = Settings(platform_max_attempts=4, shopify={"max_attempts": 2})
    assert settings.for_platform("SHOPIFY").max_attempts == 2
    assert settings.for_platform("BIGCOMMERCE").max_attempts == 4


def test_a_new_platform_s_section_needs_no_config_change(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MULTICART_STUB_PLATFORM__MAX_ATTEMPTS", "7")
    assert Settings().for_platform("STUB_PLATFORM").max_attempts == 7


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("MULTICART_PLATFORM_MAX_ATTEMPTS", "0"),
        ("MULTICART_CIRCUIT_RESET_S", "0"),
        ("MULTICART_SHOPIFY__MAX_ATTEMPTS", "11"),
        ("MULTICART_BIGCOMMERCE__MAX_ANSWER_BYTES", "10"),
        ("MULTICART_SHOPIFY__NO_SUCH_KNOB", "1"),
    ],
)
def test_a_bad_value_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()
    with pytest.raises(ConfigError, match=f"{variable}: "):
        load_settings()


def test_other_variables_are_not_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MULTICART_TEST_DATABASE_URL", "postgresql+asyncpg://x/y")
    monkeypatch.setenv("MULTICART_SHARED_DIR", "/tmp")
    assert Settings().platform_overrides == {}
