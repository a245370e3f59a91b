"""End to end over a real socket: brandkit's public API against the Mastodon emulator."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    AuthError,
    Client,
    DeliveryStatus,
    Media,
    Outbox,
    Post,
    RateLimited,
    Rejected,
    RetryPolicy,
)
from brandkit.delivery import new_tid
from brandkit.testing.conformance import AdapterConformance, tiny_png
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import FAST

GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x00\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
LONG = " ".join(f"word{i}" for i in range(260))


class TestMastodonConformance(AdapterConformance):
    """The shared adapter suite, on Mastodon."""

    platform = "mastodon"

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """One notifications page of 80 per 80 messages, plus the page that comes back
        short; the instance's version and the account's id are already known from
        publishing (a first read in a new process adds one request for each)."""
        return (answers + mentions) // 80 + 1

    def search_requests(self, found: int) -> int | None:
        """One tag-timeline page of 40 holds the 30 matches (and says nothing is newer)."""
        return found // 40 + 1


@pytest.fixture
def emu() -> Iterator[MastodonEmulator]:
    """An emulator served on 127.0.0.1 (GIFs process for 0.3 s of its clock)."""
    emu = MastodonEmulator(video_processing=0.3)
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: MastodonEmulator) -> Account:
    """An account on the served emulator."""
    return emu.account(username="brand")


def texts(emu: MastodonEmulator) -> list[str]:
    """The statuses that exist, oldest first."""
    return emu.post_texts()


# -- publishing -------------------------------------------------------------------------------


def test_single_post(emu: MastodonEmulator, account: Account) -> None:
    """One post: sent, with the status id and public URL; options reach the status."""
    post = Post(
        text="Hello from brandkit",
        language="en",
        content_warning="test",
        options={"visibility": "unlisted"},
    )
    with Client(retry=FAST) as client:
        (d,) = client.publish(post, account)
    assert d.status is DeliveryStatus.SENT, d.error
    (status,) = emu.posts
    assert d.ids == [status["id"]]
    assert d.url == status["url"] == f"{emu.base_url}/@brand/{status['id']}"
    assert (status["text"], status["language"], status["visibility"]) == (
        "Hello from brandkit",
        "en",
        "unlisted",
    )
    assert status["spoiler_text"] == "test" and status["sensitive"] is True
    assert emu.count("POST", r"/api/v1/statuses") == 1
    assert emu.count("GET", r"/api/v2/instance") == 1


def test_media_with_alt_text_waits_for_processing(emu: MastodonEmulator, account: Account) -> None:
    """Two images (processed at once) and a GIF (processing): alt texts arrive, the status
    is created once, after processing, and never refused for unprocessed media."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(
            Post(
                text="pictures",
                media=(Media.from_bytes(tiny_png(), alt="a purple square"),),
            ),
            account,
        )
        (g,) = client.publish(
            Post(text="animated", media=(Media.from_bytes(GIF, alt="a blinking dot"),)), account
        )
    assert d.ok and g.ok, (d.error, g.error)
    first, second = emu.posts
    assert [m["description"] for m in first["media_attachments"]] == ["a purple square"]
    assert [m["description"] for m in second["media_attachments"]] == ["a blinking dot"]
    assert second["media_attachments"][0]["type"] == "gifv"
    assert emu.count("GET", r"/api/v1/media/\d+") >= 1
    refused = [r for r in emu.requests if r.url.path == "/api/v1/statuses"]
    assert len(refused) == 2  # no create was refused and repeated


def test_thread_from_long_text(emu: MastodonEmulator, account: Account) -> None:
    """A long text becomes a chain: each part replies to the one before, all words kept."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG), account)
    assert d.status is DeliveryStatus.SENT, d.error
    posts = emu.posts
    assert len(posts) == len(d.parts) >= 4
    assert posts[0]["in_reply_to_id"] is None
    for previous, part in itertools.pairwise(posts):
        assert part["in_reply_to_id"] == previous["id"]
    assert " ".join(texts(emu)).split() == LONG.split()
    assert all(emu.status_length(t) <= 500 for t in texts(emu))
    assert [p.id for p in d.parts] == [p["id"] for p in posts]


def test_instance_limits_shape_the_thread(account: Account) -> None:
    """A 5000-character instance takes the same text in one status."""
    emu = MastodonEmulator(max_characters=5000)
    with emu.serve():
        big = emu.account()
        with Client(retry=FAST) as client:
            (d,) = client.publish(Post(text=LONG), big)
    assert d.ok and len(d.parts) == 1
    assert texts(emu) == [LONG]


def test_delete(emu: MastodonEmulator, account: Account) -> None:
    """Deleting a thread removes every part."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG), account)
        deleted = client.delete(d, account)
    assert deleted.status is DeliveryStatus.DELETED
    assert texts(emu) == []
    assert emu.count("DELETE", r"/api/v1/statuses/\d+") == len(d.parts)


