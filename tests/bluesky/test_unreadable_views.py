"""Views the AppView sends that brandkit cannot read: a notification whose own
``indexedAt`` (the AppView's time, which places it in the list) is not a time, and one
reply of a post's thread (``getPostThread``). Each costs itself only, with a WARNING; the
inbox's mark comes from the notifications it can place, so a skipped one neither makes a
read stop early nor makes the next one give anything twice or read for ever. Over the
emulator on 127.0.0.1, through a real SQLite inbox where a sync is involved."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Client, Inbox, MalformedResponse, Post
from brandkit.testing.bluesky import BlueskyEmulator
from tests.bluesky._support import FAST
from tests.inbox_reads import read_on

LOGGER = "brandkit.platforms.bluesky"
NOTIFICATIONS = "app.bsky.notification.listNotifications"
THREAD = "app.bsky.feed.getPostThread"


class _Garbling(BlueskyEmulator):
    """The emulator, with the JSON of its successful answers to one method changed by
    ``rewrite`` (the AppView's own fields garbled, as a proxy or an AppView bug would)."""

    def __init__(self) -> None:
        super().__init__()
        self.rewrite: dict[str, Callable[[dict[str, Any]], None]] = {}

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        with self.lock:
            rewrite = self.rewrite.get(request.url.path.rsplit("/", 1)[-1])
        if rewrite is None or response.status_code != 200:
            return response
        body = json.loads(response.content)
        rewrite(body)
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return self.json(body, headers=headers)

    def garble_indexed_at(self, garbled: dict[str, Any]) -> None:
        """Notifications of these URIs come with this ``indexedAt`` (``...`` leaves it out)."""

        def rewrite(body: dict[str, Any]) -> None:
            for note in body["notifications"]:
                if note["uri"] in garbled:
                    if garbled[note["uri"]] is ...:
                        del note["indexedAt"]
                    else:
                        note["indexedAt"] = garbled[note["uri"]]

        with self.lock:
            self.rewrite[NOTIFICATIONS] = rewrite


@pytest.fixture
def garbling() -> Any:
    emu = _Garbling()
    with emu.serve():
        yield emu


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER]


