"""A blog (Ghost or WordPress) and three networks, emulated and served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from brandkit import Account, RetryPolicy
from brandkit.platforms._base import PartRef
from brandkit.platforms.ghost import GhostAdapter
from brandkit.platforms.wordpress import WordPressAdapter
from brandkit.testing import Emulator, emulator
from brandkit.testing.ghost import GhostEmulator
from brandkit.testing.wordpress import WordPressEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30, settle=0.05)


@dataclass
class Site:
    """The emulators and their accounts."""

    blog: Any  # GhostEmulator | WordPressEmulator
    x: Emulator
    bluesky: Emulator
    linkedin: Emulator
    blog_account: Account
    networks: list[Account]

    @property
    def network_posts(self) -> int:
        return sum(len(e.post_texts()) for e in (self.x, self.bluesky, self.linkedin))

    @property
    def create_path(self) -> str:
        """The path regex of the blog's create request."""
        return str(self.blog.create_route[1])

    def public_url(self, ref: PartRef) -> str:
        """The article's address as the blog shows it now."""
        if isinstance(self.blog, GhostEmulator):
            return str(self.blog.post(ref.id)["url"])
        return str(self.blog.item(ref.id)["link"])

    def remove(self, client: Any, ref: PartRef, *, force: bool = True) -> None:
        """Delete the article on the blog itself, not through a delivery (on WordPress,
        ``force=False`` moves it to the trash; Ghost has none)."""
        if isinstance(self.blog, GhostEmulator):
            ghost = GhostAdapter(self.blog_account)
            client.run(ghost, ghost.delete_part(ref))
        else:
            wp = WordPressAdapter(self.blog_account)
            client.run(wp, wp.delete_article(ref, force=force))


@pytest.fixture(params=["ghost", "wordpress"])
def site(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A blog and X, Bluesky and LinkedIn, each served on a free loopback port."""
    blog: Emulator
    if request.param == "ghost":
        blog = GhostEmulator()
        # Admin tokens are signed at the blog's time, so that a test may move its clock on
        # to a scheduled article's time (Ghost refuses a token more than 5 minutes old).
        monkeypatch.setattr(GhostAdapter, "clock", staticmethod(blog.clock.time))
    else:
        blog = WordPressEmulator()
    x, sky, linkedin = emulator("x"), emulator("bluesky"), emulator("linkedin")
    with ExitStack() as stack:
        for emu in (blog, x, sky, linkedin):
            stack.enter_context(emu.serve())
        yield Site(
            blog=blog,
            x=x,
            bluesky=sky,
            linkedin=linkedin,
            blog_account=blog.account(),
            networks=[x.account(), sky.account(), linkedin.account()],
        )
