"""The documents and --help stay true to the code: every error code, setting and route is
documented (the error table in docs/api.md, the settings in docs/configuration.md)."""

from pathlib import Path

from config import Settings
from errors import ErrorCode
from orchestrator.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
API = (ROOT / "docs" / "api.md").read_text()
CONFIGURATION = (ROOT / "docs" / "configuration.md").read_text()


def test_readme_leads_with_the_two_commands() -> None:
    head = README[:1200]
    assert "make demo" in head and "make test" in head


def test_every_error_code_is_in_the_api_reference_table() -> None:
    for kind in ErrorCode:
        assert f"| `{kind.error}` | {kind.code} | {kind.status} |" in API, kind.error


def test_every_setting_is_in_the_configuration_document() -> None:
    for name, field in Settings.model_fields.items():
        assert f"`MULTICART_{name.upper()}`" in CONFIGURATION, name
        assert field.description, f"{name} needs a description"


def test_codes_are_unique() -> None:
    assert len({k.code for k in ErrorCode}) == len(ErrorCode)
    assert len({k.error for k in ErrorCode}) == len(ErrorCode)


def test_cli_help_names_every_command() -> None:
    text = build_parser().format_help()
    for command in ("serve", "db", "sandbox", "keygen", "keys"):
        assert command in text


def test_the_api_reference_names_every_route_at_a_glance() -> None:
    from orchestrator.http.app import ROUTES

    glance = API.split("## Routes at a glance", 1)[1].split("\n## ", 1)[0]
    for route in ROUTES:
        assert route.path.split("{")[0].rstrip("/") in glance, route.path
    assert "multicart --version" in README


def test_the_readme_links_every_document() -> None:
    for target in ("docs/api.md", "docs/decisions/", "CONTRIBUTING.md", "BENCHMARKS.md"):
        assert f"]({target})" in README, target
    assert "](CHANGELOG.md)" in README
