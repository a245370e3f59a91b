"""holds() lists every hold ever made: it leaves out each one's announcement, which carries
its featured image inline (a 1200x630 PNG is some 350 KB of base64), so that a listing after
a year of launches does not read hundreds of megabytes to show ids and statuses."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from brandkit import Account, Media, Post
from brandkit.campaign import Campaign, holds, holds_for, queue
from brandkit.content import Article
from brandkit.errors import ConfigurationError
from brandkit.outbox import Outbox
from brandkit.testing import png
from brandkit.testing.wordpress import WordPressEmulator

LAUNCHES = 12


def _campaign(i: int, image: Media, to: list[Account]) -> Campaign:
    article = Article(
        title=f"Launch {i}", body="We launched.", featured_image=image, slug=f"launch-{i}"
    )
    return Campaign(article, announce=Post(text="Out now: {url}"), to=to)


def test_listing_holds_reads_no_announcement(tmp_path: Path) -> None:
    blog = WordPressEmulator()  # its accounts only: nothing is sent
    to = [Account.mastodon("https://mastodon.example", token="t")]
    image = Media.from_bytes(png(1200, 630), alt="The launch")
    path = str(tmp_path / "brandkit.db")
    outbox = Outbox(path)
    made = [queue(outbox, _campaign(i, image, to), [blog.account()]) for i in range(LAUNCHES)]
    outbox.close()

    fresh = Outbox(path)  # a new process's listing: nothing cached
    tracemalloc.start()
    try:
        listed = holds(fresh)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One announcement alone is ~355 KB; all of them were read (and kept) before.
    assert peak < 300_000, f"listing {LAUNCHES} holds took {peak} bytes"
    assert [h.id for h in listed] == [h.id for h in made]
    assert all(h.status == "held" and h.data == "" for h in listed)

    # The announcement is one read away, and a listed hold says where it is.
    with pytest.raises(ConfigurationError, match=r"holds_for\(outbox\)\.get"):
        listed[0].announcement("https://blog.example/launch-0/")
    full = holds_for(fresh).get(listed[0].id)
    assert full is not None
    post = full.announcement("https://blog.example/launch-0/")
    assert post.link is not None and post.link.thumbnail is not None
