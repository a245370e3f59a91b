"""An update with a corrected title must not move a live post's URL. ``Article.slug`` is
derived from the title when not given, and the update sent it: Ghost moved the post from
``/q3-results/`` to ``/q3-results-corrected/`` and the links already shared led to a 404.
A published or scheduled post keeps its slug unless the article names one; a draft (no
public address yet) still follows its title."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from brandkit import Client
from brandkit.content import Article
from brandkit.testing.ghost import GhostEmulator


def test_a_title_correction_keeps_a_published_posts_url(emu: GhostEmulator, client: Client) -> None:
    (d,) = client.publish(Article(title="Q3 results", body="Up 31%."), emu.account())
    url = d.parts[0].url
    updated = client.update(d, Article(title="Q3 results (corrected)", body="Up 13%."))
    post = emu.post(d.parts[0].id)
    assert (post["slug"], post["title"]) == ("q3-results", "Q3 results (corrected)")
    assert updated.parts[0].url == url == f"{emu.base_url}/q3-results/"


def test_a_title_correction_keeps_a_scheduled_posts_slug(
    emu: GhostEmulator, client: Client
) -> None:
    at = datetime.now(UTC) + timedelta(days=1)
    (d,) = client.publish(
        Article(title="Launch", body="Soon.", status="scheduled", scheduled_at=at), emu.account()
    )
    client.update(
        d, Article(title="Launch day!", body="Soon.", status="scheduled", scheduled_at=at)
    )
    assert emu.post(d.parts[0].id)["slug"] == "launch"


def test_a_drafts_slug_follows_its_title(emu: GhostEmulator, client: Client) -> None:
    (d,) = client.publish(Article(title="Draft one", status="draft"), emu.account())
    client.update(d, Article(title="Launch day", status="draft"))
    assert emu.post(d.parts[0].id)["slug"] == "launch-day"


def test_a_slug_the_article_names_moves_the_post(emu: GhostEmulator, client: Client) -> None:
    (d,) = client.publish(Article(title="Q3 results", body="x"), emu.account())
    client.update(d, Article(title="Q3 results", body="x", slug="q3-2026-results"))
    assert emu.post(d.parts[0].id)["slug"] == "q3-2026-results"
    assert d.parts[0].url == f"{emu.base_url}/q3-2026-results/"
