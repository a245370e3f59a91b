"""End to end: the public Client and AsyncClient against the X emulator over a real socket."""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    Client,
    ConfigurationError,
    DeliveryStatus,
    Media,
    Post,
    Rejected,
)
from brandkit.metrics import MetricSample
from brandkit.platforms._base import PartRef
from brandkit.testing import Emulator
from brandkit.testing.conformance import FAST as CONFORMANCE_RETRY
from brandkit.testing.conformance import AdapterConformance, tiny_png
from brandkit.testing.x import XEmulator
from tests.x.conftest import FAST, check_request

LONG = " ".join(f"Sentence number {i} of a long announcement." for i in range(40))


def video_bytes(size: int = 300_000) -> bytes:
    """Bytes that sniff as an MP4 video."""
    head = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
    return head + b"\x07" * (size - len(head))


# The request schema of each JSON body brandkit sends, from X's OpenAPI spec.
BODY_SCHEMAS = {
    "/2/tweets": "TweetCreateRequest",
    "/2/media/upload/initialize": "MediaUploadConfigRequest",
    "/2/media/metadata": "MetadataCreateRequest",
}


def check_bodies(emu: XEmulator) -> int:
    """Validate every JSON body the emulator received against the spec; returns how many."""
    checked = 0
    for request in emu.requests:
        name = BODY_SCHEMAS.get(request.url.path)
        if request.method == "POST" and name:
            check_request(json.loads(request.content), name)
            checked += 1
    return checked


@contextmanager
def served(**kwargs: Any) -> Iterator[XEmulator]:
    """An X emulator served on 127.0.0.1; afterwards every JSON body brandkit sent to it is
    checked against X's OpenAPI schemas."""
    emu = XEmulator(**kwargs)
    with emu.serve():
        yield emu
    check_bodies(emu)


@pytest.fixture
def emu() -> Iterator[XEmulator]:
    """An X emulator served on 127.0.0.1 (request bodies checked against the spec after)."""
    with served() as emu:
        yield emu


class TestXConformance(AdapterConformance):
    """The shipped adapter conformance suite, run for X."""

    platform = "x"

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """Replies carry the account's @handle, so the mentions timeline holds answers and
        mentions alike: one page of up to 100 per request (the user id is known from the
        publish before), and one request when nothing is new."""
        return max(1, math.ceil((answers + mentions) / 100))

    def search_requests(self, found: int) -> int | None:
        """Recent search returns up to 100 posts a request; the query reads only matches."""
        return max(1, math.ceil(found / 100))

    def test_thread_or_refusal(self, emu: Emulator, account: Account) -> None:
        """The suite's own check with 600 words instead of 1200: 1200 words need 35 X posts,
        over the 25 parts brandkit allows in one thread (reported to the suite's owner)."""
        words = " ".join(f"word{i}" for i in range(600))
        with Client(retry=CONFORMANCE_RETRY) as client:
            (d,) = client.publish(self.sample_post(words), account)
        assert d.status is DeliveryStatus.SENT, d.error
        assert 2 <= len(d.parts) <= 25
        joined = " ".join(emu.post_texts()).split()
        assert [w for w in joined if w.startswith("word")] == words.split()


# -- publishing ------------------------------------------------------------------------------


def test_single_post_sync(emu: XEmulator) -> None:
    """One post: sent, with the x.com URL of the post the emulator holds."""
    acct = emu.account(name="brand")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Hello from brandkit"), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    (post,) = emu.posts
    assert post.text == "Hello from brandkit"
    assert d.ids == [post.id]
    assert d.url == f"https://x.com/brand/status/{post.id}"
    assert acct.settings["username"] == "brand"  # learnt from GET /2/users/me


