"""The lookup after a lost answer reads only the fields it uses (``fields``): it read whole
posts, their Lexical body included, 50 a request, so a slug family of long posts (a weekly
report, ``report-2``...) made an answer larger than the 16 MiB brandkit reads, and the
lookup failed instead of finding the post. The emulator answers ``fields`` as Ghost does."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from brandkit import Client, RetryPolicy
from brandkit.content import Article
from brandkit.platforms.ghost import GhostAdapter
from brandkit.testing.ghost import GhostEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=10, settle=0.05)


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[GhostEmulator]:
    emu = GhostEmulator()
    monkeypatch.setattr(GhostAdapter, "clock", staticmethod(emu.clock.time))
    with emu.serve():
        yield emu


def test_a_family_of_long_posts_is_looked_up(emu: GhostEmulator) -> None:
    create = GhostEmulator.create_route[1]
    account = emu.account()
    long = "<p>" + "x" * 4_000_000 + "</p>"  # its Lexical: over 4 MB a post
    with Client(retry=FAST) as client:
        for _ in range(5):
            (d,) = client.publish(
                Article(title="Weekly report", body=long, body_format="html"), account
            )
            assert d.ok, d.error
        emu.fault(method="POST", path=create, drop="after")
        (d,) = client.publish(Article(title="Weekly report", body="Short this week."), account)
    assert d.ok, d.error
    assert emu.count("POST", create) == 6  # found, not sent again
    assert d.parts[0].extra["slug"] == "weekly-report-6"


def test_the_emulator_answers_only_the_fields_asked_for(emu: GhostEmulator) -> None:
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Article(title="Hello", body="Hi"), account)
    adapter = GhostAdapter(account)
    request = adapter._request("GET", "posts/", params={"fields": "slug,title,nothing"})
    with httpx.Client() as http:
        (post,) = http.send(request).json()["posts"]
    assert post == {"id": d.ids[0], "slug": "hello", "title": "Hello"}