def test_a_notification_whose_indexed_at_is_no_time_is_skipped_and_the_inbox_goes_on(
    garbling: _Garbling, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Between two good replies, one whose ``indexedAt`` is "yesterday": the good ones are
    stored, the bad one is logged once (its URI and the field, not the value nor a token),
    and the next syncs store what came after it without warning about it again."""
    emu = garbling
    account = emu.account(name="brand")
    with (
        caplog.at_level("WARNING", logger=LOGGER),
        Inbox(tmp_path / "inbox.db") as inbox,
        Client(retry=FAST, accounts=[account]) as client,
    ):
        (d,) = client.publish(Post(text="Tell us"), account)
        said = []
        for i in range(3):
            said.append(emu.audience(f"fan{i}").reply(d.ids[0], f"hello {i}"))
            emu.clock.advance(1)
        bad = said.pop(1)
        emu.garble_indexed_at({bad: "yesterday"})
        assert inbox.sync(client, [account]).errors == {}
        stored = {m.id for m in inbox.messages(account=account.key)}
        later = emu.audience("late").reply(d.ids[0], "still there?")
        assert inbox.sync(client, [account]).errors == {}
        again = {m.id for m in inbox.messages(account=account.key)}
        assert inbox.sync(client, [account]).errors == {}
        final = {m.id for m in inbox.messages(account=account.key)}
        secrets = [account.secret(k) for k in ("app_password", "access_jwt", "refresh_jwt")]
    assert stored == set(said)
    assert again == final == {*said, later}
    (text,) = warnings(caplog)
    assert bad in text and "indexedAt" in text and "cannot be read" in text
    assert "brand" in text and "yesterday" not in text
    assert all(s not in text for s in secrets if s)


@pytest.mark.parametrize("garbled", ["9999-12-31T23:59:59-01:00", None, ..., 0])
def test_the_mark_comes_from_the_notifications_brandkit_can_place(
    garbling: _Garbling, caplog: pytest.LogCaptureFixture, garbled: Any
) -> None:
    """Unplaceable notifications (a time past year 9999 in UTC, null, none, a number, which
    is no ISO text and not 1970) at the top of a read and between new ones: the read gives
    every readable one below and between them (it does not stop at them), the next read
    gives the one written an hour later (the mark is not pushed past it) and nothing again,
    and each unreadable one is logged once."""
    emu = garbling
    account = emu.account(name="brand")
    with caplog.at_level("WARNING", logger=LOGGER), Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        first = emu.audience("fan0").reply(d.ids[0], "first")
        page = client.inbox(account)
        assert [m.id for m in page.messages] == [first]
        emu.clock.advance(3600)
        written = []
        for i in range(4):
            written.append(emu.audience(f"fan{i + 1}").reply(d.ids[0], f"reply {i}"))
            emu.clock.advance(1)
        older, between, newer, top = written
        emu.garble_indexed_at({between: garbled, top: garbled})
        got = client.inbox(account, since=page.cursor)
        assert sorted(m.id for m in got.messages) == sorted([older, newer])
        emu.clock.advance(3600)
        hour_later = emu.audience("fan9").reply(d.ids[0], "an hour later")
        after = client.inbox(account, since=got.cursor)
        assert [m.id for m in after.messages] == [hour_later]
        assert client.inbox(account, since=after.cursor).messages == ()
    logged = warnings(caplog)
    assert len(logged) == 2
    assert sorted(next(u for u in (between, top) if u in t) for t in logged) == sorted(
        [between, top]
    )


def test_an_inbox_of_unreadable_notifications_only_reads_once_and_then_goes_on(
    garbling: _Garbling, caplog: pytest.LogCaptureFixture
) -> None:
    """The only notifications there are cannot be placed: the read gives nothing and no
    error, and the next one gives the reply written since, without the two again."""
    emu = garbling
    account = emu.account(name="brand")
    with caplog.at_level("WARNING", logger=LOGGER), Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        bad = [emu.audience(f"fan{i}").reply(d.ids[0], f"odd {i}") for i in range(2)]
        emu.garble_indexed_at(dict.fromkeys(bad, 17))
        page = client.inbox(account)
        assert page.messages == () and not page.more
        emu.clock.advance(60)
        good = emu.audience("fan9").reply(d.ids[0], "fine")
        got = client.inbox(account, since=page.cursor)
        assert [m.id for m in got.messages] == [good]
        assert client.inbox(account, since=got.cursor).messages == ()
    assert len(warnings(caplog)) == 2


@pytest.mark.parametrize("limit", [5000, 3])
def test_a_hundred_unplaceable_notifications_in_a_row_are_a_malformed_answer(
    garbling: _Garbling, limit: int
) -> None:
    """A hundred in a row is the most a read skips (one full page): more is an AppView whose
    answers changed shape, and reading on would read the whole list at every sync. A read
    stopped at ``limit`` counts on in the next one, so a small limit stops too."""
    emu = garbling
    account = emu.account(name="brand")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        base = emu.audience("fan").reply(d.ids[0], "readable, at the bottom")
        emu.clock.advance(1)
        bad = [emu.audience(f"fan{i % 7}").reply(d.ids[0], f"odd {i}") for i in range(100)]
        emu.garble_indexed_at(dict.fromkeys(bad, "never"))
        pages = read_on(client, account, None, limit=limit, most=100)
        assert [m.id for p in pages for m in p.messages] == [base]
        emu.clock.advance(1)
        one_more = emu.audience("fan").reply(d.ids[0], "odd 100")
        emu.garble_indexed_at(dict.fromkeys([*bad, one_more], "never"))
        with pytest.raises(MalformedResponse, match="indexedAt"):
            read_on(client, account, None, limit=limit, most=100)


# -- a post's conversation (getPostThread) ---------------------------------------------------


def test_one_unreadable_reply_costs_only_itself_in_a_posts_conversation(
    served: BlueskyEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A reply whose record's ``text`` is a number: the other replies come back, the one
    written under it too, and it is logged (its URI and the field, not the value)."""
    emu = served
    account = emu.account(name="brand")
    with caplog.at_level("WARNING", logger=LOGGER), Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        first = emu.audience("fan1").reply(d.ids[0], "first")
        bad = emu.audience("fan2").reply(d.ids[0], "to be garbled")
        under = emu.audience("fan3").reply(bad, "under the garbled one")
        last = emu.audience("fan4").reply(d.ids[0], "last")
        with emu.lock:
            emu.records[bad].value["text"] = 982451653
        got = {m.id: m for m in client.replies(d)}
        secrets = [account.secret(k) for k in ("app_password", "access_jwt", "refresh_jwt")]
    assert set(got) == {first, under, last}
    assert got[under].in_reply_to == bad and got[under].our_post == d.ids[0]
    (text,) = warnings(caplog)
    assert bad in text and "text" in text and "cannot be read" in text
    assert "982451653" not in text and all(s not in text for s in secrets if s)


def test_a_thread_node_that_is_no_object_costs_only_itself(
    garbling: _Garbling, caplog: pytest.LogCaptureFixture
) -> None:
    """A reply node answered as a number, and one whose ``replies`` is no list: each is
    skipped and logged (the second by its post's URI), and the other reply comes back."""
    emu = garbling
    account = emu.account(name="brand")
    with caplog.at_level("WARNING", logger=LOGGER), Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        said = [emu.audience(f"fan{i}").reply(d.ids[0], f"reply {i}") for i in range(3)]

        def rewrite(body: dict[str, Any]) -> None:
            replies = body["thread"]["replies"]
            (odd,) = [r for r in replies if r["post"]["uri"] == said[0]]
            odd["replies"] = "none"
            replies.append(982451653)

        with emu.lock:
            emu.rewrite[THREAD] = rewrite
        got = {m.id for m in client.replies(d)}
    assert got == set(said[1:])
    logged = warnings(caplog)
    assert len(logged) == 2
    assert sum(said[0] in t and "replies" in t for t in logged) == 1


def test_a_reply_whose_indexed_at_is_a_number_is_skipped_not_dated_1970(
    garbling: _Garbling, caplog: pytest.LogCaptureFixture
) -> None:
    """A reply whose ``indexedAt`` in the thread is a number (and whose record's
    ``createdAt`` cannot be read, so that the AppView's time would date it): no 1970
    message, but a WARNING naming it and the field; the reply under it and the others
    come back."""
    emu = garbling
    account = emu.account(name="brand")
    with caplog.at_level("WARNING", logger=LOGGER), Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        first = emu.audience("fan1").reply(d.ids[0], "first")
        bad = emu.audience("fan2").reply(d.ids[0], "to be garbled")
        under = emu.audience("fan3").reply(bad, "under the garbled one")
        with emu.lock:
            emu.records[bad].value["createdAt"] = "soon"

        def rewrite(body: dict[str, Any]) -> None:
            (odd,) = [r for r in body["thread"]["replies"] if r["post"]["uri"] == bad]
            odd["post"]["indexedAt"] = 17

        with emu.lock:
            emu.rewrite[THREAD] = rewrite
        got = {m.id: m for m in client.replies(d)}
    assert set(got) == {first, under}
    assert all(m.created_at.year > 2000 for m in got.values())
    (text,) = warnings(caplog)
    assert bad in text and "indexedAt" in text and "cannot be read" in text


def test_an_unreadable_root_is_still_a_malformed_answer(served: BlueskyEmulator) -> None:
    """The thread's own post (the brand's) is what the read is of: unreadable, it is a
    MalformedResponse, not an empty conversation."""
    emu = served
    account = emu.account(name="brand")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Tell us"), account)
        emu.audience("fan").reply(d.ids[0], "hello")
        with emu.lock:
            emu.records[str(d.parts[0].uri)].value["text"] = 982451653
        with pytest.raises(MalformedResponse, match="text"):
            client.replies(d)
