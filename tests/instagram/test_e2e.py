"""End to end over a real socket: brandkit's public API against the Instagram emulator,
which really downloads every media file from a loopback media host."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping

import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    AuthError,
    Client,
    ConfigurationError,
    DeliveryStatus,
    Media,
    Post,
    RateLimited,
    Rejected,
    RetryPolicy,
    Unsupported,
)
from brandkit.governor import Governor
from brandkit.testing import TINY_JPEG, png
from brandkit.testing._mediahost import LoopbackMediaHost
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import FAST, FakeTime

VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\0" * 5000


def jpeg(alt: str = "a grey pixel") -> Media:
    """A tiny JPEG with alt text."""
    return Media.from_bytes(TINY_JPEG, alt=alt, filename="pixel.jpg")


@pytest.fixture
def emu(host: LoopbackMediaHost) -> Iterator[InstagramEmulator]:
    """An Instagram emulator served on 127.0.0.1 (videos process for 0.2 s)."""
    emu = InstagramEmulator(video_processing=0.2, media_host=host)
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: InstagramEmulator) -> Account:
    """An account whose media_host is the loopback host."""
    return emu.account(username="brand")


# -- publishing -----------------------------------------------------------------------------------


def test_image_with_alt_text_is_downloaded_and_published(
    emu: InstagramEmulator, account: Account, host: LoopbackMediaHost
) -> None:
    """One JPEG: Instagram fetched it from the media host, the alt text is on the post,
    the quota left is reported and the permalink is the delivery's URL."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Hello #brandkit", media=(jpeg(),)), account)
    assert d.status is DeliveryStatus.SENT, d.error
    (post,) = emu.posts
    assert (post["caption"], post["alt_text"], post["media_type"]) == (
        "Hello #brandkit",
        "a grey pixel",
        "IMAGE",
    )
    assert d.ids == [post["id"]] and d.url == post["permalink"]
    assert d.parts[0].extra["quota_remaining"] == 99
    (container,) = emu.containers
    assert container["mime_type"] == "image/jpeg" and container["size"] == len(TINY_JPEG)
    assert [p for p in host.requests if p.startswith("/media/")] == [
        "/media/" + container["url"].rsplit("/", 1)[1]
    ]


def test_carousel_and_reel(emu: InstagramEmulator, account: Account) -> None:
    """A carousel of three images with alt texts and a reel are one post each."""
    carousel = Post(text="Three", media=tuple(jpeg(f"pixel {i}") for i in range(3)))
    reel = Post(text="Moving", media=(Media.from_bytes(VIDEO, filename="clip.mp4"),))
    with Client(retry=FAST) as client:
        (a,) = client.publish(carousel, account)
        (b,) = client.publish(reel, account)
    assert a.ok and b.ok, (a.error, b.error)
    album, clip = emu.posts
    assert album["media_type"] == "CAROUSEL_ALBUM"
    assert [c["alt_text"] for c in album["children"]] == ["pixel 0", "pixel 1", "pixel 2"]
    assert (clip["media_type"], clip["media_product_type"]) == ("VIDEO", "REELS")
    assert emu.count("POST", r"/v25\.0/\d+/media_publish") == 2


def test_text_only_and_png_are_refused_before_sending(
    emu: InstagramEmulator, account: Account
) -> None:
    """Instagram needs media, and JPEG images: both are refused by rendering, before any
    request."""
    with Client(retry=FAST) as client:
        (a,) = client.publish(Post(text="no picture"), account)
        (b,) = client.publish(Post(text="png", media=(Media.from_bytes(png(), alt="x"),)), account)
    assert a.status is b.status is DeliveryStatus.FAILED
    assert emu.count("POST", ".*") == 0


def test_missing_media_host_fails_with_configuration_error(emu: InstagramEmulator) -> None:
    """An account without media_host fails with ConfigurationError and sends nothing."""
    good = emu.account()
    bare = Account.instagram(
        ig_user_id=good.settings["ig_user_id"],
        token=good.secret("token") or "",
        base_url=emu.base_url,
    )
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="x", media=(jpeg(),)), bare)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, ConfigurationError) and "media_host" in str(d.error)
    assert emu.requests == []


