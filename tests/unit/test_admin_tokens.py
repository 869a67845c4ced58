"""The admin tokens' list: both variables read, each token held to the strength check, and a
refusal naming the variable and the token's position, never the token."""

from __future__ import annotations

import secrets

import pytest
from pydantic import SecretStr

from config import Settings
from orchestrator.cli.checks import ConfigError, check_admin_tokens


def settings(one: str = "", many: str = "") -> Settings:
    return Settings(admin_token=SecretStr(one), admin_tokens=SecretStr(many))


def test_the_list_is_both_variables_each_token_once() -> None:
    old, new = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    assert settings().admin_token_list() == []
    assert settings(old).admin_token_list() == [old]
    assert settings(many=f" {old} ,, {new} ").admin_token_list() == [old, new]
    assert settings(old, f"{new},{old}").admin_token_list() == [old, new]
    check_admin_tokens(settings(old, f"{new},{old}"))


@pytest.mark.parametrize("weak", ["short", "a" * 30, "has a space in it: 24+ chars"])
def test_a_weak_token_in_the_list_is_refused_by_position(weak: str) -> None:
    strong = secrets.token_urlsafe(32)
    with pytest.raises(ConfigError) as caught:
        check_admin_tokens(settings(many=f"{strong},{weak}"))
    message = str(caught.value)
    assert "MULTICART_ADMIN_TOKENS (token 2)" in message
    assert strong not in message
    if weak.strip():
        assert weak.split(",")[-1].strip() not in message


def test_a_weak_single_token_still_names_its_variable() -> None:
    with pytest.raises(ConfigError, match=r"^MULTICART_ADMIN_TOKEN is too weak"):
        check_admin_tokens(settings("weak", secrets.token_urlsafe(32)))
