"""The drivers' guarantees, on a fake platform: order, exactly once, typed outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    Client,
    ConfigurationError,
    ContentError,
    DeliveryStatus,
    Post,
    RetryPolicy,
)
from brandkit._hooks import NullGovernor
from brandkit.delivery import Delivery
from tests.core.conftest import FakeAdapter, FakeServer

FAST = RetryPolicy(attempts=4, initial=0.001, max_backoff=0.002)


class Recorder:
    """An outbox that records every save, to check ordering against requests."""

    def __init__(self, server: FakeServer) -> None:
        self.server = server
        self.saves: list[tuple[str, int, int]] = []

    def save(self, delivery: Delivery) -> None:
        self.saves.append((delivery.status.value, len(delivery.parts), len(self.server.requests)))


def make_client(server: FakeServer, **kw: object) -> Client:
    sleeps: list[float] = []
    client = Client(
        http=httpx.Client(transport=httpx.MockTransport(server.handler)),
        governor=NullGovernor(),
        retry=FAST,
        sleep=sleeps.append,
        **kw,  # type: ignore[arg-type]
    )
    client.sleeps = sleeps  # type: ignore[attr-defined]
    return client


def test_single_post_is_sent_once(server: FakeServer, account: Account) -> None:
    """A short post becomes one platform post and a sent delivery with its URL."""
    (d,) = make_client(server).publish(Post(text="hello world"), account)
    assert d.status is DeliveryStatus.SENT
    assert [p["text"] for p in server.posts] == ["hello world"]
    assert d.urls == ["https://fake.example/1"]
    assert datetime.fromisoformat(d.parts[0].extra["posted_at"]) <= datetime.now(UTC)
    assert d.keys and len(d.keys[0]) == 13


def test_long_text_becomes_a_chained_thread(server: FakeServer, account: Account) -> None:
    """Text over the limit is split; each part replies to the previous one, in order."""
    text = "First sentence is here. Second one follows it. Third closes the thought nicely."
    (d,) = make_client(server).publish(Post(text=text), account)
    assert d.ok and len(d.parts) == len(server.posts) >= 2
    assert all(len(p["text"]) <= 40 for p in server.posts)
    assert " ".join(p["text"] for p in server.posts).split() == text.split()
    for prev, post in zip(server.posts, server.posts[1:], strict=False):
        assert post["reply_to"] == prev["id"]


def test_outbox_is_written_before_the_first_byte(server: FakeServer, account: Account) -> None:
    """The delivery is first saved as sending (with its keys) before any request reaches
    the platform; the last part and "sent" are one save."""
    outbox = Recorder(server)
    make_client(server, outbox=outbox).publish(Post(text="durable"), account)
    assert outbox.saves == [("sending", 0, 0), ("sent", 1, 1)]


def test_content_error_sends_nothing(server: FakeServer, account: Account) -> None:
    """A post the platform would refuse fails before any request, with a typed error."""
    FakeAdapter.capabilities = FakeAdapter.capabilities  # unchanged: threads allowed
    post = Post(text="x" * 10, hashtags=["ok"], variants={"fakenet": {"media": ()}})
    (d,) = make_client(server).publish(post, account)
    assert d.ok
    huge = Post(text="word " * 5000)
    (d2,) = make_client(server).publish(huge, account)
    assert d2.status is DeliveryStatus.FAILED
    assert isinstance(d2.error, ContentError)
    assert "parts" in str(d2.error)


def test_dropped_create_is_found_not_resent(server: FakeServer, account: Account) -> None:
    """A create whose answer is lost is looked up and never posted twice."""
    server.script = ["drop-after"]
    (d,) = make_client(server).publish(Post(text="only once"), account)
    assert d.status is DeliveryStatus.SENT
    assert len(server.posts) == 1
    assert d.ids == ["1"]


def test_late_landing_create_is_found_after_settling(server: FakeServer, account: Account) -> None:
    """After a lost answer, a first lookup that sees nothing is not trusted: the driver lets
    the first request settle, looks again, and finds it: one post."""
    server.script = ["drop-after"]
    server.hidden_lookups = 1
    client = make_client(server)
    (d,) = client.publish(Post(text="slow to land"), account)
    assert d.ok
    assert len(server.posts) == 1
    assert [r.method for r in server.requests] == ["POST", "GET", "GET"]
    assert RetryPolicy().settle in client.sleeps  # type: ignore[attr-defined]


def test_no_settling_where_creates_are_deduplicated(server: FakeServer, account: Account) -> None:
    """Where the platform dedupes creates by key, a negative lookup is followed by a repeat
    at once: the repeat cannot duplicate."""
    from tests.core.conftest import FAKE_CAPS_DEDUPED

    FakeAdapter.capabilities = FAKE_CAPS_DEDUPED
    server.script = ["drop-after"]
    server.hidden_lookups = 1
    client = make_client(server)
    (d,) = client.publish(Post(text="keyed"), account)
    assert d.ok
    assert [r.method for r in server.requests] == ["POST", "GET", "POST"]
    assert client.sleeps == []  # type: ignore[attr-defined]


def test_dropped_create_without_lookup_is_unknown(server: FakeServer, account: Account) -> None:
    """Where the platform cannot be asked, the delivery is unknown, never blindly re-sent."""
    FakeAdapter.can_find = False
    server.script = ["drop-after"]
    (d,) = make_client(server).publish(Post(text="maybe"), account)
    assert d.status is DeliveryStatus.UNKNOWN
    assert d.error is not None and getattr(d.error, "maybe_delivered", False)
    assert len(server.posts) == 1
    assert sum(r.method == "POST" for r in server.requests) == 1


def test_connect_error_is_retried_safely(server: FakeServer, account: Account) -> None:
    """A request that never reached the server is repeated, even a create."""
    server.script = ["connect-error"]
    (d,) = make_client(server).publish(Post(text="retry me"), account)
    assert d.ok and len(server.posts) == 1


def test_429_waits_retry_after_then_succeeds(server: FakeServer, account: Account) -> None:
    """A 429 means nothing happened: wait what the platform says, then send again."""
    server.script = [(429, {"retry-after": "7"})]
    client = make_client(server)
    (d,) = client.publish(Post(text="patient"), account)
    assert d.ok and len(server.posts) == 1
    assert 7.0 in client.sleeps  # type: ignore[attr-defined]


def test_5xx_on_create_is_reconciled(server: FakeServer, account: Account) -> None:
    """A 5xx on a create may have posted: brandkit looks before re-sending."""
    server.script = [503]
    (d,) = make_client(server).publish(Post(text="after outage"), account)
    assert d.ok and len(server.posts) == 1
    methods = [r.method for r in server.requests]
    assert methods == ["POST", "GET", "POST"]


def test_retry_after_a_second_5xx_looks_first(server: FakeServer, account: Account) -> None:
    """A 5xx, a negative lookup, a 5xx again: failed; the next attempt looks the part up
    before sending, so a post the second 5xx stored is found, not posted twice."""
    server.script = [503, "store-503"]
    client = make_client(server)
    (d,) = client.publish(Post(text="twice unlucky"), account)
    assert d.status is DeliveryStatus.FAILED
    assert len(server.posts) == 1  # the second 503 stored it, as Meta's 500 code 2 can
    client.deliver(d)
    assert d.ok
    assert len(server.posts) == 1
    assert [r.method for r in server.requests][-1] == "GET"


def test_idempotent_5xx_is_retried_in_the_driver(server: FakeServer, account: Account) -> None:
    """With an idempotency key the driver itself repeats the create after a 503."""
    FakeAdapter.idempotent = True
    server.script = [503, 502]
    (d,) = make_client(server).publish(Post(text="keyed"), account)
    assert d.ok
    assert [r.method for r in server.requests] == ["POST", "POST", "POST"]


def test_rejection_fails_with_platform_message(server: FakeServer, account: Account) -> None:
    """A 4xx refusal ends the delivery failed, keeping the platform's own words."""
    server.script = [422]
    (d,) = make_client(server).publish(Post(text="nope"), account)
    assert d.status is DeliveryStatus.FAILED
    assert "scripted 422" in str(d.error)
    assert d.to_dict()["error"]["platform_message"] == "scripted 422"


