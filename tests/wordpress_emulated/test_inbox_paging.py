"""WordPress inbox reads that span many pages, against the emulator: more new comments than
one read goes through (every one read once over the reads ``more`` asks for), and comments
that leave or join the list between two page requests (none skipped, none read twice)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus, Inbox, InboxPage, RetryPolicy
from brandkit.content import Article
from brandkit.errors import ConfigurationError
from brandkit.testing.wordpress import WordPressEmulator
from tests.inbox_reads import read_on

FAST = RetryPolicy(initial=0.01, max_backoff=0.05)


@pytest.fixture
def emu() -> WordPressEmulator:
    """A WordPress emulator without the install's sample comment."""
    emu = WordPressEmulator(timezone="Europe/Berlin")
    emu.remove_comment(1)
    return emu


@pytest.fixture
def blog(emu: WordPressEmulator) -> Account:
    """The admin's account."""
    return emu.account()


@pytest.fixture
def client(emu: WordPressEmulator) -> Iterator[Client]:
    """A client that reaches the emulator in-process."""
    with Client(http=httpx.Client(transport=emu.transport()), retry=FAST) as client:
        yield client


@pytest.fixture
def post(client: Client, blog: Account) -> str:
    (d,) = client.publish(Article(title="Launch", body="x"), [blog])
    assert d.status is DeliveryStatus.SENT, d.error
    return d.parts[0].id


def _write(emu: WordPressEmulator, post: str, n: int, prefix: str = "new") -> list[str]:
    return [emu.audience(f"fan{i % 50}").comment(post, f"{prefix} {i}") for i in range(n)]


def _cursor_after_one(emu: WordPressEmulator, client: Client, blog: Account, post: str) -> str:
    """The cursor of a read that saw one comment (so later reads stop at a mark)."""
    emu.audience("first").comment(post, "before the cursor")
    page = client.inbox(blog)
    assert len(page.messages) == 1 and not page.more
    assert page.cursor is not None
    return page.cursor


def _read_all(
    client: Client, blog: Account, cursor: str | None, *, limit: int = 5000
) -> tuple[list[str], list[InboxPage]]:
    """Reads on while ``more`` is set: the ids in the order read, and the pages."""
    pages = read_on(client, blog, cursor, limit=limit)
    return [m.id for page in pages for m in page.messages], pages


def _comment_lists(emu: WordPressEmulator) -> list[httpx.Request]:
    return [r for r in emu.requests if r.method == "GET" and r.url.path.endswith("/comments")]


def _after_page(
    emu: WordPressEmulator, monkeypatch: pytest.MonkeyPatch, act: Callable[[], None], nth: int = 1
) -> None:
    """Runs ``act`` (as a moderator or a visitor would) right after the ``nth`` comment list
    request is answered, before the next one."""
    orig = emu.handle
    seen = [0]

    def handle(request: httpx.Request) -> httpx.Response:
        response = orig(request)
        if request.method == "GET" and request.url.path.endswith("/comments"):
            seen[0] += 1
            if seen[0] == nth:
                act()
        return response

    monkeypatch.setattr(emu, "handle", handle)


def test_more_than_one_read_holds_is_read_over_reads(
    emu: WordPressEmulator, client: Client, blog: Account, post: str
) -> None:
    """1,050 new comments: the first read stops at its page bound with ``more`` set (it
    does not move past the older ones); reading on gives every comment exactly once."""
    cursor = _cursor_after_one(emu, client, blog, post)
    said = _write(emu, post, 1050)
    ids, pages = _read_all(client, blog, cursor)
    assert pages[0].more and len(pages) == 2
    assert sorted(ids, key=int) == said and len(set(ids)) == len(ids)
    # The second read went on below the first one, down to the old mark; then nothing new.
    assert client.inbox(blog, since=pages[-1].cursor).messages == ()
    emu.audience("late").comment(post, "after all that")
    (late,) = client.inbox(blog, since=pages[-1].cursor).messages
    assert late.text == "after all that"


def test_first_read_of_a_big_site_reads_every_comment(
    emu: WordPressEmulator, client: Client, blog: Account, post: str
) -> None:
    """Without a cursor the reads go down to the oldest comment the site lists."""
    said = _write(emu, post, 1250)
    ids, pages = _read_all(client, blog, None)
    assert sorted(ids, key=int) == said and len(set(ids)) == len(ids)
    assert len(pages) == 2


@pytest.mark.parametrize("limit", [1, 300, 991, 1000])
def test_limit_across_a_read_that_stops_at_its_page_bound(
    emu: WordPressEmulator, client: Client, blog: Account, post: str, limit: int
) -> None:
    """A ``limit`` below what the reads hold: still every comment once, ``limit`` at most a
    read."""
    cursor = _cursor_after_one(emu, client, blog, post)
    said = _write(emu, post, 1050 if limit > 1 else 30)
    ids, pages = _read_all(client, blog, cursor, limit=limit)
    assert sorted(ids, key=int) == said and len(set(ids)) == len(ids)
    assert all(len(p.messages) <= limit for p in pages)


def test_sync_stores_every_comment_once(
    emu: WordPressEmulator, client: Client, blog: Account, post: str, tmp_path: Path
) -> None:
    """`Inbox.sync` follows ``more``: all 1,050 new comments are stored, then a sync adds
    none."""
    with Inbox(tmp_path / "inbox.db") as inbox:
        emu.audience("first").comment(post, "before")
        assert inbox.sync(client, [blog]).accounts[0].added == 1
        _write(emu, post, 1050)
        (got,) = inbox.sync(client, [blog]).accounts
        assert got.error is None
        assert (got.added, got.read) == (1050, 1050)
        assert inbox.sync(client, [blog]).accounts[0].added == 0


