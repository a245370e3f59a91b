"""render(): hashtags only where they are real, UTM tags only on the links the platform
makes, and a variant that empties the post refused before any I/O."""

from __future__ import annotations

import pytest

from brandkit import ContentError, Post, Variant, render
from brandkit.text._urls import extract_urls


@pytest.mark.parametrize(
    "body",
    [
        "Docs: https://example.com/guide#launch",
        "Release notes at example.com/#launch",
        "Read the C#launch notes",
        "Mail a&#launch",
    ],
)
@pytest.mark.parametrize("platform", ["mastodon", "x", "bluesky", "linkedin", "telegram"])
def test_hashtag_in_a_url_or_a_word_is_not_a_hashtag(body: str, platform: str) -> None:
    """A URL fragment or a '#' inside a word does not count as the tag: it is appended."""
    text = render(Post(text=body, hashtags=["launch"]), platform).parts[0].text
    assert text == f"{body}\n\n#launch"


@pytest.mark.parametrize("body", ["We #launch today", "#Launch today", "Today: ＃launch"])
def test_a_real_hashtag_is_not_repeated(body: str) -> None:
    """A tag the text already holds (any case, full-width '#') is not appended again."""
    for platform in ("mastodon", "x", "bluesky"):
        assert render(Post(text=body, hashtags=["launch"]), platform).parts[0].text == body


def test_a_tag_mastodon_files_as_one_is_not_repeated_there() -> None:
    """Mastodon files #Café under cafe: a post that has #Café gets no #cafe there, and
    elsewhere (where the accent makes another tag) it does."""
    post = Post(text="Ouvert! #Café", hashtags=["cafe"])
    assert render(post, "mastodon").parts[0].text == "Ouvert! #Café"
    assert render(post, "x").parts[0].text == "Ouvert! #Café\n\n#cafe"
    folded = Post(text="open #cafe", hashtags=["Café"])
    assert render(folded, "mastodon").parts[0].text == "open #cafe"


def test_hashtag_after_a_url_is_a_hashtag() -> None:
    """A tag after a URL (not inside it) counts."""
    body = "See https://example.com/guide #launch"
    assert render(Post(text=body, hashtags=["launch"]), "mastodon").parts[0].text == body


@pytest.mark.parametrize(
    ("body", "url"),
    [
        ("詳細はhttps://example.com/newsです", "https://example.com/news"),
        ("New post https://example.com/launch👇 go", "https://example.com/launch"),
        ("Read https://example.com/a—now", "https://example.com/a"),
    ],
)
def test_utm_goes_on_the_link_x_makes(body: str, url: str) -> None:
    """X: the query string lands inside the link twitter-text finds, not after glued text."""
    text = render(Post(text=body, utm=True), "x").parts[0].text
    (found,) = extract_urls(text)
    assert found.url == f"{url}?utm_source=x&utm_medium=social"


def test_utm_goes_on_the_link_bluesky_makes() -> None:
    """Bluesky: the tagged URL is the whole link facet; text that makes no link is left."""
    glued = "Read https://example.com/a—now"
    rendered = render(Post(text=glued, utm=True), "bluesky")
    (facet,) = rendered.parts[0].facets
    uri = facet["features"][0]["uri"]
    assert uri.endswith("?utm_source=bluesky&utm_medium=social")
    assert uri in rendered.parts[0].text
    # Bluesky links no URL glued after a letter: it is tagged where twitter-text ends it,
    # not after the kana.
    japanese = "詳細はhttps://example.com/newsです"
    assert render(Post(text=japanese, utm=True), "bluesky").parts[0].text == (
        "詳細はhttps://example.com/news?utm_source=bluesky&utm_medium=socialです"
    )


def test_utm_goes_on_the_link_mastodon_makes() -> None:
    """Mastodon's paths go on through kana, emoji and dashes: the query goes at the end of
    its link, which stays one link."""
    from brandkit.text._mastodon import link_spans

    for body in ("詳細はhttps://example.com/newsです", "Read https://example.com/a—now."):
        text = render(Post(text=body, utm=True), "mastodon").parts[0].text
        ((start, end),) = link_spans(text)
        assert text[start:end].endswith("?utm_source=mastodon&utm_medium=social")


def test_utm_tags_a_url_no_platform_links() -> None:
    """An IP address or a reserved TLD is no link on X, but is still tagged."""
    text = render(Post(text="Local: http://127.0.0.1:8000/a.", utm=True), "x").parts[0].text
    assert text == "Local: http://127.0.0.1:8000/a?utm_source=x&utm_medium=social."


def test_utm_keeps_repeated_links_and_punctuation() -> None:
    """A link twice is tagged twice; a closing period stays outside the link."""
    post = Post(text="https://a.example/x and https://a.example/x.", utm=True)
    text = render(post, "mastodon").parts[0].text
    tagged = "https://a.example/x?utm_source=mastodon&utm_medium=social"
    assert text == f"{tagged} and {tagged}."


@pytest.mark.parametrize("platform", ["x", "bluesky"])
def test_variant_that_empties_the_post_is_refused(platform: str) -> None:
    """A variant whose text is empty, on a post with no media or link, fails render with
    the variant's field."""
    post = Post(text="Hello everyone", variants={platform: Variant(text="  ")})
    with pytest.raises(ContentError) as caught:
        render(post, platform)
    assert caught.value.field == f"variants.{platform}.text"
    assert caught.value.platform == platform
    assert "variants" in str(caught.value)


def test_variant_without_text_but_with_media_elsewhere_is_fine() -> None:
    """An empty variant text is fine where the post keeps a link; other platforms are
    unaffected."""
    from brandkit import Link

    post = Post(
        text="Hello",
        link=Link(url="https://example.com/"),
        variants={"x": Variant(text="")},
    )
    assert render(post, "x").parts[0].text == "https://example.com/"
    assert render(Post(text="Hi", variants={"x": Variant(text="")}), "bluesky").parts
