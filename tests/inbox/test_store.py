"""The Inbox store: idempotent adds, cursors moved with their messages, states, queries."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from brandkit import (
    Account,
    Author,
    Client,
    ConfigurationError,
    DeliveryStatus,
    Inbox,
    InboxPage,
    Message,
    Outbox,
    Post,
    Worker,
)
from brandkit.inbox import MessageStatus

from .conftest import NAME, T0, ChatServer


def msg(
    n: int, *, account: str = "chatnet:brand", minutes: int | None = None, **kw: object
) -> Message:
    fields: dict[str, object] = {
        "platform": account.split(":")[0],
        "account": account,
        "id": f"m{n}",
        "kind": "reply",
        "author": Author(id=f"u{n}", handle=f"fan{n}"),
        "text": f"message {n}",
        "created_at": T0 + timedelta(minutes=n if minutes is None else minutes),
    }
    fields.update(kw)
    return Message(**fields)  # type: ignore[arg-type]


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def inbox(tmp_path: Path) -> Inbox:
    return Inbox(tmp_path / "brandkit.db", clock=FakeClock(T0 + timedelta(hours=5)))


def test_adding_is_idempotent_and_keeps_the_message_whole(inbox: Inbox) -> None:
    m = msg(1, raw={"deep": {"x": [1, 2]}}, extra={"cid": "bafy"}, url="https://e/1")
    assert inbox.add([m, msg(2)]) == 2
    assert inbox.add([m, msg(2), msg(3)]) == 1
    back = inbox.get(m.key)
    assert back == m
    assert back is not None and back.raw == {"deep": {"x": [1, 2]}}
    assert back.extra == {"cid": "bafy"}
    assert back.created_at.tzinfo is not None


def test_the_same_id_on_two_accounts_is_two_messages(inbox: Inbox) -> None:
    assert inbox.add([msg(1), msg(1, account="chatnet:other")]) == 2


def test_the_file_is_private_and_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "inbox.db"
    with Inbox(path) as first:
        first.add([msg(1)])
        first.mark(msg(1), "seen")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with Inbox(path) as again:
        assert again.status(msg(1)) is MessageStatus.SEEN


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    Inbox(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE inbox_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(ConfigurationError, match="upgrade brandkit"):
        Inbox(path)


def test_a_file_that_is_not_a_database_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(ConfigurationError, match="cannot open inbox"):
        Inbox(path)


def test_states_and_assignment(inbox: Inbox) -> None:
    inbox.add([msg(1), msg(2), msg(3, hidden=True)])
    inbox.mark(msg(1), MessageStatus.ARCHIVED)
    inbox.assign(msg(2), to="ana")
    assert inbox.counts()[MessageStatus.NEW] == 1
    assert inbox.counts()[MessageStatus.HIDDEN] == 1
    assert [m.id for m in inbox.messages(assignee="ana")] == ["m2"]
    assert [m.id for m in inbox.messages(status="archived")] == ["m1"]
    with pytest.raises(ConfigurationError, match="not a status"):
        inbox.mark(msg(1), "done")
    with pytest.raises(ConfigurationError, match="sync first"):
        inbox.mark(msg(9), "seen")
    with pytest.raises(ConfigurationError, match="sync first"):
        inbox.assign("chatnet:brand|nope", to="bo")


def test_queries_filter_by_every_field(inbox: Inbox) -> None:
    inbox.add(
        [
            msg(1),
            msg(2, kind="mention"),
            msg(3, account="x:brand"),
            msg(4, minutes=600),
        ]
    )
    assert [m.id for m in inbox.messages(kind="mention")] == ["m2"]
    assert [m.id for m in inbox.messages(platform="x")] == ["m3"]
    assert [m.id for m in inbox.messages(account="chatnet:brand")] == ["m1", "m2", "m4"]
    assert [m.id for m in inbox.messages(since=T0 + timedelta(minutes=3))] == ["m3", "m4"]
    assert [m.id for m in inbox.messages(until=T0 + timedelta(minutes=2))] == ["m1", "m2"]
    assert len(inbox.messages(limit=2)) == 2
    with pytest.raises(ConfigurationError, match="unknown kind"):
        inbox.messages(kind="dm")
    with pytest.raises(ConfigurationError, match="unknown status"):
        inbox.messages(status=["new", "lost"])
    with pytest.raises(ConfigurationError, match="time zone"):
        inbox.messages(since=datetime(2026, 1, 1))
    # A date (what a date picker gives) raised AttributeError from deep in the store.
    for not_a_time in (T0.date(), 1764579600):
        with pytest.raises(ConfigurationError, match="is not a datetime: pass an aware"):
            inbox.messages(until=not_a_time)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="is not a datetime"):
            inbox.volume(since=not_a_time)  # type: ignore[arg-type]


def test_unanswered_counts_waiting_messages_only(inbox: Inbox) -> None:
    inbox.add([msg(1), msg(2), msg(3, minutes=290), msg(4, kind="found")])
    inbox.mark(msg(2), "replied")
    assert [m.id for m in inbox.unanswered()] == ["m1", "m3"]
    # counts() agrees: the post listening found is no message to answer (it was counted new).
    counts = inbox.counts()
    assert counts[MessageStatus.NEW] + counts[MessageStatus.SEEN] == len(inbox.unanswered())
    assert sum(counts.values()) == 3
    # The clock stands at T0 + 5 h: m3 has waited only ten minutes.
    assert [m.id for m in inbox.unanswered(older_than=timedelta(hours=1))] == ["m1"]


def test_find_by_prefix(inbox: Inbox) -> None:
    inbox.add([msg(1), msg(12)])
    assert inbox.find("m12").id == "m12"
    assert inbox.find("chatnet:brand|m1").id == "m1"
    with pytest.raises(ConfigurationError, match="several"):
        inbox.find("chatnet:brand|m")
    assert inbox.find("chatnet:brand|m12").id == "m12"
    with pytest.raises(ConfigurationError, match="no message"):
        inbox.find("zzz")


def test_response_times_median_and_p90(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    clock = FakeClock(T0)
    waits = [10, 20, 30, 40, 100]  # minutes from each message to its answer
    with (
        Inbox(tmp_path / "i.db", clock=clock) as inbox,
        Client(http=http, accounts=[account], clock=clock) as client,
    ):
        for i in range(6):
            server.say(f"fan{i}", f"q{i}", minutes=1)
        inbox.sync(client, [account])
        stored = inbox.messages()
        for m, wait in zip(stored, waits, strict=False):
            clock.now = m.created_at + timedelta(minutes=wait)
            inbox.reply(client, m, Post(text=f"answer to {m.text}"))
        (times,) = inbox.response_times()
        assert inbox.counts()[MessageStatus.REPLIED] == 5
    assert times.account == account.key
    assert times.answered == 5 and times.unanswered == 1
    assert times.median == timedelta(minutes=30)
    assert times.p90 == timedelta(minutes=76)  # 40 + 0.6 * (100 - 40)


def test_a_post_listening_found_first_becomes_the_message_the_inbox_reads(
    inbox: Inbox,
) -> None:
    """Listening and the inbox share one row per account and id: a saved search may store
    a brand mention before the inbox sync reads it. The sync's reading replaces it (and
    counts as added), so the team sees and answers it; the team's marks stay."""
    found = msg(1, kind="found", text="acme boots, size 48?", our_post=None)
    assert inbox.add([found, msg(2, kind="found")]) == 2
    inbox.assign(found, "ana")
    inbox.mark(msg(2), "archived")
    mention = msg(1, kind="mention", text="@acme boots, size 48?", url="https://e/1")
    assert inbox.add([mention, msg(2, kind="reply", in_reply_to="p1", our_post="p1")]) == 2
    assert inbox.get(mention.key) == mention
    assert [m.id for m in inbox.unanswered()] == ["m1"]
    assert [m.id for m in inbox.messages(kind="mention", assignee="ana")] == ["m1"]
    assert inbox.status(msg(2)) is MessageStatus.ARCHIVED
    # The inbox's reading stays: a later search that finds it again changes nothing.
    assert inbox.add([found, msg(2, kind="found")]) == 0
    assert inbox.get(mention.key) == mention
    assert [m.kind for m in inbox.messages()] == ["mention", "reply"]


