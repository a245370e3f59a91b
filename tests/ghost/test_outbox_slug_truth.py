"""An article read back from the outbox counted as naming its slug: its JSON held the slug
derived from the title like one the user gave, so an update of a live post made from the
stored article sent that slug and moved the post's URL (undoing an editor's new address).
The round trip through the outbox (a SQLite file) now keeps whether the slug was named."""

from __future__ import annotations

from pathlib import Path

from brandkit import Client
from brandkit.content import Article
from brandkit.delivery import Delivery
from brandkit.outbox import Outbox
from brandkit.platforms._base import names_slug
from brandkit.testing.ghost import GhostEmulator
from tests.ghost.conftest import FAST


def published(emu: GhostEmulator, db: Path, article: Article) -> str:
    """Publish ``article`` through a client saving to the outbox ``db``; its delivery id."""
    box = Outbox(db)
    try:
        with Client(retry=FAST, outbox=box) as client:
            (d,) = client.publish(article, emu.account())
        assert d.ok, d.error
        return d.id
    finally:
        box.close()


def stored(db: Path, delivery_id: str) -> Delivery:
    """The delivery as another process reads it from the outbox file."""
    box = Outbox(db)
    try:
        delivery = box.get(delivery_id)
    finally:
        box.close()
    assert delivery is not None and isinstance(delivery.post, Article)
    return delivery


def test_a_derived_slug_stays_derived_and_a_named_one_named(
    emu: GhostEmulator, tmp_path: Path
) -> None:
    db = tmp_path / "outbox.db"
    derived = stored(db, published(emu, db, Article(title="Launch", body="Up.")))
    named = stored(db, published(emu, db, Article(title="Q3", body="Up.", slug="q3-report")))
    assert isinstance(derived.post, Article) and isinstance(named.post, Article)
    assert derived.post.slug == "launch" and not names_slug(derived.post)
    assert named.post.slug == "q3-report" and names_slug(named.post)


def test_an_update_from_the_stored_article_keeps_the_live_posts_address(
    emu: GhostEmulator, tmp_path: Path
) -> None:
    db = tmp_path / "outbox.db"
    delivery_id = published(emu, db, Article(title="Launch", body="Up."))
    post_id = stored(db, delivery_id).parts[0].id
    with Client(retry=FAST, accounts=[emu.account()]) as client:
        # An editor gives the live post another address (the outbox's copy is untouched).
        editor = client.update(
            stored(db, delivery_id), Article(title="Launch", body="Up.", slug="our-launch")
        )
        assert editor.ok, editor.error
        assert emu.post(post_id)["slug"] == "our-launch"
        # Later, another process corrects the body of the article the outbox kept.
        delivery = stored(db, delivery_id)
        assert isinstance(delivery.post, Article)
        fixed = client.update(delivery, delivery.post.model_copy(update={"body": "Up, fixed."}))
    assert fixed.ok, fixed.error
    post = emu.post(post_id)
    assert post["slug"] == "our-launch" and "fixed" in post["html"]


def test_a_named_slug_read_back_still_moves_the_post(emu: GhostEmulator, tmp_path: Path) -> None:
    db = tmp_path / "outbox.db"
    delivery_id = published(emu, db, Article(title="Launch", body="Up.", slug="launch-day"))
    post_id = stored(db, delivery_id).parts[0].id
    with Client(retry=FAST, accounts=[emu.account()]) as client:
        editor = client.update(
            stored(db, delivery_id), Article(title="Launch", body="Up.", slug="our-launch")
        )
        assert editor.ok, editor.error
        delivery = stored(db, delivery_id)
        assert isinstance(delivery.post, Article)
        again = client.update(delivery, delivery.post)
    assert again.ok, again.error
    assert emu.post(post_id)["slug"] == "launch-day"
