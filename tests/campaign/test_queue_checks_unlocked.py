"""queue() makes Outbox.add's checks of every article delivery before it takes the outbox's
write lock: a campaign whose checks take long (many blogs, media on a slow disk) never holds
back the workers claiming from the file, nor another process adding a post; a campaign with
one delivery that fails its checks still queues nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import brandkit.outbox._store as store_module
from brandkit import Post
from brandkit.campaign import holds, queue
from brandkit.content import Article
from brandkit.delivery import Content
from brandkit.errors import ConfigurationError, MediaError
from brandkit.outbox import Outbox
from tests.campaign.conftest import Site
from tests.campaign.test_publish import campaign


def test_another_writer_is_not_held_back_while_the_article_is_checked(
    site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "brandkit.db"
    outbox = Outbox(str(path), timeout=5.0)
    other = Outbox(str(path), timeout=0.3)  # another process's outbox on the same file
    writes: list[str] = []
    checked = store_module.missing_media

    def check_while_another_writes(post: Content, platform: str) -> MediaError | None:
        # Another writer, while queue() checks the article: its write must not wait for
        # the check (a worker's claim, another process's add). Its own post's check passes.
        if not isinstance(post, Article):
            return checked(post, platform)
        try:
            (added,) = other.add(Post(text=f"meanwhile {len(writes)}"), site.networks[0])
            writes.append(added.id)
        except Exception as exc:  # reported by the assertion below
            writes.append(f"refused: {exc}")
        return checked(post, platform)

    monkeypatch.setattr(store_module, "missing_media", check_while_another_writes)
    hold = queue(outbox, campaign(site), [site.blog_account])

    assert writes and not [w for w in writes if w.startswith("refused")], writes
    stored = outbox.list()
    assert {d.id for d in stored if d.platform == site.blog_account.platform} == set(hold.articles)
    assert {d.id for d in stored if d.platform != site.blog_account.platform} == set(writes)
    (listed,) = holds(outbox)
    assert listed.id == hold.id and listed.status == "held"
    other.close()
    outbox.close()


def test_one_refused_delivery_queues_nothing(site: Site, tmp_path: Path) -> None:
    path = tmp_path / "brandkit.db"
    second = site.blog.account(name="second")
    # The outbox's configuration knows the first blog and the networks, not the second blog.
    outbox = Outbox(str(path), accounts=[site.blog_account, *site.networks])
    with pytest.raises(ConfigurationError, match="not in the configuration"):
        queue(outbox, campaign(site), [site.blog_account, second])
    assert outbox.list() == []
    assert holds(outbox) == []
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM outbox_deliveries").fetchone() == (0,)
    outbox.close()