def test_container_error_fails_with_metas_status(host: LoopbackMediaHost) -> None:
    """A JPEG over the account's size limit ends its container in ERROR: the delivery fails
    with Meta's status text and nothing is published."""
    emu = InstagramEmulator(max_image_bytes=100, media_host=host)
    with emu.serve():
        account = emu.account()
        with Client(retry=FAST) as client:
            (d,) = client.publish(Post(text="too big", media=(jpeg(),)), account)
    assert d.status is DeliveryStatus.FAILED and isinstance(d.error, Rejected)
    assert d.error.platform_message == "Error: Media upload has failed with error code 2207004"
    assert emu.post_texts() == [] and emu.count("POST", r".*/media_publish") == 0


def test_unreachable_media_is_refused_at_once(emu: InstagramEmulator, account: Account) -> None:
    """A media host whose URL Meta cannot fetch: code 9004 / 2207052 with Meta's words."""
    gone = LoopbackMediaHost()
    url = gone.put(TINY_JPEG, "image/jpeg")
    gone.close()
    account.settings["media_host"] = lambda media: url
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="lost", media=(jpeg(),)), account)
    assert d.status is DeliveryStatus.FAILED and isinstance(d.error, Rejected)
    assert d.error.code == 9004
    assert "The media could not be fetched from this URI" in str(d.error)


def test_quota_is_read_and_enforced(host: LoopbackMediaHost) -> None:
    """With a quota of 2, the second post reports none left and the third is refused with
    RateLimited before any container is made."""
    emu = InstagramEmulator(quota_total=2, media_host=host)
    with emu.serve():
        account = emu.account()
        with Client(retry=FAST) as client:
            deliveries = [
                client.publish(Post(text=f"n{i}", media=(jpeg(),)), account)[0] for i in range(3)
            ]
    first, second, third = deliveries
    assert first.parts[0].extra["quota_remaining"] == 1
    assert second.parts[0].extra["quota_remaining"] == 0
    assert third.status is DeliveryStatus.FAILED and isinstance(third.error, RateLimited)
    assert third.error.bucket == "instagram:publish"
    assert emu.post_texts() == ["n0", "n1"] and len(emu.containers) == 2


def test_delete_and_metrics(emu: InstagramEmulator) -> None:
    """Metrics of two posts in one batch grow with the clock; followers too; delete removes
    a post."""
    account = emu.account(followers=50, followers_per_day=24)
    with Client(retry=FAST) as client:
        deliveries = [
            client.publish(Post(text=f"p{i}", media=(jpeg(),)), account)[0] for i in range(2)
        ]
        first = client.collect(deliveries)
        emu.clock.advance(4 * 3600)
        emu.engage(deliveries[0].ids[0], saved=3)
        second = client.collect(deliveries)
        (followers,) = client.collect_account(account)
        client.delete(deliveries[1])
    assert emu.count("POST", r"/v25\.0/?") == 2
    likes = {s.post_id: s.value for s in second if s.metric == "likes"}
    assert all(v and v > 0 for v in likes.values())
    saves = [s for s in second if s.raw_name == "saved" and s.post_id == deliveries[0].ids[0]]
    assert saves[0].value >= 3
    assert {s.metric for s in first} == {
        "impressions",
        "reach",
        "likes",
        "replies",
        "bookmarks",
        "shares",
    }
    assert followers.value == 54
    assert emu.post_texts() == ["p0"]


# -- failures -----------------------------------------------------------------------------------


def test_token_refreshed_ahead_of_expiry_and_hook_called(emu: InstagramEmulator) -> None:
    """A token that expires in three days is refreshed before publishing; the hook gets it
    and the account carries the new expiry."""
    changed: list[Mapping[str, str]] = []
    account = emu.account(on_credentials_changed=lambda a, c: changed.append(c))
    emu.clock.advance(2 * 86400)  # old enough to be refreshed
    account.settings["token_expires_at"] = time.time() + 3 * 86400
    old = account.secret("token")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="fresh", media=(jpeg(),)), account)
    assert d.ok, d.error
    assert len(changed) == 1 and changed[0]["token"] != old
    assert account.settings["token_expires_at"] > time.time() + 50 * 86400
    assert emu.count("GET", r"/refresh_access_token") == 1


def test_expired_token_fails_with_auth_error(emu: InstagramEmulator, account: Account) -> None:
    """An expired token: AuthError with Meta's message; no secret in it; nothing posted."""
    emu.expire_tokens()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="late", media=(jpeg(),)), account)
    assert d.status is DeliveryStatus.FAILED and isinstance(d.error, AuthError)
    assert (d.error.platform_message or "").startswith("Error validating access token")
    assert (account.secret("token") or "") not in str(d.error)


