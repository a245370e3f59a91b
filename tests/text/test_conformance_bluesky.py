"""Bluesky: @atproto/api's rich-text cases (facet detection, graphemes, UTF-8 bytes)."""

from __future__ import annotations

from typing import Any

import pytest

from brandkit import text
from brandkit.text._graphemes import grapheme_len, offset_map, utf16_len
from tests.text.conftest import load_json

_DATA = load_json("bluesky", "richtext-cases.json")


def _params(section: str) -> list[Any]:
    return [
        pytest.param(case, id=f"{section}-{number}-{case['text'][:40]!r}")
        for number, case in enumerate(_DATA[section]["cases"])
    ]


def _as_did(feature: dict[str, Any]) -> dict[str, Any]:
    """A mention feature as the upstream test resolves it (handle -> did:fake:handle)."""
    if "handle" in feature:
        return {"$type": feature["$type"], "did": f"did:fake:{feature['handle']}"}
    return feature


def _segments(value: str, facets: list[dict[str, Any]]) -> list[list[str]]:
    """RichText.segments(): plain text, links (text, uri) and mentions (text, did)."""
    raw = value.encode("utf-8")
    segments: list[list[str]] = []
    position = 0
    for facet in facets:
        feature = _as_did(facet["features"][0])
        if feature["$type"].endswith("#tag"):
            continue
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        if start > position:
            segments.append([raw[position:start].decode("utf-8")])
        segments.append([raw[start:end].decode("utf-8"), feature.get("uri") or feature["did"]])
        position = end
    if position < len(raw):
        segments.append([raw[position:].decode("utf-8")])
    return segments


@pytest.mark.parametrize("case", _params("segments"))
def test_segments(case: dict[str, Any]) -> None:
    """Links and mentions cut the text into exactly the upstream segments."""
    assert _segments(case["text"], text.facets(case["text"])) == case["expected_segments"]


@pytest.mark.parametrize("case", _params("segments"))
def test_facets_match_the_reference_implementation(case: dict[str, Any]) -> None:
    """Facets equal those @atproto/api 0.20.23 computed (mentions resolved as upstream mocks)."""
    got = [
        {"index": f["index"], "features": [_as_did(x) for x in f["features"]]}
        for f in text.facets(case["text"])
    ]
    expected = [{"index": f["index"], "features": f["features"]} for f in case["facets_derived"]]
    assert got == expected


@pytest.mark.parametrize("case", _params("segments"))
def test_segment_texts_lengths(case: dict[str, Any]) -> None:
    """count(bluesky) and the UTF-8 length agree with the reference for every segment text."""
    result = text.measure(case["text"], "bluesky")
    assert result.length == case["graphemes_derived"]
    assert result.byte_length == case["utf8_bytes_derived"]


@pytest.mark.parametrize("case", _params("tags"))
def test_tags(case: dict[str, Any]) -> None:
    """Hashtags: the upstream tag values and byte ranges, and nothing else."""
    facets = text.facets(case["text"])
    assert [f["features"][0]["tag"] for f in facets] == case["expected_tags"]
    assert [f["index"] for f in facets] == case["expected_indices"]


@pytest.mark.parametrize("case", _params("cashtags"))
def test_cashtags(case: dict[str, Any]) -> None:
    """Cashtags are tag facets '$TICKER' (upper-cased) with the upstream byte ranges."""
    facets = [f for f in text.facets(case["text"]) if f["features"][0]["tag"].startswith("$")]
    assert [f["features"][0]["tag"] for f in facets] == case["expected_tags"]
    assert [f["index"] for f in facets] == case["expected_indices"]


@pytest.mark.parametrize("case", _params("richtext_lengths"))
def test_richtext_lengths(case: dict[str, Any]) -> None:
    """RichText.length (UTF-8 bytes) and graphemeLength match."""
    result = text.measure(case["text"], "bluesky")
    assert result.byte_length == case["utf8_bytes"]
    assert text.count(case["text"], "bluesky") == case["graphemes"]


@pytest.mark.parametrize("case", _params("grapheme_len"))
def test_grapheme_len(case: dict[str, Any]) -> None:
    """Grapheme cluster counts match @atproto/lex-data's graphemeLen."""
    assert grapheme_len(case["text"]) == case["graphemes"]
    assert text.count(case["text"], "bluesky") == case["graphemes"]


@pytest.mark.parametrize("case", _params("entity_utf16_to_facet_utf8"))
def test_utf16_to_utf8_offsets(case: dict[str, Any]) -> None:
    """UTF-16 entity offsets (Telegram's unit) map to the upstream UTF-8 facet offsets."""
    value = case["text"]
    positions = range(len(value) + 1)
    utf16 = offset_map(value, positions, unit="utf16")
    utf8 = offset_map(value, positions, unit="utf8")
    utf16_to_utf8 = {utf16[p]: utf8[p] for p in positions}
    kinds = {"link": "app.bsky.richtext.facet#link", "mention": "app.bsky.richtext.facet#mention"}
    converted = [
        {
            "index": {
                "byteStart": utf16_to_utf8[entity["index"]["start"]],
                "byteEnd": utf16_to_utf8[entity["index"]["end"]],
            },
            "features": [
                {
                    "$type": kinds[entity["type"]],
                    ("uri" if entity["type"] == "link" else "did"): entity["value"],
                }
            ],
        }
        for entity in case["entities"]
        if entity["type"] in kinds
    ]
    assert converted == case["expected_facets"]
    assert utf16_len(value) == utf16[len(value)]