def test_thread_resumes_from_last_confirmed_part(server: FakeServer, account: Account) -> None:
    """After a refusal mid-thread, deliver() resumes without re-posting earlier parts."""
    text = "First sentence is here. Second one follows it. Third closes the thought nicely."
    client = make_client(server)
    server.script = [200, 422]
    server.script[0] = None  # first create succeeds normally
    (d,) = client.publish(Post(text=text), account)
    assert d.status is DeliveryStatus.FAILED and len(d.parts) == 1
    client.deliver(d)
    assert d.ok
    assert len(server.posts) == len(d.parts)
    assert server.posts[1]["reply_to"] == server.posts[0]["id"]


def test_delete_removes_every_part(server: FakeServer, account: Account) -> None:
    """delete() removes all parts, last first, and marks the delivery deleted."""
    client = make_client(server)
    text = "First sentence is here. Second one follows it. Third closes the thought nicely."
    (d,) = client.publish(Post(text=text), account)
    client.delete(d)
    assert server.posts == []
    assert d.status is DeliveryStatus.DELETED


def test_secrets_never_in_errors_or_reprs(server: FakeServer, account: Account) -> None:
    """Tokens do not appear in the account's repr, in errors, or in stored deliveries."""
    account.base_url = "https://fake.example/s3cr3t-token-value"
    FakeAdapter.can_find = False
    server.script = ["drop-after"]
    (d,) = make_client(server).publish(Post(text="secret"), account)
    assert "s3cr3t-token-value" not in repr(account)
    assert "s3cr3t-token-value" not in str(d.error)
    assert "s3cr3t-token-value" not in str(d.to_dict())


