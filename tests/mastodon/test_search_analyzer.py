"""The emulator's full-text search reads statuses as Mastodon's Elasticsearch index does
(mastodon/mastodon app/chewy/statuses_index.rb, SearchQueryTransformer): a term matches when
all its tokens are in ``text`` (``uax_url_email``, ``lowercase``) or all in ``text.stemmed``
(``standard``, ``lowercase``, ``asciifolding``, ``cjk_width``, ``elision``,
``english_possessive_stemmer``, ``english_stop``, Porter's ``english_stemmer``); a phrase is
matched on ``text`` alone. Searched by Mastodon.py over a real socket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from brandkit.testing._mastodon_search import porter_stem
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import mastodon_py

mastodon = pytest.importorskip("mastodon")

# (what a fan posted, what the brand searched, whether Mastodon finds it)
CASES = [
    # english_possessive_stemmer, on the post and on the query
    ("Brandkit's launch went well", "brandkit", True),
    ("Brandkit’s launch went well", "brandkit", True),
    ("the brandkit launch went well", "brandkit's", True),
    # only a trailing 's goes: other apostrophes stay in the word
    ("don't buy it", "don", False),
    # elision: a French article before an apostrophe goes; O' is no article
    ("j'adore l'Acme de Paris", "acme", True),
    ("O'Neil said so", "neil", False),
    # lowercase as Java's Character.toLowerCase: İ is i (Python's lower() gives i + a dot)
    ("İSTANBUL launch", "istanbul", True),
    ("Istanbul launch", "İstanbul", True),
    # asciifolding on text.stemmed, both ways; ı and ß fold too
    ("un café au lait", "cafe", True),
    ("un cafe au lait", "café", True),
    ("ıstanbul shop", "istanbul", True),
    ("die Straße", "strasse", True),
    # ... but a phrase is matched on text, which folds nothing
    ("un café au lait", '"cafe au lait"', False),
    ("un café au lait", '"CAFÉ au lait"', True),
    # english_stemmer (Porter) on text.stemmed
    ("new brands everywhere", "brand", True),
    ("running shoes", "run", True),
    ("generalization", "generally", True),
    ("new brands everywhere", '"brand everywhere"', False),
    # english_stop: the stemmed field drops stop words, text keeps them
    ("brandkit rocks", "the", False),
    ("the end", "the", True),
    # cjk_width: half-width katakana is full-width katakana
    ("ﾌﾞﾗﾝﾄﾞ の話", "ブランド", True),
    # a URL is one token of text (and words of text.stemmed)
    ("sale at https://shop.example/spring now", "spring", True),
    ("sale at https://shop.example/spring now", '"shop.example spring"', False),
]


@pytest.fixture(scope="module")
def searched() -> Iterator[tuple[dict[str, str], Any]]:
    """Every case's post by an indexable fan, and a Mastodon.py client of the brand."""
    emu = MastodonEmulator(audience_indexable=True, engagement_rate=0)
    with emu.serve() as url:
        token = emu.account(username="brand").secret("token")
        posted = {text: emu.audience("fan").post(text, lang="en") for text, _, _ in CASES}
        api = mastodon_py(url, token)
        yield posted, api


@pytest.mark.parametrize(("text", "query", "found"), CASES)
def test_search_reads_words_as_mastodons_index(
    searched: tuple[dict[str, str], Any], text: str, query: str, found: bool
) -> None:
    posted, api = searched
    result = api.search_v2(query, result_type="statuses", resolve=False)
    ids = {str(s["id"]) for s in result["statuses"]}
    assert (posted[text] in ids) is found


@pytest.mark.parametrize(
    ("word", "stem"),
    # Porter's own vocabulary (tartarus.org/martin/PorterStemmer voc.txt / output.txt)
    [
        ("caresses", "caress"),
        ("ponies", "poni"),
        ("agreed", "agre"),
        ("disabled", "disabl"),
        ("matting", "mat"),
        ("mating", "mate"),
        ("meetings", "meet"),
        ("relational", "relat"),
        ("conditional", "condit"),
        ("generalization", "gener"),
        ("electricity", "electr"),
        ("hopeful", "hope"),
        ("happiness", "happi"),
        ("sky", "sky"),
        ("as", "as"),
    ],
)
def test_porter_stems_as_lucene(word: str, stem: str) -> None:
    assert porter_stem(word) == stem
