"""Property tests: facet and entity ranges select exactly what they describe."""

from __future__ import annotations

import itertools
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brandkit import text

_PIECES = st.sampled_from(
    [
        "hello",
        " ",
        " ",
        "\n",
        "(",
        ")",
        ".",
        ",",
        "!",
        "日本語",
        "한국어",
        "é",
        "e\u0301",
        "👨‍👩‍👧‍👦",
        "👍🏽",
        "🇮🇩",
        "\u200b",
        "\ufe0f",
        "#",
        "＃",
        "@",
        "$",
        "https://example.com/path?q=1",
        "http://t.co/x",
        "example.co.id",
        "bsky.app",
        "Example.COM",
        "alice.bsky.social",
        "bob.test",
        "tag",
        "タグ",
        "🦋",
        "AAPL",
        "x1",
        "_",
        "-",
    ]
)

_texts = st.lists(_PIECES, max_size=60).map("".join)
_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check_ranges(starts_ends: list[tuple[int, int]]) -> None:
    assert starts_ends == sorted(starts_ends)
    for (_, end), (start, _) in itertools.pairwise(starts_ends):
        assert end <= start  # never overlapping
    assert all(start < end for start, end in starts_ends)


@_SETTINGS
@given(value=_texts)
def test_facet_ranges_select_their_feature(value: str) -> None:
    """Each facet's UTF-8 byte range is exactly its URL, @handle, #tag or $cashtag."""
    raw = value.encode("utf-8")
    facets = text.facets(value)
    _check_ranges([(f["index"]["byteStart"], f["index"]["byteEnd"]) for f in facets])
    for facet in facets:
        selected = raw[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8")
        feature: dict[str, Any] = facet["features"][0]
        kind = feature["$type"]
        if kind == "app.bsky.richtext.facet#link":
            assert feature["uri"] in (selected, "https://" + selected)
            assert feature["uri"].startswith(("http://", "https://"))
        elif kind == "app.bsky.richtext.facet#mention":
            assert selected == "@" + feature["handle"]
        else:
            assert kind == "app.bsky.richtext.facet#tag"
            tag = feature["tag"]
            if tag.startswith("$") and selected.startswith("$"):
                assert selected.upper() == tag
            else:
                assert selected[0] in "#＃"
                assert selected[1:] == tag


@_SETTINGS
@given(value=_texts)
def test_telegram_entity_ranges_select_their_entity(value: str) -> None:
    """Each entity's UTF-16 range holds a URL, an @username or a #hashtag."""
    units = value.encode("utf-16-le")
    entities = text.telegram_entities(value)
    _check_ranges([(e["offset"], e["offset"] + e["length"]) for e in entities])
    for entity in entities:
        start, end = entity["offset"] * 2, (entity["offset"] + entity["length"]) * 2
        selected = units[start:end].decode("utf-16-le")  # fails on a split surrogate pair
        if entity["type"] == "mention":
            assert selected[0] == "@"
            assert 6 <= len(selected) <= 33
        elif entity["type"] == "hashtag":
            assert selected[0] == "#"
        else:
            assert entity["type"] == "url"
            assert "." in selected
