"""End to end over a real socket: brandkit's public API against the Threads emulator."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping

import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    AuthError,
    Client,
    DeliveryStatus,
    Link,
    Media,
    Post,
    RateLimited,
    Rejected,
)
from brandkit.governor import Governor
from brandkit.testing import TINY_JPEG, png
from brandkit.testing.threads import ThreadsEmulator, threads_length
from tests.facebook.conftest import FAST, FakeTime

LONG = " ".join(f"word{i}" for i in range(220)) + " 🎉"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\0" * 4000


@pytest.fixture
def emu() -> Iterator[ThreadsEmulator]:
    """A Threads emulator served on 127.0.0.1 (videos process for 0.2 s)."""
    emu = ThreadsEmulator(video_processing=0.2)
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: ThreadsEmulator) -> Account:
    """An account (with the emulator's loopback media host) on the served emulator."""
    return emu.account(username="brand")


def test_text_post_with_emoji_and_link(emu: ThreadsEmulator, account: Account) -> None:
    """A text post with an emoji and a link preview: sent once, permalink, quota reported."""
    post = Post(text="Launch day 🚀", link=Link(url="https://example.com/launch"), utm=True)
    with Client(retry=FAST) as client:
        (d,) = client.publish(post, account)
    assert d.status is DeliveryStatus.SENT, d.error
    (stored,) = emu.posts
    assert stored["text"] == "Launch day 🚀" and stored["reply_to"] is None
    assert stored["link_attachment"].startswith("https://example.com/launch?utm_source=threads")
    assert d.url == stored["permalink"] and d.parts[0].extra["quota_remaining"] == 249


def test_long_text_becomes_a_chain_of_replies(emu: ThreadsEmulator, account: Account) -> None:
    """A long text is a self-thread: every part replies to the one before, all in the same
    conversation, each within Threads' 500 (emoji = UTF-8 bytes), every word kept."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG), account)
    assert d.status is DeliveryStatus.SENT, d.error
    posts = emu.posts
    assert len(posts) == len(d.parts) >= 3
    assert posts[0]["reply_to"] is None
    for previous, part in itertools.pairwise(posts):
        assert part["reply_to"] == previous["id"] and part["root"] == posts[0]["id"]
    assert " ".join(emu.post_texts()).split() == LONG.split()
    assert all(threads_length(t) <= 500 for t in emu.post_texts())
    assert [p.id for p in d.parts] == [p["id"] for p in posts]


def test_six_links_become_two_parts(emu: ThreadsEmulator, account: Account) -> None:
    """Threads takes at most 5 links a post: six links are split so that Threads accepts
    every part."""
    text = " ".join(f"https://site{i}.com/page" for i in range(6))
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=text, utm=False), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert len(emu.posts) == 2


def test_media_alt_text_carousel_and_video(emu: ThreadsEmulator, account: Account) -> None:
    """An image with alt text, a carousel with alt texts and a video: each one post,
    downloaded from the loopback media host."""
    image = Post(text="pic", media=(Media.from_bytes(png(), alt="a square"),))
    carousel = Post(
        text="two",
        media=(Media.from_bytes(TINY_JPEG, alt="first"), Media.from_bytes(png(), alt="second")),
    )
    video = Post(text="clip", media=(Media.from_bytes(VIDEO, filename="v.mp4"),))
    with Client(retry=FAST) as client:
        results = [client.publish(p, account)[0] for p in (image, carousel, video)]
    assert all(d.ok for d in results), [d.error for d in results]
    pic, two, clip = emu.posts
    assert pic["alt_text"] == "a square" and pic["media_type"] == "IMAGE"
    assert [c["alt_text"] for c in two["children"]] == ["first", "second"]
    assert clip["media_type"] == "VIDEO"
    assert sum(1 for p in emu.media_host.requests if p.startswith("/media/")) == 4


def test_delete_thread_and_metrics(emu: ThreadsEmulator) -> None:
    """Metrics of every part (one read each) grow with the clock; followers too; delete
    removes every part."""
    account = emu.account(followers=7, followers_per_day=48)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG), account)
        first = client.collect([d])
        emu.clock.advance(3 * 3600)
        emu.engage(d.ids[0], quotes=2)
        second = client.collect([d])
        (followers,) = client.collect_account(account)
        deleted = client.delete(d)
    assert emu.count("GET", r"/v1\.0/\d+/insights") == 2 * len(d.parts)
    views = {s.post_id: s.value for s in second if s.metric == "impressions"}
    assert all(v and v > 0 for v in views.values()) and len(views) == len(d.parts)
    quotes = [s.value for s in second if s.metric == "quotes" and s.post_id == d.ids[0]]
    assert quotes[0] >= 2 and all(s.value == 0 for s in first if s.metric == "likes")
    replies = [s.value for s in first if s.metric == "replies" and s.post_id == d.ids[0]]
    assert replies == [1]  # the next part of the chain
    assert followers.value == 13
    assert deleted.status is DeliveryStatus.DELETED and emu.post_texts() == []


def test_token_refreshed_ahead_and_expired_token(emu: ThreadsEmulator) -> None:
    """A token three days from expiry is refreshed (hook called); an expired one fails
    with AuthError and Meta's message."""
    changed: list[Mapping[str, str]] = []
    account = emu.account(on_credentials_changed=lambda a, c: changed.append(c))
    emu.clock.advance(2 * 86400)
    account.settings["token_expires_at"] = time.time() + 3 * 86400
    with Client(retry=FAST) as client:
        (a,) = client.publish(Post(text="fresh"), account)
        emu.expire_tokens()
        (b,) = client.publish(Post(text="stale"), account)
    assert a.ok, a.error
    assert len(changed) == 1 and account.secret("token") == changed[0]["token"]
    assert b.status is DeliveryStatus.FAILED and isinstance(b.error, AuthError)
    assert emu.post_texts() == ["fresh"]


def test_app_throttle_is_waited_out(emu: ThreadsEmulator, account: Account) -> None:
    """Past the app's budget Threads answers code 4 with X-App-Usage at 100 %: brandkit
    backs off (emulator time) and publishes once."""
    emu.set_rate_limit("app", 6, 60.0)
    fake = FakeTime(emu.clock)
    with Client(retry=FAST, sleep=fake.sleep, governor=Governor(clock=emu.clock.time)) as client:
        deliveries = [client.publish(Post(text=f"n{i}"), account)[0] for i in range(3)]
    assert all(d.ok for d in deliveries), [d.error for d in deliveries]
    assert emu.post_texts() == ["n0", "n1", "n2"]
    assert sum(fake.slept) >= 60


def test_quota_used_up_fails_with_rate_limited(account: Account) -> None:
    """With the 24-hour post quota used, the delivery fails with RateLimited."""
    emu = ThreadsEmulator(quota_posts=1)
    with emu.serve():
        acct = emu.account()
        with Client(retry=FAST) as client:
            (a,) = client.publish(Post(text="one"), acct)
            (b,) = client.publish(Post(text="two"), acct)
    assert a.ok and isinstance(b.error, RateLimited) and b.error.bucket == "threads:publish"


def test_publish_faults_never_duplicate(emu: ThreadsEmulator, account: Account) -> None:
    """A 503 on threads_publish (container reused), a 500 code 2 after publishing (found by
    the container's status) and a dropped answer each end with exactly one post."""
    publish = r"/v1\.0/\d+/threads_publish"
    with Client(retry=FAST) as client:
        emu.fault(method="POST", path=publish, status=503)
        (a,) = client.publish(Post(text="a"), account)
        emu.fail_after_store("POST", publish)
        (b,) = client.publish(Post(text="b"), account)
        emu.fault(method="POST", path=publish, drop="after")
        (c,) = client.publish(Post(text="c"), account)
    assert [d.status for d in (a, b, c)] == [DeliveryStatus.SENT] * 3, (a.error, b.error, c.error)
    assert emu.post_texts() == ["a", "b", "c"]
    assert len(emu.containers) == 3


def test_dropped_answer_mid_thread_keeps_the_chain(emu: ThreadsEmulator, account: Account) -> None:
    """The answer of the third part's publish is lost: the chain has no duplicate and no
    gap."""
    seen = {"n": 0}
    original = emu.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/threads_publish"):
            seen["n"] += 1
            if seen["n"] == 3:
                emu.fault(method="POST", path=r".*/threads_publish", drop="after")
        return original(request)

    emu.handle = handle  # type: ignore[method-assign]
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert " ".join(emu.post_texts()).split() == LONG.split()
    posts = emu.posts
    assert all(b["reply_to"] == a["id"] for a, b in itertools.pairwise(posts))


def test_reply_to_a_deleted_part_is_rejected(emu: ThreadsEmulator, account: Account) -> None:
    """Resuming a thread whose first part was deleted: Threads' refusal, with its words."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG), account)
        first = d.parts[0]
        d.parts = d.parts[:1]
        d.status = DeliveryStatus.FAILED
        with httpx.Client(base_url=emu.base_url) as raw:
            raw.delete(
                f"/v1.0/{first.id}", headers={"authorization": f"Bearer {account.secret('token')}"}
            )
        again = client.deliver(d, account)
    assert again.status is DeliveryStatus.FAILED and isinstance(again.error, Rejected)
    assert "reply_to_id" in (again.error.platform_message or "")


@pytest.mark.anyio
async def test_async_thread_media_metrics_delete(emu: ThreadsEmulator, account: Account) -> None:
    """AsyncClient: a thread and a picture, metrics, delete."""
    async with AsyncClient(retry=FAST) as client:
        (t,) = await client.publish(Post(text=LONG), account)
        (p,) = await client.publish(
            Post(text="pic", media=(Media.from_bytes(png(), alt="p"),)), account
        )
        assert t.ok and p.ok, (t.error, p.error)
        samples = await client.collect([t, p])
        await client.delete(p)
    assert " ".join(emu.post_texts()).split() == LONG.split()
    assert {s.post_id for s in samples} == {*t.ids, *p.ids}


@pytest.mark.anyio
async def test_async_faults(emu: ThreadsEmulator, account: Account) -> None:
    """AsyncClient: code 2 after publishing and a dropped answer give one post each; a
    video Threads cannot process fails with its error_message."""
    async with AsyncClient(retry=FAST) as client:
        emu.fail_after_store("POST", r"/v1\.0/\d+/threads_publish")
        (a,) = await client.publish(Post(text="one"), account)
        emu.fault(method="POST", path=r"/v1\.0/\d+/threads_publish", drop="after")
        (b,) = await client.publish(Post(text="two"), account)
        bad = Media.from_bytes(b"\x00\x00\x00\x18ftypheic" + b"\0" * 50, filename="x.mp4")
        (c,) = await client.publish(Post(text="three", media=(bad,)), account)
    assert a.ok and b.ok, (a.error, b.error)
    assert emu.post_texts() == ["one", "two"]
    assert c.status is DeliveryStatus.FAILED