@pytest.mark.anyio
async def test_single_post_async(emu: XEmulator) -> None:
    """The same through AsyncClient, with an OAuth 1.0a account."""
    acct = emu.account(name="signed", auth="oauth1")
    async with AsyncClient(retry=FAST) as client:
        (d,) = await client.publish(Post(text="Signed hello"), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["Signed hello"]
    assert d.url == f"https://x.com/signed/status/{emu.posts[0].id}"


def test_image_with_alt_text_and_a_chunk_retried_alone(emu: XEmulator) -> None:
    """A 2.5 MiB image goes up in 1 MiB chunks; a 503 on one chunk repeats that chunk only;
    the alt text reaches the media and the post carries it."""
    data = tiny_png() + b"\0" * (2 * 1024 * 1024 + 512 * 1024)
    media = Media.from_bytes(data, alt="Our new logo, in blue")
    emu.fault(method="POST", path=r"/2/media/upload/\d+/append", status=503)
    acct = emu.account(name="brand")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="New look", media=(media,)), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    (post,) = emu.posts
    (key,) = post.media_keys
    uploaded = next(m for m in emu.media.values() if m.media_key == key)
    assert uploaded.alt_text == "Our new logo, in blue"
    assert uploaded.data == data
    assert emu.count("POST", r"/2/media/upload/initialize") == 1
    assert emu.count("POST", r"/2/media/upload/\d+/append") == 4  # 3 chunks + 1 repeat
    assert emu.count("POST", r"/2/media/upload/\d+/finalize") == 1


def test_video_waits_for_processing_in_emulator_time() -> None:
    """A video's processing (30 s of emulator time) is waited out through STATUS polls; the
    client's sleep moves the emulator clock, so the test takes no real time."""
    with served(processing_seconds={"video": 30}, check_after_secs=5) as emu:
        acct = emu.account(name="brand")
        media = Media.from_bytes(video_bytes(), alt="A short clip")
        with Client(retry=FAST, sleep=emu.clock.advance) as client:
            (d,) = client.publish(Post(text="Watch this", media=(media,)), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.count("GET", r"/2/media/upload") == 6  # every 5 s for 30 s
    assert emu.posts[0].media_keys[0].startswith("7_")


@pytest.mark.anyio
async def test_gif_processing_async_in_real_time() -> None:
    """AsyncClient waits for a GIF's processing (about a second) the same way."""
    with served(processing_seconds={"gif": 1.0}) as emu:
        acct = emu.account(name="brand")
        gif = Media.from_bytes(b"GIF89a\x02\x00\x02\x00" + b"\0" * 200, alt="A moving picture")
        async with AsyncClient(retry=FAST) as client:
            (d,) = await client.publish(Post(text="Animated", media=(gif,)), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.count("GET", r"/2/media/upload") >= 1
    assert emu.posts[0].media_keys[0].startswith("16_")


def _assert_chained(emu: XEmulator, ids: list[str]) -> None:
    posts = [emu.post(i) for i in ids]
    assert all(p is not None for p in posts)
    assert posts[0] is not None
    assert posts[0].in_reply_to is None
    for prev, cur in itertools.pairwise(posts):
        assert cur is not None
        assert prev is not None
        assert cur.in_reply_to == prev.id
        assert cur.conversation_id == posts[0].id


def test_long_text_becomes_a_chained_thread(emu: XEmulator) -> None:
    """A long text is split and each part replies to the one before."""
    acct = emu.account(name="brand")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG, utm=False), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    assert len(d.parts) >= 3
    assert [p.id for p in emu.posts] == d.ids
    _assert_chained(emu, d.ids)
    assert " ".join(emu.post_texts()).split() == LONG.split()


@pytest.mark.anyio
async def test_long_text_thread_async(emu: XEmulator) -> None:
    """AsyncClient chains a thread the same way."""
    acct = emu.account(name="brand")
    async with AsyncClient(retry=FAST) as client:
        (d,) = await client.publish(Post(text=LONG, utm=False), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    _assert_chained(emu, d.ids)


def test_delete_removes_every_part(emu: XEmulator) -> None:
    """Deleting a thread deletes each of its posts."""
    acct = emu.account(name="brand")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG, utm=False), acct)
        deleted = client.delete(d)
    assert deleted.status is DeliveryStatus.DELETED
    assert emu.posts == []
    assert emu.count("DELETE", r"/2/tweets/\d+") == len(d.parts)


# -- metrics ---------------------------------------------------------------------------------


