"""Query: validation and the reference meaning emulators and tests share."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from brandkit import ContentError, Query


def test_a_query_needs_something_to_find() -> None:
    with pytest.raises(ContentError, match="needs something to find"):
        Query(exclude=["job"])
    with pytest.raises(ContentError, match="needs something to find"):
        Query(languages=["en"])


def test_terms_are_cleaned_and_checked() -> None:
    q = Query(any=["  brand   kit "], hashtags=["#BrandKit"], handles=["@acme"])
    assert q.any == ("brand kit",)
    assert q.hashtags == ("BrandKit",)
    assert q.handles == ("acme",)
    with pytest.raises(ContentError):
        Query(any=[""])
    with pytest.raises(ContentError):
        Query(hashtags=["two words"])
    with pytest.raises(ContentError, match="aware"):
        Query(any=["x"], since=datetime(2026, 1, 1))
    with pytest.raises(ContentError, match="before until"):
        Query(
            any=["x"],
            since=datetime(2026, 2, 1, tzinfo=UTC),
            until=datetime(2026, 1, 1, tzinfo=UTC),
        )


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        (Query(any=["brandkit"]), "I love BrandKit!", True),
        (Query(any=["brandkit"]), "I love brandkits", False),
        (Query(any=["brand kit"]), "the brand kit is here", True),
        (Query(all=["fast", "cheap"]), "fast and cheap", True),
        (Query(all=["fast", "cheap"]), "fast only", False),
        (Query(phrases=["not bad"]), "honestly not bad at all", True),
        (Query(phrases=["not bad"]), "bad, not good", False),
        (Query(hashtags=["kopi"]), "pagi ini #kopi enak", True),
        (Query(hashtags=["kopi"]), "pagi ini kopi enak", False),
        (Query(hashtags=["東京"]), "今日は #東京 で", True),
        (Query(hashtags=["🍕"]), "tonight #🍕 party", True),
        (Query(handles=["acme"]), "hey @acme, help", True),
        (Query(handles=["acme"]), "hey @acme@social.example help", True),
        (Query(handles=["acme"]), "hey @acmeco", False),
        (Query(any=["brandkit"], exclude=["job"]), "brandkit job offer", False),
        (Query(any=["brandkit"], exclude=["job"]), "brandkit is great", True),
        (Query(any=["bagus"]), "Produk ini sangat bagus sekali", True),
    ],
)
def test_matches(query: Query, text: str, expected: bool) -> None:
    assert query.matches(text) is expected


def test_languages_and_times() -> None:
    q = Query(
        any=["kopi"],
        languages=["id"],
        since=datetime(2026, 1, 1, tzinfo=UTC),
        until=datetime(2026, 2, 1, tzinfo=UTC),
    )
    inside = datetime(2026, 1, 15, tzinfo=UTC)
    assert q.matches("kopi", language="id", at=inside)
    assert not q.matches("kopi", language="en", at=inside)
    assert not q.matches("kopi", language="id", at=datetime(2026, 2, 1, tzinfo=UTC))
    assert q.matches("kopi")  # a post without a known language is not excluded


def test_terms_lists_every_positive_term() -> None:
    q = Query(any=["a"], all=["b"], phrases=["c d"], hashtags=["e"], handles=["f"])
    assert q.terms() == ["a", "b", "c d", "#e", "@f"]


def test_a_language_matches_whatever_its_case_and_covers_its_regions() -> None:
    """Language tags ignore case (BCP 47), and ``zh`` covers ``zh-TW`` (a status language
    Mastodon keeps): ``languages=["EN"]`` or ``["zh"]`` must not drop every post."""
    assert Query(any=["kopi"], languages=["EN"]).matches("kopi", language="en")
    assert Query(any=["kopi"], languages=["en"]).matches("kopi", language="EN")
    assert Query(any=["kopi"], languages=["zh"]).matches("kopi", language="zh-TW")
    assert not Query(any=["kopi"], languages=["zh-TW"]).matches("kopi", language="zh-CN")
    assert not Query(any=["kopi"], languages=["en"]).matches("kopi", language="eng")


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        (Query(hashtags=["acme"]), "boots #acme… really", True),
        (Query(hashtags=["acme"]), "love #acme’s boots", True),
        (Query(hashtags=["acme"]), "party #acme🎉", True),
        (Query(hashtags=["acme"]), "yes #acme—really", True),
        (Query(hashtags=["acme"]), "#Acme!", True),
        (Query(hashtags=["acme"]), "#acmeco and #acme_x", False),
        (Query(hashtags=["acme"]), "see x#acme", False),
        (Query(handles=["acme"]), "thanks @acme’s team", True),
        (Query(handles=["acme"]), "ask @acme…", True),
        (Query(handles=["acme"]), "ask @acme.", True),
        (Query(handles=["acme"]), "ask @acme.bsky.social", False),
        (Query(handles=["acme"]), "ask @acme-co", False),
        (Query(handles=["acme.bsky.social"]), "ask @acme.bsky.social’s team", True),
    ],
)
def test_a_tag_or_handle_ends_where_its_characters_end(
    query: Query, text: str, expected: bool
) -> None:
    """Mastodon files ``#acme…`` and ``#acme’s`` under the tag ``acme``: its tag timeline
    returns them, and the narrowing after reading must keep them."""
    assert query.matches(text) is expected


@pytest.mark.parametrize(
    ("text", "term"),
    [
        ("Love the #Acme launch", "acme"),
        ("#acme’s new phone", "acme"),
        ("#acme🎉", "acme"),
        ("#acmecorp", "acme"),
        ("x#acme", "acme"),
        ("big news from Acme Corp", "acme corp"),
        ("acmecorp news", "acme"),
        ("It's here", "it's"),
        ("", "acme"),
        ("acme", "!!"),
    ],
)
def test_says_and_shows_hashtag_read_as_matches_does(text: str, term: str) -> None:
    """The one-term helpers the Threads search uses for each post answer what a Query of that
    term answers, and tell words from tags."""
    from brandkit.listening._query import says, shows_hashtag

    if term == "!!":
        # No word to match: says finds none, and a Query refuses the term.
        assert not says(text, term)
        with pytest.raises(ContentError, match="no word to match"):
            Query(any=(term,))
    else:
        assert says(text, term) == Query(any=(term,)).matches(text)
    if term.isalnum():
        assert shows_hashtag(text, term) == Query(hashtags=(term,)).matches(text)
    assert says("Love the #Acme launch", "acme") and shows_hashtag("Love the #Acme launch", "acme")
    assert not shows_hashtag("acme launch", "acme") and says("acme launch", "acme")


def test_tagged_replaces_the_texts_reading_of_hashtags() -> None:
    """A platform that files tags its own way (Mastodon: #Café is cafe) says which a post
    carries; words are still read from the text."""
    query = Query(hashtags=["cafe"])
    assert not query.matches("Ouvert! #Café")
    assert query.matches("Ouvert! #Café", tagged=lambda tag: tag == "cafe")
    assert not Query(hashtags=["cafe"]).matches("#cafe", tagged=lambda tag: False)
    assert Query(any=["ouvert"], hashtags=["tea"]).matches("Ouvert!", tagged=lambda tag: False)


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # A phone's smart punctuation writes the apostrophe typed as ' as ’.
        (Query(any=["McDonald's"]), "lunch at McDonald’s today", True),
        (Query(phrases=["don't buy"]), "Don’t buy it", True),
        # The same letters composed (NFC) or decomposed (NFD, as some keyboards and
        # macOS file names write them) are the same word, tag and handle.
        (Query(any=["café"]), "un cafe\u0301 noir", True),
        (Query(any=["cafe\u0301"]), "un café noir", True),
        (Query(hashtags=["café"]), "ouvert #cafe\u0301 ici", True),
        (Query(hashtags=["cafe"]), "ouvert #cafe\u0301 ici", False),
        (Query(handles=["josé"]), "merci @jose\u0301 !", True),
        # Full-width letters (CJK keyboards) and case folds past lower().
        (Query(any=["acme"]), "ＡＣＭＥ rocks", True),
        (Query(any=["straße"]), "STRASSE gesperrt", True),
        # A mark after a brand stays a mark: "Acme™" is not the word "acmetm".
        (Query(any=["acme"]), "Acme™ rocks", True),
        (Query(any=["acme"]), "Acme℠ and Acme® rock", True),
        (Query(any=["ﬁne"]), "a fine day", True),
        (Query(any=["acme"], exclude=["don't"]), "acme: don’t", False),
    ],
)
def test_matches_reads_the_same_text_written_differently(
    query: Query, text: str, expected: bool
) -> None:
    """Bluesky, Threads and Mastodon results are narrowed with `Query.matches`: a post the
    platform found must not be dropped because its apostrophe is curly or its accents are
    decomposed."""
    assert query.matches(text) is expected


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        (Query(any=["🍕"]), "pizza night 🍕🍕", True),
        (Query(any=["🍕"]), "pizza night", False),
        (Query(all=["acme", "🔥"]), "acme🔥 launch", True),
        (Query(phrases=["acme ❤️"]), "we acme ❤ so much", True),
        (Query(any=["acme"], exclude=["💩"]), "acme 💩", False),
        (Query(any=["acme"], exclude=["💩"]), "acme!", True),
        (Query(any=["👍"]), "ok 👍🏽", True),
    ],
)
def test_an_emoji_is_a_word(query: Query, text: str, expected: bool) -> None:
    """An emoji term matched nothing (only letters and digits made words): Bluesky and
    Mastodon results narrowed by `Query.matches` lost every post, and an emoji in
    ``exclude`` excluded nothing."""
    assert query.matches(text) is expected


@pytest.mark.parametrize(
    "fields",
    [
        {"any": ["!!"]},
        {"any": ["brandkit"], "all": ["..."]},
        {"phrases": ["?!"]},
        {"any": ["brandkit"], "exclude": ["++"]},
        {"hashtags": ["!!"]},
        {"handles": ["@."]},
    ],
)
def test_a_term_without_a_word_is_refused(fields: dict[str, list[str]]) -> None:
    """A term of punctuation alone has no word to match: ``any=["!!"]`` matched no post
    (each platform was searched, and X billed what it returned, for nothing), ``all=``
    or ``phrases=`` made the whole query match nothing, ``exclude=`` excluded nothing."""
    with pytest.raises(ContentError, match="no word to match"):
        Query(**fields)  # type: ignore[arg-type]


def test_punctuation_in_a_term_is_not_part_of_it() -> None:
    """A term's words are what is matched, as the platforms' searches read them:
    ``Yahoo!`` is the word ``yahoo``; an emoji is a word; a handle of underscores is a
    handle."""
    assert Query(any=["Yahoo!"]).matches("yahoo mail is down")
    assert Query(any=["C++"]).terms() == ["C++"]
    assert Query(any=["C++"]).matches("learning C++ today")
    assert Query(any=["🎉"]).matches("launch day 🎉")
    assert Query(hashtags=["🍕"]).matches("tonight #🍕 party")
    assert Query(handles=["___"]).matches("thanks @___!")


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        # Chinese and Japanese put no space between words: a sentence was read as one word,
        # so no term inside it matched, and Threads' and Mastodon's results (which brandkit
        # keeps only when they match) were all dropped.
        (Query(any=["東京"]), "来週東京に行きます", True),
        (Query(any=["アクメ"]), "新しいアクメのブーツ、最高", True),
        (Query(any=["ｱｸﾒ"]), "新しいアクメのブーツ", True),  # half-width kana
        (Query(phrases=["东京塔"]), "我们明天去东京塔看看", True),
        (Query(any=["acme"]), "acme東京店がオープン", True),
        (Query(all=["東京", "ブーツ"]), "東京でブーツを買った", True),
        (Query(any=["東京"], exclude=["求人"]), "東京で求人中", False),
        (Query(any=["東京"]), "京都に行きます", False),
        (Query(any=["acme"]), "acmeboots", False),  # Latin words stay whole
    ],
)
def test_a_term_in_a_script_without_spaces_matches_inside_its_sentence(
    query: Query, text: str, expected: bool
) -> None:
    assert query.matches(text) is expected


def test_a_naive_at_is_a_typed_error() -> None:
    """matches(at=<naive datetime>) on a query with since/until raised a bare TypeError
    ("can't compare offset-naive and offset-aware datetimes")."""
    from brandkit.errors import ConfigurationError

    query = Query(any=["acme"], since=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ConfigurationError, match="no time zone"):
        query.matches("acme", at=datetime(2026, 6, 1))
    assert query.matches("acme", at=datetime(2026, 6, 1, tzinfo=UTC))
