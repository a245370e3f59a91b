"""End to end over a real socket: the public API (Client and AsyncClient) against the emulator."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import anyio
import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal

from brandkit import (
    Account,
    AsyncClient,
    AuthError,
    Client,
    Delivery,
    DeliveryStatus,
    Link,
    Media,
    MediaError,
    MetricSample,
    Post,
    RateLimited,
    Rejected,
    RetryPolicy,
)
from brandkit._hooks import NullGovernor
from brandkit.platforms._base import PartRef
from brandkit.testing.bluesky import BlueskyEmulator, BlueskyLimits, StoredRecord
from tests.bluesky._support import FAST, mp4, png

CREATE = r"/xrpc/com\.atproto\.repo\.createRecord"
LONG = " ".join(f"word{i:03d}" for i in range(110))  # 879 characters: three parts


class Driver:
    """The public API through Client or AsyncClient, called the same way in both cases."""

    def __init__(self, kind: str, portal: BlockingPortal | None, **client_kw: Any) -> None:
        client_kw.setdefault("retry", FAST)
        self.kind = kind
        self.portal = portal
        if portal is None:
            self.sync: Client | None = Client(**client_kw)
            self.aio: AsyncClient | None = None
        else:
            self.sync = None
            self.aio = AsyncClient(**client_kw)

    def publish(self, post: Post, account: Account) -> Delivery:
        if self.sync is not None:
            (delivery,) = self.sync.publish(post, [account])
        else:
            assert self.portal is not None and self.aio is not None
            (delivery,) = self.portal.call(self.aio.publish, post, [account])
        return delivery

    def delete(self, delivery: Delivery, account: Account) -> Delivery:
        if self.sync is not None:
            return self.sync.delete(delivery, account)
        assert self.portal is not None and self.aio is not None
        return self.portal.call(self.aio.delete, delivery, account)

    def collect(self, account: Account, refs: Sequence[PartRef]) -> list[MetricSample]:
        if self.sync is not None:
            return self.sync.collect_refs(account, refs)
        assert self.portal is not None and self.aio is not None
        return self.portal.call(self.aio.collect_refs, account, refs)

    def collect_deliveries(self, deliveries: Sequence[Delivery]) -> list[MetricSample]:
        if self.sync is not None:
            return self.sync.collect(deliveries)
        assert self.portal is not None and self.aio is not None
        return self.portal.call(self.aio.collect, deliveries)

    def collect_account(self, account: Account) -> list[MetricSample]:
        if self.sync is not None:
            return self.sync.collect_account(account)
        assert self.portal is not None and self.aio is not None
        return self.portal.call(self.aio.collect_account, account)

    def close(self) -> None:
        if self.sync is not None:
            self.sync.close()
        elif self.portal is not None and self.aio is not None:
            self.portal.call(self.aio.aclose)


Make = Callable[..., Driver]


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Iterator[Make]:
    """Builds drivers of one kind (sync Client, or AsyncClient on an event loop thread)."""
    drivers: list[Driver] = []
    with start_blocking_portal("asyncio") if request.param == "async" else _NoPortal() as portal:

        def build(**client_kw: Any) -> Driver:
            driver = Driver(request.param, portal, **client_kw)
            drivers.append(driver)
            return driver

        yield build
        for driver in drivers:
            driver.close()


class _NoPortal:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.fixture
def drive(make: Make) -> Driver:
    """A driver with fast retries and no pacing beyond the platform's own 429 answers."""
    return make(governor=NullGovernor())


def reply_of(record: StoredRecord) -> dict[str, Any] | None:
    reply: dict[str, Any] | None = record.value.get("reply")
    return reply


# -- the basics --------------------------------------------------------------------------------


def test_single_post(served: BlueskyEmulator, drive: Driver) -> None:
    """One post: sent, stored once at the delivery's TID key, with its public URL."""
    account = served.account()
    delivery = drive.publish(Post(text="Hello from brandkit"), account)
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    (stored,) = served.posts()
    assert stored.text == "Hello from brandkit"
    assert stored.rkey == delivery.keys[0] == delivery.parts[0].id
    assert (
        delivery.url == f"https://bsky.app/profile/{account.settings['handle']}/post/{stored.rkey}"
    )
    assert delivery.parts[0].uri == stored.uri and delivery.parts[0].cid == stored.cid
    assert served.count("POST", r".*createSession") == 1


