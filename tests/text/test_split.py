"""split(): unit tests for the cut rules, and property tests over every platform."""

from __future__ import annotations

import itertools
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brandkit import text
from brandkit.errors import ConfigurationError, ContentError
from brandkit.text._bluesky import _spans as bluesky_spans
from brandkit.text._graphemes import graphemes
from brandkit.text._urls import extract_urls

_NUMBER = re.compile(r" (\d+)/(\d+)\Z")


def _strip_numbers(parts: list[str]) -> list[str]:
    """The parts without their ' k/n' suffix (checked to be consistent)."""
    total = len(parts)
    bare = []
    for k, part in enumerate(parts, start=1):
        match = _NUMBER.search(part)
        assert match is not None, part
        assert (int(match.group(1)), int(match.group(2))) == (k, total)
        bare.append(part[: match.start()])
    return bare


def _offsets(value: str, parts: list[str]) -> list[tuple[int, int]]:
    """Where each part lies in the original text (parts are slices of it, in order)."""
    spans = []
    cursor = 0
    for part in parts:
        start = value.index(part, cursor)
        spans.append((start, start + len(part)))
        cursor = start + len(part)
    return spans


# --- unit tests ----------------------------------------------------------------------------


@pytest.mark.parametrize("platform", text.PLATFORMS)
def test_text_that_fits_is_returned_unchanged(platform: str) -> None:
    """A text that fits comes back as [text], whitespace and all, and '' as ['']."""
    assert text.split("  hello world \n", platform) == ["  hello world \n"]
    assert text.split("", platform) == [""]
    assert text.split("", platform, numbered=True) == [""]


def test_prefers_paragraphs() -> None:
    """A paragraph break in reach wins over a fuller part."""
    first = "First paragraph is here. " * 6  # 150 characters
    second = "Second one follows after. " * 6
    parts = text.split(first.strip() + "\n\n" + second.strip(), "x")
    assert parts == [first.strip(), second.strip()]


def test_prefers_sentences_over_words() -> None:
    """Without a paragraph break, a sentence end is taken."""
    sentence = "This sentence has exactly some words in it. "
    value = sentence * 10
    parts = text.split(value, "x")
    assert all(part.endswith(".") for part in parts)
    assert " ".join(parts) == value.strip()


def test_word_boundaries_when_nothing_better() -> None:
    """Words are never cut; the whitespace at a cut is dropped."""
    value = " ".join(f"word{n}" for n in range(200))
    parts = text.split(value, "bluesky")
    assert all(text.measure(p, "bluesky").fits for p in parts)
    assert [w for p in parts for w in p.split()] == value.split()
    assert all(p == p.strip() for p in parts)


def test_x_url_counts_23_so_it_never_needs_cutting() -> None:
    """On X a very long URL counts 23 and is never cut."""
    url = "https://example.com/" + "a" * 600
    parts = text.split(("word " * 60) + url + (" word" * 60), "x")
    assert sum(url in p for p in parts) == 1


def test_long_url_on_bluesky_names_it() -> None:
    """A link longer than a Bluesky post cannot be split: the error names it."""
    url = "https://example.com/" + "a" * 400
    with pytest.raises(ContentError) as caught:
        text.split("look " + url + " here", "bluesky")
    assert url in str(caught.value)
    assert "link" in str(caught.value)
    assert caught.value.over_by == 420 - 300
    assert caught.value.platform == "bluesky"


def test_long_word_is_cut_between_graphemes() -> None:
    """A single word longer than a part is cut, between grapheme clusters only."""
    word = "👨‍👩‍👧‍👦" * 400
    parts = text.split(word, "bluesky")
    assert "".join(parts) == word
    assert all(set(graphemes(p)) == {"👨‍👩‍👧‍👦"} for p in parts)
    assert [text.count(p, "bluesky") for p in parts] == [120, 120, 120, 40]  # 3000-byte limit


def test_cjk_without_spaces_cuts_after_sentence_ends() -> None:
    """Unspaced CJK text is cut after 。 when one is in reach."""
    value = "これは日本語の文です。" * 40
    parts = text.split(value, "x")
    assert "".join(parts) == value
    assert all(p.endswith("。") for p in parts)
    assert all(text.measure(p, "x").fits for p in parts)


def test_numbered_parts() -> None:
    """Numbering ' k/n' is counted inside the limit and the total is right."""
    value = " ".join(f"word{n}" for n in range(400))
    parts = text.split(value, "x", numbered=True)
    assert len(parts) > 9  # the total has two digits: the suffix grew while splitting
    assert all(text.measure(p, "x").fits for p in parts)
    bare = _strip_numbers(parts)
    assert [w for p in bare for w in p.split()] == value.split()


def test_split_respects_threads_link_cap() -> None:
    """Threads parts hold at most 5 different links, even when short."""
    value = " ".join(f"https://example.com/{n}" for n in range(12))
    parts = text.split(value, "threads")
    assert len(parts) == 3
    assert all(text.measure(p, "threads").fits for p in parts)


def test_split_respects_instagram_hashtag_cap() -> None:
    """Instagram parts hold at most 5 hashtags."""
    value = " ".join(f"#tag{n}" for n in range(11))
    parts = text.split(value, "instagram")
    assert [len(p.split()) for p in parts] == [5, 5, 1]