@pytest.mark.parametrize("removed", [1, 3, 60, 250])
def test_comments_removed_between_pages_skip_none(
    emu: WordPressEmulator,
    client: Client,
    blog: Account,
    post: str,
    monkeypatch: pytest.MonkeyPatch,
    removed: int,
) -> None:
    """Newest comments trashed by a moderator right after the first page is read (the rest
    move up the list): every comment still listed is read once, none is skipped."""
    cursor = _cursor_after_one(emu, client, blog, post)
    said = _write(emu, post, 400)
    gone = said[-removed:]

    def trash() -> None:
        for comment_id in gone:
            emu.remove_comment(comment_id)

    _after_page(emu, monkeypatch, trash)
    ids, _ = _read_all(client, blog, cursor)
    assert len(set(ids)) == len(ids)
    # The first page (the newest 100) was read before they went; the others still listed
    # are all read.
    assert set(ids) == set(said[:-removed]) | set(said[-100:])


def test_comment_removed_from_the_next_page_is_just_not_read(
    emu: WordPressEmulator,
    client: Client,
    blog: Account,
    post: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A comment not read yet that leaves the list mid-read is not read; the others are,
    once each."""
    cursor = _cursor_after_one(emu, client, blog, post)
    said = _write(emu, post, 150)
    _after_page(emu, monkeypatch, lambda: emu.remove_comment(said[10]))
    ids, _ = _read_all(client, blog, cursor)
    assert sorted(ids, key=int) == [c for c in said if c != said[10]]


def test_comment_written_between_pages_is_read_once(
    emu: WordPressEmulator,
    client: Client,
    blog: Account,
    post: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A comment written mid-read (the rest move down the list) is read by the next read;
    none is read twice."""
    cursor = _cursor_after_one(emu, client, blog, post)
    said = _write(emu, post, 150)
    late: list[str] = []
    _after_page(emu, monkeypatch, lambda: late.extend(_write(emu, post, 3, "late")))
    first = client.inbox(blog, since=cursor)
    ids = [m.id for m in first.messages]
    assert ids == said and not first.more
    again = client.inbox(blog, since=first.cursor)
    assert [m.id for m in again.messages] == late


@pytest.mark.parametrize("removed", [5, 120])
def test_comments_removed_between_reads_skip_none(
    emu: WordPressEmulator, client: Client, blog: Account, post: str, removed: int
) -> None:
    """Comments the first read returned leave the list before the read that goes on below
    it (its place in the list moved): still every comment once."""
    cursor = _cursor_after_one(emu, client, blog, post)
    said = _write(emu, post, 1050)
    first = client.inbox(blog, since=cursor)
    assert first.more
    for comment_id in said[-removed:]:
        emu.remove_comment(comment_id)
    written = _write(emu, post, 30, "later")
    ids, pages = _read_all(client, blog, first.cursor)
    got = [m.id for m in first.messages] + ids
    assert sorted(got, key=int) == said and len(set(got)) == len(got)
    # Those written since the first read are above its mark: the next read has them.
    assert [m.id for m in client.inbox(blog, since=pages[-1].cursor).messages] == written


def test_one_request_when_nothing_more_is_new(
    emu: WordPressEmulator, client: Client, blog: Account, post: str
) -> None:
    """The common read costs one list request, and sends no offset."""
    cursor = _cursor_after_one(emu, client, blog, post)
    _write(emu, post, 5)
    before = len(_comment_lists(emu))
    page = client.inbox(blog, since=cursor)
    assert len(page.messages) == 5 and not page.more
    (request,) = _comment_lists(emu)[before:]
    assert "offset" not in request.url.params and "page" not in request.url.params


def test_pages_overlap_by_one_comment(
    emu: WordPressEmulator, client: Client, blog: Account, post: str
) -> None:
    """Each next page starts on the last comment of the one before (``offset``), which
    shows no comment fell between them."""
    _write(emu, post, 250)
    before = len(_comment_lists(emu))
    client.inbox(blog)
    offsets = [r.url.params.get("offset") for r in _comment_lists(emu)[before:]]
    assert offsets == [None, "99", "198"]


def test_a_cursor_of_the_previous_version_is_accepted(
    emu: WordPressEmulator, client: Client, blog: Account, post: str
) -> None:
    """``{"v":1,"id":N}`` as earlier versions wrote it: the read goes on above ``N``."""
    said = _write(emu, post, 4)
    page = client.inbox(blog, since=json.dumps({"v": 1, "id": int(said[1])}))
    assert [m.id for m in page.messages] == said[2:]
    assert json.loads(page.cursor or "")["id"] == int(said[-1])
    assert client.inbox(blog, since='{"v":1,"id":null}').messages


@pytest.mark.parametrize(
    "cursor",
    [
        '{"v":1,"id":5,"gap":{"top":9,"below":3,"at":0}}',
        '{"v":1,"id":5,"gap":{"top":9,"below":12,"at":0}}',
        '{"v":1,"id":null,"gap":{"top":9,"below":7,"at":-1}}',
        '{"v":1,"id":null,"gap":{"top":9,"below":true,"at":0}}',
        '{"v":1,"id":null,"gap":[9,7,0]}',
    ],
)
def test_a_cursor_with_a_broken_gap_is_refused(blog: Account, client: Client, cursor: str) -> None:
    with pytest.raises(ConfigurationError, match="cursor"):
        client.inbox(blog, since=cursor)
