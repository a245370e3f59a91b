"""X: twitter-text's own conformance cases (weighted length, URL extraction)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from brandkit import text
from brandkit.text._urls import extract_urls
from tests.text.conftest import data_file, load_json

_WEIGHTED = load_json("x", "twitter-text", "weighted-length-cases.json")


def _weighted_cases() -> list[Any]:
    cases = []
    for name, section in _WEIGHTED["sections"].items():
        config = section["config"][:2]  # "v3 (library default ...)" -> "v3"
        for number, case in enumerate(section["cases"]):
            cases.append(pytest.param(config, case, id=f"{name}-{number}-{case['description']}"))
    return cases


@pytest.mark.parametrize(("config", "case"), _weighted_cases())
def test_weighted_length(config: str, case: dict[str, Any]) -> None:
    """count(x) equals twitter-text's weightedLength (v1 cases: isValidTweetText)."""
    length = text.count(case["text"], "x", config=config)
    expected = case["expected"]
    if isinstance(expected, dict):
        assert length == expected["weightedLength"]
        fits = text.measure(case["text"], "x", config=config).fits
        assert fits is expected["valid"]
    else:
        assert (0 < length <= text.limit("x", config=config)) is expected


_EXTRACT = yaml.safe_load(data_file("x", "twitter-text", "extract.yml").read_text("utf-8"))
_URL_SECTIONS = (
    "urls",
    "urls_with_indices",
    "urls_with_directional_markers",
    "tco_urls_with_params",
)


def _url_cases() -> list[Any]:
    return [
        pytest.param(case, id=f"{section}-{number}-{case['description']}")
        for section in _URL_SECTIONS
        for number, case in enumerate(_EXTRACT["tests"][section])
    ]


def _utf16_index(value: str, index: int) -> int:
    return len(value[:index].encode("utf-16-le")) // 2


@pytest.mark.parametrize("case", _url_cases())
def test_url_extraction(case: dict[str, Any]) -> None:
    """The URL extractor finds exactly twitter-text's URLs (and indices, in UTF-16 units)."""
    found = extract_urls(case["text"])
    expected = case["expected"]
    if expected and isinstance(expected[0], dict):
        got = [
            {
                "url": u.url,
                "indices": [_utf16_index(case["text"], u.start), _utf16_index(case["text"], u.end)],
            }
            for u in found
        ]
    else:
        got = [u.url for u in found]
    assert got == expected


def test_every_url_section_of_extract_yml_is_covered() -> None:
    """All URL sections of extract.yml run here; the other sections are not about URLs."""
    url_like = {name for name in _EXTRACT["tests"] if "url" in name}
    assert url_like == set(_URL_SECTIONS)
    # Skipped on purpose: mentions, replies, hashtags, cashtags (X counts them as plain text).
