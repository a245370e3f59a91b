"""Unit tests: each platform's rule, each error message, the public surface."""

from __future__ import annotations

import inspect

import pytest

import brandkit.text
from brandkit import text
from brandkit.errors import ConfigurationError, ContentError

# --- public surface ------------------------------------------------------------------------


def test_all_is_sorted_and_complete() -> None:
    """__all__ lists the public API, sorted, and every name exists."""
    expected = {
        "PLATFORMS",
        "Measure",
        "check",
        "count",
        "facets",
        "limit",
        "measure",
        "split",
        "telegram_entities",
    }
    assert set(brandkit.text.__all__) == expected
    assert brandkit.text.__all__ == sorted(
        brandkit.text.__all__, key=lambda n: (not n.isupper(), n)
    )
    for name in expected:
        assert getattr(brandkit.text, name) is not None


def test_signatures() -> None:
    """The signatures other tools call stay as agreed."""
    assert (
        str(inspect.signature(text.count))
        == "(text: 'str', platform: 'str', **options: 'Any') -> 'int'"
    )
    assert str(inspect.signature(text.limit)) == "(platform: 'str', **options: 'Any') -> 'int'"
    assert "field: 'str' = 'text'" in str(inspect.signature(text.check))
    assert "numbered: 'bool' = False" in str(inspect.signature(text.split))


def test_platforms() -> None:
    """The eight platform names."""
    assert text.PLATFORMS == (
        "x",
        "mastodon",
        "bluesky",
        "linkedin",
        "facebook",
        "instagram",
        "threads",
        "telegram",
    )


@pytest.mark.parametrize(
    "call",
    [
        lambda: text.count("hi", "myspace"),
        lambda: text.limit("myspace"),
        lambda: text.measure("hi", "X"),
        lambda: text.check("hi", "twitter"),
        lambda: text.split("hi", "tiktok"),
    ],
)
def test_unknown_platform_names_the_known_ones(call: object) -> None:
    """An unknown platform raises ConfigurationError listing every known name."""
    with pytest.raises(ConfigurationError) as caught:
        call()  # type: ignore[operator]
    for name in text.PLATFORMS:
        assert name in str(caught.value)


def test_unknown_option_is_refused() -> None:
    """An option the platform does not take raises ConfigurationError naming what it takes."""
    with pytest.raises(ConfigurationError, match="caption"):
        text.count("hi", "x", caption=True)
    with pytest.raises(ConfigurationError, match="none"):
        text.limit("bluesky", max_characters=10)


@pytest.mark.parametrize(
    ("platform", "options"),
    [
        ("x", {"config": "v4"}),
        ("x", {"max_length": 0}),
        ("mastodon", {"max_characters": "500"}),
        ("mastodon", {"max_characters": True}),
        ("mastodon", {"characters_reserved_per_url": -1}),
        ("mastodon", {"spoiler_text": None}),
        ("telegram", {"caption": "yes"}),
        ("instagram", {"max_hashtags": 0}),
    ],
)
def test_bad_option_values(platform: str, options: dict[str, object]) -> None:
    """Options of the wrong type or range raise ConfigurationError."""
    with pytest.raises(ConfigurationError):
        text.limit(platform, **options)


# --- limits --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "options", "expected"),
    [
        ("x", {}, 280),
        ("x", {"config": "v1"}, 140),
        ("x", {"max_length": 25000}, 25000),
        ("mastodon", {}, 500),
        ("mastodon", {"max_characters": 5000}, 5000),
        ("bluesky", {}, 300),
        ("linkedin", {}, 3000),
        ("facebook", {}, 63206),
        ("instagram", {}, 2200),
        ("threads", {}, 500),
        ("telegram", {}, 4096),
        ("telegram", {"caption": True}, 1024),
    ],
)
def test_limits(platform: str, options: dict[str, object], expected: int) -> None:
    """limit() gives each platform's main limit, with options applied."""
    assert text.limit(platform, **options) == expected
    assert text.measure("", platform, **options).limit == expected


