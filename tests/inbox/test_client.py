"""The drivers' conversation operations, over a fake platform (the platforms' own are in
each platform's suite and in the conformance suite)."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    Author,
    Client,
    ConfigurationError,
    ContentError,
    Delivery,
    DeliveryStatus,
    Message,
    Outbox,
    Post,
    RetryPolicy,
    Unsupported,
)
from brandkit._flow import Flow, run_flow
from brandkit.content import Rendered, RenderedPart
from brandkit.platforms import register
from brandkit.platforms._base import Adapter, Capabilities, PartRef, ThreadContext

from .conftest import ChatServer

FAST = RetryPolicy(attempts=2, initial=0.0, max_backoff=0.0, settle=0.0)


def test_inbox_reads_pages_until_the_limit_and_says_more(
    server: ChatServer, http: httpx.Client, account: Account
) -> None:
    for i in range(25):
        server.say(f"fan{i}", f"hello {i}")
    with Client(http=http, retry=FAST) as client:
        page = client.inbox(account, limit=20)
        assert [m.text for m in page.messages] == [f"hello {i}" for i in range(20)]
        assert page.more and page.requests == 2
        rest = client.inbox(account, since=page.cursor, limit=20)
    assert [m.text for m in rest.messages] == [f"hello {i}" for i in range(20, 25)]
    assert not rest.more


def test_inbox_messages_come_oldest_first(
    server: ChatServer, http: httpx.Client, account: Account
) -> None:
    server.say("late", "second", minutes=30)
    server.say("early", "first", minutes=5)
    with Client(http=http) as client:
        page = client.inbox(account)
    assert [m.text for m in page.messages] == ["first", "second"]


def test_a_limit_below_one_is_refused(http: httpx.Client, account: Account) -> None:
    with Client(http=http) as client, pytest.raises(ConfigurationError, match="limit"):
        client.inbox(account, limit=0)


def test_a_platform_without_an_inbox_is_refused_before_any_request(
    server: ChatServer, http: httpx.Client
) -> None:
    mute = Account("mute", name="m", base_url="https://chat.example")
    with Client(http=http) as client:
        with pytest.raises(Unsupported, match="mute cannot read an inbox"):
            client.inbox(mute)
        message = _message("mute:m")
        for act in (client.hide, client.unhide, client.delete_comment, client.like):
            with pytest.raises(Unsupported):
                act(message, mute)
        with pytest.raises(Unsupported, match="answer messages"):
            client.reply(message, Post(text="hi"), mute)
    assert server.requests == []


def test_unsupported_moderation_sends_nothing(
    server: ChatServer, http: httpx.Client, account: Account
) -> None:
    server.say("troll", "rude")
    with Client(http=http) as client:
        (message,) = client.inbox(account).messages
        before = len(server.requests)
        with pytest.raises(Unsupported) as caught:
            client.delete_comment(message)
        assert caught.value.operation == "delete_message"
        assert caught.value.platform == "chatnet"
        with pytest.raises(Unsupported):
            client.like(message)
        assert len(server.requests) == before
        client.hide(message)
        assert server.hidden == {message.id: True}
        client.unhide(message)
        assert server.hidden == {message.id: False}


def test_reply_is_threaded_under_the_message(
    server: ChatServer, http: httpx.Client, account: Account
) -> None:
    server.say("fan", "is it open?")
    with Client(http=http, accounts=[account]) as client:
        (message,) = client.inbox(account).messages
        delivery = client.reply(message, Post(text="Yes!"))
    assert delivery.status is DeliveryStatus.SENT
    assert server.posts[0]["parent"] == message.id
    assert delivery.reply_to is not None and delivery.reply_to.id == message.id
    assert delivery.reply_to.extra["message"] == message.key


def test_an_answer_given_as_text_is_refused_with_what_to_give(
    server: ChatServer, http: httpx.Client, account: Account
) -> None:
    """``client.reply(message, "Thanks!")`` met the adapter as an AttributeError; both
    drivers now refuse it before any request, naming the Post to give."""
    server.say("fan", "is it open?")
    with Client(http=http, accounts=[account]) as client:
        (message,) = client.inbox(account).messages
        before = len(server.requests)
        with pytest.raises(ConfigurationError, match=r"give Post\(text='Thanks!'\)"):
            client.reply(message, "Thanks!")  # type: ignore[arg-type]

    async def answer() -> None:
        transport = httpx.MockTransport(server.handler)
        async with AsyncClient(
            http=httpx.AsyncClient(transport=transport), accounts=[account]
        ) as aclient:
            with pytest.raises(ConfigurationError, match="not a Post"):
                await aclient.reply(message, None)  # type: ignore[arg-type]

    asyncio.run(answer())
    assert len(server.requests) == before and server.posts == []


def test_the_same_answer_twice_is_one_delivery_and_one_post(
    server: ChatServer, http: httpx.Client, account: Account
) -> None:
    server.say("fan", "hours?")
    with Client(http=http, accounts=[account]) as client:
        (message,) = client.inbox(account).messages
        first = client.reply(message, Post(text="Nine to five."))
        second = client.reply(message, Post(text="Nine to five."))
        other = client.reply(message, Post(text="And Saturdays."))
    assert first is second
    assert other.id != first.id
    assert [p["text"] for p in server.posts] == ["Nine to five.", "And Saturdays."]


def test_a_lost_answer_is_looked_up_not_sent_again(
    server: ChatServer, http: httpx.Client, account: Account
) -> None:
    server.say("fan", "where?")
    server.drop_next_post = True
    with Client(http=http, accounts=[account], retry=FAST) as client:
        (message,) = client.inbox(account).messages
        answer = client.reply(message, Post(text="Here."))
        again = client.reply(message, Post(text="Here."))
    assert answer.status is DeliveryStatus.SENT
    assert again is answer
    assert [p["text"] for p in server.posts] == ["Here."]


def test_an_outbox_keeps_one_answer_across_clients(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    server.say("fan", "price?")
    with Outbox(tmp_path / "o.db") as outbox:
        with Client(http=http, outbox=outbox, accounts=[account]) as client:
            (message,) = client.inbox(account).messages
            queued = outbox.add_reply(message, Post(text="Ten euros."), account)
            assert queued.status is DeliveryStatus.PENDING
            again = outbox.add_reply(message, Post(text="Ten euros."), account)
            assert again.id == queued.id
            assert len(outbox.list()) == 1
        with Client(http=http, outbox=outbox, accounts=[account]) as client:
            sent = client.reply(message, Post(text="Ten euros."))
            assert sent.id == queued.id and sent.status is DeliveryStatus.SENT
        with Client(http=http, outbox=outbox, accounts=[account]) as client:
            assert client.reply(message, Post(text="Ten euros.")).status is DeliveryStatus.SENT
        stored = outbox.get(queued.id)
        assert stored is not None and stored.reply_to is not None
        assert stored.reply_to.id == message.id
    assert [p["text"] for p in server.posts] == ["Ten euros."]


@pytest.mark.parametrize("with_outbox", [False, True], ids=["no-outbox", "outbox"])
def test_the_same_answer_asked_twice_at_once_is_sent_once(
    server: ChatServer, account: Account, tmp_path: Path, with_outbox: bool
) -> None:
    """Two tasks answering the same message with the same text at the same time (a double
    click in a web app): the second waits for the first and finds its delivery."""
    server.say("fan", "open on Sunday?")

    async def slow(request: httpx.Request) -> httpx.Response:
        await request.aread()
        if request.method == "POST":
            await asyncio.sleep(0.05)  # the first answer is still on its way
        return server.handler(request)

    async def twice(outbox: Outbox | None) -> list[Delivery]:
        http = httpx.AsyncClient(transport=httpx.MockTransport(slow))
        async with AsyncClient(http=http, outbox=outbox, accounts=[account]) as client:
            (message,) = (await client.inbox(account)).messages
            return list(
                await asyncio.gather(
                    client.reply(message, Post(text="Yes, ten to four.")),
                    client.reply(message, Post(text="Yes, ten to four.")),
                    client.reply(message, Post(text="And on holidays.")),
                )
            )

    if with_outbox:
        with Outbox(tmp_path / "o.db") as outbox:
            first, second, other = asyncio.run(twice(outbox))
            stored = outbox.get(first.id)
            assert stored is not None and stored.status is DeliveryStatus.SENT
            assert len(outbox.list()) == 2
    else:
        first, second, other = asyncio.run(twice(None))
    assert first.id == second.id != other.id
    assert [d.status for d in (first, second, other)] == [DeliveryStatus.SENT] * 3
    assert sorted(p["text"] for p in server.posts) == ["And on holidays.", "Yes, ten to four."]


def test_the_same_answer_from_two_threads_is_sent_once(
    server: ChatServer, account: Account, tmp_path: Path
) -> None:
    server.say("fan", "gift wrap?")
    entered = threading.Barrier(2, timeout=5)

    def slow(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            time.sleep(0.05)
        return server.handler(request)

    with (
        Outbox(tmp_path / "o.db") as outbox,
        Client(
            http=httpx.Client(transport=httpx.MockTransport(slow)),
            outbox=outbox,
            accounts=[account],
        ) as client,
    ):
        (message,) = client.inbox(account).messages
        got: list[Delivery] = []

        def answer() -> None:
            entered.wait()
            got.append(client.reply(message, Post(text="Free of charge.")))

        threads = [threading.Thread(target=answer) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert [d.status for d in got] == [DeliveryStatus.SENT] * 2
    assert got[0].id == got[1].id
    assert [p["text"] for p in server.posts] == ["Free of charge."]


def test_a_message_of_another_account_is_refused(
    server: ChatServer, http: httpx.Client, account: Account, other: Account
) -> None:
    server.say("fan", "hi")
    with Client(http=http, accounts=[account, other]) as client:
        (message,) = client.inbox(account).messages
        before = len(server.requests)
        with pytest.raises(ConfigurationError, match="belongs to chatnet:brand"):
            client.reply(message, Post(text="hi"), other)
        with pytest.raises(ConfigurationError):
            client.hide(message, other)
        assert len(server.requests) == before


def test_an_unknown_account_says_how_to_fix_it(
    server: ChatServer, http: httpx.Client, account: Account
) -> None:
    server.say("fan", "hi")
    with Client(http=http) as client:
        (message,) = client.inbox(account).messages
    with Client(http=http) as fresh, pytest.raises(ConfigurationError, match="account="):
        fresh.reply(message, Post(text="hi"))


def test_replies_of_an_unpublished_delivery_are_refused(
    http: httpx.Client, account: Account
) -> None:
    from brandkit import Delivery

    d = Delivery(account=account.key, platform="chatnet", post=Post(text="x"))
    with (
        Client(http=http, accounts=[account]) as client,
        pytest.raises(ConfigurationError, match="no published part"),
    ):
        client.replies(d)


def test_replies_read_one_posts_conversation(
    server: ChatServer, http: httpx.Client, account: Account
) -> None:
    with Client(http=http, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Our news"), account)
        server.say("fan", "great news", parent=d.ids[0])
        server.say("fan2", "unrelated")
        got = client.replies(d)
    assert [m.text for m in got] == ["great news"]


def test_the_default_adapter_refuses_every_conversation_flow() -> None:
    mute = MuteAdapter(Account("mute", name="m", base_url="https://m.example"))
    message = _message("mute:m")
    for flow in (
        mute.inbox(None, limit=1),
        mute.replies([]),
        mute.set_hidden(message, True),
        mute.delete_message(message),
        mute.like(message),
    ):
        with pytest.raises(Unsupported, match="mute cannot"):
            run_flow(flow, lambda r: httpx.Response(200))


def _message(account: str) -> Message:
    return Message(
        platform="mute",
        account=account,
        id="1",
        kind="mention",
        author=Author(id="a"),
        text="hi",
        created_at=datetime.now(UTC),
    )


class MuteAdapter(Adapter):
    """A platform that only publishes: every conversation flow keeps the default."""

    name: ClassVar[str] = "mute"
    capabilities: ClassVar[Capabilities] = Capabilities(platform="mute")

    def publish_part(
        self, rendered: Rendered, part: RenderedPart, thread: ThreadContext
    ) -> Flow[PartRef]:
        raise NotImplementedError
        yield  # pragma: no cover

    def delete_part(self, ref: PartRef) -> Flow[None]:
        raise NotImplementedError
        yield  # pragma: no cover


register("mute", MuteAdapter, replace=True)


def test_answers_are_checked_with_the_answer_rules(
    server: ChatServer, http: httpx.Client, account: Account, tmp_path: Path
) -> None:
    server.say("fan", "tell me everything")
    long = "x" * 40  # a fine post (100 characters) but too long for an answer (30)
    with Client(http=http, accounts=[account]) as client:
        (message,) = client.inbox(account).messages
        (post,) = client.publish(Post(text=long), account)
        assert post.ok
        answer = client.reply(message, Post(text=long))
    assert answer.status is DeliveryStatus.FAILED
    assert isinstance(answer.error, ContentError)
    with Outbox(tmp_path / "o.db") as outbox, pytest.raises(ContentError):
        outbox.add_reply(message, Post(text=long), account)
    assert [p["text"] for p in server.posts] == [long]
