"""Campaign: what it refuses, and the announcement it builds once the article's URL is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from brandkit import Account, Link, Post, Utm, Variant
from brandkit.campaign import Campaign
from brandkit.content import Article, Media, render
from brandkit.errors import ConfigurationError, ContentError
from brandkit.testing import png

URL = "https://blog.acme.example/2026/12/acme-opens-in-lisbon/"
X = Account.x(user_token="x-token")
SKY = Account.bluesky(handle="acme.bsky.social", app_password="aaaa-bbbb-cccc-dddd")
LINKEDIN = Account.linkedin(author="urn:li:organization:1", token="li-token")


def article(**kw: object) -> Article:
    fields: dict[str, object] = {
        "title": "Acme opens in Lisbon",
        "body": "Acme opens its **first office** in Lisbon, with 40 engineers.\n\nMore soon.",
        "excerpt": "Our first office in Portugal.",
        "featured_image": Media.from_bytes(png(120, 63), alt="The Lisbon office"),
    }
    fields.update(kw)
    return Article(**fields)  # type: ignore[arg-type]


def query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_placeholders_are_filled_and_the_card_is_the_article() -> None:
    """{url}, {title} and {excerpt} are the article's; the card has its title, excerpt and image."""
    c = Campaign(article(), announce=Post(text="{title}: {excerpt} {url}"), to=[X, SKY])
    post = c.announcement(URL)
    assert post.text == f"Acme opens in Lisbon: Our first office in Portugal. {URL}"
    assert post.link is not None
    assert post.link.url == URL
    assert post.link.title == "Acme opens in Lisbon"
    assert post.link.description == "Our first office in Portugal."
    assert post.link.thumbnail is not None and post.link.thumbnail.read() == png(120, 63)


def test_without_an_excerpt_the_card_takes_the_start_of_the_body() -> None:
    """An article without excerpt describes itself with its body's first words, as text."""
    c = Campaign(article(excerpt=None), announce=Post(text="{url}"), to=[X])
    card = c.announcement(URL).link
    assert card is not None and card.description is not None
    assert card.description.startswith("Acme opens its first office in Lisbon")


def test_each_network_gets_its_own_utm_source() -> None:
    """The same announcement renders with utm_source=<platform> and the campaign's name."""
    c = Campaign(
        article(campaign="lisbon"), announce=Post(text="News! {url}"), to=[X, SKY, LINKEDIN]
    )
    post = c.announcement(URL)
    for platform in ("x", "bluesky", "linkedin"):
        rendered = render(post, platform)
        tagged = rendered.parts[0].text.split()[-1]
        assert query(tagged) == {
            "utm_source": [platform],
            "utm_medium": ["social"],
            "utm_campaign": ["lisbon"],
        }
        assert rendered.link is not None and query(rendered.link.url)["utm_source"] == [platform]


def test_utm_can_be_set_or_turned_off() -> None:
    """A Utm sets other values (its campaign defaults to the campaign's name); False keeps
    the URL as the blog gave it; an announcement's own utm wins."""
    c = Campaign(article(), announce=Post(text="{url}"), to=[X], utm=Utm(medium="press"))
    text = render(c.announcement(URL), "x").parts[0].text
    assert query(text) == {
        "utm_source": ["x"],
        "utm_medium": ["press"],
        "utm_campaign": ["acme-opens-in-lisbon"],
    }
    off = Campaign(article(), announce=Post(text="{url}"), to=[X], utm=False)
    assert render(off.announcement(URL), "x").parts[0].text == URL
    own = Campaign(article(), announce=Post(text="{url}", utm=Utm(medium="mail")), to=[X])
    assert query(render(own.announcement(URL), "x").parts[0].text)["utm_medium"] == ["mail"]


def test_variants_get_the_url_too() -> None:
    """A per-network variant's text is filled like the post's."""
    announce = Post(text="Long news {url}", variants={"x": Variant(text="Short {url}")})
    post = Campaign(article(), announce=announce, to=[X, SKY]).announcement(URL)
    assert post.for_platform("x").text == f"Short {URL}"
    assert post.text == f"Long news {URL}"


def test_other_braces_are_left_alone() -> None:
    """Only the three placeholders are replaced: other braces are the author's text."""
    post = Campaign(
        article(), announce=Post(text="{json} ¯\\_(ツ)_/¯ {} {url}"), to=[X]
    ).announcement(URL)
    assert post.text == f"{{json}} ¯\\_(ツ)_/¯ {{}} {URL}"


def test_an_announcement_with_its_own_link_keeps_it() -> None:
    """The card is the article's only when the announcement has none of its own."""
    own = Link(url="https://acme.example/lisbon")
    post = Campaign(article(), announce=Post(text="{url}", link=own), to=[X]).announcement(URL)
    assert post.link == own


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"article": article(status="draft")}, ContentError, "draft"),
        (
            {
                "announce": Post(
                    text="No link",
                ),
                "card": False,
            },
            ContentError,
            r"\{url\}",
        ),
        (
            {"announce": Post(text="{url}", scheduled_at=datetime.now(UTC) + timedelta(days=1))},
            ContentError,
            "schedule",
        ),
        ({"to": []}, ConfigurationError, "at least one"),
        ({"to": [X, X]}, ConfigurationError, "twice"),
        ({"to": "x"}, ConfigurationError, "accounts"),
        (
            {
                "to": [
                    Account.ghost("https://blog.acme.example", admin_key="a" * 24 + ":" + "b" * 64)
                ]
            },
            ConfigurationError,
            "blog",
        ),
        ({"article": Post(text="not an article")}, ContentError, "Article"),
    ],
    ids=[
        "draft",
        "no-url",
        "scheduled-announcement",
        "no-accounts",
        "twice",
        "string",
        "blog",
        "post",
    ],
)
def test_what_a_campaign_refuses(
    kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    """Each mistake is refused when the campaign is made, before anything is published."""
    fields: dict[str, object] = {"article": article(), "announce": Post(text="{url}"), "to": [X]}
    fields.update(kwargs)
    with pytest.raises(error, match=match):
        Campaign(**fields)  # type: ignore[arg-type]


def test_a_url_that_is_not_http_is_refused() -> None:
    """The URL the blog gives is checked like every link."""
    c = Campaign(article(), announce=Post(text="{url}"), to=[X])
    with pytest.raises(ContentError, match="http"):
        c.announcement("javascript:alert(1)")


def test_campaign_name_falls_back_to_the_slug() -> None:
    """Without a name, the announcement's or the article's campaign, the slug names it."""
    assert (
        Campaign(article(), announce=Post(text="{url}"), to=[X]).campaign_name
        == "acme-opens-in-lisbon"
    )
    assert Campaign(article(), announce=Post(text="{url}"), to=[X], name="q4").campaign_name == "q4"


def test_check_renders_the_announcement_for_each_network() -> None:
    """An announcement a network can never take is refused by check(), before the article
    is published: five images are more than Bluesky takes."""
    images = [Media.from_bytes(png(), alt=f"Image {i}") for i in range(5)]
    c = Campaign(article(), announce=Post(text="{url}", media=images), to=[SKY])
    with pytest.raises(ContentError) as info:
        c.check()
    assert info.value.platform == "bluesky"