# --- X -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hello", 5),
        ("日本語", 6),
        ("한국어", 6),
        ("Привет", 6),
        ("😀", 2),
        ("👨‍👩‍👧‍👦", 2),
        ("👍🏽", 2),
        ("🇮🇩", 2),
        ("🏴󠁧󠁢󠁳󠁣󠁴󠁿", 2),
        ("#️⃣", 2),
        ("©", 1),
        ("©️", 2),
        ("🧑‍🧑‍🧒", 2),  # Emoji 15.1: counted as one emoji, as X documents
        ("https://example.com/a/very/long/path/that/goes/on/and/on", 23),
        ("example.com", 23),
        ("see t.co/abc", 27),
        ("e\u0301", 1),  # NFC: é
        ("—", 1),  # U+2014 is in a weight-100 range
        ("\u2038", 2),  # U+2038 is not
    ],
)
def test_x_weights(value: str, expected: int) -> None:
    """X weights: Latin 1, CJK 2, every emoji 2, every URL 23, NFC first."""
    assert text.count(value, "x") == expected


def test_x_configs() -> None:
    """v2 counts emoji code point by code point; v1 counts every code point 1."""
    family = "👨‍👩‍👧‍👦"
    assert text.count(family, "x", config="v3") == 2
    assert text.count(family, "x", config="v2") == 11
    assert text.count("日本" + family, "x", config="v1") == 9


def test_x_check_message() -> None:
    """The X length error says the length, the overflow, the limit and what to do."""
    with pytest.raises(ContentError) as caught:
        text.check("a" * 312, "x")
    error = caught.value
    assert str(error) == (
        "text is 312 weighted characters on x, 32 over the limit of 280: "
        "shorten it or let brandkit split it into a thread"
    )
    assert (error.field, error.platform, error.over_by) == ("text", "x", 32)


def test_x_premium_length() -> None:
    """max_length raises the limit for Premium accounts."""
    long = "a" * 1000
    assert not text.measure(long, "x").fits
    assert text.check(long, "x", max_length=4000).length == 1000


def test_x_invalid_characters() -> None:
    """Characters twitter-text refuses are a problem of their own."""
    result = text.measure("ok\ufffe", "x")
    assert not result.fits
    assert result.over_by == 0
    assert result.problems == (
        "text has 1 character X refuses (U+FFFE, U+FEFF or U+FFFF; the first, U+FFFE at "
        "position 2): remove it",
    )


# --- Mastodon ------------------------------------------------------------------------------


def test_mastodon_rules() -> None:
    """URLs count characters_reserved_per_url, remote mentions lose their domain."""
    value = "@bob@example.social see https://example.com/" + "x" * 100
    assert text.count(value, "mastodon") == len("@bob see ") + 23
    assert text.count(value, "mastodon", characters_reserved_per_url=10) == len("@bob see ") + 10
    assert text.count("example.com", "mastodon") == 11  # no protocol, no discount


def test_mastodon_path_ending_in_equals_counts_it() -> None:
    """Mastodon never ends a URL path with '=': those characters count as text."""
    assert text.count("https://example.com/abc==", "mastodon") == 25
    assert text.count("https://example.com/?q=", "mastodon") == 23


def test_mastodon_content_warning_message() -> None:
    """The Mastodon error mentions the content warning, which shares the budget."""
    with pytest.raises(ContentError) as caught:
        text.check("a" * 490, "mastodon", spoiler_text="spoilers ahead")
    assert str(caught.value) == (
        "text is 504 characters on mastodon, 4 over the limit of 500: shorten it or its "
        "content warning, or let brandkit split it into a thread"
    )
    assert caught.value.over_by == 4


def test_mastodon_instance_limit() -> None:
    """max_characters is the instance's own limit."""
    assert text.measure("a" * 600, "mastodon", max_characters=1000).fits
    assert text.measure("a" * 600, "mastodon").over_by == 100


# --- Bluesky -------------------------------------------------------------------------------


def test_bluesky_graphemes() -> None:
    """Bluesky counts grapheme clusters: a family emoji is 1."""
    assert text.count("👨‍👩‍👧‍👧🔥 good!✅", "bluesky") == 9
    assert text.measure("a" * 300, "bluesky").fits
    assert text.measure("a" * 301, "bluesky").over_by == 1