def test_metrics_grow(emu: MastodonEmulator, account: Account) -> None:
    """Metrics of a thread come in one request; a later snapshot shows more engagement."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG), account)
        first = client.collect_refs(account, d.parts)
        emu.clock.advance(6 * 3600)
        emu.engage(d.parts[0].id, favourites=3)
        second = client.collect_refs(account, d.parts)
    assert emu.count("GET", r"/api/v1/statuses") == 2

    def likes(samples: Any) -> dict[str, float]:
        return {s.post_id: s.value for s in samples if s.metric == "likes"}

    assert all(v == 0 for v in likes(first).values())
    assert all(v > 0 for v in likes(second).values())
    assert likes(second)[d.parts[0].id] >= 3 + 6 * 6
    unavailable = {s.metric for s in second if not s.available}
    assert unavailable == {"impressions", "reach", "link_clicks"}


def test_account_metrics(emu: MastodonEmulator) -> None:
    """Followers from verify_credentials, growing with the clock."""
    acct = emu.account(followers=10, followers_per_day=48)
    with Client(retry=FAST) as client:
        adapter = client._core.adapter_for(acct)
        (before,) = client.run(adapter, adapter.collect_account_metrics())
        emu.clock.advance(timedelta(days=1))
        (after,) = client.run(adapter, adapter.collect_account_metrics())
    assert (before.value, after.value) == (10, 58)


# -- failures ---------------------------------------------------------------------------------


def test_revoked_token_fails_with_auth_error(emu: MastodonEmulator) -> None:
    """Mastodon has no refresh: a revoked token fails the delivery with AuthError, the
    credentials hook is not called, and the message says to authorise again."""
    changed: list[Mapping[str, str]] = []
    acct = emu.account(on_credentials_changed=lambda a, c: changed.append(c))
    token = acct.secret("token") or ""
    emu.revoke_tokens()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), acct)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, AuthError)
    assert d.error.platform_message == "The access token was revoked"
    assert "authorise the app again" in str(d.error)
    assert token not in str(d.error) and token not in repr(d)
    assert changed == [] and texts(emu) == []


def _align(period: float) -> None:
    """Sleep to just after the start of a rate-limit window (Mastodon aligns them)."""
    time.sleep(period - time.time() % period + 0.02)


def test_429_is_waited_out(emu: MastodonEmulator, account: Account) -> None:
    """Another client spent the statuses budget: brandkit gets Mastodon's 429, waits until
    the ISO 8601 reset and posts."""
    emu.set_rate_limit("statuses", 2, 1.0)
    with Client(retry=FAST) as client:
        client.render(Post(text="warm up"), account)  # the instance document
        token = account.secret("token")
        _align(1.0)
        with httpx.Client(base_url=emu.base_url) as other:
            for i in range(2):
                other.post(
                    "/api/v1/statuses",
                    json={"status": f"other {i}"},
                    headers={"authorization": f"Bearer {token}"},
                ).raise_for_status()
        started = time.monotonic()
        (d,) = client.publish(Post(text="mine"), account)
        waited = time.monotonic() - started
    assert d.status is DeliveryStatus.SENT, d.error
    assert texts(emu) == ["other 0", "other 1", "mine"]
    creates = [r for r in emu.requests if r.url.path == "/api/v1/statuses"]
    assert len(creates) == 4  # 2 others, the refused one, the accepted one
    assert 0.3 < waited < 5


def test_server_error_is_retried(emu: MastodonEmulator, account: Account) -> None:
    """A 503 on the create is retried with the same key: one status, sent."""
    emu.fault(method="POST", path=r"/api/v1/statuses", status=503, times=2)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="after a hiccup"), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert texts(emu) == ["after a hiccup"]
    keys = {r.headers["idempotency-key"] for r in emu.requests if r.url.path == "/api/v1/statuses"}
    assert len(keys) == 1


def test_dropped_after_store_no_duplicate(emu: MastodonEmulator, account: Account) -> None:
    """The connection dies after Mastodon stored the status: the retry with the same key
    gets the original, so there is exactly one status and the delivery is sent."""
    emu.fault(method="POST", path=r"/api/v1/statuses", drop="after")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="exactly once"), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert texts(emu) == ["exactly once"]
    assert d.ids == [emu.posts[0]["id"]]


def test_dropped_thread_part_resumes(emu: MastodonEmulator, account: Account) -> None:
    """A drop on the third part of a thread still gives one chain without duplicates."""
    seen = {"n": 0}
    original = emu.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/api/v1/statuses":
            seen["n"] += 1
            if seen["n"] == 3:
                emu.fault(method="POST", path=r"/api/v1/statuses", drop="after")
        return original(request)

    emu.handle = handle  # type: ignore[method-assign]
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert " ".join(texts(emu)).split() == LONG.split()
    assert [p.id for p in d.parts] == [p["id"] for p in emu.posts]


def test_unknown_delivery_is_reconciled(emu: MastodonEmulator, account: Account) -> None:
    """When every attempt's answer is lost, the delivery is unknown; delivering it again
    asks with the key (no new status) and ends sent."""
    emu.fault(method="POST", path=r"/api/v1/statuses", drop="after", times=50)
    with Client(retry=RetryPolicy(attempts=2, initial=0.01, max_backoff=0.02)) as client:
        (d,) = client.publish(Post(text="lost answers"), account)
        assert d.status is DeliveryStatus.UNKNOWN, d.error
        assert texts(emu) == ["lost answers"]
        emu.clear_faults()
        again = client.deliver(d, account)
    assert again.status is DeliveryStatus.SENT, again.error
    assert texts(emu) == ["lost answers"]
    assert again.ids == [emu.posts[0]["id"]]


def test_old_unknown_delivery_is_found_by_reading_back() -> None:
    """Hours later the key has expired on the server: the status is found among the
    account's statuses instead of being posted again (in-process, so the emulator's clock
    reaches the adapter through the Date header)."""
    emu = MastodonEmulator()
    acct = emu.account()
    emu.fault(method="POST", path=r"/api/v1/statuses", drop="after", times=50)
    http = httpx.Client(transport=emu.transport())
    with Client(retry=RetryPolicy(attempts=2, initial=0.01, max_backoff=0.02), http=http) as client:
        (d,) = client.publish(Post(text="Hi @bob@else.example, see https://example.com/x"), acct)
        assert d.status is DeliveryStatus.UNKNOWN
        emu.clear_faults()
        emu.clock.advance(timedelta(hours=3))
        again = client.deliver(d, acct)
    http.close()
    assert again.status is DeliveryStatus.SENT, again.error
    assert len(emu.posts) == 1 and again.ids == [emu.posts[0]["id"]]
    assert emu.count("GET", r"/api/v1/accounts/\d+/statuses") >= 1


def test_permanent_rejection_fails_with_the_platform_message(
    emu: MastodonEmulator, account: Account
) -> None:
    """A 422 is not retried: the delivery fails with Mastodon's own words."""
    message = "Validation failed: Text contains a disallowed link"
    emu.fault(method="POST", path=r"/api/v1/statuses", status=422, body={"error": message})
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), account)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, Rejected)
    assert d.error.platform_message == message and d.error.status_code == 422
    assert emu.count("POST", r"/api/v1/statuses") == 1


