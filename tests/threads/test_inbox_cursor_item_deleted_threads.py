"""A Threads inbox read stopped at ``limit`` keeps Meta's ``after`` cursor of the
conversation; the account deletes its own reply that the cursor names before the next
read. Meta invalidates such a cursor (400 code 100, as the emulator answers): the next read
reads the conversation again from its first page, and every fan's reply comes once;
before, that read and every later one failed on the same cursor."""

from __future__ import annotations

import json
import logging
from collections import Counter

import httpx
import pytest

from brandkit import Client, Post, Query
from brandkit.errors import Rejected
from brandkit.platforms.threads import ThreadsAdapter
from brandkit.testing.threads import ThreadsEmulator
from tests.facebook.conftest import INVALID_CURSOR, NO_SUCH_FIELD
from tests.inbox_reads import follow


def test_a_read_goes_on_when_its_cursors_reply_is_deleted(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(ThreadsAdapter, "inbox_page", 2)
    emu = ThreadsEmulator()
    with emu.serve():
        account = emu.account()
        user = str(account.settings["user_id"])
        headers = {"authorization": f"Bearer {account.secret('token')}"}
        with Client() as client, httpx.Client(base_url=emu.base_url, headers=headers) as http:
            (d,) = client.publish(Post(text="What next?"), account)
            post = d.parts[0].id
            cursor = client.inbox(account).cursor
            mine, fans = [], []
            for i in range(5):
                emu.clock.advance(2)
                made = http.post(
                    f"/v1.0/{user}/threads",
                    data={"media_type": "TEXT", "text": f"mine {i}", "reply_to_id": post},
                ).json()["id"]
                done = http.post(f"/v1.0/{user}/threads_publish", data={"creation_id": made})
                mine.append(done.json()["id"])
                emu.clock.advance(2)
                emu.add_reply(post, author=f"fan{i}", text=f"fan {i}")
                fans.append(f"fan {i}")
            first = client.inbox(account, since=cursor, limit=2)
            assert first.more
            (todo,) = json.loads(first.cursor or "")["todo"][:1]
            assert todo["feed"] == post and todo["after"]
            # Newest first, two a page: the read stopped after [fan 4, mine 4], [fan 3,
            # mine 3], its cursor naming "mine 3"; the account deletes its replies.
            for reply in mine:
                assert http.delete(f"/v1.0/{reply}").status_code == 200
            with caplog.at_level(logging.WARNING, logger="brandkit.platforms._graph"):
                reads, last = follow(client, account, first.cursor)
            assert any("paging cursor" in r.getMessage() for r in caplog.records)
            got = Counter([m.text for m in first.messages] + [t for r in reads for t in r])
            assert got == Counter(fans)
            emu.clock.advance(2)
            emu.add_reply(post, author="fan9", text="later")
            reads, _ = follow(client, account, last)
            assert [t for r in reads for t in r] == ["later"]


def test_a_search_goes_on_when_meta_invalidates_its_cursor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A search stopped at ``limit`` keeps Meta's cursor of ``/keyword_search``, which Meta
    then refuses as invalid (as it does once the post it names is deleted): the next search
    reads from the first page again, and every post comes once."""
    monkeypatch.setattr(ThreadsAdapter, "search_page", 2)
    emu = ThreadsEmulator()
    with emu.serve():
        account = emu.account()
        written = []
        for i in range(7):
            emu.clock.advance(1)
            written.append(emu.audience(f"fan{i}").post(f"brandkit {i}"))
        query = Query(any=["brandkit"])
        with Client() as client:
            first = client.search(account, query, limit=2)
            assert first.more
            refusal = emu.fault(
                method="GET", path=r".*/keyword_search", status=400, body=INVALID_CURSOR
            )
            pages = [first]
            while pages[-1].more:
                pages.append(client.search(account, query, since=pages[-1].cursor, limit=2))
                assert len(pages) < 20
            assert refusal.times == 0
            assert Counter(m.id for p in pages for m in p.messages) == Counter(written)
            emu.clock.advance(1)
            later = emu.audience("cy").post("brandkit later")
            again = client.search(account, query, since=pages[-1].cursor)
            assert [m.id for m in again.messages] == [later]


def test_a_read_again_from_the_first_page_stopped_short_gives_nothing_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pages of two replies, at most two pages a read: two reads of a round page down to
    a cursor Meta then refuses; the next read reads the conversation again from its first
    page and stops at its page bound before it is back where the round was. The read
    after it went on from there leaving nothing out, so the replies the earlier reads
    gave came twice; they now come once."""
    monkeypatch.setattr(ThreadsAdapter, "inbox_page", 2)
    monkeypatch.setattr(ThreadsAdapter, "inbox_max_pages", 2)
    emu = ThreadsEmulator()
    with emu.serve():
        account = emu.account()
        with Client() as client:
            (d,) = client.publish(Post(text="What next?"), account)
            post = d.parts[0].id
            cursor = client.inbox(account).cursor
            fans = []
            for i in range(13):
                emu.clock.advance(2)
                emu.add_reply(post, author=f"fan{i}", text=f"fan {i}")
                fans.append(f"fan {i}")
            first = client.inbox(account, since=cursor)
            second = client.inbox(account, since=first.cursor)
            assert first.more and second.more
            refusal = emu.fault(
                method="GET", path=r".*/conversation", status=400, body=INVALID_CURSOR
            )
            reads, _ = follow(client, account, second.cursor)
            assert refusal.times == 0
            got = Counter(m.text for p in (first, second) for m in p.messages)
            got.update(t for r in reads for t in r)
            assert got == Counter(fans)


def test_a_search_read_again_from_the_first_page_gives_nothing_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two searches of two posts page down to a cursor Meta then refuses; the next reads
    the first page again (both posts given before) and stops at its limit; the one after
    it went on leaving nothing out, so the posts of the second search came twice."""
    monkeypatch.setattr(ThreadsAdapter, "search_page", 2)
    emu = ThreadsEmulator()
    with emu.serve():
        account = emu.account()
        written = []
        for i in range(9):
            emu.clock.advance(1)
            written.append(emu.audience(f"fan{i}").post(f"brandkit {i}"))
        query = Query(any=["brandkit"])
        with Client() as client:
            pages = [client.search(account, query, limit=2)]
            pages.append(client.search(account, query, since=pages[-1].cursor, limit=2))
            assert pages[-1].more
            refusal = emu.fault(
                method="GET", path=r".*/keyword_search", status=400, body=INVALID_CURSOR
            )
            while pages[-1].more:
                pages.append(client.search(account, query, since=pages[-1].cursor, limit=2))
                assert len(pages) < 20
            assert refusal.times == 0
            assert Counter(m.id for p in pages for m in p.messages) == Counter(written)


def test_a_search_refused_for_another_reason_is_raised_at_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A search going on from Meta's cursor that Meta refuses with code 100 for a reason
    other than the cursor raises that refusal at once, the cursor kept. Before, any code
    100 without a subcode was taken for an invalidated cursor: a warning that the cursor
    was invalid, and the search read again from its first page."""
    monkeypatch.setattr(ThreadsAdapter, "search_page", 2)
    emu = ThreadsEmulator()
    with emu.serve():
        account = emu.account()
        written = []
        for i in range(7):
            emu.clock.advance(1)
            written.append(emu.audience(f"fan{i}").post(f"brandkit {i}"))
        query = Query(any=["brandkit"])
        with Client() as client:
            first = client.search(account, query, limit=2)
            assert first.more
            emu.fault(method="GET", path=r".*/keyword_search", status=400, body=NO_SUCH_FIELD)
            before = emu.count("GET", r".*/keyword_search")
            with (
                caplog.at_level(logging.WARNING, logger="brandkit.platforms._graph"),
                pytest.raises(Rejected, match="nonexisting field"),
            ):
                client.search(account, query, since=first.cursor, limit=2)
            assert emu.count("GET", r".*/keyword_search") - before == 1
            assert not [r for r in caplog.records if "paging cursor" in r.getMessage()]
            pages = [first]
            while pages[-1].more:
                pages.append(client.search(account, query, since=pages[-1].cursor, limit=2))
                assert len(pages) < 20
            assert Counter(m.id for p in pages for m in p.messages) == Counter(written)