def test_throttle_is_waited_out(emu: InstagramEmulator, account: Account) -> None:
    """Code 80002 with Instagram's usage header: brandkit waits the regain time (emulator
    time) and publishes once."""
    emu.set_rate_limit("account", 4, 60.0)
    fake = FakeTime(emu.clock)
    with Client(retry=FAST, sleep=fake.sleep, governor=Governor(clock=emu.clock.time)) as client:
        (a,) = client.publish(Post(text="first", media=(jpeg(),)), account)
        (b,) = client.publish(Post(text="second", media=(jpeg(),)), account)
    assert a.ok and b.ok, (a.error, b.error)
    assert emu.post_texts() == ["first", "second"]
    assert sum(fake.slept) >= 60


def test_server_error_on_publish_reuses_the_container(
    emu: InstagramEmulator, account: Account
) -> None:
    """A 503 on media_publish: the container is still FINISHED, so it is published (once)
    without making a new one."""
    emu.fault(method="POST", path=r"/v25\.0/\d+/media_publish", status=503)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="retry", media=(jpeg(),)), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["retry"] and len(emu.containers) == 1


def test_code_2_after_publishing_is_no_duplicate(emu: InstagramEmulator, account: Account) -> None:
    """Meta answers 500 code 2 although it published: the container is PUBLISHED, the post
    is found in /media, and media_publish is not sent again."""
    emu.fail_after_store("POST", r"/v25\.0/\d+/media_publish")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="published anyway", media=(jpeg(),)), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["published anyway"] and d.ids == [emu.posts[0]["id"]]
    assert emu.count("POST", r"/v25\.0/\d+/media_publish") == 1


def test_unknown_delivery_is_reconciled_by_a_new_client(
    emu: InstagramEmulator, account: Account
) -> None:
    """The answer of media_publish is lost and Instagram cannot be asked afterwards: the
    delivery is unknown. A new client (that knows no container) reads /media back, finds
    the post and does not publish again."""
    original = emu.handle

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/media_publish"):
            emu.fault(method="POST", path=r".*/media_publish", drop="after")
            emu.fault(method="GET", path=r"/v25\.0/\d+(/media)?", status=503, times=20)
        return original(request)

    emu.handle = handle  # type: ignore[method-assign]
    with Client(retry=RetryPolicy(attempts=2, initial=0.01, max_backoff=0.02)) as client:
        (d,) = client.publish(Post(text="lost answers", media=(jpeg(),)), account)
    assert d.status is DeliveryStatus.UNKNOWN, d.error
    emu.handle = original  # type: ignore[method-assign]
    emu.clear_faults()
    with Client(retry=FAST) as fresh:
        again = fresh.deliver(d, account)
    assert again.status is DeliveryStatus.SENT, again.error
    assert emu.post_texts() == ["lost answers"] and again.ids == [emu.posts[0]["id"]]


# -- async ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_publish_collect_delete(emu: InstagramEmulator, account: Account) -> None:
    """AsyncClient: a carousel and an image, metrics, delete."""
    async with AsyncClient(retry=FAST) as client:
        (a,) = await client.publish(Post(text="async one", media=(jpeg(),)), account)
        (b,) = await client.publish(Post(text="async two", media=(jpeg("x"), jpeg("y"))), account)
        assert a.ok and b.ok, (a.error, b.error)
        samples = await client.collect([a, b])
        await client.delete(a)
    assert emu.post_texts() == ["async two"]
    assert {s.post_id for s in samples} == {a.ids[0], b.ids[0]}


@pytest.mark.anyio
async def test_async_faults(emu: InstagramEmulator, account: Account) -> None:
    """AsyncClient: a dropped publish answer and a code 2 after publishing each give one
    post; a container in ERROR fails with Meta's status."""
    emu.fault(method="POST", path=r"/v25\.0/\d+/media_publish", drop="after")
    async with AsyncClient(retry=FAST) as client:
        (a,) = await client.publish(Post(text="one", media=(jpeg(),)), account)
        emu.fail_after_store("POST", r"/v25\.0/\d+/media_publish")
        (b,) = await client.publish(Post(text="two", media=(jpeg(),)), account)
        emu.max_image_bytes = 10
        (c,) = await client.publish(Post(text="three", media=(jpeg(),)), account)
    assert a.ok and b.ok, (a.error, b.error)
    assert c.status is DeliveryStatus.FAILED and isinstance(c.error, Rejected)
    assert emu.post_texts() == ["one", "two"]