def test_bluesky_byte_limit() -> None:
    """Bluesky's 3000-byte limit is a problem even when the graphemes fit."""
    family = "👨‍👩‍👧‍👧"  # 1 grapheme, 25 bytes
    value = family * 121  # 121 graphemes, 3025 bytes
    result = text.measure(value, "bluesky")
    assert (result.length, result.byte_length, result.over_by) == (121, 3025, 0)
    assert not result.fits
    assert result.problems == (
        "text is 3025 bytes in UTF-8 on bluesky, 25 over the limit of 3000: "
        "shorten it or let brandkit split it into a thread",
    )
    with pytest.raises(ContentError) as caught:
        text.check(value, "bluesky", field="reply")
    assert caught.value.over_by == 25
    assert caught.value.field == "reply"
    assert str(caught.value).startswith("reply is 3025 bytes")


def test_bluesky_both_limits() -> None:
    """Both broken rules are reported; over_by is the length's."""
    value = "👨‍👩‍👧‍👧" * 310
    result = text.measure(value, "bluesky")
    assert len(result.problems) == 2
    with pytest.raises(ContentError) as caught:
        text.check(value, "bluesky")
    assert caught.value.over_by == 10
    assert "; " in str(caught.value)


# --- Threads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hello", 5),
        ("日本語", 3),
        ("😀", 4),
        ("👍🏽", 8),
        ("👨‍👩‍👧‍👦", 25),
        ("🇮🇩", 8),
        ("#️⃣", 7),
        ("©", 2),
        ("e\u0301", 2),
    ],
)
def test_threads_emoji_bytes(value: str, expected: int) -> None:
    """Threads counts an emoji as its UTF-8 bytes, other text by code point."""
    assert text.count(value, "threads") == expected


def test_threads_link_cap() -> None:
    """More than 5 different links is a problem; repeating a link does not count twice."""
    six = " ".join(f"https://example.com/{n}" for n in range(6))
    result = text.measure(six, "threads")
    assert result.length <= 500
    assert not result.fits
    assert result.problems == (
        "text has 6 different links on threads, 1 over the limit of 5: remove 1 link or let "
        "brandkit split it into a thread",
    )
    assert text.measure(" ".join(["https://example.com/1"] * 8), "threads").fits


# --- Telegram ------------------------------------------------------------------------------


def test_telegram_utf16() -> None:
    """Telegram counts UTF-16 code units: an emoji outside the BMP is 2."""
    assert text.count("hi 😀", "telegram") == 5
    assert text.count("👨‍👩‍👧‍👦", "telegram") == 11
    assert text.count("日本", "telegram") == 2


def test_telegram_caption_message() -> None:
    """A caption over 1024 says so and suggests what works (Telegram never splits)."""
    with pytest.raises(ContentError) as caught:
        text.check("a" * 1030, "telegram", caption=True, field="caption")
    assert str(caught.value) == (
        "caption is 1030 UTF-16 code units on telegram, 6 over the limit of 1024: "
        "shorten it, or post the text without media (a text message takes up to 4096)"
    )
    assert caught.value.over_by == 6


# --- LinkedIn, Facebook, Instagram ---------------------------------------------------------


@pytest.mark.parametrize(
    ("platform", "cap"), [("linkedin", 3000), ("facebook", 63206), ("instagram", 2200)]
)
def test_code_point_platforms(platform: str, cap: int) -> None:
    """These count code points; the message only says to shorten (no threads there)."""
    assert text.count("😀é", platform) == 2
    assert text.measure("a" * cap, platform).fits
    with pytest.raises(ContentError) as caught:
        text.check("a" * (cap + 3), platform)
    assert str(caught.value) == (
        f"text is {cap + 3} characters on {platform}, 3 over the limit of {cap}: shorten it"
    )
    assert caught.value.over_by == 3


def test_instagram_hashtag_cap() -> None:
    """Instagram allows 5 hashtags by default (the product cap), 30 when asked."""
    seven = " ".join(f"#tag{n}" for n in range(7))
    result = text.measure(seven, "instagram")
    assert result.problems == (
        "text has 7 hashtags on instagram, 2 over the limit of 5: remove 2 hashtags",
    )
    assert text.measure(seven, "instagram", max_hashtags=30).fits
    assert text.measure(" ".join(f"#t{n}" for n in range(5)), "instagram").fits