def test_metrics_grow_between_snapshots_and_old_posts_say_why(emu: XEmulator) -> None:
    """collect_refs reads one batch; snapshots an hour apart differ and match the emulator's
    numbers; a post over 30 days old gets public metrics and unavailable clicks, with why."""
    acct = emu.account(name="brand")
    old = emu.seed_post("brand", "From last season", age=timedelta(days=40))
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Fresh news"), acct)
        fresh = d.ids[0]
        refs = [*d.parts, PartRef(index=0, id=old.id)]
        emu.clock.advance(timedelta(minutes=30))
        first = client.collect_refs(acct, refs)
        emu.clock.advance(timedelta(hours=1))
        before = emu.engagement(fresh)
        second = client.collect_refs(acct, refs)
        after = emu.engagement(fresh)

    def value(samples: list[MetricSample], post_id: str, metric: str) -> float:
        (s,) = [s for s in samples if s.post_id == post_id and s.metric == metric]
        assert s.available, s.reason
        assert s.value is not None
        return s.value

    assert value(second, fresh, "impressions") > value(first, fresh, "impressions")
    for metric, raw in (("likes", "like_count"), ("link_clicks", "url_link_clicks")):
        assert before[raw] <= value(second, fresh, metric) <= after[raw]
    assert value(second, old.id, "likes") == emu.engagement(old.id)["like_count"]
    (clicks,) = [s for s in second if s.post_id == old.id and s.metric == "link_clicks"]
    assert not clicks.available
    assert "30 days" in (clicks.reason or "")
    assert emu.count("GET", "/2/tweets") == 4  # young and old posts: two lookups per snapshot


def test_account_followers(emu: XEmulator) -> None:
    """Client.collect_account reads the followers X reports."""
    acct = emu.account(name="brand")
    with Client(retry=FAST) as client:
        (sample,) = client.collect_account(acct)
    assert sample.metric == "followers"
    assert sample.value == emu.followers(emu.user("brand"))


@pytest.mark.anyio
async def test_collect_deliveries_async(emu: XEmulator) -> None:
    """AsyncClient.collect stamps each thread part's metrics with its delivery, in one
    lookup for the whole thread."""
    acct = emu.account(name="brand")
    async with AsyncClient(retry=FAST, accounts=[acct]) as client:
        (d,) = await client.publish(Post(text=LONG, utm=False, campaign="autumn"), acct)
        emu.clock.advance(timedelta(minutes=20))
        samples = await client.collect([d])
        (followers,) = await client.collect_account(acct)
    likes = {s.post_id: s for s in samples if s.metric == "likes"}
    assert set(likes) == set(d.ids)
    assert all(s.delivery_id == d.id and s.campaign == "autumn" for s in likes.values())
    assert emu.count("GET", "/2/tweets") == 1
    assert followers.value == emu.followers(emu.user("brand"))


# -- tokens, limits, failures ----------------------------------------------------------------


def test_expired_token_is_refreshed_and_the_hook_is_called(emu: XEmulator) -> None:
    """After expiry the post still goes out: one refresh, new tokens handed to the hook."""
    changes: list[Mapping[str, str]] = []
    acct = emu.account(name="brand", on_credentials_changed=lambda a, c: changes.append(dict(c)))
    old_refresh = acct.secret("refresh_token")
    emu.clock.advance(timedelta(hours=2, seconds=1))
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Still here"), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.count("POST", r"/2/oauth2/token") == 1
    (change,) = changes
    assert set(change) == {"user_token", "refresh_token"}
    assert acct.secret("user_token") == change["user_token"]
    assert acct.secret("refresh_token") not in (None, old_refresh)


