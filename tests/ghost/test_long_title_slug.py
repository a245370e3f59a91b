"""A title whose derived slug is over 191 characters (titles of about 192 to 255
characters) was refused as if the user had given that slug: Ghost cuts a slug made from
the title to 185 characters (``generateSlug``), so brandkit sends it cut as Ghost would
and refuses only a slug the user gave that Ghost's 191-character limit refuses."""

from __future__ import annotations

from brandkit import Client
from brandkit.content import Article
from brandkit.errors import ContentError
from brandkit.platforms.ghost import ghost_slug
from brandkit.testing.ghost import GhostEmulator

# 240 characters: within Ghost's 255 for a title, its slug 240 characters long.
TITLE = " ".join(["quarterly"] * 24)[:240]


def test_a_long_title_is_published_with_the_slug_ghost_makes_of_it(
    emu: GhostEmulator, client: Client
) -> None:
    article = Article(title=TITLE, body="Up.")
    assert len(article.slug) > 191
    (d,) = client.publish(article, emu.account())
    assert d.ok, d.error
    stored = emu.post(d.parts[0].id)["slug"]
    assert stored == article.slug[:185] == ghost_slug(article.slug)
    assert d.url == f"{emu.base_url}/{stored}/"


def test_the_same_long_title_again_is_numbered_as_ghost_numbers_it(
    emu: GhostEmulator, client: Client
) -> None:
    first, second = (
        client.publish(Article(title=TITLE, body="Up."), emu.account())[0] for _ in "ab"
    )
    assert first.ok and second.ok, (first.error, second.error)
    assert emu.post(second.parts[0].id)["slug"] == ghost_slug(Article(title=TITLE).slug) + "-2"


def test_a_long_draft_title_is_updated_with_its_cut_slug(
    emu: GhostEmulator, client: Client
) -> None:
    (d,) = client.publish(Article(title=TITLE, body="Up.", status="draft"), emu.account())
    assert d.ok, d.error
    changed = Article(title=TITLE[:-1] + "x", body="Down.", status="draft")
    u = client.update(d, changed)
    assert u.ok, u.error
    assert emu.post(d.parts[0].id)["slug"] == changed.slug[:185]


def test_a_slug_the_user_gave_over_191_is_still_refused_before_any_request(
    emu: GhostEmulator, client: Client
) -> None:
    article = Article(title="Q3", body="Up.", slug="a" * 192)
    (d,) = client.publish(article, emu.account())
    assert isinstance(d.error, ContentError) and d.error.field == "slug"
    assert "191" in str(d.error)
    assert emu.requests == []


def test_a_slug_the_user_gave_of_191_is_sent_and_cut_by_ghost(
    emu: GhostEmulator, client: Client
) -> None:
    (d,) = client.publish(Article(title="Q3", body="Up.", slug="a" * 191), emu.account())
    assert d.ok, d.error
    assert emu.post(d.parts[0].id)["slug"] == "a" * 185


def test_a_cut_that_ends_at_a_hyphen_is_stored_as_ghost_slug_says(
    emu: GhostEmulator, client: Client
) -> None:
    # Words of four letters: the slug's 185th character is a hyphen, which Ghost keeps
    # when it cuts a longer slug (it drops only a hyphen it was sent at the end).
    article = Article(title=" ".join(["abcd"] * 45), body="Up.")
    assert article.slug[184] == "-"
    (d,) = client.publish(article, emu.account())
    assert d.ok, d.error
    assert emu.post(d.parts[0].id)["slug"] == ghost_slug(article.slug)