def test_scheduled_post_needs_an_outbox(server: FakeServer, account: Account) -> None:
    """A post for later without an outbox is a configuration error, not an early post."""
    later = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(ConfigurationError, match="outbox"):
        make_client(server).publish(Post(text="tomorrow", scheduled_at=later), account)
    assert server.requests == []


def test_scheduled_post_is_only_written_down(server: FakeServer, account: Account) -> None:
    """With an outbox, a post for later is saved as pending and nothing is sent."""
    outbox = Recorder(server)
    later = datetime.now(UTC) + timedelta(hours=1)
    (d,) = make_client(server, outbox=outbox).publish(
        Post(text="tomorrow", scheduled_at=later), account
    )
    assert d.status is DeliveryStatus.PENDING
    assert server.requests == [] and outbox.saves


def test_unknown_account_for_delete(server: FakeServer, account: Account) -> None:
    """Deleting a delivery of an account the client never saw says what to pass."""
    d = Delivery(account="fakenet:other", platform="fakenet", post=Post(text="x"))
    with pytest.raises(ConfigurationError, match="accounts="):
        make_client(server).delete(d)


@pytest.mark.anyio
async def test_async_publishes_to_many_accounts(server: FakeServer) -> None:
    """AsyncClient publishes to several accounts concurrently, each once."""
    accounts = [
        Account(
            "fakenet", name=f"a{i}", base_url="https://fake.example", secrets={"token": "t0ken"}
        )
        for i in range(3)
    ]
    async with AsyncClient(
        http=httpx.AsyncClient(transport=httpx.MockTransport(server.handler)),
        governor=NullGovernor(),
        retry=FAST,
    ) as client:
        ds = await client.publish(Post(text="together"), accounts)
    assert [d.status for d in ds] == [DeliveryStatus.SENT] * 3
    assert len(server.posts) == 3
    assert {d.account for d in ds} == {"fakenet:a0", "fakenet:a1", "fakenet:a2"}


@pytest.mark.anyio
async def test_async_dropped_create_is_found(server: FakeServer, account: Account) -> None:
    """The async driver reconciles a lost answer exactly like the sync one."""
    server.script = ["drop-after"]

    async def nosleep(_: float) -> None:
        return None

    async with AsyncClient(
        http=httpx.AsyncClient(transport=httpx.MockTransport(server.handler)),
        governor=NullGovernor(),
        retry=FAST,
        sleep=nosleep,
    ) as client:
        (d,) = await client.publish(Post(text="once"), account)
    assert d.ok and len(server.posts) == 1