def test_reply_to_a_deleted_parent_fails(emu: MastodonEmulator, account: Account) -> None:
    """Resuming a thread whose first part was deleted meanwhile: Mastodon's 404 message."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG), account)
        first = d.parts[0]
        d.parts = d.parts[:1]
        d.status = DeliveryStatus.FAILED
        with httpx.Client(base_url=emu.base_url) as raw:
            raw.delete(
                f"/api/v1/statuses/{first.id}",
                headers={"authorization": f"Bearer {account.secret('token')}"},
            )
        again = client.deliver(d, account)
    assert again.status is DeliveryStatus.FAILED
    assert isinstance(again.error, Rejected)
    assert again.error.platform_message == (
        "The post you are trying to reply to does not appear to exist."
    )


# -- async ------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_publish_media_thread_delete(emu: MastodonEmulator, account: Account) -> None:
    """AsyncClient: a media post and a thread, metrics, then delete."""
    async with AsyncClient(retry=FAST) as client:
        (m,) = await client.publish(
            Post(text="async pic", media=(Media.from_bytes(GIF, alt="async alt"),)), account
        )
        (t,) = await client.publish(Post(text=LONG), account)
        assert m.ok and t.ok, (m.error, t.error)
        samples = await client.collect_refs(account, t.parts)
        await client.delete(m, account)
    assert " ".join(texts(emu)).split() == LONG.split()  # the media post is deleted
    assert emu.status(m.ids[0])["media_attachments"][0]["description"] == "async alt"
    assert emu.status(m.ids[0])["deleted"] is True
    assert {s.post_id for s in samples} == {p.id for p in t.parts}


@pytest.mark.anyio
async def test_async_drop_and_5xx(emu: MastodonEmulator, account: Account) -> None:
    """AsyncClient: a dropped answer and a 503 still give exactly one status each."""
    emu.fault(method="POST", path=r"/api/v1/statuses", drop="after")
    async with AsyncClient(retry=FAST) as client:
        (a,) = await client.publish(Post(text="async once"), account)
        emu.fault(method="POST", path=r"/api/v1/statuses", status=503)
        (b,) = await client.publish(Post(text="async twice"), account)
    assert a.ok and b.ok, (a.error, b.error)
    assert texts(emu) == ["async once", "async twice"]


@pytest.mark.anyio
async def test_async_429_and_auth(emu: MastodonEmulator, account: Account) -> None:
    """AsyncClient: Mastodon's 429 is waited out; a revoked token fails with AuthError."""
    emu.set_rate_limit("statuses", 1, 1.0)
    async with AsyncClient(retry=FAST) as client:
        await client.render(Post(text="warm up"), account)
        _align(1.0)
        (a,) = await client.publish(Post(text="first"), account)
        (b,) = await client.publish(Post(text="second"), account)
        emu.revoke_tokens()
        (c,) = await client.publish(Post(text="third"), account)
    assert a.ok and b.ok, (a.error, b.error)
    assert isinstance(c.error, AuthError) and c.status is DeliveryStatus.FAILED
    assert texts(emu) == ["first", "second"]


