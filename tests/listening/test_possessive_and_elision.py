"""A brand is named with its possessive ("Acme's boots") and, in French, after an elided
article ("l'Acme", "d'Acme"). Mastodon's search index reads words through Elasticsearch's
``elision`` and ``english_possessive_stemmer`` filters (mastodon/mastodon,
app/chewy/public_statuses_index.rb), so its results hold such posts; `Query.matches`,
which narrows what Mastodon, Bluesky and Threads return, read ``acme's`` as a word of its
own: those posts were dropped as not naming ``acme``, and an excluded ``job`` let
"the job's yours" through."""

from __future__ import annotations

import pytest

from brandkit import Client, Query, RetryPolicy
from brandkit.testing.mastodon import MastodonEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5, attempts=1)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        (Query(any=["acme"]), "Acme's boots are great", True),
        (Query(any=["acme"]), "Acme’s boots are great", True),
        (Query(any=["acme"]), "j'adore l'Acme de Paris", True),
        (Query(any=["acme"]), "le prix d’Acme", True),
        (Query(phrases=["acme boots"]), "ACME's boots fell apart", True),
        (Query(any=["McDonald's"]), "lunch at McDonald today", True),
        (Query(any=["acme"], exclude=["job"]), "acme: the job's yours", False),
        # Only the possessive and the elided articles: other apostrophes stay in the word.
        (Query(any=["don"]), "don't buy it", False),
        (Query(any=["neil"]), "O'Neil said so", False),
        (Query(any=["acme"]), "acmes and more", False),
    ],
)
def test_a_possessive_or_an_elided_article_is_the_word(
    query: Query, text: str, expected: bool
) -> None:
    assert query.matches(text) is expected


def test_mastodon_drops_the_excluded_word_in_its_possessive() -> None:
    """The tag timeline lists every status of #acme; the excluded words are dropped after
    reading, and ``job's`` is the word ``job``, as Mastodon's search reads it."""
    emu = MastodonEmulator()
    with emu.serve():
        brand = emu.account(name="brand")
        emu.audience("recruiter").post("#acme the job's yours if you want it")
        emu.audience("fan").post("#acme boots, so comfy")
        emu.audience("fan2").post("Acme's new #acme boots")
        with Client(retry=FAST) as c:
            page = c.search(brand, Query(hashtags=["acme"], exclude=["job"]))
    assert sorted(m.text for m in page.messages) == [
        "#acme boots, so comfy",
        "Acme's new #acme boots",
    ]
