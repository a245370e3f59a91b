"""What Ghost refuses for its length is refused before any request, naming the field: a
tag name over 191 characters or a canonical URL over 2000 went out, after the featured
image was uploaded, and came back as a 422 ("Validation error, cannot save tag."), leaving
an unused image on the site."""

from __future__ import annotations

from brandkit import Client
from brandkit.content import Article, Media
from brandkit.errors import ContentError
from brandkit.testing import png
from brandkit.testing.ghost import GhostEmulator


def image() -> Media:
    return Media(data=png(), mime_type="image/png", alt="Chart")


def test_a_tag_name_too_long_is_refused_before_any_request(
    emu: GhostEmulator, client: Client
) -> None:
    article = Article(title="Q3", body="Up.", tags=["t" * 192], featured_image=image())
    (d,) = client.publish(article, emu.account())
    assert not d.ok
    assert isinstance(d.error, ContentError) and d.error.field == "tags"
    assert "191" in str(d.error) and "tag" in str(d.error)
    assert emu.requests == []


def test_a_category_name_too_long_is_refused_too(emu: GhostEmulator, client: Client) -> None:
    # Ghost has tags only: categories are sent as tags.
    article = Article(title="Q3", body="Up.", categories=["c" * 200])
    (d,) = client.publish(article, emu.account())
    assert isinstance(d.error, ContentError) and d.error.field == "categories"
    assert emu.requests == []


def test_a_canonical_url_too_long_is_refused_before_any_request(
    emu: GhostEmulator, client: Client
) -> None:
    url = "https://example.com/" + "a" * 1990
    article = Article(title="Q3", body="Up.", canonical_url=url, featured_image=image())
    (d,) = client.publish(article, emu.account())
    assert isinstance(d.error, ContentError) and d.error.field == "canonical_url"
    assert emu.requests == []


def test_names_at_the_limit_are_sent(emu: GhostEmulator, client: Client) -> None:
    article = Article(title="Q3", body="Up.", tags=["t" * 191])
    (d,) = client.publish(article, emu.account())
    assert d.ok, d.error
