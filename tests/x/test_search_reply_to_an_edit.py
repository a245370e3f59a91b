"""A post found by X's recent search that answers (or quotes) an edited post names the
version it answers (``referenced_tweets``), not the original whose id every message keeps:
its ``in_reply_to`` named a post no message has, so the reply hung under nothing. When the
edited post is found by the same search (its ``edit_history_tweet_ids`` come with it, at no
extra cost), ``in_reply_to`` names its original. Over the X emulator on 127.0.0.1."""

from __future__ import annotations

from brandkit import Client, Query
from brandkit.testing.x import XEmulator
from tests.x.conftest import FAST


def test_a_found_reply_to_an_edited_post_found_too_names_its_original() -> None:
    """A post about kopi, edited; a reply and a quote to the edit; 120 other posts about
    kopi between them and the edit, so that the edit comes on the search's second page
    (newest first), after the reply and the quote. Each names the original, and the
    search reads no post more than it finds."""
    emu = XEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        brand = emu.account(name="brand", known_user=True)
        first = emu.audience("fan").post("kopi at the shop is great", lang="en")
        emu.clock.advance(60)
        newest = emu.edit(first, "kopi at the shop is great, but served cold")
        for i in range(120):
            emu.audience(f"other{i}").post(f"kopi number {i}", lang="en")
        reply = emu.audience("pal").reply(newest, "kopi should be hot")
        quote = emu.audience("critic").quote(newest, "kopi served cold, again")
        found = client.search(brand, Query(any=["kopi"]), limit=1000)
    by_id = {m.id: m for m in found.messages}
    assert found.read == 123 and len(by_id) == 123
    assert by_id[first].extra["latest"] == newest
    assert (by_id[reply].in_reply_to, by_id[quote].in_reply_to) == (first, first)
    assert found.requests == 2


def test_a_found_reply_to_a_post_not_found_keeps_the_version_it_names() -> None:
    """When the edited post is not among those found, nothing says which original its
    version belongs to without one more (billed) read: ``in_reply_to`` stays the version
    X names."""
    emu = XEmulator()
    with emu.serve(), Client(retry=FAST) as client:
        brand = emu.account(name="brand", known_user=True)
        first = emu.audience("fan").post("the shop is great", lang="en")
        emu.clock.advance(60)
        newest = emu.edit(first, "the shop is great, but the kopi is cold")
        reply = emu.audience("pal").reply(newest, "kopi should be hot")
        found = client.search(brand, Query(any=["hot"]), limit=100)
    assert [(m.id, m.in_reply_to) for m in found.messages] == [(reply, newest)]
