"""End to end over a real socket: brandkit's public API against the Facebook emulator."""

from __future__ import annotations

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
from brandkit.testing import png
from brandkit.testing.facebook import FacebookEmulator
from tests.facebook.conftest import FAST, FakeTime

VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8000  # about 2 MB: two chunks


@pytest.fixture
def emu() -> Iterator[FacebookEmulator]:
    """A Facebook emulator served on 127.0.0.1 (videos process for 0.2 s)."""
    emu = FacebookEmulator(video_processing=0.2)
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: FacebookEmulator) -> Account:
    """A Page with both tokens on the served emulator."""
    return emu.account()


# -- publishing -----------------------------------------------------------------------------------


def test_text_post_with_link(emu: FacebookEmulator, account: Account) -> None:
    """One post with a link card: sent, with the post id and permalink; one create."""
    post = Post(text="Hello from brandkit", link=Link(url="https://example.com/launch"), utm=True)
    with Client(retry=FAST) as client:
        (d,) = client.publish(post, account)
    assert d.status is DeliveryStatus.SENT, d.error
    (stored,) = emu.posts
    assert d.ids == [stored["id"]] and stored["kind"] == "link"
    assert stored["link"].startswith("https://example.com/launch?utm_source=facebook")
    assert d.url is not None and d.url.endswith(stored["id"].split("_")[1])
    assert emu.count("POST", r"/v25\.0/\d+/feed") == 1


def test_photo_album_and_video(emu: FacebookEmulator, account: Account) -> None:
    """One photo with alt text, an album of three with alt texts, and a chunked video all
    land as one post each."""
    one = Post(text="A photo", media=(Media.from_bytes(png(), alt="A purple square"),))
    album = Post(
        text="An album",
        media=tuple(Media.from_bytes(png(4 + i, 4), alt=f"picture {i}") for i in range(3)),
    )
    video = Post(text="A video", media=(Media.from_bytes(VIDEO, filename="clip.mp4"),))
    with Client(retry=FAST) as client:
        deliveries = [client.publish(p, account)[0] for p in (one, album, video)]
    assert [d.status for d in deliveries] == [DeliveryStatus.SENT] * 3, [
        d.error for d in deliveries
    ]
    photo, pictures, clip = emu.posts
    assert (photo["kind"], pictures["kind"], clip["kind"]) == ("photo", "album", "video")
    assert [p["alt_text_custom"] for p in photo["photos"]] == ["A purple square"]
    assert [p["alt_text_custom"] for p in pictures["photos"]] == [f"picture {i}" for i in range(3)]
    assert emu.post_texts() == ["A photo", "An album", "A video"]
    assert emu.count("POST", r"/v25\.0/\d+/videos") == 4  # start, two chunks, finish


def test_long_text_is_refused_before_sending(emu: FacebookEmulator, account: Account) -> None:
    """Facebook has no threads: a text over 63,206 characters fails before any request."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="word " * 13_000), account)
    assert d.status is DeliveryStatus.FAILED
    assert emu.post_texts() == [] and emu.count("POST", ".*") == 0


def test_delete(emu: FacebookEmulator, account: Account) -> None:
    """Delete removes the post; deleting again is not an error."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="short-lived"), account)
        assert client.delete(d).status is DeliveryStatus.DELETED
        d.status = DeliveryStatus.SENT
        assert client.delete(d).status is DeliveryStatus.DELETED
    assert emu.post_texts() == []


