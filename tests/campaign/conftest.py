"""A blog and three networks, emulated and served on 127.0.0.1, for the campaign tests."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest

from brandkit import Account, RetryPolicy
from brandkit.platforms.ghost import GhostAdapter
from brandkit.testing import Emulator, emulator
from brandkit.testing.ghost import GhostEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30, settle=0.05)


@dataclass
class Site:
    """The emulators and their accounts."""

    blog: GhostEmulator
    x: Emulator
    bluesky: Emulator
    linkedin: Emulator
    blog_account: Account
    networks: list[Account]

    @property
    def network_posts(self) -> int:
        return sum(len(e.post_texts()) for e in (self.x, self.bluesky, self.linkedin))


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    """A Ghost blog and X, Bluesky and LinkedIn, each served on a free loopback port."""
    blog = GhostEmulator()
    # Admin tokens are signed at the blog's time, so that a test may move its clock on to
    # a scheduled article's time (Ghost refuses a token more than 5 minutes old).
    monkeypatch.setattr(GhostAdapter, "clock", staticmethod(blog.clock.time))
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
