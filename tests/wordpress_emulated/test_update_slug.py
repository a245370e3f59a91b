"""An update with a corrected title must not move a live post's URL. ``Article.slug`` is
derived from the title when not given, and the update sent it: ``Article(title="Q3 results
(corrected)")`` moved the post from ``/q3-results/`` to ``/q3-results-corrected/``, and every
link already shared (the announcements brandkit posted among them) led to a 404. A post that
is live (or scheduled: its address is out) keeps its slug unless the article names one; a
draft, which has no public address yet, still follows its title."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from brandkit import Client, DeliveryStatus, RetryPolicy
from brandkit.content import Article
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)


def test_a_title_correction_keeps_a_published_posts_url() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Q3 results", body="Up 31%."), emu.account())
        url = d.parts[0].url
        updated = client.update(d, Article(title="Q3 results (corrected)", body="Up 13%."))
        post = emu.item(d.parts[0].id)
        assert post["slug"] == "q3-results"
        assert post["title"]["raw"] == "Q3 results (corrected)"
        assert updated.parts[0].url == url
        assert updated.parts[0].extra["slug"] == "q3-results"


def test_a_title_correction_keeps_a_scheduled_posts_url() -> None:
    emu = WordPressEmulator()
    at = datetime.now(UTC) + timedelta(days=1)
    with emu.serve(), Client(retry=FAST) as client:
        article = Article(title="Launch", body="Soon.", status="scheduled", scheduled_at=at)
        (d,) = client.publish(article, emu.account())
        url = d.parts[0].url
        client.update(d, article.model_copy(update={"title": "Launch day"}))
        client.update(
            d, Article(title="Launch day!", body="Soon.", status="scheduled", scheduled_at=at)
        )
        assert emu.item(d.parts[0].id)["slug"] == "launch"
        assert d.parts[0].url == url


def test_a_drafts_slug_follows_its_title() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Draft one", status="draft"), emu.account())
        client.update(d, Article(title="Launch day", status="draft"))
        assert emu.item(d.parts[0].id)["slug"] == "launch-day"
        # Published from the draft: the address is the title's of that moment.
        client.update(d, Article(title="Launch day", body="Live."))
        assert emu.item(d.parts[0].id)["slug"] == "launch-day"
        assert d.status is DeliveryStatus.SENT


def test_a_slug_the_article_names_moves_the_post() -> None:
    emu = WordPressEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Q3 results", body="x"), emu.account())
        client.update(d, Article(title="Q3 results", body="x", slug="q3-2026-results"))
        assert emu.item(d.parts[0].id)["slug"] == "q3-2026-results"
        assert d.parts[0].url is not None and d.parts[0].url.endswith("/q3-2026-results/")