def test_a_delete_meta_answers_gone_for_while_the_post_stays_is_not_deleted(
    emu: FacebookEmulator, account: Account
) -> None:
    """Meta answers code 100, subcode 33 ("does not exist, cannot be loaded due to missing
    permissions, or does not support this operation") to a delete it will not do: the
    delivery said deleted while the post stayed on the Page. A read that still finds it
    keeps the delivery sent, with the reason."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="stays up"), account)
        emu.fault(
            method="DELETE",
            path=r"/v\d+\.\d+/.*",
            status=400,
            body={
                "error": {
                    "message": "Unsupported delete request. Object with ID "
                    f"'{d.ids[0]}' does not exist, cannot be loaded due to missing "
                    "permissions, or does not support this operation.",
                    "type": "GraphMethodException",
                    "code": 100,
                    "error_subcode": 33,
                    "fbtrace_id": "AbCdEf",
                }
            },
        )
        with pytest.raises(Rejected, match="still there"):
            client.delete(d)
        assert d.status is DeliveryStatus.SENT
        assert emu.post_texts() == ["stays up"]
        # Deleting it for real, then again: a post gone answers 100/33 to the read too.
        assert client.delete(d).status is DeliveryStatus.DELETED
        d.status = DeliveryStatus.SENT
        assert client.delete(d).status is DeliveryStatus.DELETED
    assert emu.post_texts() == []


def test_metrics_grow_and_followers(emu: FacebookEmulator) -> None:
    """Client.collect reads views, reach, reactions, comments, shares in one batch; a later
    snapshot shows more; followers grow with the clock."""
    account = emu.account(followers=100, followers_per_day=10)
    with Client(retry=FAST) as client:
        deliveries = [client.publish(Post(text=f"post {i}"), account)[0] for i in range(3)]
        first = client.collect(deliveries)
        emu.clock.advance(5 * 3600)
        emu.engage(deliveries[0].ids[0], reactions=4, comments=2)
        second = client.collect(deliveries)
        (followers,) = client.collect_account(account)
    assert emu.count("POST", r"/v25\.0/?") == 2  # one batch per snapshot

    def value(samples: list, post_id: str, metric: str) -> float | None:  # type: ignore[type-arg]
        return next(s.value for s in samples if s.post_id == post_id and s.metric == metric)

    top = deliveries[0].ids[0]
    assert value(first, top, "likes") == 0 and value(second, top, "likes") >= 4 + 5 * 6
    assert value(second, top, "replies") >= 2
    assert value(second, top, "impressions") > value(first, top, "impressions")  # type: ignore[operator]
    assert {s.delivery_id for s in second} == {d.id for d in deliveries}
    assert all(s.available for s in second if s.metric != "bookmarks")
    assert followers.value == 100 + int(5 / 24 * 10)


# -- failures -----------------------------------------------------------------------------------


def test_expired_page_token_is_replaced_and_the_hook_called(emu: FacebookEmulator) -> None:
    """The Page token stops working: brandkit fetches a new one with the user token,
    hands it to the hook, and the post is published once."""
    changed: list[Mapping[str, str]] = []
    account = emu.account(on_credentials_changed=lambda a, c: changed.append(c))
    old = account.secret("page_token")
    emu.revoke_tokens(kind="page")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="after a password change"), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert len(changed) == 1 and changed[0]["page_token"] != old
    assert account.secret("page_token") == changed[0]["page_token"]
    assert emu.post_texts() == ["after a password change"]


def test_only_a_user_token(emu: FacebookEmulator) -> None:
    """An account with just a user token gets its Page token before the first post."""
    changed: list[Mapping[str, str]] = []
    account = emu.account(tokens="user", on_credentials_changed=lambda a, c: changed.append(c))
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), account)
    assert d.ok, d.error
    assert list(changed[0]) == ["page_token"]


def test_expired_user_and_page_tokens_fail_with_auth_error(emu: FacebookEmulator) -> None:
    """Both tokens expired: AuthError with Meta's message, nothing posted, no secret in the
    error."""
    account = emu.account()
    emu.expire_tokens()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), account)
    assert d.status is DeliveryStatus.FAILED and isinstance(d.error, AuthError)
    assert (d.error.platform_message or "").startswith("Error validating access token")
    for name in account.secret_names:
        assert (account.secret(name) or "") not in str(d.error)
    assert emu.post_texts() == []


def test_throttle_in_metas_style_is_waited_out(emu: FacebookEmulator, account: Account) -> None:
    """Another client used up the Page's budget: brandkit gets code 80001 with usage headers
    saying access returns in 2 minutes, waits that long (emulator time) and posts once."""
    emu.set_rate_limit("account", 5, 120.0)
    with httpx.Client(base_url=emu.base_url) as other:
        for _ in range(5):
            other.get(
                f"/v25.0/{account.settings['page_id']}",
                headers={"authorization": f"Bearer {account.secret('page_token')}"},
            ).raise_for_status()
    fake = FakeTime(emu.clock)
    with Client(retry=FAST, sleep=fake.sleep, governor=Governor(clock=emu.clock.time)) as client:
        (d,) = client.publish(Post(text="patient"), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["patient"]
    refused = [r for r in emu.requests if r.url.path.endswith("/feed")]
    assert len(refused) == 2  # the throttled attempt and the accepted one
    assert sum(fake.slept) >= 120


def test_throttle_longer_than_max_wait_fails_with_rate_limited(
    emu: FacebookEmulator, account: Account
) -> None:
    """When Meta's regain time is longer than brandkit may wait, the delivery fails with
    RateLimited carrying the reset time and the bucket."""
    emu.set_rate_limit("account", 1, 3600.0)
    with httpx.Client(base_url=emu.base_url) as other:
        other.get(
            f"/v25.0/{account.settings['page_id']}",
            headers={"authorization": f"Bearer {account.secret('page_token')}"},
        )
    from brandkit import RetryPolicy

    with Client(retry=RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)) as client:
        (d,) = client.publish(Post(text="in a hurry"), account)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, RateLimited)
    assert d.error.retry_after is not None and d.error.retry_after >= 30
    assert emu.post_texts() == []


def test_server_error_is_retried_without_duplicate(emu: FacebookEmulator, account: Account) -> None:
    """A 503 before the post is stored: brandkit looks, finds nothing, posts once."""
    emu.fault(method="POST", path=r"/v25\.0/\d+/feed", status=503)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="after a hiccup"), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["after a hiccup"]
    assert emu.count("GET", r"/v25\.0/\d+/published_posts") == 1


def test_code_2_after_the_post_was_created_is_no_duplicate(
    emu: FacebookEmulator, account: Account
) -> None:
    """Meta answers 500 code 2 although it created the post: brandkit finds it in
    published_posts and does not post again."""
    emu.fail_after_store("POST", r"/v25\.0/\d+/feed")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="created anyway"), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["created anyway"]
    assert d.ids == [emu.posts[0]["id"]]
    assert emu.count("POST", r"/v25\.0/\d+/feed") == 1


def test_dropped_answer_no_duplicate(emu: FacebookEmulator, account: Account) -> None:
    """The connection dies after the photo post was stored: found, not posted again."""
    emu.fault(method="POST", path=r"/v25\.0/\d+/photos", drop="after")
    with Client(retry=FAST) as client:
        (d,) = client.publish(
            Post(text="dropped", media=(Media.from_bytes(png(), alt="x"),)), account
        )
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["dropped"] and d.ids == [emu.posts[0]["id"]]


def test_permanent_rejection_fails_with_metas_message(
    emu: FacebookEmulator, account: Account
) -> None:
    """A duplicate status (506) is not retried; the delivery fails with Meta's words and
    says it is a duplicate."""
    emu.duplicate_window = 3600
    with Client(retry=FAST) as client:
        (first,) = client.publish(Post(text="same words"), account)
        (second,) = client.publish(Post(text="same words"), account)
    assert first.ok
    assert second.status is DeliveryStatus.FAILED
    assert isinstance(second.error, Rejected) and second.error.duplicate
    assert second.error.platform_message == "(#506) Duplicate status message"
    assert emu.post_texts() == ["same words"]


# -- async ----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_publish_collect_delete(emu: FacebookEmulator, account: Account) -> None:
    """AsyncClient: a post and an album, metrics, then delete."""
    album = Post(
        text="async album",
        media=(Media.from_bytes(png(), alt="a"), Media.from_bytes(png(5, 5), alt="b")),
    )
    async with AsyncClient(retry=FAST) as client:
        (a,) = await client.publish(Post(text="async hello"), account)
        (b,) = await client.publish(album, account)
        assert a.ok and b.ok, (a.error, b.error)
        samples = await client.collect([a, b])
        await client.delete(a)
    assert a.status is DeliveryStatus.DELETED
    assert emu.post_texts() == ["async album"]
    assert {s.post_id for s in samples} == {a.ids[0], b.ids[0]}


@pytest.mark.anyio
async def test_async_faults(emu: FacebookEmulator, account: Account) -> None:
    """AsyncClient: code 2 after store, a dropped answer and a refreshed Page token each
    end with exactly one post."""
    emu.fail_after_store("POST", r"/v25\.0/\d+/feed")
    async with AsyncClient(retry=FAST) as client:
        (a,) = await client.publish(Post(text="one"), account)
        emu.fault(method="POST", path=r"/v25\.0/\d+/feed", drop="after")
        (b,) = await client.publish(Post(text="two"), account)
        emu.revoke_tokens(kind="page")
        (c,) = await client.publish(Post(text="three"), account)
    assert [x.status for x in (a, b, c)] == [DeliveryStatus.SENT] * 3, (a.error, b.error, c.error)
    assert emu.post_texts() == ["one", "two", "three"]


@pytest.mark.anyio
async def test_async_throttle_is_waited_out(emu: FacebookEmulator, account: Account) -> None:
    """AsyncClient waits out Meta's throttle the same way (emulator time)."""
    emu.set_rate_limit("account", 3, 90.0)
    fake = FakeTime(emu.clock)
    async with AsyncClient(
        retry=FAST, sleep=fake.asleep, governor=Governor(clock=emu.clock.time)
    ) as client:
        deliveries = [(await client.publish(Post(text=f"n{i}"), account))[0] for i in range(3)]
    assert all(d.ok for d in deliveries), [d.error for d in deliveries]
    assert emu.post_texts() == ["n0", "n1", "n2"]
    assert sum(fake.slept) >= 60