# -- conversations (issue 12) ---------------------------------------------------------------


def test_inbox_pages_and_answers_land_once(emu: InstagramEmulator, account: Account) -> None:
    """120 comments come back once each in four requests (50 expanded, then two pages of
    the media's comments, and the media the account is tagged in); the next read reads
    the same pages (a new reply can sit under any comment) and adds nothing; the same
    answer asked twice lands once under the comment; liking is refused before any
    request."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Talk to us", media=(jpeg(),)), account)
        media_id = d.ids[0]
        said = [emu.audience(f"fan{i % 5}").comment(media_id, f"c{i}") for i in range(120)]
        page = client.inbox(account)
        assert page.requests == 4 and sorted(m.id for m in page.messages) == sorted(said)
        again = client.inbox(account, since=page.cursor)
        assert again.requests == 4 and again.messages == ()
        asked = next(m for m in page.messages if m.id == said[7])
        first = client.reply(asked, Post(text="Thanks!"))
        second = client.reply(asked, Post(text="Thanks!"))
        assert first.status is DeliveryStatus.SENT and second.id == first.id
        assert emu.answers(said[7]) == ["Thanks!"] and emu.post_texts() == ["Talk to us"]
        before = len(emu.requests)
        with pytest.raises(Unsupported):
            client.like(asked, account)
        assert len(emu.requests) == before


def test_an_answer_to_a_hidden_comment_fails_with_metas_reason(
    emu: InstagramEmulator, account: Account
) -> None:
    """Instagram refuses answers to hidden comments: the answer fails, with Meta's words."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Be kind", media=(jpeg(),)), account)
        emu.audience("troll").comment(d.ids[0], "rude")
        (message,) = client.inbox(account).messages
        client.hide(message, account)
        answer = client.reply(message, Post(text="Please be kind"))
        assert answer.status is DeliveryStatus.FAILED
        assert answer.error is not None and "hidden" in str(answer.error)
        assert emu.answers(message.id) == []


def test_inbox_reads_media_the_account_is_tagged_in(
    emu: InstagramEmulator, account: Account
) -> None:
    """Someone's photo that tags the brand (its ``/tags``) comes as a mention, once, with
    the comments on the brand's media; answering, hiding or deleting it is refused before
    any request (the comments API acts on the account's own media only, and Meta's refusal
    of a delete would read as a comment already gone)."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Talk to us", media=(jpeg(),)), account)
        said = emu.audience("ada").comment(d.ids[0], "Nice!")
        tagged = emu.audience("bob").mention("My new boots from @acme #happy")
        page = client.inbox(account)
        by_id = {m.id: m for m in page.messages}
        assert set(by_id) == {said, tagged}
        mention = by_id[tagged]
        assert (mention.kind, mention.author.handle, mention.text) == (
            "mention",
            "bob",
            "My new boots from @acme #happy",
        )
        assert mention.our_post is None and mention.url is not None
        assert client.inbox(account, since=page.cursor).messages == ()
        before = len(emu.requests)
        with pytest.raises(Unsupported, match="tagged"):
            client.reply(mention, Post(text="Thanks Bob!"))
        for act in (client.hide, client.unhide, client.delete_comment):
            with pytest.raises(Unsupported, match="tagged"):
                act(mention, account)
        assert len(emu.requests) == before
        assert tagged in {m.id for m in client.inbox(account).messages}  # still there


def test_tagged_media_come_once_under_a_small_limit(
    emu: InstagramEmulator, account: Account
) -> None:
    """With ``limit=1``, the comment and the tagged media come one read each, never twice,
    and a later tag comes in the read after."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Talk to us", media=(jpeg(),)), account)
        said = {emu.audience("ada").comment(d.ids[0], "Nice!")}
        said.add(emu.audience("bob").mention("boots by @acme"))
        given: list[str] = []
        cursor = None
        for _ in range(4):
            page = client.inbox(account, since=cursor, limit=1)
            given += [m.id for m in page.messages]
            cursor = page.cursor
        assert sorted(given) == sorted(said)
        later = emu.audience("cy").mention("me too @acme")
        assert [m.id for m in client.inbox(account, since=cursor).messages] == [later]