# -- another client -----------------------------------------------------------------------------


def test_mastodon_py_agrees_with_the_emulator(emu: MastodonEmulator) -> None:
    """Mastodon.py, a real client written against real servers, works with the emulator."""
    mastodon = pytest.importorskip("mastodon")
    acct = emu.account()
    api = mastodon.Mastodon(
        access_token=acct.secret("token"), api_base_url=emu.base_url, version_check_mode="none"
    )
    first = api.status_post("Toot!", idempotency_key="same")
    assert api.status_post("Toot again", idempotency_key="same").id == first.id
    media = api.media_post(GIF, mime_type="image/gif", description="dot", synchronous=True)
    assert media.url and media.description == "dot"
    reply = api.status_post("reply", media_ids=[media], in_reply_to_id=first)
    assert reply.in_reply_to_id == first.id
    assert api.ratelimit_limit == 300 and api.ratelimit_remaining < 300
    assert api.status_delete(reply).text == "reply"
    with pytest.raises(mastodon.MastodonAPIError, match="can't be blank"):
        api.status_post("")
    assert texts(emu) == ["Toot!"]


def test_a_429_reset_years_ahead_is_cut_to_a_day(emu: MastodonEmulator, account: Account) -> None:
    """A garbled X-RateLimit-Reset (year 9999) on the create: the delivery's RateLimited holds
    a reset at most a day ahead (Mastodon's longest window is 3 hours), not the header's
    year, which an outbox would have waited for before trying the post again."""
    emu.fault(
        method="POST",
        path=r"/api/v1/statuses",
        status=429,
        body={"error": "Too many requests"},
        headers={"x-ratelimit-reset": "9999-12-31T23:59:59.000000Z"},
        times=10,
    )
    with Client(retry=RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5)) as client:
        (d,) = client.publish(Post(text="not yet"), account)
    assert isinstance(d.error, RateLimited), d.error
    assert d.error.reset_at is not None
    assert d.error.reset_at.timestamp() <= time.time() + 86_400 + 60
    assert d.error.retry_after is not None and d.error.retry_after <= 86_400
    assert texts(emu) == []


def test_a_read_back_never_takes_a_status_another_delivery_recorded(tmp_path: Path) -> None:
    """An instance whose limit is too large to probe its idempotency keys: a delivery left
    unknown (its process died as its create left, nothing stored) is looked up by reading
    the account's statuses back. Another delivery of the same words had just been sent; it
    matched, and was taken for this one, which was never posted. A status that another
    delivery recorded in the outbox is never taken: this one is posted."""
    emu = MastodonEmulator(max_characters=1_000_000)
    with emu.serve(), Outbox(tmp_path / "outbox.db") as outbox:
        account = emu.account(username="brand")
        with Client(retry=FAST, outbox=outbox) as client:
            (first,) = client.publish(Post(text="same words"), account)
        (left,) = outbox.add(Post(text="same words"), account)
        left.keys = [new_tid()]
        left.status = DeliveryStatus.UNKNOWN
        outbox.save(left)
        with Client(retry=FAST, outbox=outbox) as client:  # another process's
            second = client.deliver(left, account)
    assert first.status is DeliveryStatus.SENT, first.error
    assert second.status is DeliveryStatus.SENT, second.error
    assert texts(emu) == ["same words", "same words"]
    assert first.ids != second.ids
    assert emu.count("GET", r"/api/v1/accounts/\d+/statuses") >= 1  # read back, not probed