# -- conversations (issue 12) --------------------------------------------------------------


def test_inbox_pages_across_the_emulators_pages_and_moderates(
    emu: FacebookEmulator, account: Account
) -> None:
    """150 comments on one post come back once each in two requests (the expanded first
    100, then the post's next page), the next read costs one; a fan's answer to a comment
    points at it; deleting and liking through the client change what the Page shows."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Talk to us"), account)
        post_id = d.ids[0]
        said = [emu.audience(f"fan{i % 9}").comment(post_id, f"c{i}") for i in range(150)]
        answer = emu.audience("bob").comment(said[0], "same question")
        before = len(emu.requests)
        page = client.inbox(account)
        assert len(emu.requests) - before == page.requests == 2
        assert [m.id for m in page.messages] == [*said, answer]
        by_id = {m.id: m for m in page.messages}
        assert by_id[answer].in_reply_to == said[0] and by_id[answer].our_post == post_id
        again = client.inbox(account, since=page.cursor)
        assert again.messages == () and again.requests == 1
        client.like(by_id[said[1]], account)
        assert emu.comment(said[1]).liked
        client.delete_comment(by_id[said[2]], account)
        assert emu.comment(said[2]).deleted_at is not None
        client.delete_comment(by_id[said[2]], account)  # already gone: nothing to do
        assert said[2] not in [m.id for m in client.replies(d, account)]


def test_inbox_limit_continues_from_its_cursor(emu: FacebookEmulator, account: Account) -> None:
    """With ``limit``, the read stops with ``more`` and the cursor continues with the rest,
    each comment once."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Count off"), account)
        said = [emu.audience("fan").comment(d.ids[0], f"n{i}") for i in range(7)]
        first = client.inbox(account, limit=4)
        assert [m.id for m in first.messages] == said[:4] and first.more
        rest = client.inbox(account, since=first.cursor, limit=4)
        assert [m.id for m in rest.messages] == said[4:] and not rest.more


