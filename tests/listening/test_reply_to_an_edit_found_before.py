"""A reply or quote that a listening query finds names the version of the post it answers
(X's ``referenced_tweets``); once that post is edited, the version is not the id its message
keeps (the original's). When an earlier run stored the edited post, its edit chain is in the
store: the reply names the original, with no request more. Over the X emulator on 127.0.0.1
and a SQLite file."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from brandkit import Client, Query
from brandkit.listening import Listener
from brandkit.testing.x import XEmulator
from tests.listening.test_listener_emulated import FAST, Counting
from tests.servers._servers import postgres_db, postgres_url  # noqa: F401 - fixtures


def test_a_reply_found_later_names_the_original_an_earlier_run_stored(tmp_path: Path) -> None:
    """Run 1 finds an edited post (its newest version, with its chain); run 2 finds a reply
    and a quote to that version, and nothing else: both name the original, each run made
    one request and X billed only the posts found."""
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    first = emu.audience("fan").post("kopi at the shop is great", lang="en")
    emu.clock.advance(60)
    newest = emu.edit(first, "kopi at the shop is great, but served cold")
    transport = Counting(emu.transport())
    with (
        Listener(tmp_path / "listening.db") as listener,
        Client(http=httpx.Client(transport=transport), retry=FAST) as c,
    ):
        listener.watch("kopi", Query(any=["kopi"]), accounts=[brand])
        (one,) = listener.sync(c, force=True)
        emu.clock.advance(60)
        reply = emu.audience("pal").reply(newest, "kopi should be hot")
        quote = emu.audience("critic").quote(newest, "kopi served cold, again")
        (two,) = listener.sync(c, force=True)
        found = {m.id: m for m in listener.messages("kopi")}
    assert (one.found, two.found) == (1, 2) and (one.requests, two.requests) == (1, 1)
    assert emu.posts_read == 3 and len(transport.paths) == 2
    assert found[first].extra["latest"] == newest
    assert (found[reply].in_reply_to, found[quote].in_reply_to) == (first, first)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_store_reopened_still_knows_the_chain(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """The chain is kept in the store, not in the listener: another process (a cron run)
    that opens it maps the version too, on a file as on PostgreSQL. A reply to a post no run
    found keeps the version X names (nothing in the store says whose it is)."""
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    first = emu.audience("fan").post("kopi here", lang="en")
    emu.clock.advance(60)
    newest = emu.edit(first, "kopi here, cold")
    other = emu.audience("fan2").post("the shop", lang="en")
    emu.clock.advance(60)
    other_new = emu.edit(other, "the shop, closed")
    path = str(tmp_path / "listening.db")
    if backend == "postgresql":
        path = request.getfixturevalue("postgres_db")
    with (
        Listener(path) as listener,
        Client(retry=FAST, http=httpx.Client(transport=emu.transport())) as c,
    ):
        listener.watch("kopi", Query(any=["kopi"]), accounts=[brand])
        listener.sync(c, force=True)
    emu.clock.advance(60)
    reply = emu.audience("pal").reply(newest, "kopi should be hot")
    stray = emu.audience("pal2").reply(other_new, "kopi elsewhere")
    with (
        Listener(path) as listener,
        Client(retry=FAST, http=httpx.Client(transport=emu.transport())) as c,
    ):
        (run,) = listener.sync(c, accounts=[brand], force=True)
        found = {m.id: m for m in listener.messages("kopi")}
    assert run.error is None and run.found == 2
    assert found[reply].in_reply_to == first
    assert found[stray].in_reply_to == other_new


def test_a_reply_to_an_edited_mention_the_inbox_read_names_the_original(tmp_path: Path) -> None:
    """The store is the inbox's too: a mention of the brand it read, edited, is what a reply
    found by listening answers; the reply names the mention's message, not its version."""
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    first = emu.audience("fan").post("@brand the shop is great", lang="en")
    emu.clock.advance(60)
    newest = emu.edit(first, "@brand the shop is great, but closed")
    path = tmp_path / "brandkit.db"
    with (
        Listener(path) as listener,
        Client(retry=FAST, http=httpx.Client(transport=emu.transport())) as c,
    ):
        assert listener.inbox.sync(c, [brand]).errors == {}
        (mention,) = listener.inbox.messages()
        assert (mention.id, mention.extra["latest"]) == (first, newest)
        listener.watch("kopi", Query(any=["kopi"]), accounts=[brand])
        emu.clock.advance(60)
        reply = emu.audience("pal").reply(newest, "kopi is better elsewhere")
        (run,) = listener.sync(c, force=True)
        found = {m.id: m for m in listener.messages("kopi")}
    assert run.found == 1 and found[reply].in_reply_to == first


def test_an_id_of_other_digits_is_left_as_it_is(tmp_path: Path) -> None:
    """``str.isdigit`` takes digits ``int`` refuses (superscripts): an
    ``in_reply_to`` of them (no X id) failed the look-up with a ValueError; it is left as
    it is."""
    from datetime import UTC, datetime

    from brandkit import Author, Message
    from brandkit.listening._listener import _answering_originals

    def found(post: str, to: str) -> Message:
        return Message(
            platform="x",
            account="x:brand",
            id=post,
            kind="found",
            author=Author(id="1"),
            text="kopi",
            created_at=datetime(2026, 12, 1, tzinfo=UTC),
            in_reply_to=to,
        )

    with Listener(tmp_path / "listening.db") as listener, listener._reading() as db:
        odd = [found("11", "\u0661\u0662"), found("12", "\u00b2"), found("13", "9" * 20)]
        assert _answering_originals(db, odd) == odd


def test_replies_over_hours_each_look_up_their_own_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look-up reads at most `_MAX_EDITED_READ` edited posts per window of X's edit
    time: replies to versions 91 minutes apart have windows that overlap one after another,
    which merged into one look-up over all of their hours, so its bound cut the posts read
    (any of them) and some replies kept the version. Each now names its original (the bound
    made 2 here, a window holding two of the posts)."""
    from brandkit.listening import _listener

    monkeypatch.setattr(_listener, "_MAX_EDITED_READ", 2)
    emu = XEmulator()
    brand = emu.account(name="brand", known_user=True)
    posts: list[tuple[str, str]] = []
    for i in range(4):
        first = emu.audience(f"fan{i}").post(f"kopi number {i}", lang="en")
        emu.clock.advance(60)
        posts.append((first, emu.edit(first, f"kopi number {i}, edited")))
        emu.clock.advance(91 * 60)
    with (
        Listener(tmp_path / "listening.db") as listener,
        Client(retry=FAST, http=httpx.Client(transport=emu.transport())) as c,
    ):
        listener.watch("kopi", Query(any=["kopi"]), accounts=[brand])
        (one,) = listener.sync(c, force=True)
        replies = {
            emu.audience(f"pal{i}").reply(newest, f"kopi reply {i}"): first
            for i, (first, newest) in enumerate(posts)
        }
        (two,) = listener.sync(c, force=True)
        found = {m.id: m for m in listener.messages("kopi")}
    assert (one.found, two.found) == (4, 4)
    assert {r: found[r].in_reply_to for r in replies} == replies