def test_session_is_reused_across_posts(served: BlueskyEmulator, drive: Driver) -> None:
    """Many posts, one login: the session is kept, never re-created per post."""
    account = served.account()
    for n in range(3):
        assert drive.publish(Post(text=f"post {n}"), account).ok
    assert served.count("POST", r".*createSession") == 1
    saved = Account.bluesky(
        handle=account.settings["handle"],
        access_jwt=account.secret("access_jwt"),
        refresh_jwt=account.secret("refresh_jwt"),
        base_url=served.base_url,
    )
    assert drive.publish(Post(text="with a saved session"), saved).ok
    assert served.count("POST", r".*createSession") == 1


def test_thread_from_long_text(served: BlueskyEmulator, drive: Driver) -> None:
    """A long text becomes ≥3 parts chained in the PDS: root is part 1, parent the one before."""
    delivery = drive.publish(Post(text=LONG, utm=False), served.account())
    assert delivery.ok, delivery.error
    posts = served.posts()
    assert len(posts) == len(delivery.parts) >= 3
    assert " ".join(p.text for p in posts).split() == LONG.split()
    root = posts[0]
    assert reply_of(root) is None
    for previous, current in itertools.pairwise(posts):
        assert reply_of(current) == {
            "root": {"uri": root.uri, "cid": root.cid},
            "parent": {"uri": previous.uri, "cid": previous.cid},
        }
    assert [p.rkey for p in posts] == delivery.keys


def test_images_with_alt_text_and_aspect_ratio(served: BlueskyEmulator, drive: Driver) -> None:
    """Images are uploaded as blobs (exact bytes) and embedded with alt and aspectRatio."""
    first = Media.from_bytes(png(64, 48), alt="A bar chart of sales")
    second = Media.from_bytes(png(10, 30), alt="")
    delivery = drive.publish(Post(text="Two pictures", media=(first, second)), served.account())
    assert delivery.ok, delivery.error
    (stored,) = served.posts()
    images = stored.value["embed"]["images"]
    assert [i["alt"] for i in images] == ["A bar chart of sales", ""]
    assert [i["aspectRatio"] for i in images] == [
        {"width": 64, "height": 48},
        {"width": 10, "height": 30},
    ]
    for image, media in zip(images, (first, second), strict=True):
        blob = served.blobs[(stored.did, image["image"]["ref"]["$link"])]
        assert blob.data == media.read() and blob.mime_type == "image/png"


def test_link_card(served: BlueskyEmulator, drive: Driver) -> None:
    """A titled link becomes an external embed with its thumbnail blob."""
    thumb = Media.from_bytes(png(12, 12))
    link = Link(
        url="https://example.com/launch",
        title="Launch",
        description="All about it",
        thumbnail=thumb,
    )
    delivery = drive.publish(Post(text="We launched", link=link, utm=False), served.account())
    assert delivery.ok, delivery.error
    (stored,) = served.posts()
    external = stored.value["embed"]["external"]
    assert {k: external[k] for k in ("uri", "title", "description")} == {
        "uri": "https://example.com/launch",
        "title": "Launch",
        "description": "All about it",
    }
    assert served.blobs[(stored.did, external["thumb"]["ref"]["$link"])].data == thumb.read()