def test_inbox_reads_visitor_posts_and_their_comments(
    emu: FacebookEmulator, account: Account
) -> None:
    """A post a visitor writes on the Page (its Page Feed, not its published posts) is
    someone writing to the brand: it comes as a mention, and the comments under it as
    comments, once each, in the one request of a sync."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Talk to us"), account)
        asked = emu.audience("ada").comment(d.ids[0], "Open on Sunday?")
        wall = emu.audience("bob").post("My order #123 never arrived, help!")
        below = emu.audience("cy").comment(wall, "Same here")
        page = client.inbox(account)
        assert page.requests == 1
        by_id = {m.id: m for m in page.messages}
        assert set(by_id) == {asked, wall, below}
        visitor = by_id[wall]
        assert (visitor.kind, visitor.author.name, visitor.text) == (
            "mention",
            "bob",
            "My order #123 never arrived, help!",
        )
        assert visitor.our_post is None and visitor.conversation == wall
        assert (by_id[below].kind, by_id[below].in_reply_to) == ("comment", wall)
        assert client.inbox(account, since=page.cursor).messages == ()
        client.reply(visitor, Post(text="Sorry Bob, we are on it."))
        assert emu.answers(wall) == ["Sorry Bob, we are on it."]


def test_inbox_limit_gives_visitor_posts_and_comments_once_each(
    emu: FacebookEmulator, account: Account
) -> None:
    """Read one at a time, the visitor posts and the comments all come, each once."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Talk to us"), account)
        said = []
        for i in range(3):
            emu.clock.advance(1)
            said.append(emu.audience(f"v{i}").post(f"wall {i}"))
            emu.clock.advance(1)
            said.append(emu.audience(f"c{i}").comment(d.ids[0], f"comment {i}"))
        got: list[str] = []
        cursor = None
        for _ in range(20):
            page = client.inbox(account, since=cursor, limit=1)
            got += [m.id for m in page.messages]
            cursor = page.cursor
            if not page.more and not page.messages:
                break
        assert sorted(got) == sorted(said) and len(got) == len(set(got))
