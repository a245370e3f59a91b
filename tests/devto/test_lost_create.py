"""After a lost create, only the article this attempt made is taken: the published state
asked for, made since the attempt began; an old draft of the same title is never taken for
an article asked to be published (nor announced)."""

from __future__ import annotations

from brandkit import Client, Post
from brandkit.campaign import Campaign
from brandkit.content import Article
from brandkit.testing import emulator
from brandkit.testing.devto import DevtoEmulator
from tests.devto.conftest import CREATE

TITLE = "Acme opens in Lisbon"


def old_draft(emu: DevtoEmulator, client: Client) -> str:
    """A draft of the same title saved a month ago; its id."""
    (old,) = client.publish(Article(title=TITLE, body="old notes", status="draft"), emu.account())
    assert old.ok and old.parts[0].extra["status"] == "draft"
    emu.clock.advance(30 * 24 * 3600)
    return old.parts[0].id


def test_a_lost_create_does_not_take_an_old_draft(emu: DevtoEmulator, client: Client) -> None:
    draft = old_draft(emu, client)
    emu.fault(method="POST", path=CREATE, drop="before")
    (made,) = client.publish(Article(title=TITLE, body="We are live."), emu.account())
    assert made.ok
    assert made.parts[0].id != draft
    assert made.parts[0].extra["status"] == "published"
    assert "temp-slug" not in (made.url or "")
    new = next(a for a in emu.articles() if str(a["id"]) == made.parts[0].id)
    assert new["published_at"] is not None and new["body_markdown"] == "We are live."


def test_a_lost_create_that_landed_is_taken_once(emu: DevtoEmulator, client: Client) -> None:
    old_draft(emu, client)
    emu.fault(method="POST", path=CREATE, drop="after")
    (made,) = client.publish(Article(title=TITLE, body="We are live."), emu.account())
    assert made.ok and made.parts[0].extra["status"] == "published"
    assert sorted(a["published_at"] is not None for a in emu.articles()) == [False, True]


def test_a_lost_draft_takes_only_a_draft_with_its_body(emu: DevtoEmulator, client: Client) -> None:
    draft = old_draft(emu, client)
    emu.fault(method="POST", path=CREATE, drop="after")
    (made,) = client.publish(Article(title=TITLE, body="New notes", status="draft"), emu.account())
    assert made.ok and made.parts[0].id != draft
    assert made.parts[0].extra["status"] == "draft"
    assert len(emu.articles()) == 2


def test_a_campaign_never_announces_an_old_draft(emu: DevtoEmulator, client: Client) -> None:
    old_draft(emu, client)
    x = emulator("x")
    with x.serve():
        emu.fault(method="POST", path=CREATE, drop="before")
        camp = Campaign(
            Article(title=TITLE, body="We are live."),
            announce=Post(text="We are in Lisbon! {url}"),
            to=[x.account()],
        )
        article, announced = client.publish(camp, [emu.account()])
        assert article.ok and announced.ok
        (text,) = x.post_texts()
    assert "temp-slug" not in text
    assert text.split()[-1].split("?")[0] == article.url
