"""A campaign end to end over sockets: the article on the blog, then its announcement on X,
Bluesky and LinkedIn with the article's real URL, card and UTM tags."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from brandkit import AsyncClient, Client, Post
from brandkit.campaign import Campaign, holds, publish, queue, release
from brandkit.content import Article, Media
from brandkit.delivery import DeliveryStatus
from brandkit.errors import ConfigurationError, ContentError
from brandkit.outbox import Outbox, Worker
from brandkit.testing import png
from tests.campaign.conftest import FAST, Site

IMAGE = png(120, 63)


def release_article(**kw: object) -> Article:
    fields: dict[str, object] = {
        "title": "Acme opens in Lisbon",
        "body": "Acme opens its **first office** in Lisbon.",
        "excerpt": "Our first office in Portugal.",
        "featured_image": Media.from_bytes(IMAGE, alt="The Lisbon office"),
        "campaign": "lisbon",
    }
    fields.update(kw)
    return Article(**fields)  # type: ignore[arg-type]


def campaign(site: Site, article: Article | None = None) -> Campaign:
    return Campaign(
        article or release_article(),
        announce=Post(text="We are in Lisbon! {url}"),
        to=site.networks,
    )


def utm(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def base(url: str) -> str:
    return url.split("?", 1)[0]


def test_the_article_first_then_each_network(site: Site) -> None:
    """The article is published, then announced everywhere with its public URL, tagged per
    network, and a card made from the article."""
    with Client(retry=FAST) as client:
        deliveries = publish(client, campaign(site), [site.blog_account])
    article, *announcements = deliveries
    assert article.ok and article.url == site.public_url(article.parts[0])
    assert "acme-opens-in-lisbon" in article.url
    assert [d.platform for d in announcements] == ["x", "bluesky", "linkedin"]
    assert all(d.ok for d in announcements), [d.error for d in announcements]

    (x_text,) = site.x.post_texts()
    x_url = x_text.split()[-1]
    assert base(x_url) == article.url
    assert utm(x_url) == {"utm_source": ["x"], "utm_medium": ["social"], "utm_campaign": ["lisbon"]}

    (record,) = site.bluesky.posts()  # type: ignore[attr-defined]
    card = record.value["embed"]["external"]
    assert base(card["uri"]) == article.url and utm(card["uri"])["utm_source"] == ["bluesky"]
    assert card["title"] == "Acme opens in Lisbon"
    assert card["description"] == "Our first office in Portugal."
    assert "thumb" in card

    (li_post,) = site.linkedin.posts  # type: ignore[attr-defined]
    li_article = li_post.content["article"]
    assert base(li_article["source"]) == article.url
    assert utm(li_article["source"])["utm_source"] == ["linkedin"]
    assert li_article["title"] == "Acme opens in Lisbon"


def test_a_refused_article_is_never_announced(site: Site) -> None:
    """When the blog refuses the article, nothing reaches any network; the announcements
    come back cancelled, saying why; delivering them again sends nothing (they have no
    article to point at: they used to be failed, with https://example.com/<slug> in their
    text, which a retry posted)."""
    site.blog.fault(method="POST", path=site.create_path, status=400, times=1)
    with Client(retry=FAST) as client:
        article, *announcements = publish(client, campaign(site), [site.blog_account])
        assert article.status is DeliveryStatus.FAILED
        assert [d.status for d in announcements] == [DeliveryStatus.CANCELLED] * 3
        assert "the article was not published" in str(announcements[0].error)
        assert all("example.com" not in d.post.text for d in announcements)
        for delivery, account in zip(announcements, site.networks, strict=True):
            client.deliver(delivery, account)
            assert delivery.status is DeliveryStatus.CANCELLED
    assert site.network_posts == 0


def test_a_scheduled_article_needs_an_outbox(site: Site) -> None:
    """Without an outbox nobody would announce a scheduled article later: refused before
    any request."""
    later = release_article(scheduled_at=datetime.now(UTC) + timedelta(hours=1))
    with Client(retry=FAST) as client, pytest.raises(ConfigurationError, match="outbox"):
        publish(client, campaign(site, later), [site.blog_account])
    assert site.blog.requests == []


def test_a_scheduled_article_is_announced_when_it_goes_live(site: Site, tmp_path: Path) -> None:
    """The article goes to the blog at once (scheduled there); the announcement is held and
    released only once the blog says the article is published, with its final URL (Ghost
    shows a /p/<uuid>/ preview address until then)."""
    start = datetime.now(UTC)
    when = start + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    with Client(retry=FAST, outbox=outbox) as client:
        (article,) = publish(
            client, campaign(site, release_article(scheduled_at=when)), [site.blog_account]
        )
        assert article.ok
        assert site.network_posts == 0
        (hold,) = holds(outbox)
        assert hold.status == "held" and hold.live_at == when

        # Before its time: nothing is looked at, nothing released.
        assert release(outbox, client, now=start + timedelta(minutes=5)) == []
        # At its time, but the blog has not published it yet (its clock is behind).
        assert release(outbox, client, now=when + timedelta(seconds=1)) == []
        assert holds(outbox)[0].reason in (
            "the blog says the article is 'scheduled'",  # Ghost
            "the blog says the article is 'future'",  # WordPress
        )

        site.blog.clock.advance(timedelta(minutes=11))
        queued = release(outbox, client, now=when + timedelta(minutes=2))
        assert [d.platform for d in queued] == ["x", "bluesky", "linkedin"]
        final = site.public_url(article.parts[0])
        assert "acme-opens-in-lisbon" in final
        assert all(base(d.post.text.split()[-1]) == final for d in queued)
        assert holds(outbox)[0].status == "released"
        assert holds(outbox)[0].url == final
        with Worker(outbox, [site.blog_account, *site.networks], client=client) as worker:
            sent = worker.run_once(now=when + timedelta(minutes=2))
        assert sorted(d.platform for d in sent if d.ok) == ["bluesky", "linkedin", "x"]
    (x_text,) = site.x.post_texts()
    assert base(x_text.split()[-1]) == final


def test_a_release_repeated_after_a_crash_queues_nothing_twice(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A release that dies while marking the hold released (its announcements written in
    the same transaction) leaves nothing behind: the hold is still held, and the next
    release writes each announcement once; one after that writes nothing."""
    from brandkit.campaign._holds import HoldStore

    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    with Client(retry=FAST, outbox=outbox) as client:
        publish(client, campaign(site, release_article(scheduled_at=when)), [site.blog_account])
        site.blog.clock.advance(timedelta(minutes=11))
        mark = HoldStore.released_in

        def crash(*args: object, **kwargs: object) -> bool:
            assert mark(*args, **kwargs)  # type: ignore[arg-type]
            raise KeyboardInterrupt

        monkeypatch.setattr(HoldStore, "released_in", staticmethod(crash))
        with pytest.raises(KeyboardInterrupt):
            release(outbox, client, now=when + timedelta(minutes=1))
        monkeypatch.undo()
        assert [d.platform for d in outbox.list()] == [site.blog_account.platform]
        assert holds(outbox)[0].status == "held"
        again = release(outbox, client, now=when + timedelta(minutes=1))
        assert release(outbox, client, now=when + timedelta(minutes=2)) == []
    assert sorted(d.id for d in again) == sorted(holds(outbox)[0].announcements)
    assert len([d for d in outbox.list() if d.platform in ("x", "bluesky", "linkedin")]) == 3