def test_facets_after_cjk_and_emoji_select_the_right_bytes(
    served: BlueskyEmulator, drive: Driver
) -> None:
    """Byte ranges in the stored record select exactly the link, mention and tag; the mention
    names the other account's DID."""
    alice = served.add_user("alice.test")
    text = (
        "日本語のお知らせ 😀🎉 👨‍👩‍👧‍👦 @alice.test 詳細は https://example.com/news です #告知 ✨"
    )
    delivery = drive.publish(Post(text=text, utm=False), served.account())
    assert delivery.ok, delivery.error
    (stored,) = served.posts()
    data = stored.text.encode("utf-8")
    spans = {}
    for facet in stored.value["facets"]:
        (feature,) = facet["features"]
        piece = data[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8")
        spans[feature["$type"].rsplit("#", 1)[-1]] = (piece, feature)
    assert spans["mention"] == (
        "@alice.test",
        {"$type": "app.bsky.richtext.facet#mention", "did": alice.did},
    )
    assert spans["link"] == (
        "https://example.com/news",
        {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/news"},
    )
    assert spans["tag"] == ("#告知", {"$type": "app.bsky.richtext.facet#tag", "tag": "告知"})


def test_unknown_mention_is_plain_text(served: BlueskyEmulator, drive: Driver) -> None:
    """A handle nobody has stays plain text; the post is still sent."""
    delivery = drive.publish(Post(text="hi @nobody.test and #tag"), served.account())
    assert delivery.ok, delivery.error
    (stored,) = served.posts()
    kinds = [f["features"][0]["$type"] for f in stored.value.get("facets", [])]
    assert kinds == ["app.bsky.richtext.facet#tag"]


def test_delete_a_thread(served: BlueskyEmulator, drive: Driver) -> None:
    """Deleting a delivery removes every part from the PDS."""
    account = served.account()
    delivery = drive.publish(Post(text=LONG), account)
    assert len(served.posts()) >= 3
    deleted = drive.delete(delivery, account)
    assert deleted.status is DeliveryStatus.DELETED
    assert served.posts() == []


def test_metrics(served: BlueskyEmulator, drive: Driver) -> None:
    """collect_refs reads counts that grow with simulated time; views are unavailable."""
    account = served.account()
    delivery = drive.publish(Post(text=LONG), account)
    first = drive.collect(account, delivery.parts)
    served.clock.advance(90 * 60)  # within the access token's two hours
    second = drive.collect(account, delivery.parts)
    assert served.count("GET", r".*getPosts") == 2  # one request per batch

    def likes(samples: list[MetricSample]) -> list[float | None]:
        return [s.value for s in samples if s.metric == "likes"]

    assert likes(first) == [0, 0, 0][: len(delivery.parts)]
    assert likes(second) == [served.counts(p.uri or "")["likeCount"] for p in delivery.parts]
    assert any(v for v in likes(second))
    replies = {s.post_id: s.value for s in second if s.metric == "replies"}
    assert replies[delivery.parts[0].id] >= 1  # part 2 replies to part 1
    views = [s for s in second if s.metric == "impressions"]
    assert views and all(
        not s.available and s.reason == "Bluesky publishes no view data" for s in views
    )


def test_metrics_batches_of_25(served: BlueskyEmulator, drive: Driver) -> None:
    """30 posts are read in two getPosts calls (25 + 5)."""
    account = served.account()
    refs = [p for n in range(30) for p in drive.publish(Post(text=f"n{n}"), account).parts]
    samples = drive.collect(account, refs)
    assert served.count("GET", r".*getPosts") == 2
    assert len({s.post_id for s in samples}) == 30


def test_followers(served: BlueskyEmulator, drive: Driver) -> None:
    """Account metrics read followersCount."""
    account = served.account()
    served.follow(account.settings["handle"], 12)
    (sample,) = drive.collect_account(account)
    assert (sample.metric, sample.value, sample.raw_name) == ("followers", 12, "followersCount")


def test_collect_deliveries_stamps_them(served: BlueskyEmulator, drive: Driver) -> None:
    """Client.collect reads every part of the deliveries and stamps delivery and campaign."""
    account = served.account()
    first = drive.publish(Post(text=LONG, campaign="launch"), account)
    second = drive.publish(Post(text="short one"), account)
    samples = drive.collect_deliveries([first, second])
    assert served.count("GET", r".*getPosts") == 1  # all four parts in one batch
    likes = [s for s in samples if s.metric == "likes"]
    assert {s.post_id for s in likes} == {p.id for p in first.parts + second.parts}
    assert {s.delivery_id for s in likes} == {first.id, second.id}
    assert {s.campaign for s in likes if s.delivery_id == first.id} == {"launch"}


# -- sessions ----------------------------------------------------------------------------------


def test_expired_token_is_refreshed_transparently(served: BlueskyEmulator, drive: Driver) -> None:
    """After expiry the adapter refreshes (hook called), repeats the create, never logs in again."""
    changes: list[tuple[str, ...]] = []
    account = served.account(on_credentials_changed=lambda a, c: changes.append(tuple(sorted(c))))
    assert drive.publish(Post(text="before"), account).ok
    old = account.secret("access_jwt")
    served.expire_tokens()
    delivery = drive.publish(Post(text="after"), account)
    assert delivery.ok, delivery.error
    assert served.post_texts() == ["before", "after"]
    assert served.count("POST", r".*createSession") == 1
    assert served.count("POST", r".*refreshSession") == 1
    assert changes == [("access_jwt", "refresh_jwt")] * 2
    assert account.secret("access_jwt") != old


def test_clock_expiry_and_revoked_refresh_fall_back_to_login(
    served: BlueskyEmulator, drive: Driver
) -> None:
    """Two hours later with a revoked refresh token the adapter logs in with the app password."""
    account = served.account()
    assert drive.publish(Post(text="one"), account).ok
    served.revoke_sessions()
    served.clock.advance(3 * 3600)
    assert drive.publish(Post(text="two"), account).ok
    assert served.count("POST", r".*createSession") == 2
    assert served.post_texts() == ["one", "two"]


def test_wrong_app_password_fails_with_the_platform_message(
    served: BlueskyEmulator, drive: Driver
) -> None:
    """A refused login: the delivery fails with AuthError and the PDS's words."""
    account = Account.bluesky(
        handle=served.account().settings["handle"],
        app_password="wrong-pass",
        base_url=served.base_url,
    )
    delivery = drive.publish(Post(text="nope"), account)
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, AuthError)
    assert delivery.error.platform_message == "Invalid identifier or password"
    assert served.posts() == []


# -- failures ----------------------------------------------------------------------------------


def test_rate_limit_429_is_waited_out(make: Make) -> None:
    """A small write window (2 creates/s): the third part gets 429 and goes after Retry-After."""
    emu = BlueskyEmulator(rate_limits=BlueskyLimits(write=((6, 1.0),)))
    with emu.serve():
        drive = make(governor=NullGovernor())
        delivery = drive.publish(Post(text=LONG), emu.account())
        assert delivery.ok, delivery.error
        parts = len(delivery.parts)
        assert parts >= 3 and len(emu.posts()) == parts
        assert emu.count("POST", CREATE) == parts + 1  # exactly one refused create


def test_rate_limit_longer_than_max_wait_fails_typed(make: Make) -> None:
    """A reset beyond max_wait: the delivery fails with RateLimited carrying reset and bucket."""
    emu = BlueskyEmulator(rate_limits=BlueskyLimits(write=((3, 3600.0),)))
    with emu.serve():
        drive = make(
            governor=NullGovernor(), retry=RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5)
        )
        delivery = drive.publish(Post(text=LONG), emu.account())
        assert delivery.status is DeliveryStatus.FAILED
        assert isinstance(delivery.error, RateLimited)
        assert delivery.error.bucket == "write" and delivery.error.reset_at is not None
        assert len(delivery.parts) == 1 and len(emu.posts()) == 1