@pytest.mark.anyio
async def test_expired_token_refresh_async_without_new_refresh_token() -> None:
    """When X's refresh answer has no refresh token, the old one is kept (async driver)."""
    with served(return_refresh_token=False) as emu:
        changes: list[Mapping[str, str]] = []
        acct = emu.account(
            name="brand", on_credentials_changed=lambda a, c: changes.append(dict(c))
        )
        refresh = acct.secret("refresh_token")
        emu.expire_tokens()
        async with AsyncClient(retry=FAST) as client:
            (d,) = await client.publish(Post(text="Async refresh"), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    assert [set(c) for c in changes] == [{"user_token"}]
    assert acct.secret("refresh_token") == refresh


def test_429_is_waited_out() -> None:
    """Over a 1-post / 1 s window, X's 429 is waited out until x-rate-limit-reset."""
    with served(rate_limits={"POST /2/tweets": (1, 1.0)}) as emu:
        acct = emu.account(name="brand", known_user=True)
        with Client(retry=FAST) as first:
            (a,) = first.publish(Post(text="First"), acct)
        started = time.monotonic()
        with Client(retry=FAST) as second:  # a fresh governor: it learns from the 429
            (b,) = second.publish(Post(text="Second"), acct)
        waited = time.monotonic() - started
    assert a.status is DeliveryStatus.SENT, a.error
    assert b.status is DeliveryStatus.SENT, b.error
    assert emu.post_texts() == ["First", "Second"]
    assert emu.count("POST", r"/2/tweets") == 3  # the refused one included
    assert 0.2 < waited < 10


@pytest.mark.anyio
async def test_429_is_waited_out_async() -> None:
    """AsyncClient waits for the reset the same way."""
    with served(rate_limits={"POST /2/tweets": (1, 1.0)}) as emu:
        acct = emu.account(name="brand", known_user=True)
        async with AsyncClient(retry=FAST) as client:
            (a,) = await client.publish(Post(text="One"), acct)
        async with AsyncClient(retry=FAST) as client:
            (b,) = await client.publish(Post(text="Two"), acct)
    assert (a.status, b.status) == (DeliveryStatus.SENT, DeliveryStatus.SENT)
    assert emu.post_texts() == ["One", "Two"]


def test_5xx_on_a_read_is_retried(emu: XEmulator) -> None:
    """A 503 on GET /2/users/me (idempotent) is retried and publishing goes on."""
    acct = emu.account(name="brand")
    emu.fault(method="GET", path="/2/users/me", status=503, times=2)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Despite hiccups"), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.count("GET", "/2/users/me") == 3


def test_lost_answer_after_the_post_was_stored_is_found_not_reposted(emu: XEmulator) -> None:
    """The connection drops after X stored the post: brandkit finds it on the timeline and
    the delivery is sent, with exactly one post."""
    acct = emu.account(name="brand")
    emu.fault(method="POST", path="/2/tweets", drop="after")
    with Client(retry=FAST) as client:
        (d,) = client.publish(
            Post(text="Exactly once & for all <3 https://example.com/launch"), acct
        )
    assert d.status is DeliveryStatus.SENT, d.error
    (post,) = emu.posts
    assert d.ids == [post.id]
    assert emu.count("POST", "/2/tweets") == 1
    assert emu.count("GET", r"/2/users/\d+/tweets") == 1


@pytest.mark.anyio
async def test_lost_answer_in_a_thread_async(emu: XEmulator) -> None:
    """Part 1's answer is lost: it is found, and the rest of the thread replies to it."""
    acct = emu.account(name="brand")
    emu.fault(method="POST", path="/2/tweets", drop="after")
    async with AsyncClient(retry=FAST) as client:
        (d,) = await client.publish(Post(text=LONG, utm=False), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    assert [p.id for p in emu.posts] == d.ids
    _assert_chained(emu, d.ids)


def test_500_on_create_is_looked_up_then_sent_once(emu: XEmulator) -> None:
    """A 500 before X stored anything: nothing on the timeline, so one new create."""
    acct = emu.account(name="brand")
    emu.fault(method="POST", path="/2/tweets", status=500)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Second time lucky"), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["Second time lucky"]
    assert emu.count("POST", "/2/tweets") == 2


def test_duplicate_of_an_earlier_post_fails_with_xs_message(emu: XEmulator) -> None:
    """Posting the text of an hour-old post is refused for good, with X's words and the id
    of the earlier post."""
    acct = emu.account(name="brand")
    earlier = emu.seed_post("brand", "We are live!", age=timedelta(hours=1))
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="We are live!"), acct)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, Rejected)
    assert d.error.duplicate
    assert d.error.existing_id == earlier.id
    assert (
        d.error.platform_message == "You are not allowed to create a Tweet with duplicate content."
    )
    assert emu.posts == [earlier]


def test_failed_video_processing_fails_the_delivery(emu: XEmulator) -> None:
    """X's processing error reaches the delivery; no post is made."""
    acct = emu.account(name="brand")
    emu.processing_seconds["video"] = 0.5
    emu.media_processing_error = "Unsupported video codec"
    media = Media.from_bytes(video_bytes(), alt="")
    with Client(retry=FAST, sleep=emu.clock.advance) as client:
        (d,) = client.publish(Post(text="Broken clip", media=(media,)), acct)
    assert d.status is DeliveryStatus.FAILED
    assert d.error is not None
    assert "Unsupported video codec" in str(d.error)
    assert emu.posts == []


