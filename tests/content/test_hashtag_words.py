"""Post.hashtags: each goes out as that whole tag on the platform, or render refuses it."""

from __future__ import annotations

import pytest

from brandkit import ContentError, Media, Post, render
from brandkit.content import Variant
from brandkit.testing import TINY_JPEG

_WORD_TAG_PLATFORMS = ("x", "mastodon", "instagram", "telegram", "linkedin", "facebook")


def _media_if_needed(platform: str) -> tuple[Media, ...]:
    """Instagram takes no post without an image."""
    return (Media.from_bytes(TINY_JPEG, alt="a dot"),) if platform == "instagram" else ()


@pytest.mark.parametrize("platform", _WORD_TAG_PLATFORMS)
@pytest.mark.parametrize(
    ("tag", "why"),
    [
        ("launch-day", "'-' ends it (the tag would be #launch)"),
        ("brand.kit", "'.' ends it (the tag would be #brand)"),
        ("C++", "'+' ends it (the tag would be #C)"),
        ("2026", "digits alone make no tag"),
    ],
)
def test_a_tag_the_platform_cuts_short_is_refused(platform: str, tag: str, why: str) -> None:
    """ "#launch-day" went out as written: X, Mastodon, Instagram, Telegram, LinkedIn and
    Facebook tag "#launch" and leave "-day" as text (and "#2026" is no tag at all), so the
    post was published without the tag asked for."""
    post = Post(text="We launched", hashtags=[tag], media=_media_if_needed(platform))
    with pytest.raises(ContentError) as caught:
        render(post, platform)
    assert (caught.value.field, caught.value.platform) == ("hashtags", platform)
    assert f"{tag!r} is not a whole hashtag on {platform}: {why}" in str(caught.value)
    assert "'launch_day'" in str(caught.value)


def test_bluesky_reads_its_own_tags() -> None:
    """Bluesky's tags run to the next space (less trailing punctuation): "launch-day" is one
    tag there and goes out; "launch!" would be #launch, "2026" none, and are refused."""
    assert render(Post(text="We launched", hashtags=["launch-day"]), "bluesky").parts[0].text == (
        "We launched\n\n#launch-day"
    )
    for tag, why in (("launch!", "Bluesky's tag would be #launch"), ("2026", "no tag of it")):
        with pytest.raises(ContentError, match=why):
            render(Post(text="We launched", hashtags=[tag]), "bluesky")


def test_threads_topic_tags_take_no_period() -> None:
    with pytest.raises(ContentError, match=r"Threads' topic tags take no '\.'"):
        render(Post(text="We launched", hashtags=["brand.kit"]), "threads")


def test_a_variant_gives_a_platform_its_own_tags() -> None:
    """The error names the variant's field when the variant set the tags; a variant with
    tags X reads whole lets the post go to X while Bluesky keeps its own."""
    post = Post(
        text="We launched",
        hashtags=["launch-day"],
        variants={"x": Variant(hashtags=["launch-2026"])},
    )
    with pytest.raises(ContentError) as caught:
        render(post, "x")
    assert caught.value.field == "variants.x.hashtags"
    fixed = post.model_copy(update={"variants": {"x": Variant(hashtags=["launch_day"])}})
    assert render(fixed, "x").parts[0].text == "We launched\n\n#launch_day"
    assert render(fixed, "bluesky").parts[0].text == "We launched\n\n#launch-day"


@pytest.mark.parametrize("tag", ["launch_day", "Café", "हिन्दी", "日本", "web3"])
def test_tags_of_any_script_are_one_word(tag: str) -> None:
    """Letters, marks, digits and '_' make one tag everywhere: such a tag is kept, and a text
    that already has it does not get it twice."""
    post = Post(text=f"Today #{tag} here", hashtags=[f"#{tag}"])
    for platform in ("x", "mastodon", "bluesky", "threads", "telegram"):
        assert render(post, platform).parts[0].text == f"Today #{tag} here"


@pytest.mark.parametrize("tag", ["🍕", "pizza🍕", "👍🏽"])
def test_instagram_takes_emoji_in_its_tags(tag: str) -> None:
    """Instagram makes tags of emoji (#🍕); X, Mastodon and the rest end a tag there."""
    post = Post(text="Dinner", hashtags=[tag], media=_media_if_needed("instagram"))
    assert render(post, "instagram").parts[0].text == f"Dinner\n\n#{tag}"
    with pytest.raises(ContentError, match="is not a whole hashtag on x"):
        render(post.model_copy(update={"media": ()}), "x")


@pytest.mark.parametrize("platform", ["x", "mastodon", "bluesky", "threads"])
def test_a_tag_given_twice_is_appended_once(platform: str) -> None:
    """hashtags=["launch", "Launch"] (a campaign's tags merged with a post's) appended both:
    one tag twice, which Instagram counts twice against its cap of 5."""
    post = Post(text="We launched", hashtags=["launch", "news", "Launch", "#launch"])
    assert render(post, platform).parts[0].text == "We launched\n\n#launch #news"