@pytest.mark.parametrize("where", ["brandkit", "blog", "trash"])
def test_an_article_deleted_before_it_goes_live_fails_the_hold(
    site: Site, tmp_path: Path, where: str
) -> None:
    """A scheduled article deleted (through brandkit, or on the blog itself) is never
    announced; the hold says why."""
    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    with Client(retry=FAST, outbox=outbox) as client:
        (article,) = publish(
            client, campaign(site, release_article(scheduled_at=when)), [site.blog_account]
        )
        if where == "brandkit":
            client.delete(article)
        else:
            site.remove(client, article.parts[0], force=where == "blog")
        site.blog.clock.advance(timedelta(minutes=11))
        assert release(outbox, client, now=when + timedelta(minutes=1)) == []
    (hold,) = holds(outbox)
    assert hold.status == "failed"
    expected = {"brandkit": "deleted", "blog": "gone from the blog", "trash": "trash"}[where]
    if where == "trash" and site.blog_account.platform == "ghost":
        expected = "gone from the blog"  # Ghost has no trash: deleted is gone
    assert expected in (hold.reason or "")
    assert site.network_posts == 0


def test_async_client_publishes_a_campaign(site: Site) -> None:
    """AsyncClient does the same, the networks served concurrently."""

    async def main() -> list[DeliveryStatus]:
        async with AsyncClient(retry=FAST) as client:
            got = await campaign(site).apublish_through(client, [site.blog_account])
        return [d.status for d in got]

    assert asyncio.run(main()) == [DeliveryStatus.SENT] * 4
    assert len(site.x.post_texts()) == 1


