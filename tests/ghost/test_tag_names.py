"""Ghost finds a post's tag by its name (bookshelf-relations' ``getMatchingTarget`` fetches
the tag with the properties sent, ``{name}``; MySQL compares without case) and otherwise
creates it with a free slug (``generateSlug``: ``launch-2`` when ``launch`` is taken). The
emulator matched by slug first: a tag "Launch" was filed under another tag whose name only
makes the same slug ("Launch!"), where Ghost makes a tag of its own."""

from __future__ import annotations

from brandkit import Client
from brandkit.content import Article
from brandkit.testing.ghost import GhostEmulator


def test_a_tag_is_found_by_its_name_not_by_its_slug() -> None:
    emu = GhostEmulator()
    with emu.serve(), Client() as client:
        acct = emu.account()
        (old,) = client.publish(Article(title="Teaser", body="a", tags=["Launch!"]), acct)
        (new,) = client.publish(Article(title="Launch day", body="b", tags=["Launch"]), acct)
        (same,) = client.publish(Article(title="Recap", body="c", tags=["launch"]), acct)
        tags = [
            [(t["name"], t["slug"]) for t in emu.post(d.parts[0].id)["tags"]]
            for d in (old, new, same)
        ]
    assert tags == [[("Launch!", "launch")], [("Launch", "launch-2")], [("Launch", "launch-2")]]