def test_split_mastodon_with_content_warning() -> None:
    """A Mastodon content warning counts in every part."""
    value = "word " * 300
    parts = text.split(value, "mastodon", spoiler_text="cw " * 50)
    assert all(text.count(p, "mastodon", spoiler_text="cw " * 50) <= 500 for p in parts)
    assert all(text.count(p, "mastodon") <= 350 for p in parts)


def test_split_telegram_caption() -> None:
    """Telegram captions split at 1024 UTF-16 units."""
    value = "😀 " * 1000
    parts = text.split(value, "telegram", caption=True)
    assert all(text.count(p, "telegram") <= 1024 for p in parts)
    assert len(parts) == 3


def test_split_unknown_platform() -> None:
    """split() refuses an unknown platform like every function."""
    with pytest.raises(ConfigurationError):
        text.split("hi", "orkut")


def test_whitespace_only_text_that_is_too_long() -> None:
    """A too-long text of only whitespace has no words to keep: ['']."""
    assert text.split(" " * 400, "x") == [""]


# --- property tests ------------------------------------------------------------------------

_WORDS = st.sampled_from(
    [
        "brand",
        "kit",
        "counts",
        "exactly.",
        "Selamat",
        "pagi,",
        "terima",
        "kasih!",
        "semua",
        "日本語の文章です。",
        "中文测试",
        "한국어",
        "naïve",
        "café",
        "e\u0301e\u0301",
        "Zalgo\u0301\u0302\u0303",
        "👨‍👩‍👧‍👦",
        "👍🏽",
        "🇮🇩",
        "🏳️‍🌈",
        "#️⃣",
        "😀😀",
        "https://example.com/path?q=1",
        "http://t.co/abc123",
        "example.co.id/halaman",
        "www.日本.jp/ページ",
        "@alice.bsky.social",
        "@bob@mastodon.social",
        "@handle_1",
        "#brandkit",
        "#タグ",
        "$AAPL",
        "(https://example.org/a_(b))",
    ]
)
_SEPARATORS = st.sampled_from([" ", " ", " ", "  ", "\n", "\n\n", " \u0301", "\u3000"])


@st.composite
def _texts(draw: Any) -> str:
    out = []
    for _ in range(draw(st.integers(0, 220))):  # long enough to need several parts
        out.append(draw(_WORDS))
        out.append(draw(_SEPARATORS))
    if draw(st.booleans()):
        out.append("a" * draw(st.integers(0, 700)))  # sometimes a word longer than a part
    return "".join(out)


_CASES = st.sampled_from(
    [
        ("x", {}),
        ("x", {"config": "v2"}),
        ("mastodon", {"max_characters": 200}),
        ("mastodon", {"spoiler_text": "CW: 😀"}),
        ("bluesky", {}),
        ("threads", {}),
        ("telegram", {"caption": True}),
        ("instagram", {}),
        ("linkedin", {}),
        ("facebook", {}),
    ]
)
_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@_SETTINGS
@given(value=_texts(), case=_CASES, numbered=st.booleans())
def test_every_part_fits(value: str, case: tuple[str, dict[str, Any]], numbered: bool) -> None:
    """Every part fits its platform by measure(), numbering included."""
    platform, options = case
    parts = text.split(value, platform, numbered=numbered, **options)
    assert parts
    assert all(text.measure(p, platform, **options).fits for p in parts)


@_SETTINGS
@given(value=_texts(), case=_CASES, numbered=st.booleans())
def test_nothing_lost_or_reordered(
    value: str, case: tuple[str, dict[str, Any]], numbered: bool
) -> None:
    """The parts are slices of the text in order; only whitespace at the cuts is dropped."""
    platform, options = case
    parts = text.split(value, platform, numbered=numbered, **options)
    if len(parts) > 1 and numbered:
        parts = _strip_numbers(parts)
    if parts == [""]:
        assert not value.split()
        return
    spans = _offsets(value, parts)
    assert "".join(value.split()) == "".join("".join(parts).split())
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert value[end:start].strip() == ""  # only whitespace between parts
    if all(len(w) < 100 for w in value.split()):
        # No word longer than a part: words come back whole, in order.
        assert [w for p in parts for w in p.split()] == value.split()


@_SETTINGS
@given(value=_texts(), case=_CASES)
def test_no_url_mention_hashtag_or_grapheme_is_cut(
    value: str, case: tuple[str, dict[str, Any]]
) -> None:
    """Every URL, mention, hashtag and grapheme cluster lies whole inside one part."""
    platform, options = case
    parts = text.split(value, platform, **options)
    if parts == [value]:
        return
    spans = _offsets(value, parts)
    entities = [(u.start, u.end) for u in extract_urls(value)]
    entities += [(s[0], s[1]) for s in bluesky_spans(value)]
    for start, end in entities:
        holders = [k for k, (a, b) in enumerate(spans) if a <= start and end <= b]
        assert len(holders) == 1, (value[start:end], parts)
    boundaries = {0}
    position = 0
    for cluster in graphemes(value):
        position += len(cluster)
        boundaries.add(position)
    for start, end in spans:
        assert start in boundaries
        assert end in boundaries


def test_content_warning_too_long_for_any_part() -> None:
    """A content warning that leaves no room for text is named as the problem."""
    with pytest.raises(ContentError) as caught:
        text.split("word " * 200, "mastodon", spoiler_text="w" * 500)
    assert caught.value.field == "spoiler_text"
    assert caught.value.over_by == 1
    assert str(caught.value) == (
        "spoiler_text is 500 characters on mastodon and every part repeats it, leaving no "
        "room under the limit of 500: shorten the content warning"
    )
