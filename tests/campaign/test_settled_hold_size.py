"""A released hold kept its announcement (its featured image inline, some 350 KB) although
the announcements were then the outbox's deliveries, and a cancelled one although it would
never go out: the file grew by every launch's announcement for ever. Released or cancelled,
a hold keeps what is shown of it (status, ids, times, URL) and not the announcement; a file
an earlier brandkit wrote is cleaned when it is opened."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brandkit import Account, Client, Media, Post
from brandkit.campaign import Campaign, cancel, holds, holds_for, publish, queue
from brandkit.content import Article
from brandkit.delivery import DeliveryStatus
from brandkit.errors import ConfigurationError
from brandkit.outbox import Outbox
from brandkit.testing import png
from brandkit.testing.wordpress import WordPressEmulator
from tests.campaign.conftest import FAST, Site

MARK = "Lisbon-launch-announcement"
IMAGE = png(600, 315)


def lisbon(to: list[Account], **kw: object) -> Campaign:
    article = Article(
        title="Acme opens in Lisbon",
        body="Acme opens its first office in Lisbon.",
        featured_image=Media.from_bytes(IMAGE, alt="The Lisbon office"),
        campaign="lisbon",
        **kw,  # type: ignore[arg-type]
    )
    return Campaign(article, announce=Post(text=MARK + " {url}"), to=to)


def stored(path: Path) -> list[tuple[str, str]]:
    """Each hold's status and data, as the file has them."""
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT status, data FROM campaign_holds ORDER BY created_at, id"
        ).fetchall()
    return [(str(status), str(data)) for status, data in rows]


def test_a_released_hold_keeps_no_announcement(site: Site, tmp_path: Path) -> None:
    path = tmp_path / "brandkit.db"
    outbox = Outbox(str(path))
    with Client(retry=FAST, outbox=outbox) as client:
        article, *announcements = publish(client, lisbon(site.networks), [site.blog_account])
    assert article.ok and all(d.ok for d in announcements)
    assert [d.status for d in announcements] == [DeliveryStatus.SENT] * 3

    ((status, data),) = stored(path)
    assert status == "released"
    assert MARK not in data and len(data) < 1_000, f"{len(data)} bytes kept"

    # What is shown of it is as it was.
    (listed,) = holds(outbox)
    got = holds_for(outbox).get(listed.id)
    assert got is not None
    for hold in (listed, got):
        assert hold.status == "released" and hold.reason is None
        assert hold.name == "lisbon"
        assert hold.url == article.url
        assert hold.articles == (article.id,)
        assert hold.accounts == tuple(a.key for a in site.networks)
        assert hold.announcements == tuple(d.id for d in announcements)
    # Its announcement is in the outbox, and the hold says so.
    assert [outbox.get(i) is not None for i in got.announcements] == [True] * 3
    with pytest.raises(ConfigurationError, match=r"is released.*outbox's deliveries"):
        got.announcement("https://blog.example/lisbon/")
    outbox.close()


def test_a_cancelled_hold_keeps_no_announcement(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.db"
    blog = WordPressEmulator()  # its account only: nothing is sent
    to = [Account.mastodon("https://mastodon.example", token="t")]
    later = datetime.now(UTC) + timedelta(days=1)
    with Outbox(str(path)) as outbox:
        kept = queue(outbox, lisbon(to, scheduled_at=later), [blog.account()])
        dropped = queue(outbox, lisbon(to, scheduled_at=later, slug="b"), [blog.account()])
        cancelled = cancel(outbox, dropped.id)
        assert cancelled.status == "cancelled" and cancelled.reason == "cancelled by the user"
        assert cancelled.articles == dropped.articles and cancelled.accounts == dropped.accounts
        # The held one keeps its announcement, to be released.
        held = holds_for(outbox).get(kept.id)
        assert held is not None and MARK in held.announcement("https://blog.example/").text
    (held_row, cancelled_row) = stored(path)
    assert held_row[0] == "held" and MARK in held_row[1]
    assert cancelled_row == ("cancelled", "")


def test_an_earlier_brandkits_settled_holds_are_emptied_on_opening(tmp_path: Path) -> None:
    path = tmp_path / "brandkit.db"
    blog = WordPressEmulator()
    to = [Account.mastodon("https://mastodon.example", token="t")]
    later = datetime.now(UTC) + timedelta(days=1)
    with Outbox(str(path)) as outbox:
        ids = [
            queue(outbox, lisbon(to, scheduled_at=later, slug=s), [blog.account()]).id
            for s in ("a", "b", "c")
        ]
    # As an earlier brandkit left them: released and cancelled, the announcement kept.
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE campaign_holds SET status = 'released', url = 'https://blog.example/a', "
            "announcements = '[\"x\"]' WHERE id = ?",
            (ids[0],),
        )
        db.execute("UPDATE campaign_holds SET status = 'cancelled' WHERE id = ?", (ids[1],))
    assert all(MARK in data for _, data in stored(path))

    with Outbox(str(path)) as outbox:
        listed = {h.id: h for h in holds(outbox)}
    assert [listed[i].status for i in ids] == ["released", "cancelled", "held"]
    assert listed[ids[0]].url == "https://blog.example/a"
    assert listed[ids[0]].announcements == ("x",)
    rows = stored(path)
    assert [(s, MARK in d) for s, d in rows] == [
        ("released", False),
        ("cancelled", False),
        ("held", True),
    ]