def test_secrets_never_show_in_errors_or_reprs(emu: XEmulator) -> None:
    """A refused refresh leaves an auth error that names no token."""
    acct = emu.account(name="brand")
    acct.update_secrets(refresh_token="not-a-valid-refresh-token")
    emu.expire_tokens()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Will fail"), acct)
    assert d.status is DeliveryStatus.FAILED
    text = f"{d.error} {d.error_dict()} {d!r} {acct!r}"
    for name in acct.secret_names:
        assert (acct.secret(name) or "") not in text
    assert "Value passed for the token was invalid." in str(d.error)


def test_accounts_from_the_emulator_work_in_process_too() -> None:
    """Without serve(), an account targets the in-process transport's base URL."""
    emu = XEmulator()
    acct: Account = emu.account(name="local")
    import httpx

    with Client(retry=FAST, http=httpx.Client(transport=emu.transport())) as client:
        (d,) = client.publish(Post(text="In process"), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["In process"]


def test_bodies_sent_in_these_tests_are_checked(emu: XEmulator) -> None:
    """The spec check of sent bodies really runs: a post with an image sends three bodies."""
    acct = emu.account(name="brand")
    media = Media.from_bytes(tiny_png(), alt="checked")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Checked", media=(media,)), acct)
    assert d.ok, d.error
    assert check_bodies(emu) == 3


def test_429_is_waited_out_without_a_governor() -> None:
    """With NullGovernor the driver waits for the reset the adapter reads from X's headers."""
    from brandkit._hooks import NullGovernor

    with served(rate_limits={"POST /2/tweets": (1, 1.0)}) as emu:
        acct = emu.account(name="brand", known_user=True)
        with Client(retry=FAST, governor=NullGovernor()) as client:
            (a,) = client.publish(Post(text="Uno"), acct)
            (b,) = client.publish(Post(text="Dos"), acct)
    assert (a.status, b.status) == (DeliveryStatus.SENT, DeliveryStatus.SENT), b.error
    assert emu.post_texts() == ["Uno", "Dos"]
    assert emu.count("POST", r"/2/tweets") == 3


def test_a_refreshed_token_that_cannot_be_a_header_fails_the_delivery(emu: XEmulator) -> None:
    """A refresh answer whose access token holds a line break (a broken or hostile server):
    the delivery fails with a ConfigurationError naming the field, nothing is posted, and
    the account keeps its tokens (no hook call writes the bad one to a credentials file)."""
    changes: list[Mapping[str, str]] = []
    acct = emu.account(name="brand", on_credentials_changed=lambda a, c: changes.append(dict(c)))
    old = acct.secret("user_token")
    emu.clock.advance(timedelta(hours=2, seconds=1))
    original = emu.handle

    def handle(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if request.url.path == "/2/oauth2/token" and response.status_code == 200:
            body = json.loads(response.content)
            body["access_token"] += "\r\nX-Injected: 1"
            return httpx.Response(200, json=body)
        return response

    emu.handle = handle  # type: ignore[method-assign]
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Still here"), acct)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, ConfigurationError) and "user_token contains" in str(d.error)
    assert emu.count("POST", r"/2/tweets") == 0
    assert acct.secret("user_token") == old and changes == []


def test_a_lookup_never_takes_a_post_another_delivery_recorded(emu: XEmulator) -> None:
    """Two images without text one after the other: the second one's create answered 500
    before X stored it. The timeline read matches both (same empty text, the first made
    since a minute before the second's key), so the first post was taken for the second,
    which was never posted. A post this client recorded for another delivery is never
    taken (`ThreadContext.taken`): the second image is posted."""
    acct = emu.account(name="brand")
    with Client(retry=FAST) as client:
        (first,) = client.publish(Post(text="", media=[Media.from_bytes(tiny_png())]), acct)
        emu.fault(method="POST", path="/2/tweets", status=500)
        (second,) = client.publish(Post(text="", media=[Media.from_bytes(tiny_png())]), acct)
    assert first.status is DeliveryStatus.SENT and second.status is DeliveryStatus.SENT
    assert len(emu.posts) == 2
    assert first.ids == [emu.posts[0].id] and second.ids == [emu.posts[1].id]
