"""`multicart`'s operator-facing edges: one clear line and exit 2 for configuration errors."""

from __future__ import annotations

import secrets
import socket
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from orchestrator.cli import build_parser, main
from orchestrator.cli.checks import ConfigError, check_admin_token
from orchestrator.service.secrets import CredentialBox


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    out, err = capsys.readouterr()
    return int(stopped.value.code or 0), out, err


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("MULTICART_PORT", "MULTICART_ENCRYPTION_KEY", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MULTICART_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'm.db'}")
    monkeypatch.setenv("MULTICART_LOG_FORMAT", "json")
    return monkeypatch


@pytest.mark.parametrize(
    ("variables", "says"),
    [
        ({}, "MULTICART_ENCRYPTION_KEY is empty"),
        ({"MULTICART_ENCRYPTION_KEY": "nope"}, "not a valid Fernet key"),
        ({"MULTICART_PORT": "abc"}, "MULTICART_PORT"),
        (
            {
                "MULTICART_ENCRYPTION_KEY": Fernet.generate_key().decode(),
                "MULTICART_SHOPFY__ATTEMPT_TIMEOUT_S": "3",
            },
            "no platform has the settings section 'shopfy'",
        ),
    ],
)
def test_configuration_errors_are_one_line_and_exit_2(
    env: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variables: dict[str, str],
    says: str,
) -> None:
    for name, value in variables.items():
        env.setenv(name, value)
    code, _, err = run(["serve", "--migrate"], capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and says in err, err


def test_migrate_runs_only_after_settings_are_checked(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, _ = run(["serve", "--migrate"], capsys)
    assert code == 2 and not (tmp_path / "m.db").exists()


def test_serving_an_unmigrated_database_says_to_upgrade(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.setenv("MULTICART_ENCRYPTION_KEY", CredentialBox.generate_key())
    code, _, err = run(["serve", "--port", "0"], capsys)
    assert code == 2 and "multicart db upgrade" in err.strip().splitlines()[-1]


def test_port_in_use(env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    env.setenv("MULTICART_ENCRYPTION_KEY", CredentialBox.generate_key())
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run(["serve", "--migrate", "--port", str(port)], capsys)
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err.strip().splitlines()[-1]


def test_db_upgrade_names_the_database_with_the_password_masked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    code, out, _ = run(["db", "upgrade", "--database-url", url], capsys)
    assert code == 0 and url in out
    code, _, err = run(["db", "upgrade", "--database-url", "mysql://u:hunter2@h/db"], capsys)
    assert code == 2 and "hunter2" not in err and "***" in err


def test_unprefixed_database_url_is_not_silently_ignored(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env.delenv("MULTICART_DATABASE_URL")
    env.setenv("DATABASE_URL", "postgresql://u:p@h/db")
    _, _, err = run(["serve"], capsys)
    assert "DATABASE_URL is set but not read" in err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.startswith("multicart ")
    serve_help = build_parser()._subparsers._group_actions[0].choices["serve"].format_help()  # type: ignore[union-attr]
    assert "MULTICART_ENCRYPTION_KEY" in serve_help and "MULTICART_DATABASE_URL" in serve_help
    code, out, _ = run(["sandbox", "--help"], capsys)
    assert code == 0 and out.startswith("usage: multicart sandbox")


@pytest.mark.parametrize(
    "token", ["a", "admin-secret", "a" * 40, "abcdefg" * 4, "Zx9-Zx9-Zx9-Zx9-Zx9-Zx9-"]
)
def test_a_weak_admin_token_is_refused(
    env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], token: str
) -> None:
    env.setenv("MULTICART_ENCRYPTION_KEY", Fernet.generate_key().decode())
    env.setenv("MULTICART_ADMIN_TOKEN", token)
    code, _, err = run(["serve", "--migrate", "--port", "0"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "MULTICART_ADMIN_TOKEN is too weak" in err
    assert len(token) < 12 or token not in err  # never echoed


@pytest.mark.parametrize(
    "token",
    ["abcdefgh-ijklmnop qrstuvwx", "abcdefgh-ijklmnop-qrstuvwé", "abcdefgh\tijklmnopqrstuvwx"],
)
def test_an_admin_token_no_client_can_send_is_refused(token: str) -> None:
    with pytest.raises(ConfigError, match="printable ASCII without spaces"):
        check_admin_token(token)


def test_strong_or_empty_admin_tokens_pass_the_check() -> None:
    check_admin_token("")  # admin routes off
    check_admin_token("abcdefgh" * 3)  # 24 characters, 8 distinct: the bounds
    check_admin_token(secrets.token_urlsafe(32))
