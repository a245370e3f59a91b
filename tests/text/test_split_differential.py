"""split() against the splitter it replaced (tests/text/_split_reference.py): the running
totals must cut every text exactly where measuring each candidate part did, on every
platform, with numbering and the platforms' options, and refuse the same texts the same way."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brandkit import text
from brandkit.errors import BrandkitError
from brandkit.text._counts import unique_links
from tests.text import _split_reference as reference

# Every platform that splits, with the options that change how a part measures.
_CASES: list[tuple[str, dict[str, Any]]] = [
    ("x", {}),
    ("x", {"max_length": 120}),
    ("mastodon", {}),
    ("mastodon", {"max_characters": 120}),
    ("mastodon", {"spoiler_text": "CW: spoilers", "max_characters": 200}),
    ("mastodon", {"spoiler_text": "é\u0301", "max_characters": 200}),
    ("mastodon", {"characters_reserved_per_url": 0}),
    ("mastodon", {"characters_reserved_per_url": 60, "max_characters": 150}),
    ("bluesky", {}),
    ("threads", {}),
    ("telegram", {}),
    ("telegram", {"caption": True}),
]

# Pieces that stress the totals: joined clusters, CR LF, emoji, flags, Hangul jamo, URLs with
# and without protocol (distinct ones, for Threads' link cap), remote mentions, a prepended
# mark, a space carrying a mark, characters X refuses, long words and a long URL.
_PIECES = [
    "word",
    "brand",
    "launch.",
    "Really?",
    "\n",
    "\n\n",
    "\r\n",
    "\r\n\r\n",
    "  ",
    "\t",
    "\u3000",
    "今日は新しいバージョンを公開しました。",
    "感谢大家的支持！",
    "새로운",
    "\u1100\u1161\u11a8",
    "é",
    "e\u0301",
    "a\u0308\u0301",
    "क्षि",
    "🚀",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "🏳️‍🌈",
    "🇮🇩🇯🇵",
    "🇮",
    "#️⃣",
    "❤️",
    "https://example.com/blog/2026/launch?utm_source=social",
    "https://brandkit.example.org/docs",
    "http://t.co/AbCdEf123",
    "example.co.id/promo",
    "https://a.example/x==",
    "https://a.example/x?y==",
    "https://d.com/",  # made one of many different links by `_random_text`
    "@alice",
    "@alice.bsky.social",
    "@bob@mastodon.social",
    "@BOB@Mastodon.Social",
    "#launch",
    "#リリース",
    "$AAPL",
    "\u0600x",
    " \u0301",
    "\ufeff",
    "x" * 70,
    "ab" * 200,
    "https://example.com/" + "p" * 330,
]


def _random_text(rng: random.Random, words: int) -> str:
    out = []
    for _ in range(words):
        piece = rng.choice(_PIECES)
        if piece.startswith("https://d"):
            piece = f"https://d{rng.randrange(12)}.com/{rng.randrange(99)}"
        out.append(piece)
        out.append(rng.choice([" ", " ", " ", "", "\n"]))
    return "".join(out)


def _both(value: str, platform: str, numbered: bool, options: dict[str, Any]) -> tuple[Any, Any]:
    def run(fn: Any) -> Any:
        try:
            return fn(value, platform, numbered=numbered, **options)
        except BrandkitError as error:
            return (type(error).__name__, str(error), error.over_by)

    return run(text.split), run(reference.split)


@pytest.mark.parametrize(("platform", "options"), _CASES)
@pytest.mark.parametrize("numbered", [False, True])
def test_split_matches_the_reference_on_random_texts(
    platform: str, options: dict[str, Any], numbered: bool
) -> None:
    rng = random.Random(f"{platform}{sorted(options.items())}{numbered}")
    for _ in range(60):
        value = _random_text(rng, rng.choice([5, 40, 120, 300]))
        ours, theirs = _both(value, platform, numbered, options)
        assert ours == theirs, value


@pytest.mark.parametrize(("platform", "options"), _CASES)
def test_split_matches_the_reference_on_the_benchmark_corpus(
    platform: str, options: dict[str, Any]
) -> None:
    rng = random.Random(20261204)
    for value in _corpus(rng, 40):
        for numbered in (False, True):
            ours, theirs = _both(value, platform, numbered, options)
            assert ours == theirs, value


def _corpus(rng: random.Random, posts: int) -> list[str]:
    """Posts like benchmarks/text_bench.py's: words of one script, URLs, mentions, tags,
    emoji, paragraph breaks and sentence ends."""
    latin = [
        "brand",
        "launch",
        "today",
        "we",
        "are",
        "shipping",
        "the",
        "new",
        "release",
        "with",
        "faster",
        "sync",
    ]
    cjk = [
        "今日は新しいバージョンを公開しました。",
        "詳細はリンクをご覧ください。",
        "感谢大家的支持！",
    ]
    extras = ["https://example.com/a?utm=1", "www.example.jp/ニュース", "@bob@mastodon.social"]
    extras += ["#launch", "$AAPL", "🚀", "👍🏽", "👨‍👩‍👧‍👦", "🇮🇩", "#️⃣"]
    out = []
    for _ in range(posts):
        words = []
        script = rng.choice([latin, cjk])
        for _ in range(rng.choice([30, 120, 400])):
            words.append(rng.choice(extras) if rng.random() < 0.2 else rng.choice(script))
            if rng.random() < 0.04:
                words.append("\n\n" if rng.random() < 0.5 else ".")
        out.append(" ".join(words).replace(" .", ".").strip())
    return out


def test_threads_split_matches_the_reference_where_parts_hit_the_link_cap() -> None:
    """Texts dense with different links (some met again) and emoji of every kind: Threads'
    parts end where a sixth different link would come in, or where the emoji's bytes reach
    the limit, as measuring each candidate part decides."""
    rng = random.Random(22)
    emoji = ["🚀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇮🇩🇯🇵", "🇮", "#️⃣", "❤️", "©", "a🚀b"]
    words = ["word", "launch.", "今日は新しい。", "é", "\n", "\r\n", "\n\n", *emoji]
    capped = 0
    for _ in range(40):
        pieces = []
        for _ in range(rng.choice([60, 200, 400])):
            if rng.random() < 0.3:
                pieces.append(f"https://d{rng.randrange(10)}.com/{rng.randrange(3)}")
            else:
                pieces.append(rng.choice(words))
        value = " ".join(pieces)
        for numbered in (False, True):
            ours, theirs = _both(value, "threads", numbered, {})
            assert ours == theirs, value
            capped += isinstance(ours, list) and any(len(unique_links(part)) == 5 for part in ours)
    assert capped > 20


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(_PIECES), min_size=1, max_size=80),
    st.sampled_from(_CASES),
    st.booleans(),
)
def test_split_matches_the_reference_on_generated_texts(
    pieces: list[str], case: tuple[str, dict[str, Any]], numbered: bool
) -> None:
    platform, options = case
    value = " ".join(pieces)
    ours, theirs = _both(value, platform, numbered, options)
    assert ours == theirs
