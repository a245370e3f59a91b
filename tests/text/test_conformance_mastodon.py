"""Mastodon: the status length cases of Mastodon.py (URLs 23, remote mentions, graphemes)."""

from __future__ import annotations

from typing import Any

import pytest

from brandkit import text
from tests.text.conftest import load_json

_CASES = load_json("mastodon", "status-length-cases.json")["cases"]


def _cases() -> list[Any]:
    return [pytest.param(case, id=f"line{case['line']}-{case['text'][:40]!r}") for case in _CASES]


@pytest.mark.parametrize("case", _cases())
def test_status_length(case: dict[str, Any]) -> None:
    """count(mastodon) equals the expected status length."""
    assert text.count(case["text"], "mastodon") == case["expected_length"]


@pytest.mark.parametrize("case", _cases())
def test_status_length_with_content_warning(case: dict[str, Any]) -> None:
    """A content warning 'what' adds its 4 characters, with no URL discount."""
    assert text.count(case["text"], "mastodon", spoiler_text="what") == case["expected_length"] + 4
