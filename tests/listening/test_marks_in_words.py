"""Words written with combining marks: Hindi's vowel signs and virama, Bengali, Tamil,
Arabic's and Hebrew's vowel points, and Turkish's capital İ (which folds to i and a
combining dot). `Query.matches` cut each word at every mark ("नमस्ते" was the words
"नमस" and "त"), so a short term matched a piece of another word ("रत" in "भारत"), and
"istanbul" never matched the "İstanbul" every Turkish post writes. Thai, Lao, Khmer and
Burmese put no space between words: a term matches inside their sentences, as it did."""

from __future__ import annotations

import pytest

from brandkit import Client, Query, RetryPolicy
from brandkit.listening._query import shows_hashtag
from brandkit.testing.mastodon import MastodonEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5, attempts=1)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        (Query(any=["नमस्ते"]), "नमस्ते दुनिया", True),
        (Query(any=["रत"]), "मैं भारत से हूँ", False),
        (Query(any=["भारत"]), "मैं भारत से हूँ", True),
        (Query(any=["நாடு"]), "தமிழ்நாடு", False),
        (Query(any=["ح"]), "مُحَمَّد", False),
        (Query(any=["לו"]), "שָׁלוֹם", False),
        (Query(any=["istanbul"]), "İstanbul güzel", True),
        (Query(any=["İstanbul"]), "istanbul güzel", True),
        (Query(any=["İZMİR"]), "izmir", True),
        (Query(any=["สวัสดี"]), "สวัสดีครับ", True),
        (Query(any=["ดี"]), "สวัสดีครับ", True),
        (Query(any=["acme"], exclude=["boots"]), "acme_boots", False),
        (Query(phrases=["acme ❤️"]), "we acme ❤ so much", True),
        (Query(any=["👩\u200d💻"]), "a 👩\u200d💻 at acme", True),
    ],
)
def test_a_word_keeps_its_marks(query: Query, text: str, expected: bool) -> None:
    assert query.matches(text) is expected


def test_mastodon_drops_what_the_excluded_words_say_and_only_that() -> None:
    """The tag timeline lists every status of #travel; the excluded words are dropped after
    reading. "रत" ("engaged") dropped the status saying "भारत" ("India"), and "istanbul"
    kept the one saying "İstanbul"."""
    emu = MastodonEmulator()
    with emu.serve():
        brand = emu.account(name="brand")
        emu.audience("ravi").post("#travel मैं भारत से हूँ")
        emu.audience("ayse").post("#travel İstanbul çok güzel")
        emu.audience("jean").post("#travel Paris")
        with Client(retry=FAST) as c:
            page = c.search(brand, Query(hashtags=["travel"], exclude=["रत", "istanbul"]))
    assert sorted(m.text for m in page.messages) == ["#travel Paris", "#travel मैं भारत से हूँ"]


@pytest.mark.parametrize(
    ("text", "tag", "expected"),
    [
        ("#भारतीय खाना", "भारत", False),
        ("#भारत यात्रा", "भारत", True),
        ("#भारत।", "भारत", True),
        ("#ภาษาไทย", "ภาษ", False),
    ],
)
def test_a_hashtag_ends_where_its_marks_end(text: str, tag: str, expected: bool) -> None:
    """``#भारतीय`` ("Indian") is not the tag ``#भारत`` ("India"): the vowel sign after
    "भारत" is part of the tag (Mastodon's ``[[:word:]]`` holds marks), not its end."""
    assert shows_hashtag(text, tag) is expected
    assert Query(hashtags=[tag]).matches(text) is expected
