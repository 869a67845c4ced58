"""docs/api.md's generated sections are what the OpenAPI document says, whoever renders them."""

from __future__ import annotations

import re

import pytest

from errors import ErrorCode
from orchestrator.http.api_reference import API_MD, COMMAND, SECTIONS, document, render
from orchestrator.http.app import ROUTES


def test_docs_api_md_is_what_the_document_renders() -> None:
    text = API_MD.read_text()
    assert render(text) == text, f"docs/api.md is stale: run `.venv/bin/{COMMAND}`"


def test_every_section_is_in_docs_api_md() -> None:
    text = API_MD.read_text()
    for name in SECTIONS:
        assert f"<!-- BEGIN GENERATED {name} -->" in text, name
        assert f"<!-- END GENERATED {name} -->" in text, name


def test_the_environment_does_not_change_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = document()
    monkeypatch.setenv("MULTICART_MAX_SKUS", "7")
    monkeypatch.setenv("MULTICART_ALLOW_PRIVATE_PLATFORM_URLS", "true")
    assert document() == plain


def test_a_changed_document_changes_the_reference() -> None:
    doc = document()
    doc["info"]["x-limits"]["max_skus"] = 7
    text = API_MD.read_text()
    assert "| `max_skus` | 7 |" in render(text, doc)
    assert render(text, doc) != text


def test_every_route_and_error_code_is_in_the_reference() -> None:
    text = API_MD.read_text()
    for route in ROUTES:
        assert f"### `{route.method} {route.path}`" in text, route.path
    for kind in ErrorCode:
        assert f"| `{kind.error}` | {kind.code} | {kind.status} |" in text, kind.error


def test_an_unknown_section_is_refused() -> None:
    with pytest.raises(KeyError):
        render("<!-- BEGIN GENERATED nothing -->\n<!-- END GENERATED nothing -->\n")


def test_the_reference_names_only_headings_it_has() -> None:
    text = API_MD.read_text()
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
        for h in re.findall(r"^#+ (.+)$", text, re.MULTILINE)
    }
    for target in re.findall(r"\]\(#([a-z0-9-]+)\)", text):
        assert target in anchors, target