def test_server_error_on_create_is_looked_up_then_retried(
    served: BlueskyEmulator, drive: Driver
) -> None:
    """A 503 on create: getRecord says it did not land, so the part is created once."""
    served.fault(method="POST", path=CREATE, status=503)
    delivery = drive.publish(Post(text="after a 503"), served.account())
    assert delivery.ok, delivery.error
    assert served.post_texts() == ["after a 503"]
    assert served.count("POST", CREATE) == 2
    assert served.count("GET", r".*getRecord") == 1


def test_server_error_on_upload_is_retried(served: BlueskyEmulator, drive: Driver) -> None:
    """A 502 on uploadBlob (idempotent) is retried by the driver."""
    served.fault(method="POST", path=r".*uploadBlob", status=502)
    delivery = drive.publish(
        Post(text="pic", media=(Media.from_bytes(png(4, 4), alt="x"),)), served.account()
    )
    assert delivery.ok, delivery.error
    assert served.count("POST", r".*uploadBlob") == 2
    assert len(served.posts()) == 1


def test_dropped_after_storing_is_found_not_duplicated(
    served: BlueskyEmulator, drive: Driver
) -> None:
    """The PDS stores the post and the connection drops: found by getRecord, one post, sent."""
    served.fault(method="POST", path=CREATE, drop="after")
    delivery = drive.publish(Post(text="exactly once"), served.account())
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert served.post_texts() == ["exactly once"]
    assert served.count("POST", CREATE) == 1
    assert delivery.parts[0].id == served.posts()[0].rkey