def test_instagram_mention_cap() -> None:
    """More than 20 mentions is a problem; over_by says how many to remove."""
    many = " ".join(f"@user{n}" for n in range(21))
    with pytest.raises(ContentError) as caught:
        text.check(many, "instagram")
    assert str(caught.value) == (
        "text has 21 mentions on instagram, 1 over the limit of 20: remove 1 mention"
    )
    assert caught.value.over_by == 1


# --- measure and check ---------------------------------------------------------------------


@pytest.mark.parametrize("platform", text.PLATFORMS)
def test_empty_text_fits(platform: str) -> None:
    """Empty text is not the text engine's problem."""
    result = text.measure("", platform)
    assert (result.length, result.over_by, result.fits, result.problems) == (0, 0, True, ())


def test_check_returns_the_measure() -> None:
    """check() returns the same Measure as measure() when the text fits."""
    assert text.check("hello 😀", "bluesky") == text.measure("hello 😀", "bluesky")


def test_measure_is_frozen() -> None:
    """A Measure cannot be changed."""
    result = text.measure("hi", "x")
    with pytest.raises(AttributeError):
        result.length = 3  # type: ignore[misc]
    assert result.unit == "weighted characters"
    assert result.byte_length == 2


@pytest.mark.parametrize(
    ("platform", "unit"),
    [
        ("x", "weighted characters"),
        ("mastodon", "characters"),
        ("bluesky", "graphemes"),
        ("threads", "characters"),
        ("telegram", "UTF-16 code units"),
    ],
)
def test_units(platform: str, unit: str) -> None:
    """Each platform names its unit."""
    assert text.measure("x", platform).unit == unit


# --- facets and entities -------------------------------------------------------------------


def test_facets_mention_carries_the_handle() -> None:
    """Mentions carry the handle (no @) until an adapter resolves it to a DID."""
    assert text.facets("hi @alice.bsky.social!") == [
        {
            "index": {"byteStart": 3, "byteEnd": 21},
            "features": [
                {"$type": "app.bsky.richtext.facet#mention", "handle": "alice.bsky.social"}
            ],
        }
    ]


def test_facets_do_not_overlap() -> None:
    """A cashtag inside a link is dropped: the link starts first."""
    facets = text.facets("see https://example.com/($AAPL) now")
    assert [f["features"][0]["$type"] for f in facets] == ["app.bsky.richtext.facet#link"]


def test_facets_byte_offsets_and_order() -> None:
    """Offsets are UTF-8 bytes, sorted by byteStart, links with https:// added."""
    value = "日本 example.com #タグ @bob.test"
    facets = text.facets(value)
    raw = value.encode()
    assert [raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in facets] == [
        "example.com",
        "#タグ",
        "@bob.test",
    ]
    assert facets[0]["features"][0]["uri"] == "https://example.com"
    assert facets[1]["features"][0]["tag"] == "タグ"


def test_facets_long_tag_is_not_a_tag() -> None:
    """A tag over 64 graphemes is not a facet."""
    assert text.facets("#" + "a" * 64) != []
    assert text.facets("#" + "a" * 65) == []


def test_telegram_entities_utf16() -> None:
    """Entities use UTF-16 offsets: the emoji before the mention counts 2."""
    assert text.telegram_entities("😀 @durov #news https://telegram.org") == [
        {"type": "mention", "offset": 3, "length": 6},
        {"type": "hashtag", "offset": 10, "length": 5},
        {"type": "url", "offset": 16, "length": 20},
    ]


@pytest.mark.parametrize(
    "value",
    ["@abcd", "mail@durov_bot", "#123", "#tag#", "x#tag"],
)
def test_telegram_entities_rejects(value: str) -> None:
    """Too-short usernames, mid-word @ and #, digit-only and #-glued hashtags are not entities."""
    assert text.telegram_entities(value) == []


@pytest.mark.parametrize(("written", "meant"), [("twitter", "x"), ("blusky", "bluesky")])
def test_an_unknown_platform_names_the_one_meant(written: str, meant: str) -> None:
    """count('...', 'twitter') said only which platforms exist; Post(variants=...) and the
    command line already named the one meant."""
    from brandkit.errors import ConfigurationError
    from brandkit.text import count

    with pytest.raises(ConfigurationError, match=rf"did you mean '{meant}'\?"):
        count("hello", written)
