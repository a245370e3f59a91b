"""A scheduled article sent to two blogs is announced once either says it is live, as
`publish` announces an article out at once from whichever blog has it live: a first blog
that missed its schedule (WordPress's "missed schedule", a post stuck in ``future``) must not
keep the announcement waiting, then fail it, while the second blog shows the article."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from brandkit import Client, Post
from brandkit.campaign import Campaign, holds, publish, release
from brandkit.outbox import Outbox
from brandkit.platforms.ghost import GhostAdapter
from brandkit.testing import Emulator, emulator
from brandkit.testing.ghost import GhostEmulator
from brandkit.testing.wordpress import WordPressEmulator
from tests.campaign.conftest import FAST
from tests.campaign.test_publish import release_article


@pytest.fixture
def blogs(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[WordPressEmulator, GhostEmulator]]:
    wordpress, ghost = WordPressEmulator(), GhostEmulator()
    # Ghost's admin tokens are signed at its own time, which the test moves on.
    monkeypatch.setattr(GhostAdapter, "clock", staticmethod(ghost.clock.time))
    with ExitStack() as stack:
        for emu in (wordpress, ghost):
            stack.enter_context(emu.serve())
        yield wordpress, ghost


@pytest.fixture
def network() -> Iterator[Emulator]:
    x = emulator("x")
    with x.serve():
        yield x


def test_the_second_blog_live_releases_the_hold(
    blogs: tuple[WordPressEmulator, GhostEmulator], network: Emulator, tmp_path: Path
) -> None:
    wordpress, ghost = blogs
    when = datetime.now(UTC) + timedelta(minutes=10)
    outbox = Outbox(str(tmp_path / "brandkit.db"))
    plan = Campaign(
        release_article(scheduled_at=when),
        announce=Post(text="We are in Lisbon! {url}"),
        to=[network.account()],
    )
    with Client(retry=FAST, outbox=outbox) as client:
        on_wordpress, on_ghost = publish(client, plan, [wordpress.account(), ghost.account()])
        assert on_wordpress.ok and on_ghost.ok
        # Ghost makes the article public at its time; WordPress missed its schedule.
        ghost.clock.advance(timedelta(minutes=11))
        released = release(outbox, client, now=when + timedelta(minutes=1))
        (hold,) = holds(outbox)
        assert (hold.status, hold.reason) == ("released", None)
        assert len(released) == 1
        live = ghost.post(on_ghost.parts[0].id)["url"]
        assert hold.url == live
        assert released[0].post.text.startswith(f"We are in Lisbon! {live}")