def test_an_answer_queued_for_the_worker_marks_the_message_once_it_is_sent(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    """inbox.queue_reply queues the answer (the worker sends it) and remembers it: until it
    is sent the message still waits; the next sync through a client with the outbox (or
    settle) makes it replied at the answer's time, and the loop of the docs does not answer
    it again."""
    clock = FakeClock(T0 + timedelta(minutes=30))
    with (
        Inbox(tmp_path / "i.db", clock=clock) as inbox,
        Outbox(tmp_path / "o.db") as outbox,
        Client(http=http, accounts=[account], outbox=outbox, clock=clock) as client,
    ):
        server.say("fan", "do you ship to Norway?")
        inbox.sync(client, [account])
        (question,) = inbox.unanswered()
        queued = inbox.queue_reply(outbox, question, Post(text="We do, in 3 days."), account)
        assert queued.status is DeliveryStatus.PENDING
        assert (
            inbox.queue_reply(outbox, question, Post(text="We do, in 3 days."), account).id
            == queued.id
        )
        assert [m.key for m in inbox.unanswered()] == [question.key]  # not sent yet
        assert inbox.settle(outbox) == 0
        with Worker(outbox, [account], client=client, clock=clock) as worker:
            worker.run_once()
        assert [p["text"] for p in server.posts] == ["We do, in 3 days."]
        with pytest.raises(ConfigurationError, match="limit=0"):
            inbox.sync(client, [account], limit=0)
        assert inbox.status(question) is MessageStatus.NEW  # a refused sync settles nothing
        inbox.sync(client, [account])  # the sync settles first
        assert inbox.status(question) is MessageStatus.REPLIED
        assert inbox.unanswered() == []
        (times,) = inbox.response_times()
        assert times.answered == 1 and times.unanswered == 0
        assert inbox.settle(outbox) == 0  # settled once
    assert [p["text"] for p in server.posts] == ["We do, in 3 days."]


def test_recording_an_answer_to_a_message_not_stored_says_so(inbox: Inbox) -> None:
    from brandkit.delivery import Delivery

    answer = Delivery(account="chatnet:brand", platform=NAME, post=Post(text="hi"))
    with pytest.raises(ConfigurationError, match="no message"):
        inbox.replied("chatnet:brand|nope", answer)


def test_volume_per_day_and_platform(inbox: Inbox) -> None:
    inbox.add([msg(1), msg(2), msg(3, minutes=24 * 60), msg(4, account="x:brand")])
    inbox.add([msg(5, kind="found")])  # a post listening found is not a message to the brand
    got = [(v.day, v.platform, v.count) for v in inbox.volume()]
    assert got == [
        ("2026-12-01", "chatnet", 2),
        ("2026-12-01", "x", 1),
        ("2026-12-02", "chatnet", 1),
    ]


def test_sync_moves_the_cursor_with_the_messages(
    server: ChatServer, http: httpx.Client, account: Account, inbox: Inbox
) -> None:
    for i in range(15):
        server.say("fan", f"hello {i}")
    with Client(http=http) as client:
        first = inbox.sync(client, [account])
        assert first.added == 15 and first.errors == {}
        assert first.requests == 3  # pages of 10: 10, 5, then the empty read that ends it
        before = len(server.requests)
        second = inbox.sync(client, [account])
        assert second.added == 0
        assert len(server.requests) - before == 1 == second.requests
        server.say("fan", "one more")
        third = inbox.sync(client, [account])
    assert third.added == 1
    assert inbox.cursor(account) == "16"
    assert len(inbox.messages()) == 16


def test_sync_follows_more_until_done(
    server: ChatServer, http: httpx.Client, account: Account, inbox: Inbox
) -> None:
    for i in range(35):
        server.say("fan", f"m{i}")
    with Client(http=http) as client:
        report = inbox.sync(client, [account], limit=10)
    assert report.added == 35
    assert len(inbox.messages()) == 35


def test_one_account_failing_keeps_its_cursor_and_the_others_go_on(
    server: ChatServer, http: httpx.Client, account: Account, other: Account, inbox: Inbox
) -> None:
    from brandkit.platforms import register
    from tests.inbox.test_client import MuteAdapter

    # A platform without an inbox, registered here too: this test must not depend on
    # test_client.py having been imported first.
    register("mute", MuteAdapter, replace=True)
    server.say("fan", "hi")
    mute = Account("mute", name="m", base_url="https://chat.example")
    with Client(http=http) as client:
        inbox.sync(client, [account])
        server.say("fan", "again")
        server.fail_reads = 1
        report = inbox.sync(client, [account, other, mute])
    errors = report.errors
    assert set(errors) == {account.key, mute.key}
    assert "no read scope" in errors[account.key]
    assert "Unsupported" in errors[mute.key]
    assert inbox.cursor(account) == "1"
    assert report.accounts[1].added == 2  # the other account read both, from the start


@pytest.mark.anyio
async def test_async_sync_reads_accounts_together(
    server: ChatServer, account: Account, other: Account, inbox: Inbox
) -> None:
    from brandkit import AsyncClient

    for i in range(3):
        server.say("fan", f"hi {i}")
    transport = httpx.MockTransport(server.handler)
    async with httpx.AsyncClient(transport=transport) as http, AsyncClient(http=http) as client:
        report = await inbox.async_sync(client, [account, other])
    assert [a.added for a in report.accounts] == [3, 3]
    assert len(inbox.messages()) == 6


@pytest.mark.anyio
async def test_async_sync_reads_at_most_concurrency_accounts_at_once(
    server: ChatServer, inbox: Inbox
) -> None:
    """Seven accounts, three at a time: never more than three reads in flight, a freed
    slot is taken at once (all three busy together), and every account is read whole."""
    import asyncio

    from brandkit import AsyncClient

    accounts = [Account(NAME, name=f"brand{i}", base_url="https://chat.example") for i in range(7)]
    for i in range(2):
        server.say("fan", f"hi {i}")
    running, peak = 0, 0
    transport = httpx.MockTransport(server.handler)
    async with httpx.AsyncClient(transport=transport) as http, AsyncClient(http=http) as client:
        real = client.inbox

        async def counted(account: Account, since: str | None = None, **kw: Any) -> InboxPage:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            try:
                await asyncio.sleep(0.02)  # long enough for every free slot to be taken
                return await real(account, since, **kw)
            finally:
                running -= 1

        client.inbox = counted  # type: ignore[method-assign]
        report = await inbox.async_sync(client, accounts, concurrency=3)
        with pytest.raises(ConfigurationError, match="concurrency=0"):
            await inbox.async_sync(client, accounts, concurrency=0)
    assert peak == 3
    assert [a.added for a in report.accounts] == [2] * 7
    assert [a.account for a in report.accounts] == [a.key for a in accounts]
    assert len(inbox.messages()) == 14


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_message_round_trips_through_plain_data() -> None:
    m = msg(5, url="https://e/5", in_reply_to="p1", conversation="p1", our_post="p1")
    assert Message.from_dict(m.to_dict()) == m
    with pytest.raises(ValueError, match="not a stored message"):
        Message.from_dict({"platform": "x"})
    with pytest.raises(ValueError, match="kind must be"):
        msg(1, kind="dm")
    with pytest.raises(ValueError, match="aware"):
        msg(1, created_at=datetime(2026, 1, 1))
    assert msg(1, created_at=datetime(2026, 1, 1, 12, tzinfo=UTC)).created_at.hour == 12
    assert "message 5" in repr(m)


def test_the_report_has_a_conversation_section(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    from brandkit import MetricsStore, write_report

    clock = FakeClock(T0)
    with (
        Inbox(tmp_path / "b.db", clock=clock) as inbox,
        Client(http=http, accounts=[account], clock=clock) as client,
    ):
        server.say("fan", "first question")
        server.say("fan2", "second question")
        inbox.sync(client, [account])
        first = inbox.messages()[0]
        clock.now = first.created_at + timedelta(minutes=12)
        inbox.reply(client, first, Post(text="answered"))
        with MetricsStore(tmp_path / "b.db") as store:
            html = write_report(store, tmp_path / "r.html", inbox=inbox).read_text()
            plain = write_report(store, tmp_path / "p.html").read_text()
    assert 'id="conversations"' in html and 'id="conversations"' not in plain
    section = html.split('id="conversations"', 1)[1].split("</section>", 1)[0]
    assert "chatnet:brand" in section
    assert "12 min" in section  # the one first-response time
    assert "Messages per day per platform" in section


def test_the_report_command_reads_the_inbox_beside_the_metrics(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    from brandkit import MetricsStore
    from brandkit.cli import main

    db = tmp_path / "brandkit.db"
    with Inbox(db) as inbox, Client(http=http) as client:
        server.say("fan", "hello")
        inbox.sync(client, [account])
    MetricsStore(db).close()
    out = tmp_path / "report.html"
    assert main(["report", "--db", str(db), "--out", str(out)]) == 0
    assert 'id="conversations"' in out.read_text()


def test_a_closed_inbox_says_so(tmp_path: Path) -> None:
    from brandkit import BrandkitError

    inbox = Inbox(tmp_path / "c.db")
    inbox.close()
    with pytest.raises(BrandkitError, match="is closed: open it again"):
        inbox.messages()


def test_bad_filters_and_limits_are_typed_errors_that_say_what_to_give(inbox: Inbox) -> None:
    inbox.add([msg(1), msg(2, account="x:brand")])
    brand = Account(NAME, name="brand", base_url="https://chat.example")
    assert [m.id for m in inbox.messages(account=brand)] == ["m1"]  # an Account, or its key
    assert [m.id for m in inbox.unanswered(account=brand)] == ["m1"]
    for bad in (
        {"limit": "ten"},
        {"limit": -1},
        {"status": 5},
        {"platform": 5},
        {"assignee": ["ana"]},
    ):
        with pytest.raises(ConfigurationError, match=r"give|status"):
            inbox.messages(**bad)  # type: ignore[arg-type]
    for wait in (timedelta.max, timedelta(hours=-1)):
        with pytest.raises(ConfigurationError, match="older_than"):
            inbox.unanswered(older_than=wait)


def test_a_damaged_row_is_named_by_the_error(inbox: Inbox) -> None:
    from brandkit import BrandkitError

    inbox.add([msg(1), msg(2)])
    with inbox._tx() as db:
        db.execute("UPDATE inbox_messages SET data = ? WHERE key = ?", ('{"id": 2}', msg(2).key))
    with pytest.raises(BrandkitError, match=r"chatnet:brand\|m2 is damaged.*delete its row"):
        inbox.messages()
    with pytest.raises(BrandkitError, match=r"m2 is damaged"):
        inbox.get(msg(2))
    assert inbox.get(msg(1)) == msg(1)


def test_sync_refuses_a_limit_below_one_and_an_async_client(
    http: httpx.Client, account: Account, inbox: Inbox
) -> None:
    import asyncio

    from brandkit import AsyncClient

    with (
        Client(http=http, accounts=[account]) as client,
        pytest.raises(ConfigurationError, match="limit=0"),
    ):
        inbox.sync(client, [account], limit=0)
    assert inbox.cursor(account) is None  # refused before any account was read
    async_client = AsyncClient()
    try:
        with pytest.raises(ConfigurationError, match="async_sync"):
            inbox.sync(async_client, [account])  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="limit=0"):
            asyncio.run(inbox.async_sync(async_client, [account], limit=0))
    finally:
        asyncio.run(async_client.aclose())
    with (
        Client(http=http, accounts=[account]) as client,
        pytest.raises(ConfigurationError, match="takes an AsyncClient"),
    ):
        asyncio.run(inbox.async_sync(client, [account]))  # type: ignore[arg-type]
    assert inbox.cursor(account) is None  # refused before any request


def test_a_message_a_platform_cannot_hide_is_not_stored_by_trying(inbox: Inbox) -> None:
    """hide() of a message not stored yet, on a platform that cannot hide: Unsupported,
    and the store is as it was (the message is stored once the platform did it)."""
    from brandkit import Unsupported
    from brandkit.testing.mastodon import MastodonEmulator

    emu = MastodonEmulator()
    masto = emu.account(name="brand")
    with Client(http=httpx.Client(transport=emu.transport()), accounts=[masto]) as client:
        (d,) = client.publish(Post(text="launch"), masto)
        emu.audience("troll").reply(d.ids[0], "spam spam")
        (message,) = client.inbox(masto).messages
        with pytest.raises(Unsupported):
            inbox.hide(client, message)
    assert inbox.get(message) is None and inbox.messages() == []


def test_an_empty_status_list_matches_nothing(inbox: Inbox) -> None:
    """A team tool's status checkboxes all unchecked: no message, on SQLite as on
    PostgreSQL (which refuses an empty ``IN ()``)."""
    inbox.add([msg(1), msg(2)])
    assert inbox.messages(status=[]) == []
    assert inbox.messages(status=(), account="chatnet:brand") == []
    assert [m.id for m in inbox.messages(status=["new"])] == ["m1", "m2"]


def test_response_times_count_messages_answered_elsewhere_without_a_time(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    """A message the team answered on the platform itself and marked ``replied`` is
    answered (the report's "Answered" card), but has no answer time: the median and p90
    are those of the answers the inbox recorded. An answered message the team archived or
    hid afterwards stays answered, with its time."""
    clock = FakeClock(T0)
    with (
        Inbox(tmp_path / "i.db", clock=clock) as inbox,
        Client(http=http, accounts=[account], clock=clock) as client,
    ):
        for i in range(5):
            server.say(f"fan{i}", f"q{i}", minutes=1)
        inbox.sync(client, [account])
        first, second, elsewhere, hidden, waiting = inbox.messages()
        for m, wait in ((first, 10), (second, 30)):
            clock.now = m.created_at + timedelta(minutes=wait)
            inbox.reply(client, m, Post(text=f"answer to {m.text}"))
        inbox.mark(second, "archived")
        inbox.mark(elsewhere, "replied")
        inbox.mark(hidden, "hidden")
        (times,) = inbox.response_times()
        assert inbox.unanswered() == [waiting]
    assert (times.answered, times.unanswered) == (3, 1)
    assert times.median == timedelta(minutes=20)
    assert times.p90 == timedelta(minutes=28)


def test_the_reports_daily_messages_drop_to_zero_on_days_without_any(
    inbox: Inbox, tmp_path: Path
) -> None:
    """Volume has no row for a day without messages: the chart's line went straight from
    one busy day to the next, as if the quiet days between had as many messages. It drops
    to 0 on each side of the gap now, and a line with no gap is drawn as it was."""
    import re

    from brandkit import MetricsStore
    from brandkit.metrics import render_report

    inbox.add([msg(1), msg(2), msg(3, minutes=4 * 24 * 60), msg(4, account="x:brand")])
    inbox.add([msg(5, account="x:brand", minutes=24 * 60)])
    with MetricsStore(tmp_path / "m.db") as store:
        html = render_report(store, inbox=inbox)
    section = html.split('id="conversations"', 1)[1].split("</section>", 1)[0]
    points = re.findall(r"<title>(\w+) · (\d{4}-\d\d-\d\d) 00:00 UTC · (\d+)</title>", section)
    assert points == [
        ("chatnet", "2026-12-01", "2"),
        ("chatnet", "2026-12-02", "0"),
        ("chatnet", "2026-12-04", "0"),
        ("chatnet", "2026-12-05", "1"),
        ("x", "2026-12-01", "1"),
        ("x", "2026-12-02", "1"),
    ]


def test_the_reports_conversations_are_those_of_its_period(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    """A report for December 1 (``since``/``until``, as its metrics) counted every message
    ever received and every answer time; it counts those received in its period now,
    ``until`` excluded as for the samples."""
    from brandkit import MetricsStore
    from brandkit.metrics import render_report

    clock = FakeClock(T0)
    day = 24 * 60
    with (
        Inbox(tmp_path / "i.db", clock=clock) as inbox,
        Client(http=http, accounts=[account], clock=clock) as client,
    ):
        for minutes in (60, 120, day - 9 * 60, 2 * day):  # Dec 1 10:00, 11:00; Dec 2 0:00, ...
            server.say("fan", f"at {minutes}", minutes=minutes)
        inbox.sync(client, [account])
        answers = {60: 10, 120: 30, day - 9 * 60: 600, 2 * day: 900}
        for m in inbox.messages():
            clock.now = m.created_at + timedelta(minutes=answers[int(m.text.split()[1])])
            inbox.reply(client, m, Post(text="thanks"))
        midnight = datetime(2026, 12, 2, tzinfo=UTC)
        (times,) = inbox.response_times(until=midnight)  # the API's bounds are inclusive
        assert (times.answered, times.median) == (3, timedelta(minutes=30))
        assert [v.day for v in inbox.volume(since=midnight)] == [
            "2026-12-02",
            "2026-12-03",
        ]
        with MetricsStore(tmp_path / "m.db") as store:
            html = render_report(
                store, inbox=inbox, since="2026-12-01", until="2026-12-02T00:00:00Z"
            )
    section = html.split('id="conversations"', 1)[1].split("</section>", 1)[0]
    assert 'Messages</div><div class="value">2<' in section
    assert "<td>20 min</td>" in section  # the median of 10 and 30 minutes
    assert "2026-12-02" not in section


def test_find_by_prefix_minds_case_and_wildcards_on_both_backends(inbox: Inbox) -> None:
    """SQLite's LIKE ignores the case of ASCII letters: on a file "…|AB" found "…|ab7", a
    message with another id, which `brandkit inbox reply` would have answered; PostgreSQL
    found none. A prefix is a prefix of the key, byte for byte, on both."""
    inbox.add([msg(1, id="Ab1"), msg(2, id="ab7"), msg(3, id="m%1"), msg(4, id="m_2")])
    assert inbox.find("chatnet:brand|a").id == "ab7"
    assert inbox.find("chatnet:brand|A").id == "Ab1"
    for none in ("chatnet:brand|AB", "CHATNET:brand|ab", "chatnet:brand|m%2"):
        with pytest.raises(ConfigurationError, match="no message"):
            inbox.find(none)
    assert inbox.find("chatnet:brand|m%").id == "m%1"
    assert inbox.find("chatnet:brand|m_").id == "m_2"
    with pytest.raises(ConfigurationError, match="several"):
        inbox.find("chatnet:brand|")


def test_the_end_of_a_prefix_range_skips_what_utf8_cannot_hold() -> None:
    from brandkit.inbox._store import _after_prefix

    assert _after_prefix("x:a|m1") == "x:a|m2"
    assert _after_prefix("a\ud7ff") == "a\ue000"  # past the surrogates
    assert _after_prefix("a\U0010ffff") == "b"
    assert _after_prefix("\U0010ffff") is None
    assert _after_prefix("") is None


def test_a_status_brandkit_does_not_know_is_a_brandkit_error_naming_the_row(
    inbox: Inbox,
) -> None:
    """A status column another tool wrote ('done') raised a bare ValueError from status()
    and counts(), a traceback in `brandkit inbox list`. It is a BrandkitError that names the
    row and how to set it right; marking the message repairs it."""
    from brandkit import BrandkitError

    inbox.add([msg(1), msg(2)])
    with inbox._tx() as db:
        db.execute("UPDATE inbox_messages SET status = 'done' WHERE key = ?", (msg(2).key,))
    assert inbox.status(msg(1)) is MessageStatus.NEW
    with pytest.raises(BrandkitError, match=r"chatnet:brand\|m2: the stored status 'done'"):
        inbox.status(msg(2))
    with pytest.raises(BrandkitError, match="status 'done'"):
        inbox.counts()
    inbox.mark(msg(2), "archived")
    assert inbox.status(msg(2)) is MessageStatus.ARCHIVED
    assert inbox.counts()[MessageStatus.ARCHIVED] == 1


def test_a_url_of_another_kind_is_refused_not_made_into_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Inbox("redis://:pw@cache:6379/0") was read as a path: it created the folders
    redis:/:pw@cache:6379 (the password in a folder name) and an SQLite file in them, and
    `brandkit inbox sync --db redis://...` stored the messages there. It is refused, without
    the password, as the metrics store refuses it."""
    import brandkit  # the class itself: the module's Inbox opens PostgreSQL on that backend

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match="SQLite file or on PostgreSQL") as caught:
        brandkit.Inbox("redis://:s3cret-pw@cache:6379/0")
    assert "s3cret-pw" not in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_sync_refuses_accounts_that_are_not_a_list_of_accounts_each_once(
    server: ChatServer, http: httpx.Client, account: Account, inbox: Inbox
) -> None:
    """One account not in a list raised TypeError, a key AttributeError from deep in the
    read, and the same account twice was read twice (its cursor could go back)."""
    import asyncio

    from brandkit import AsyncClient

    server.say("fan", "hi")
    wrong: list[tuple[Any, str]] = [
        (account, "a list of accounts"),
        (account.key, "a list of accounts"),
        ([account.key], "a str, not an Account"),
        ([account, account], "twice"),
    ]
    with Client(http=http) as client:
        for accounts, says in wrong:
            with pytest.raises(ConfigurationError, match=says):
                inbox.sync(client, accounts)
    transport = httpx.MockTransport(server.handler)

    async def run(accounts: Any) -> None:
        async with (
            httpx.AsyncClient(transport=transport) as ahttp,
            AsyncClient(http=ahttp) as aclient,
        ):
            await inbox.async_sync(aclient, accounts)

    for accounts, says in wrong:
        with pytest.raises(ConfigurationError, match=says):
            asyncio.run(run(accounts))
    assert inbox.cursor(account) is None and inbox.messages() == []  # nothing was read


def test_find_refuses_an_empty_prefix_rather_than_pick_the_only_message(inbox: Inbox) -> None:
    """``brandkit inbox reply '' TEXT`` (an unset shell variable) answered the inbox's only
    message: an empty prefix starts every key."""
    inbox.add([msg(1)])
    for empty in ("", None, 1):
        with pytest.raises(ConfigurationError, match="give the message's key"):
            inbox.find(empty)  # type: ignore[arg-type]
    assert inbox.find("m1").id == "m1"


def test_assign_takes_a_team_members_name_as_text_or_none(inbox: Inbox) -> None:
    """A number was stored silently as its digits, and an empty or blank name left the
    message looking taken while no one had it."""
    inbox.add([msg(1)])
    for wrong in (123, "", "   ", "a" * 1001, b"ana"):
        with pytest.raises(ConfigurationError, match="to="):
            inbox.assign(msg(1), to=wrong)  # type: ignore[arg-type]
    assert inbox.messages(assignee="123") == []
    inbox.assign(msg(1), to="ana@agency.example")
    assert [m.id for m in inbox.messages(assignee="ana@agency.example")] == ["m1"]
    inbox.assign(msg(1), to=None)
    assert inbox.messages(assignee="ana@agency.example") == []


def test_a_message_marked_waiting_again_after_its_answer_waits_in_response_times(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    """The team reopened an answered message (``mark(m, "new")``): `unanswered` listed it,
    while `response_times` still counted it answered, not waiting, with its old time."""
    clock = FakeClock(T0)
    with (
        Inbox(tmp_path / "i.db", clock=clock) as inbox,
        Client(http=http, accounts=[account], clock=clock) as client,
    ):
        for i in range(3):
            server.say(f"fan{i}", f"q{i}", minutes=1)
        inbox.sync(client, [account])
        first, reopened, seen = inbox.messages()
        for m, wait in ((first, 10), (reopened, 50), (seen, 30)):
            clock.now = m.created_at + timedelta(minutes=wait)
            inbox.reply(client, m, Post(text=f"answer to {m.text}"))
        inbox.mark(reopened, "new")
        inbox.mark(seen, "seen")
        (times,) = inbox.response_times()
        waiting = inbox.unanswered()
    assert waiting == [reopened, seen]
    assert (times.answered, times.unanswered) == (1, len(waiting))
    assert times.median == times.p90 == timedelta(minutes=10)


def test_an_answer_the_outbox_refuses_stores_nothing(
    account: Account, other: Account, tmp_path: Path
) -> None:
    """queue_reply stored a message it was handed before the outbox refused the answer
    (another account's message, an account the outbox does not know): the inbox gained a
    message to answer that no one had synced."""
    with Inbox(tmp_path / "i.db") as inbox, Outbox(tmp_path / "o.db", accounts=[account]) as ob:
        theirs = msg(1, account=other.key)
        with pytest.raises(ConfigurationError, match="belongs to chatnet:other"):
            inbox.queue_reply(ob, theirs, Post(text="hi"), account)
        with pytest.raises(ConfigurationError, match="not in the configuration"):
            inbox.queue_reply(ob, theirs, Post(text="hi"), other)
        assert inbox.messages() == [] and inbox.get(theirs) is None
        ours = msg(2)
        queued = inbox.queue_reply(ob, ours, Post(text="hi"), account)
        assert inbox.get(ours) == ours and inbox.status(ours) is MessageStatus.NEW
        assert queued.status is DeliveryStatus.PENDING


def test_add_refuses_what_is_not_a_list_of_messages(inbox: Inbox) -> None:
    """``inbox.add(message)`` raised TypeError ('Message' object is not iterable), and a
    dict among the messages AttributeError, from deep in the store."""
    for wrong, says in (
        (msg(1), "a list of messages"),
        ([msg(1), msg(2).to_dict()], "a dict, not a Message"),
        ("m1", "a list of messages"),
    ):
        with pytest.raises(ConfigurationError, match=says):
            inbox.add(wrong)  # type: ignore[arg-type]
    assert inbox.messages() == []  # nothing stored, not even the good one before
    assert inbox.add([msg(1)]) == 1


def test_async_sync_takes_a_whole_number_of_accounts_at_once(
    account: Account, inbox: Inbox
) -> None:
    """concurrency="4" (read from a setting) raised TypeError, and True or 2.5 were taken
    as they were."""
    import asyncio

    from brandkit import AsyncClient

    async def run(concurrency: Any) -> None:
        async with AsyncClient() as client:
            await inbox.async_sync(client, [account], concurrency=concurrency)

    for wrong in ("4", True, 2.5, None):
        with pytest.raises(ConfigurationError, match=f"concurrency={wrong!r}: give how many"):
            asyncio.run(run(wrong))
    assert inbox.cursor(account) is None  # refused before any read


def test_the_first_of_two_queued_answers_sent_marks_the_message_replied(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    """Two team members queued different answers to one message; the second replaced the
    first in the inbox's memory. The worker sent the first and the second was cancelled:
    the message waited for ever although it had been answered (a third answer followed)."""
    clock = FakeClock(T0 + timedelta(minutes=30))
    with (
        Inbox(tmp_path / "i.db", clock=clock) as inbox,
        Outbox(tmp_path / "o.db") as outbox,
        Client(http=http, accounts=[account], outbox=outbox, clock=clock) as client,
    ):
        server.say("fan", "do you ship to Norway?")
        inbox.sync(client, [account])
        (question,) = inbox.unanswered()
        first = inbox.queue_reply(outbox, question, Post(text="We do."), account)
        second = inbox.queue_reply(outbox, question, Post(text="Yes, in 3 days."), account)
        assert first.id != second.id
        outbox.cancel(second.id)
        with Worker(outbox, [account], client=client, clock=clock) as worker:
            worker.run_once()
        assert [p["text"] for p in server.posts] == ["We do."]
        assert inbox.settle(outbox) == 1
        assert inbox.status(question) is MessageStatus.REPLIED
        assert inbox.unanswered() == []
        (times,) = inbox.response_times()
        assert times.median == timedelta(minutes=29)  # asked at T0 + 1 min, sent at + 30
        assert inbox.settle(outbox) == 0


def test_a_cancelled_answer_is_forgotten_not_looked_up_at_every_sync(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    """An answer queued and then cancelled will never be sent, but the inbox looked it up in
    the outbox at every sync, for as long as the message stayed unanswered (an agency's
    cancelled answers pile up). It is forgotten at the first settle; the message still
    waits, and a new answer marks it as before."""
    clock = FakeClock(T0 + timedelta(minutes=30))
    with (
        Inbox(tmp_path / "i.db", clock=clock) as inbox,
        Outbox(tmp_path / "o.db") as outbox,
        Client(http=http, accounts=[account], outbox=outbox, clock=clock) as client,
    ):
        server.say("fan", "do you ship to Norway?")
        inbox.sync(client, [account])
        (question,) = inbox.unanswered()
        dropped = inbox.queue_reply(outbox, question, Post(text="Maybe."), account)
        outbox.cancel(dropped.id)
        looked: list[str] = []
        get = outbox.get

        def counting(delivery_id: str) -> Any:
            looked.append(delivery_id)
            return get(delivery_id)

        outbox.get = counting  # type: ignore[method-assign]
        assert inbox.settle(outbox) == 0
        assert looked == [dropped.id]
        inbox.settle(outbox)
        inbox.sync(client, [account])
        assert looked == [dropped.id]  # not looked up again
        assert [m.id for m in inbox.unanswered()] == [question.id]
        outbox.get = get  # type: ignore[method-assign]
        inbox.queue_reply(outbox, question, Post(text="We do."), account)
        with Worker(outbox, [account], client=client, clock=clock) as worker:
            worker.run_once()
        assert inbox.settle(outbox) == 1
        assert inbox.status(question) is MessageStatus.REPLIED


def test_a_timeout_that_is_not_a_number_of_seconds_is_refused(tmp_path: Path) -> None:
    """Inbox(timeout=...) took a negative, NaN or infinite number, or text, and failed
    later with ValueError, OverflowError or TypeError (PostgreSQL: a server error)."""
    for wrong in (-1, float("nan"), float("inf"), "5", True, 1e12):
        with pytest.raises(ConfigurationError, match="timeout must be a number of seconds"):
            Inbox(tmp_path / "t.db", timeout=wrong)
    with Inbox(tmp_path / "t.db", timeout=0) as inbox:
        assert inbox.messages() == []


@pytest.mark.anyio
async def test_a_read_that_says_more_without_moving_its_cursor_is_not_repeated(
    server: ChatServer, account: Account, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    """A platform (or an adapter) that answered "more" from where it stood made every sync
    read the same page 100 times per account: 100 requests, and its rate limit, for
    nothing. The sync stops there (the next one reads from the same cursor)."""
    from brandkit import AsyncClient

    server.say("fan", "hi")

    def stuck(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/inbox" and request.url.params["after"] == "1":
            server.requests.append(request)
            return httpx.Response(200, json={"messages": [], "more": True})
        return server.handler(request)

    with httpx.Client(transport=httpx.MockTransport(stuck)) as http, Client(http=http) as client:
        first = inbox.sync(client, [account])
        assert (first.added, first.requests) == (1, 3)  # the message, then the stuck read
        again = inbox.sync(client, [account])
    assert again.requests == 1 and again.errors == {}
    assert inbox.cursor(account) == "1"
    assert "did not move its cursor" in caplog.text
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(stuck)) as ahttp,
        AsyncClient(http=ahttp) as aclient,
    ):
        report = await inbox.async_sync(aclient, [account])
    assert report.requests == 1
    assert len(server.requests) == 5


def test_statuses_may_be_given_as_a_set(inbox: Inbox) -> None:
    """status={"new", "seen"} was refused as an "unknown status in {'new', 'seen'}", naming
    two statuses that exist."""
    inbox.add([msg(1), msg(2), msg(3)])
    inbox.mark(msg(2), "seen")
    inbox.mark(msg(3), "archived")
    assert [m.id for m in inbox.messages(status={"new", "seen"})] == ["m1", "m2"]
    assert [m.id for m in inbox.messages(status=frozenset({MessageStatus.ARCHIVED}))] == ["m3"]
    assert [m.id for m in inbox.messages(status=(s for s in ("new",)))] == ["m1"]
    assert inbox.messages(status=set()) == []
    with pytest.raises(ConfigurationError, match="unknown status 'lost'"):
        inbox.messages(status={"new", "lost"})


def test_unanswered_does_not_read_the_posts_listening_found(
    inbox: Inbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """unanswered() read and decoded every post a saved search had ever found (all "new"),
    then dropped them: a brand's months of listening made each call slower and slower."""
    from brandkit.inbox import _store

    inbox.add([msg(1), *(msg(n, kind="found") for n in range(2, 202)), msg(300)])
    decoded: list[str | None] = []
    real = _store._message

    def counted(data: str, key: str | None = None) -> Message:
        decoded.append(key)
        return real(data, key)

    monkeypatch.setattr(_store, "_message", counted)
    assert [m.id for m in inbox.unanswered()] == ["m1", "m300"]
    assert [m.id for m in inbox.unanswered(older_than=timedelta(0))] == ["m1", "m300"]
    assert len(decoded) == 4


def test_an_answer_sent_by_a_client_with_a_naive_clock_is_recorded(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    """Client(clock=datetime.now) writes each part's posted_at without a time zone: the
    answer was sent, then inbox.reply raised ConfigurationError ("has no time zone") and the
    message stayed new for good (asked again, the client returns the same sent answer).
    Such a time is read as Python reads it, in local time; text that is no time at all as
    the inbox's clock."""
    sent_at = T0 + timedelta(minutes=31)
    local = sent_at.astimezone().replace(tzinfo=None)  # what datetime.now() would give
    with (
        Inbox(tmp_path / "i.db", clock=FakeClock(T0 + timedelta(hours=1))) as inbox,
        Client(http=http, accounts=[account], clock=lambda: local) as client,
    ):
        server.say("fan", "hello?", minutes=1)
        inbox.sync(client, [account])
        (question,) = inbox.unanswered()
        answer = inbox.reply(client, question, Post(text="hi"))
        assert answer.ok and inbox.status(question) is MessageStatus.REPLIED
        (times,) = inbox.response_times()
        assert times.median == timedelta(minutes=30)
        server.say("fan", "and now?", minutes=2)
        inbox.sync(client, [account])
        (second,) = inbox.unanswered()
        odd = attrs.evolve(
            answer, parts=[attrs.evolve(answer.parts[0], extra={"posted_at": "soon"})]
        )
        inbox.replied(second, odd)
        assert inbox.status(second) is MessageStatus.REPLIED
        (times,) = inbox.response_times()
    # 30 minutes, and 58 (from T0 + 2 min to the inbox's clock, T0 + 1 h).
    assert times.median == timedelta(minutes=44)
    assert times.p90 == timedelta(minutes=55, seconds=12)


def test_a_nul_in_an_authors_name_is_stored_on_both_backends(inbox: Inbox) -> None:
    """A WordPress guest picks their own name, which becomes the author's id
    (``guest:<name>``): one with a NUL character stored on SQLite, but PostgreSQL refused
    the whole page, so that account's sync failed at the same message for ever."""
    guest = msg(1, author=Author(id="guest:ev\x00il", name="ev\x00il"))
    assert inbox.add([guest, msg(2)]) == 2
    stored = inbox.get(guest)
    assert stored is not None and stored.author == guest.author
    assert [m.id for m in inbox.unanswered()] == ["m1", "m2"]


def test_a_read_refused_with_a_nul_in_its_reason_is_reported_on_both_backends(
    server: ChatServer, account: Account, other: Account, inbox: Inbox
) -> None:
    """The reason a platform gave for refusing a read is kept beside the account's cursor:
    with a NUL in it, PostgreSQL refused to keep it, and the whole sync raised instead of
    reporting that account and reading the others."""
    server.say("fan", "hi")

    def refusing(request: httpx.Request) -> httpx.Response:
        if "brand" in request.url.host:
            return httpx.Response(403, json={"error": "no\x00scope"})
        return server.handler(request)

    theirs = Account(NAME, name="brand", base_url="https://brand.chat.example")
    with (
        httpx.Client(transport=httpx.MockTransport(refusing)) as http,
        Client(http=http) as client,
    ):
        report = inbox.sync(client, [theirs, other])
    assert set(report.errors) == {theirs.key}
    assert report.accounts[1].added == 1


def test_sync_refuses_what_is_no_client(account: Account, inbox: Inbox) -> None:
    """inbox.sync(None, ...) (a client not built yet) raised AttributeError: 'NoneType'
    object has no attribute 'outbox'."""
    import asyncio

    for wrong in (None, "brandkit.toml", inbox):
        with pytest.raises(ConfigurationError, match="takes a Client"):
            inbox.sync(wrong, [account])  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="takes an AsyncClient"):
            asyncio.run(inbox.async_sync(wrong, [account]))  # type: ignore[arg-type]
    assert inbox.cursor(account) is None


def test_a_message_with_a_wrong_time_or_kind_is_a_configuration_error() -> None:
    """Message(created_at=datetime.now()) raised a bare ValueError, and a time given as
    text AttributeError ('str' object has no attribute 'tzinfo'): neither is brandkit's
    ConfigurationError, which callers catch. Both stay ValueErrors, as before."""
    from brandkit.errors import BrandkitError

    wrong: list[dict[str, Any]] = [
        {"created_at": datetime(2026, 1, 1)},
        {"created_at": "2026-01-01T00:00:00+00:00"},
        {"created_at": None},
        {"kind": "dm"},
    ]
    for fields in wrong:
        with pytest.raises(ConfigurationError) as caught:
            msg(1, **fields)
        assert isinstance(caught.value, ValueError) and isinstance(caught.value, BrandkitError)
    with pytest.raises(ConfigurationError, match="created_at='2026-01-01T00:00:00\\+00:00'"):
        msg(1, created_at="2026-01-01T00:00:00+00:00")
    with pytest.raises(ValueError, match="not a stored message"):
        Message.from_dict({**msg(1).to_dict(), "created_at": 5})


def test_volume_puts_a_message_before_1970_on_its_own_day(inbox: Inbox) -> None:
    """A Bluesky post's createdAt is whatever its client wrote. Half a second before 1970,
    SQLite counted it on 1970-01-01 (its division rounds toward zero), PostgreSQL on
    1969-12-31."""
    early = datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)
    inbox.add(
        [
            msg(1, created_at=early),
            msg(
                2,
                created_at=datetime(1900, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - timedelta(microseconds=2),
            ),
            msg(3, created_at=datetime(1970, 1, 1, tzinfo=UTC)),
        ]
    )
    assert [(v.day, v.count) for v in inbox.volume()] == [
        ("1899-12-31", 1),
        ("1969-12-31", 1),
        ("1970-01-01", 1),
    ]


def test_a_sync_cut_short_by_its_page_bound_says_so(
    server: ChatServer, http: httpx.Client, account: Account, inbox: Inbox
) -> None:
    """A sync stops after 100 reads per account; the report then looked like a finished
    one (and the command line said ok), though more was waiting on the platform."""
    for i in range(105):
        server.say("fan", f"m{i}")
    with Client(http=http) as client:
        first = inbox.sync(client, [account], limit=1)
        assert first.accounts[0].more and first.accounts[0].added == 100
        second = inbox.sync(client, [account], limit=1)
    assert not second.accounts[0].more and second.accounts[0].added == 5
    assert len(inbox.messages()) == 105


def test_a_message_key_that_is_not_text_is_refused_on_both_backends(
    account: Account, inbox: Inbox
) -> None:
    """inbox.get(123) (a platform id passed as a number) was None on SQLite and a server
    error on PostgreSQL; cursor(None) raised AttributeError."""
    inbox.add([msg(1)])
    for wrong in (123, None, ["chatnet:brand|m1"]):
        for call in (
            lambda w: inbox.get(w),
            lambda w: inbox.status(w),
            lambda w: inbox.mark(w, "seen"),
            lambda w: inbox.assign(w, "ana"),
            lambda w: inbox.cursor(w),
        ):
            with pytest.raises(ConfigurationError, match=r"give a message|give an account"):
                call(wrong)
    assert inbox.status("chatnet:brand|m1") is MessageStatus.NEW
    assert inbox.cursor(account) is None and inbox.cursor(account.key) is None


def test_statuses_of_many_messages_are_read_together_on_both_backends(inbox: Inbox) -> None:
    """What ``brandkit inbox list`` shows beside each message, read in batches."""
    many = [msg(n) for n in range(1, 1203)]
    inbox.add(many)
    inbox.mark(msg(600), "seen")
    inbox.mark(msg(1202), "archived")
    got = inbox._statuses([*many, msg(5000)])
    assert len(got) == 1202 and msg(5000).key not in got
    assert {k: v for k, v in got.items() if v is not MessageStatus.NEW} == {
        msg(600).key: MessageStatus.SEEN,
        msg(1202).key: MessageStatus.ARCHIVED,
    }
    assert inbox._statuses([]) == {}


def test_an_empty_or_missing_path_is_refused_not_a_temporary_inbox(tmp_path: Path) -> None:
    """Inbox("") (an unset variable: ``--db "$DB"``) opened SQLite's temporary database:
    a sync stored its messages there and they were gone when it closed. Inbox(None)
    raised TypeError."""
    for wrong in ("", "  ", None, 123):
        with pytest.raises(ConfigurationError, match="give a file"):
            Inbox(wrong)  # type: ignore[arg-type]
    with Inbox(tmp_path / "ok.db") as inbox:
        assert inbox.messages() == []


def test_a_platforms_words_in_the_inbox_log_cannot_forge_lines(
    server: ChatServer, account: Account, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    """The reason a platform gave for refusing a read went into the log line as it was: a
    line break in it started a forged line, an escape sequence reached the terminal that
    shows the log. It is logged escaped (the report keeps it whole)."""
    import logging

    said = "denied\nWARNING brandkit: all good\x1b]0;pwned\x07"

    def refusing(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"error": said})

    with (
        httpx.Client(transport=httpx.MockTransport(refusing)) as http,
        Client(http=http) as client,
        caplog.at_level(logging.WARNING, logger="brandkit.inbox"),
    ):
        report = inbox.sync(client, [account])
    assert said in report.errors[account.key]
    (line,) = [r.getMessage() for r in caplog.records if r.name.startswith("brandkit.inbox")]
    assert "\n" not in line and "\x1b" not in line and "\x07" not in line
    assert "denied\\nWARNING brandkit: all good\\x1b]0;pwned\\x07" in line


def test_the_workers_log_lines_cannot_be_forged_by_a_platforms_words(
    server: ChatServer, account: Account, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An answer queued through the inbox and refused by the platform: the worker logged
    the platform's reason as it was, a line break and an escape sequence included."""
    import logging

    said = "refused\nINFO brandkit.outbox: sent everything\x1b[2J"

    def refusing(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/posts":
            return httpx.Response(403, json={"error": said})
        return server.handler(request)

    with (
        httpx.Client(transport=httpx.MockTransport(refusing)) as http,
        Inbox(tmp_path / "b.db") as inbox,
        Outbox(tmp_path / "b.db") as outbox,
        Client(http=http, accounts=[account], outbox=outbox) as client,
    ):
        server.say("fan", "hello?")
        inbox.sync(client, [account])
        (question,) = inbox.unanswered()
        inbox.queue_reply(outbox, question, Post(text="Hi!"), account)
        with (
            caplog.at_level(logging.INFO, logger="brandkit"),
            Worker(outbox, [account], client=client) as worker,
        ):
            (done,) = worker.run_once()
        assert done.status is DeliveryStatus.FAILED and said in str(done.error)
        assert inbox.status(question) is MessageStatus.NEW
    lines = [r.getMessage() for r in caplog.records if r.name.startswith("brandkit.outbox")]
    assert any("refused\\nINFO brandkit.outbox: sent everything\\x1b[2J" in x for x in lines)
    assert not any("\n" in x or "\x1b" in x for x in lines)


def test_an_inbox_locked_by_another_process_during_a_sync_is_reported_not_raised(
    server: ChatServer, account: Account, other: Account, tmp_path: Path
) -> None:
    """Another process held the file's write lock past the inbox's timeout while the second
    account was read: its page could not be stored, nor its failure, and the whole sync
    raised, losing the report of the first account (whose messages were stored). The
    second account is reported with the reason and keeps its cursor."""
    import sqlite3

    path = tmp_path / "b.db"
    server.say("fan", "hi")
    holder = sqlite3.connect(path, isolation_level=None, timeout=0)
    locks: list[bool] = []

    def locking(request: httpx.Request) -> httpx.Response:
        if "brand" in request.url.host and not locks:
            locks.append(True)
            holder.execute("BEGIN IMMEDIATE")  # held until the sync is over
        return server.handler(request)

    theirs = Account(NAME, name="brand", base_url="https://brand.chat.example")
    try:
        with (
            Inbox(path, timeout=0.2) as inbox,
            httpx.Client(transport=httpx.MockTransport(locking)) as http,
            Client(http=http) as client,
        ):
            report = inbox.sync(client, [other, theirs])
            assert report.accounts[0].added == 1 and report.accounts[0].error is None
            assert set(report.errors) == {theirs.key}
            assert "stayed locked" in report.errors[theirs.key]
            holder.execute("ROLLBACK")
            assert inbox.cursor(theirs) is None
            again = inbox.sync(client, [theirs])
            assert again.errors == {} and again.accounts[0].read == 1
    finally:
        holder.close()


def test_an_answer_the_platform_refuses_leaves_the_message_waiting_and_says_why(
    server: ChatServer, account: Account, tmp_path: Path
) -> None:
    """The platform refused the answer (the author blocked the brand): the message stays
    as it was, not ``replied``; the delivery says why and is kept in the outbox, and the
    message still counts as waiting in the response times."""

    def refusing(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/posts":
            return httpx.Response(403, json={"error": "the author blocked you"})
        return server.handler(request)

    with (
        httpx.Client(transport=httpx.MockTransport(refusing)) as http,
        Inbox(tmp_path / "b.db") as inbox,
        Outbox(tmp_path / "b.db") as outbox,
        Client(http=http, accounts=[account], outbox=outbox) as client,
    ):
        server.say("fan", "do you ship to Norway?")
        inbox.sync(client, [account])
        (question,) = inbox.unanswered()
        inbox.mark(question, "seen")
        answer = inbox.reply(client, question, Post(text="We do."))
        assert answer.status is DeliveryStatus.FAILED and not answer.ok
        assert answer.error is not None and "the author blocked you" in str(answer.error)
        assert inbox.status(question) is MessageStatus.SEEN
        assert [m.key for m in inbox.unanswered()] == [question.key]
        (times,) = inbox.response_times()
        assert (times.answered, times.unanswered) == (0, 1)
        kept = outbox.get(answer.id)
        assert kept is not None and kept.status is DeliveryStatus.FAILED
        assert inbox.settle(outbox) == 0
        assert inbox.status(question) is MessageStatus.SEEN


def test_an_answer_sent_while_the_inbox_is_locked_is_handed_back_not_lost(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    """Another process held the file's write lock while an answer was posted: the inbox
    raised its lock error and the caller never saw the delivery, the message stayed
    unanswered, and answering it again (no outbox) posted a second answer. The error now
    says the answer is posted and carries it, for `replied` once the file is free."""
    from brandkit.errors import AnswerNotRecorded

    path = tmp_path / "b.db"
    server.say("fan", "hi")
    with Inbox(path, timeout=0.2) as inbox, Client(http=http, accounts=[account]) as client:
        inbox.sync(client, [account])
        (message,) = inbox.messages()
        holder = sqlite3.connect(path, isolation_level=None, timeout=0)
        try:
            holder.execute("BEGIN IMMEDIATE")
            with pytest.raises(AnswerNotRecorded) as caught:
                inbox.reply(client, message, Post(text="thanks"))
            holder.execute("ROLLBACK")
        finally:
            holder.close()
        delivery = caught.value.delivery
        assert delivery.ok and len(server.posts) == 1
        said = str(caught.value)
        assert delivery.id in said and "posted" in said and "stayed locked" in said
        assert "inbox.replied(" in said
        assert inbox.status(message) == MessageStatus.NEW
        inbox.replied(message, delivery)
        assert inbox.status(message) == MessageStatus.REPLIED
        assert inbox.unanswered() == []


def test_the_same_answer_asked_again_from_a_new_client_without_outbox_is_not_sent_twice(
    tmp_path: Path,
) -> None:
    from brandkit.testing.mastodon import MastodonEmulator

    emu = MastodonEmulator()
    with emu.serve():
        acme = emu.account(name="acme")
        with Client(accounts=[acme]) as client:
            (ours,) = client.publish(Post(text="Our autumn collection"), acme)
        emu.audience("ana").reply(ours.ids[0], "Do you ship to Norway?")
        emu.audience("ben").reply(ours.ids[0], "Nice coat")
        inbox = Inbox(tmp_path / "brandkit.db")
        with Client(accounts=[acme]) as client:
            inbox.sync(client, [acme])
            question, other = inbox.unanswered()
            first = inbox.reply(client, question, Post(text="We do!"))
        assert first.status is DeliveryStatus.SENT
        # A new process (the script run again, a second worker), its client without outbox.
        with Client(accounts=[acme]) as client:
            with pytest.raises(ConfigurationError, match=f"delivery {first.id}.*not sent again"):
                inbox.reply(client, question.key, Post(text="We do!"))
            # Another answer, or the same words to another message, are answers of their own.
            assert inbox.reply(client, question, Post(text="In 3 days.")).ok
            assert inbox.reply(client, other, Post(text="We do!")).ok
        # Through an outbox that holds it, the same answer is handed back, not refused.
        with (
            Outbox(tmp_path / "brandkit.db") as outbox,
            Client(outbox=outbox, accounts=[acme]) as c,
        ):
            once = inbox.reply(c, other, Post(text="Thanks!"))
            assert inbox.reply(c, other, Post(text="Thanks!")).id == once.id
        inbox.close()
    answers = [t for t in emu.post_texts() if t != "Our autumn collection"]
    assert sorted(answers) == sorted(
        ["@ana We do!", "@ana In 3 days.", "@ben We do!", "@ben Thanks!"]
    )


def test_a_damaged_row_says_how_to_store_the_message_again_and_that_works(
    tmp_path: Path,
) -> None:
    """The error advised syncing the account again from since=None, which never rewrites a
    stored message: the inbox stayed unreadable. What it says now brings the message back."""
    from brandkit import BrandkitError
    from brandkit.testing.mastodon import MastodonEmulator

    emu = MastodonEmulator()
    with emu.serve():
        acme = emu.account(name="acme")
        with Client(accounts=[acme]) as client:
            (ours,) = client.publish(Post(text="Our autumn collection"), acme)
            emu.audience("ana").reply(ours.ids[0], "Do you ship to Norway?")
            inbox = Inbox(tmp_path / "brandkit.db")
            inbox.sync(client, [acme])
            (question,) = inbox.unanswered()
            with inbox._tx() as db:
                db.execute(
                    "UPDATE inbox_messages SET data = ? WHERE key = ?", ("{not json", question.key)
                )
            with pytest.raises(BrandkitError, match="is damaged in the store") as caught:
                inbox.unanswered()
            advice = str(caught.value)
            assert question.key in advice and "delete its row" in advice
            # Reading again alone repairs nothing: a stored message is left as it is.
            inbox.add(client.inbox(acme).messages)
            with pytest.raises(BrandkitError, match="is damaged in the store"):
                inbox.unanswered()
            assert "inbox.add(client.inbox(account).messages)" in advice
            with inbox._tx() as db:
                db.execute("DELETE FROM inbox_messages WHERE key = ?", (question.key,))
            assert inbox.add(client.inbox(acme).messages) == 1
            assert inbox.unanswered() == [question]
            inbox.close()


def test_an_account_whose_saved_cursor_the_platform_refuses_can_be_read_from_the_start(
    tmp_path: Path,
) -> None:
    """``x:acme`` reconnected to another X user: X's adapter refuses the saved cursor (it
    names the old user) and says to pass since=None, which no sync can; every sync failed
    for good. The report says how, and `forget_cursor` reads the account from the start."""
    from brandkit.testing.x import XEmulator

    emu = XEmulator()
    with emu.serve() as url:
        old = emu.account(name="acme")
        new = emu.account(name="newacme")
        with Client(accounts=[old, new]) as client:
            (first,) = client.publish(Post(text="hello"), old)
            (second,) = client.publish(Post(text="hello again"), new)
        emu.audience("ana").reply(first.ids[0], "to the old account")
        emu.audience("ben").reply(second.ids[0], "to the new one")
        inbox = Inbox(tmp_path / "brandkit.db")
        with Client() as client:
            assert inbox.sync(client, [old]).added == 1
        names = ("user_token", "client_secret", "refresh_token")
        acme = Account("x", name="acme", base_url=url, secrets={k: new.secret(k) for k in names})
        with Client() as client:
            for _ in range(2):
                (failed,) = inbox.sync(client, [acme]).accounts
                assert failed.error is not None and "belongs to user" in failed.error
                assert "inbox.forget_cursor(account)" in failed.error
                assert "brandkit inbox sync --from-start --account acme" in failed.error
            inbox.forget_cursor(acme)
            (read,) = inbox.sync(client, [acme]).accounts
            assert (read.error, read.added) == (None, 1)
            assert inbox.sync(client, [acme]).accounts[0].error is None
        assert sorted(m.text for m in inbox.messages()) == ["to the new one", "to the old account"]
        inbox.close()


def test_an_answer_that_is_not_a_post_is_a_configuration_error_that_says_so(
    tmp_path: Path,
) -> None:
    """``inbox.reply(client, message, "Thanks!")`` met the adapter as AttributeError: 'str'
    object has no attribute 'text'."""
    from brandkit.testing.mastodon import MastodonEmulator

    emu = MastodonEmulator()
    with emu.serve():
        acme = emu.account(name="acme")
        with Client(accounts=[acme]) as client:
            (ours,) = client.publish(Post(text="Our autumn collection"), acme)
            emu.audience("ana").reply(ours.ids[0], "Do you ship to Norway?")
            inbox = Inbox(tmp_path / "brandkit.db")
            inbox.sync(client, [acme])
            (question,) = inbox.unanswered()
            with pytest.raises(ConfigurationError, match=r"a str, not a Post: give Post\(text="):
                inbox.reply(client, question, "We do!")  # type: ignore[arg-type]
            with (
                Outbox(tmp_path / "outbox.db", accounts=[acme]) as outbox,
                pytest.raises(ConfigurationError, match="a NoneType, not a Post"),
            ):
                inbox.queue_reply(outbox, question, None, acme)  # type: ignore[arg-type]
            assert inbox.unanswered() == [question]
            inbox.close()
    assert emu.post_texts() == ["Our autumn collection"]


def test_response_times_of_many_accounts_match_their_quantiles(inbox: Inbox) -> None:
    """Many accounts, each with answers of known waits (some a second apart, one answered
    before it was received by the clocks), waiting messages, answers without a time and
    archived or hidden answers: each account's median and p90 are those of its waits,
    interpolated between the closest ranks, counted in the store."""
    import random

    from brandkit.delivery import Delivery
    from brandkit.platforms._base import PartRef

    rng = random.Random(7)
    expected: dict[str, tuple[int, int, list[float]]] = {}
    n = 0
    for a in range(7):
        account = f"chatnet:brand{a}"
        waits: list[float] = []
        answered = waiting = 0
        messages = [msg(n + i, account=account, minutes=i) for i in range(rng.randint(1, 40))]
        n += len(messages)
        inbox.add(messages)
        for m in messages:
            roll = rng.random()
            if roll < 0.2:
                waiting += 1  # left new
                continue
            if roll < 0.3:
                inbox.mark(m, "replied")  # answered elsewhere, no time
                answered += 1
                continue
            seconds = rng.choice([0, 1, 59, 600, 3600 * 30]) + rng.randint(0, 9)
            if roll < 0.35:
                seconds = -30  # the answer's clock was behind: a wait of 0
            sent = m.created_at + timedelta(seconds=seconds)
            answer = Delivery(account=account, platform=NAME, post=Post(text="thanks"))
            answer.status = DeliveryStatus.SENT
            answer.parts.append(PartRef(0, f"a{m.id}", extra={"posted_at": sent.isoformat()}))
            inbox.replied(m, answer)
            if roll > 0.9:
                inbox.mark(m, rng.choice(["archived", "hidden"]))  # still answered, timed
            waits.append(max(0, seconds) * 1.0)
            answered += 1
        expected[account] = (answered, waiting, waits)
    inbox.add([msg(n + 1, account="chatnet:brand0", kind="found")])  # not a message to us
    got = {t.account: t for t in inbox.response_times()}
    assert list(got) == sorted(expected)
    for account, (answered, waiting, waits) in expected.items():
        times = got[account]
        assert (times.answered, times.unanswered) == (answered, waiting), account
        if not waits:
            assert times.median is None and times.p90 is None
            continue
        for q, value in ((0.5, times.median), (0.9, times.p90)):
            ordered = sorted(waits)
            pos = (len(ordered) - 1) * q
            low = int(pos)
            high = min(low + 1, len(ordered) - 1)
            want = ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
            assert value == timedelta(seconds=want), (account, q)
    (one,) = inbox.response_times(account="chatnet:brand3")
    assert one == got["chatnet:brand3"]
