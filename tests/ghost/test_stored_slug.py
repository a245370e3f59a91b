"""A lost answer is found whatever Ghost made of the slug. Ghost's ``generateSlug`` stores a
one-character slug as ``post-x`` (an article titled "X"), a protected one (``ghost``,
``rss``, ``amp``) as ``rss-post``, and cuts a long one to 185 characters keeping a hyphen
left at the cut. The lookup read the slug as sent (``x``, ``rss``, the cut without its
hyphen) and their ``-2``, ``-3``...: it never found such a post, and the article was
published twice."""

from __future__ import annotations

import pytest

from brandkit import Account, Client
from brandkit.content import Article
from brandkit.platforms.ghost import GhostAdapter, ghost_slug
from brandkit.testing.ghost import GhostEmulator
from tests.ghost.conftest import CREATE

LONG = "a" * 184 + "-" + "b" * 5


@pytest.mark.parametrize(
    ("title", "slug", "stored"),
    [
        ("X", None, "post-x"),
        ("RSS", None, "rss-post"),
        ("Our amp", "amp", "amp-post"),
        ("Long", LONG, LONG[:185]),
    ],
)
def test_a_lost_answer_finds_the_slug_ghost_stored(
    emu: GhostEmulator, client: Client, title: str, slug: str | None, stored: str
) -> None:
    emu.fault(method="POST", path=CREATE, drop="after")
    (d,) = client.publish(Article(title=title, slug=slug, body="Hi."), emu.account())
    assert d.ok, d.error
    assert emu.count("POST", CREATE) == 1
    assert [p["slug"] for p in emu.posts()] == [stored]
    assert d.parts[0].id == emu.posts()[0]["id"]


def test_a_second_post_of_the_slug_is_found_too(emu: GhostEmulator, client: Client) -> None:
    account = emu.account()
    (first,) = client.publish(Article(title="X", body="One."), account)
    emu.fault(method="POST", path=CREATE, drop="after")
    (second,) = client.publish(Article(title="X", body="Two."), account)
    assert second.ok, second.error
    assert emu.count("POST", CREATE) == 2
    assert sorted(p["slug"] for p in emu.posts()) == ["post-x", "post-x-2"]
    assert second.parts[0].id != first.parts[0].id


def test_the_url_bound_holds_what_ghost_makes_of_the_slug() -> None:
    assert ghost_slug("x") == "post-x"
    assert ghost_slug("ghost") == "ghost-post"
    assert ghost_slug("news", subdir="news") == "news-post"
    adapter = GhostAdapter(
        Account.ghost("https://example.com/news", admin_key="6489" + ":" + "ab" * 32)
    )
    for slug in ("x", "news", "rss"):
        stored = ghost_slug(slug, subdir="news")
        bound = adapter.article_url_bound(Article(title="T", slug=slug))
        assert f"/{stored}-" in bound, bound