def test_dropped_mid_thread_resumes_without_duplicates(
    served: BlueskyEmulator, drive: Driver
) -> None:
    """The connection drops after the second part is stored: each part exists once, chained."""
    served.fault(method="POST", path=CREATE, times=1)  # the first create passes untouched
    served.fault(method="POST", path=CREATE, drop="after", times=1)
    delivery = drive.publish(Post(text=LONG), served.account())
    assert delivery.ok, delivery.error
    posts = served.posts()
    assert len(posts) == len(delivery.parts) >= 3
    assert served.count("POST", CREATE) == len(posts)
    assert [p.rkey for p in posts] == [p.id for p in delivery.parts]
    assert reply_of(posts[2]) is not None and reply_of(posts[2])["parent"]["uri"] == posts[1].uri


class _Recording(BlueskyEmulator):
    """An emulator that remembers the status of every answer it finished."""

    def __init__(self) -> None:
        super().__init__()
        self.finished: list[tuple[str, int]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        response = super().handle(request)
        self.finished.append((request.url.path, response.status_code))
        return response


def test_slow_create_meets_its_retry_at_the_same_key(make: Make) -> None:
    """A create that times out is looked up (not there yet) and sent again; the late original
    then hits the same record key and is refused with the PDS's 500: one post."""
    emu = _Recording()
    with emu.serve():
        drive = make(governor=NullGovernor(), timeout=0.5)
        account = emu.account()
        assert drive.publish(Post(text="warm up"), account).ok
        emu.fault(method="POST", path=CREATE, delay=1.5)
        delivery = drive.publish(Post(text="slow one"), account)
        assert delivery.ok, delivery.error
        deadline = time.monotonic() + 10
        creates: list[int] = []
        while time.monotonic() < deadline:
            creates = [status for path, status in emu.finished if path.endswith("createRecord")]
            if len(creates) == 3:
                break
            time.sleep(0.05)
        # warm-up, the retry (stored), then the late original refused at the same key.
        assert creates == [200, 200, 500]
        assert emu.post_texts() == ["warm up", "slow one"]


def test_permanent_rejection_fails_with_the_platform_message(
    served: BlueskyEmulator, drive: Driver
) -> None:
    """A language tag brandkit lets through but the lexicon refuses: failed, with the PDS's words."""
    delivery = drive.publish(Post(text="hello", language="en-abcdefghijk"), served.account())
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, Rejected)
    assert delivery.error.code == "InvalidRequest"
    assert delivery.error.platform_message == (
        'Invalid app.bsky.feed.post record: Invalid language (got "en-abcdefghijk") '
        "at $.record.langs[0]"
    )
    assert served.posts() == []


def test_media_over_the_pds_blob_limit_is_refused_before_sending(
    served: BlueskyEmulator, drive: Driver
) -> None:
    """The PDS's blobUploadLimit (5 MiB here) is learnt from describeServer: a bigger video
    fails as content, and nothing is uploaded."""
    video = Media.from_bytes(mp4(5 * 1024 * 1024 + 10), alt="too big for this PDS")
    delivery = drive.publish(Post(text="clip", media=(video,)), served.account())
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, MediaError)
    assert "5,242,880" in str(delivery.error)
    assert served.count("POST", r".*uploadBlob") == 0
    assert served.count("POST", CREATE) == 0


def test_a_larger_blob_limit_lets_bigger_video_through(make: Make) -> None:
    """A PDS configured for 50 MB videos (as the PDS installer does) takes a 6 MiB video."""
    emu = BlueskyEmulator(blob_upload_limit=52_428_800)
    with emu.serve():
        video = Media.from_bytes(mp4(6 * 1024 * 1024), alt="six MiB")
        delivery = make(governor=NullGovernor()).publish(
            Post(text="clip", media=(video,)), emu.account()
        )
        assert delivery.ok, delivery.error
        (stored,) = emu.posts()
        assert stored.value["embed"]["$type"] == "app.bsky.embed.video"
        assert stored.value["embed"]["video"]["size"] == video.size