def test_client_publish_takes_a_campaign(site: Site) -> None:
    """client.publish(Campaign(...), [blog]) is the campaign's publish: the article's
    delivery, then one per network."""
    with Client(retry=FAST) as client:
        got = client.publish(campaign(site), [site.blog_account])
    assert [d.platform for d in got] == [site.blog_account.platform, "x", "bluesky", "linkedin"]
    assert all(d.ok for d in got)


def test_async_client_publish_takes_a_campaign(site: Site) -> None:
    """await AsyncClient.publish(Campaign(...), [blog]) too."""

    async def main() -> list[str]:
        async with AsyncClient(retry=FAST) as client:
            got = await client.publish(campaign(site), [site.blog_account])
        return [d.platform for d in got if d.ok]

    assert asyncio.run(main()) == [site.blog_account.platform, "x", "bluesky", "linkedin"]


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_the_outbox_way_the_worker_publishes_then_announces(
    site: Site, tmp_path: Path, driver: str
) -> None:
    """queue() writes the article for the worker and holds the announcement; the worker
    publishes the article, and in the run after the blog made it public, the announcements
    (released before its claim, so in that same run)."""
    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    hold = queue(outbox, campaign(site, release_article(scheduled_at=when)), [site.blog_account])
    accounts = [site.blog_account, *site.networks]
    client = Client(retry=FAST, outbox=outbox) if driver == "sync" else None
    with Worker(outbox, accounts, client=client) as worker:
        (article,) = worker.run_once(now=datetime.now(UTC))
        assert article.ok and article.platform == site.blog_account.platform
        assert worker.run_once(now=when - timedelta(minutes=1)) == []
        site.blog.clock.advance(timedelta(minutes=11))
        sent = worker.run_once(now=when + timedelta(minutes=1))
        assert sorted(d.platform for d in sent if d.ok) == ["bluesky", "linkedin", "x"]
        assert worker.run_once(now=when + timedelta(minutes=5)) == []
    if client is not None:
        client.close()
    (stored,) = holds(outbox)
    assert stored.id == hold.id and stored.status == "released"
    assert len(site.x.post_texts()) == 1
    assert base(site.x.post_texts()[0].split()[-1]) == stored.url
    assert stored.url == site.public_url(article.parts[0])


def test_a_worker_without_campaigns_leaves_the_outbox_file_alone(tmp_path: Path) -> None:
    """An outbox that never held a campaign gets no campaign tables from the worker."""
    import sqlite3

    path = tmp_path / "brandkit.db"
    outbox = Outbox(str(path))
    with Worker(outbox, [], client=Client(outbox=outbox)) as worker:
        assert worker.run_once() == []
    with sqlite3.connect(path) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert not any(n.startswith("campaign_") for n in names)


def test_an_announcement_no_network_takes_stops_before_the_article(site: Site) -> None:
    """publish() checks the announcement for every network first: nothing reaches the blog."""
    images = [Media.from_bytes(IMAGE, alt=f"Image {i}") for i in range(5)]
    bad = Campaign(release_article(), announce=Post(text="{url}", media=images), to=site.networks)
    with Client(retry=FAST) as client, pytest.raises(ContentError):
        client.publish(bad, [site.blog_account])
    assert site.blog.requests == []


