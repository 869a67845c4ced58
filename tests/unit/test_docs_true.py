"""README and --help stay true to the code: every error code and setting is documented."""

from pathlib import Path

from config import Settings
from errors import ErrorCode
from orchestrator.cli import build_parser

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_leads_with_the_two_commands() -> None:
    head = README[:1200]
    assert "make demo" in head and "make test" in head


def test_every_error_code_is_in_the_readme_table() -> None:
    for kind in ErrorCode:
        assert f"| `{kind.error}` | {kind.code} | {kind.status} |" in README, kind.error


def test_every_setting_is_in_the_readme() -> None:
    for name, field in Settings.model_fields.items():
        assert f"`MULTICART_{name.upper()}`" in README, name
        assert field.description, f"{name} needs a description"


def test_codes_are_unique() -> None:
    assert len({k.code for k in ErrorCode}) == len(ErrorCode)
    assert len({k.error for k in ErrorCode}) == len(ErrorCode)


def test_cli_help_names_every_command() -> None:
    text = build_parser().format_help()
    for command in ("serve", "db", "sandbox", "keygen", "keys"):
        assert command in text


def test_readme_names_every_route() -> None:
    from orchestrator.http.app import ROUTES

    for route in ROUTES:
        assert route.path.split("{")[0].rstrip("/") in README, route.path
    assert "multicart --version" in README