# -- plain async usage -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_client_publish_and_reconcile(served: BlueskyEmulator) -> None:
    """AsyncClient in an event loop: a post, and a dropped create found instead of repeated."""
    account = served.account()
    async with AsyncClient(retry=FAST, governor=NullGovernor()) as client:
        (first,) = await client.publish(Post(text="async hello"), [account])
        served.fault(method="POST", path=CREATE, drop="after")
        (second,) = await client.publish(Post(text="async dropped"), [account])
    assert first.ok and second.ok, (first.error, second.error)
    assert served.post_texts() == ["async hello", "async dropped"]
    assert served.count("POST", CREATE) == 2


def test_in_process_without_a_socket() -> None:
    """The emulator also runs in-process: hand the client an httpx client on its transport."""
    emu = BlueskyEmulator()
    account = emu.account()
    with httpx.Client(transport=emu.transport()) as http, Client(http=http, retry=FAST) as client:
        (delivery,) = client.publish(Post(text=LONG), account)
        samples = client.collect_refs(account, delivery.parts)
    assert delivery.ok, delivery.error
    assert len(emu.posts()) == len(delivery.parts) >= 3
    assert {s.post_id for s in samples} == {p.id for p in delivery.parts}


@pytest.mark.anyio
async def test_concurrent_posts_share_one_session_renewal(served: BlueskyEmulator) -> None:
    """Two posts at once on an expired session both go out; the refresh token's grace period
    makes a doubled refresh harmless, and nobody logs in again."""
    account = served.account()
    async with AsyncClient(retry=FAST, governor=NullGovernor()) as client:
        await client.publish(Post(text="warm up"), [account])
        served.expire_tokens()
        async with anyio.create_task_group() as tg:
            for text in ("left", "right"):
                tg.start_soon(client.publish, Post(text=text), [account])
    assert sorted(served.post_texts()) == ["left", "right", "warm up"]
    assert served.count("POST", r".*createSession") == 1
    assert 1 <= served.count("POST", r".*refreshSession") <= 2


@pytest.mark.parametrize(
    "headers",
    [
        {"RateLimit-Reset": "253402300000"},
        {"RateLimit-Reset": "253402300000", "Retry-After": "30"},
    ],
)
def test_a_429_reset_years_ahead_keeps_the_delivery_within_a_day(
    make: Make, headers: dict[str, str]
) -> None:
    """A garbled RateLimit-Reset (year 9999) on a create: the delivery's RateLimited holds a
    reset at most a day ahead (Bluesky's longest window), not the header's year, which an
    outbox would have waited for before trying the post again."""
    emu = BlueskyEmulator()
    with emu.serve():
        emu.fault(
            method="POST",
            path=CREATE,
            status=429,
            body={"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
            headers=headers,
            times=10,
        )
        drive = make(
            governor=NullGovernor(), retry=RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5)
        )
        delivery = drive.publish(Post(text="hello"), emu.account())
        assert isinstance(delivery.error, RateLimited), delivery.error
        assert delivery.error.reset_at is not None
        assert delivery.error.reset_at.timestamp() <= time.time() + 86_400 + 60
        assert delivery.error.retry_after is not None
        assert delivery.error.retry_after <= 86_400
        assert emu.posts() == []


def test_a_retry_that_meets_its_landed_original_is_sent(
    served: BlueskyEmulator, drive: Driver
) -> None:
    """The create is stored but its answer is lost, and the lookup does not see it yet (a
    read racing the commit): the create is sent again at the same record key, and the PDS
    refuses it with a bare 500 because the key holds the post. That 500 made the delivery
    fail while the post was live; the key is read back and the delivery is sent."""
    served.fault(method="POST", path=CREATE, drop="after")
    served.fault(
        method="GET",
        path=r".*getRecord",
        status=400,
        body={"error": "RecordNotFound", "message": "Could not locate record"},
    )
    delivery = drive.publish(Post(text="landed first"), served.account())
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert served.post_texts() == ["landed first"]
    assert served.count("POST", CREATE) == 2
    assert delivery.parts[0].id == served.posts()[0].rkey
    assert delivery.parts[0].cid == served.posts()[0].cid