def test_the_example_runs_offline() -> None:
    """examples/press_release.py runs and says what happened."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, str(root / "examples" / "press_release.py")],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "hold released: announced http://127.0.0.1:" in done.stdout
    assert "utm_source=linkedin" in done.stdout


def test_queued_article_published_now_is_announced_by_the_next_run(
    site: Site, tmp_path: Path
) -> None:
    """A hold waiting for its article's first send is looked at again by the very next run
    (a read of the outbox), not a minute later."""
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    queue(outbox, campaign(site), [site.blog_account])
    with Worker(outbox, [site.blog_account, *site.networks], client=Client(outbox=outbox)) as w:
        assert [d.platform for d in w.run_once()] == [site.blog_account.platform]
        assert sorted(d.platform for d in w.run_once() if d.ok) == ["bluesky", "linkedin", "x"]
        assert w.client is not None
        w.client.close()


def test_one_network_refusing_does_not_stop_the_others(site: Site) -> None:
    """A network that refuses its announcement fails alone, with its error; the others and
    the article stand."""
    site.x.fault(method="POST", path=r"/2/tweets", status=403, times=10)
    with Client(retry=FAST) as client:
        got = client.publish(campaign(site), [site.blog_account])
    status = {d.platform: d.status for d in got}
    assert status == {
        site.blog_account.platform: DeliveryStatus.SENT,
        "x": DeliveryStatus.FAILED,
        "bluesky": DeliveryStatus.SENT,
        "linkedin": DeliveryStatus.SENT,
    }


def test_two_blogs_the_first_one_live_is_announced(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the article on two blogs, the announcement carries the first blog's URL; when
    the first refused it, the second's."""
    from contextlib import ExitStack

    from brandkit.platforms.ghost import GhostAdapter
    from brandkit.testing import emulator
    from brandkit.testing.ghost import GhostEmulator
    from brandkit.testing.wordpress import WordPressEmulator

    ghost, wp, x = GhostEmulator(), WordPressEmulator(), emulator("x")
    monkeypatch.setattr(GhostAdapter, "clock", staticmethod(ghost.clock.time))
    with ExitStack() as stack:
        for emu in (ghost, wp, x):
            stack.enter_context(emu.serve())
        blogs = [wp.account(), ghost.account()]
        c = Campaign(release_article(), announce=Post(text="{url}"), to=[x.account()], utm=False)
        with Client(retry=FAST) as client:
            first = client.publish(c, blogs)
            wp.fault(method="POST", path=wp.create_route[1], status=400, times=1)
            second = client.publish(
                Campaign(
                    release_article(slug="lisbon-again"),
                    announce=Post(text="Again {url}"),
                    to=c.to,
                    utm=False,
                ),
                blogs,
            )
    assert x.post_texts()[0] == first[0].url
    assert second[0].status is DeliveryStatus.FAILED and second[1].ok
    assert x.post_texts()[1] == f"Again {second[1].url}"


def test_a_broken_release_never_stops_the_worker(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Should releasing fail (a bug, a locked file), the worker logs it and publishes what
    is due as usual."""
    import brandkit.campaign._holds as holds_module

    def broken(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("boom")

    monkeypatch.setattr(holds_module, "release", broken)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    outbox.add(Post(text="Hello"), site.networks[0])
    with Client(outbox=outbox) as client, Worker(outbox, site.networks, client=client) as worker:
        (sent,) = worker.run_once()
    assert sent.ok


def test_a_cancelled_hold_is_never_released(site: Site, tmp_path: Path) -> None:
    """cancel() stops a held announcement; cancelling it again, or a released one, says why."""
    from brandkit.campaign import cancel

    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    with Client(retry=FAST, outbox=outbox) as client:
        publish(client, campaign(site, release_article(scheduled_at=when)), [site.blog_account])
        (hold,) = holds(outbox)
        assert cancel(outbox, hold.id).status == "cancelled"
        site.blog.clock.advance(timedelta(minutes=11))
        assert release(outbox, client, now=when + timedelta(minutes=1)) == []
        with pytest.raises(ConfigurationError, match="is cancelled"):
            cancel(outbox, hold.id)
        with pytest.raises(ConfigurationError, match="no campaign hold"):
            cancel(outbox, "nope")
    assert site.network_posts == 0
