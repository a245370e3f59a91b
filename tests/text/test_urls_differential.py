"""The URL extractor against the one it replaced (`tests/text/_urls_reference.py`, a copy of
``_urls.py`` before its Python overhead was cut): the same URLs, at the same offsets, on
thousands of generated adversarial texts, with and without ``require_protocol``."""

from __future__ import annotations

import random

import pytest

from brandkit.text import _urls
from brandkit.text._data import twitter_tlds
from tests.text import _urls_reference as reference
from tests.text._url_texts import adversarial_texts


@pytest.mark.parametrize("seed", range(8))
def test_same_urls_as_the_previous_extractor(seed: int) -> None:
    for text in adversarial_texts(500, 1000 + seed):
        for require_protocol in (False, True):
            ours = _urls.extract_urls(text, require_protocol=require_protocol)
            theirs = reference.extract_urls(text, require_protocol=require_protocol)
            assert ours == theirs, (text, require_protocol)


def _variants(tld: str) -> list[str]:
    return [tld, tld.upper(), tld.title(), tld.swapcase()]


def test_every_tld_matches_as_before_in_any_case() -> None:
    generic, country = twitter_tlds()
    ours, theirs = _urls._patterns().tld, reference._patterns().tld
    rng = random.Random(7)
    followers = ["", " ", "/", "a", "1", "-", "大", "\u212a", ".", "@", "ſ", "İ"]
    for tld in (*generic, *country):
        for variant in _variants(tld):
            for after in followers:
                # A TLD cut short or run on: the trie's branches decide where it ends.
                for text in (variant + after, variant[:-1] + after, variant + variant[-1]):
                    got, want = ours.match(text), theirs.match(text)
                    assert (got and got.span()) == (want and want.span()), text
        odd = "".join(rng.choice(["\u212a", "\u017f", "\u0130", "\u0131", c]) for c in tld)
        got, want = ours.match(odd), theirs.match(odd)
        assert (got and got.span()) == (want and want.span()), odd


def test_urls_at_most_never_says_fewer_urls_than_the_extractor_finds() -> None:
    """Threads' measure, split and render skip the link search where `urls_at_most` says the
    text holds no more links than the cap: a text it passed with more would break the cap
    unseen. Every bound from 0 to 7 is checked against the extractor's count."""
    tight = 0
    for seed in range(4):
        for text in adversarial_texts(500, 2000 + seed):
            found = len(_urls.extract_urls(text))
            for n in range(8):
                if _urls.urls_at_most(text, n):
                    assert found <= n, (text, n, found)
                    tight += n == found > 0
    # The bound was met exactly on texts with links, not only passed on texts without.
    assert tight >= 10
    links = "see a.com, b.example.org and https://c.co/x?y=1.2 now."
    assert len(_urls.extract_urls(links)) == 3
    assert [_urls.urls_at_most(links, n) for n in range(6)] == [False] * 5 + [True]
    assert _urls.urls_at_most("Sentences. End. Here.", 0)
