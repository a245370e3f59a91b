"""End to end over a real socket: brandkit's public API against the LinkedIn emulator."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Mapping
from urllib.parse import quote

import httpx
import pytest

from brandkit import (
    Account,
    AsyncClient,
    AuthError,
    Client,
    ContentError,
    DeliveryStatus,
    Link,
    Media,
    Post,
    Rejected,
    RetryPolicy,
)
from brandkit.governor import Governor
from brandkit.testing import png
from brandkit.testing.conformance import AdapterConformance
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST, video

LONG = " ".join(f"word{i}" for i in range(700))
TRICKY = "Launch (beta) [v2] {new} <soon> *now* _really_ ~almost~ | a\\b @ #AI #launch_day"


class TestLinkedInConformance(AdapterConformance):
    """The shared adapter suite, on LinkedIn."""

    platform = "linkedin"

    def inbox_requests(self, answers: int, mentions: int) -> int | None:
        """The author's recent posts (one page), the comments of the one post, 100 a page,
        and one page of the page's notifications for its mentions."""
        return 2 + max(1, -(-answers // 100))


@pytest.fixture
def emu() -> Iterator[LinkedInEmulator]:
    """An emulator on 127.0.0.1 (videos process for 0.3 s of its clock)."""
    emu = LinkedInEmulator(video_processing=0.3)
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: LinkedInEmulator) -> Account:
    """An organization page account."""
    return emu.account()


def creates(emu: LinkedInEmulator) -> int:
    """How many POST /rest/posts reached the emulator."""
    return emu.count("POST", r"/rest/posts")


# -- publishing ------------------------------------------------------------------------------------


def test_reserved_characters_arrive_whole(emu: LinkedInEmulator, account: Account) -> None:
    """Every reserved character is escaped: LinkedIn keeps the whole text, hashtags are
    templates, and the delivery has the post's URN and feed URL."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=TRICKY), account)
    assert d.status is DeliveryStatus.SENT, d.error
    (post,) = emu.posts
    assert post.text == TRICKY and not post.truncated
    assert "{hashtag|\\#|AI}" in post.commentary
    assert d.ids == [post.urn] and d.url == f"https://www.linkedin.com/feed/update/{post.urn}/"


def test_escaping_is_what_keeps_the_text(emu: LinkedInEmulator, account: Account) -> None:
    """The same text sent raw (as a naive client does) is cut at "(" although LinkedIn
    answers 201; sent by brandkit it is whole."""
    headers = {
        "authorization": f"Bearer {account.secret('token')}",
        "linkedin-version": str(account.settings["version"]),
        "x-restli-protocol-version": "2.0.0",
    }
    body = {
        "author": account.settings["author"],
        "commentary": TRICKY,
        "visibility": "PUBLIC",
        "distribution": {"feedDistribution": "MAIN_FEED"},
        "lifecycleState": "PUBLISHED",
    }
    with httpx.Client(base_url=emu.base_url, headers=headers) as raw:
        assert raw.post("/rest/posts", json=body).status_code == 201
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=TRICKY), account)
    naive, ours = emu.posts
    assert naive.truncated and naive.text == "Launch "
    assert d.ok and ours.text == TRICKY


def test_image_multi_image_and_video(emu: LinkedInEmulator, account: Account) -> None:
    """One image with alt text, three as a multiImage, and a video that is processed before
    the post is made."""
    one = (Media.from_bytes(png(), alt="a purple square"),)
    three = tuple(Media.from_bytes(png(8 + i, 6), alt=f"picture {i}") for i in range(3))
    with Client(retry=FAST) as client:
        (a,) = client.publish(Post(text="one", media=one), account)
        (b,) = client.publish(Post(text="three", media=three), account)
        (c,) = client.publish(Post(text="film", media=(video(50_000),)), account)
    assert a.ok and b.ok and c.ok, (a.error, b.error, c.error)
    first, second, third = emu.posts
    assert first.content == {
        "media": {"id": first.content["media"]["id"], "altText": "a purple square"}  # type: ignore[index]
    }
    images = second.content["multiImage"]["images"]  # type: ignore[index]
    assert [i["altText"] for i in images] == ["picture 0", "picture 1", "picture 2"]
    assert third.content is not None and third.content["media"]["id"].startswith("urn:li:video:")
    assert emu.count("GET", r"/rest/videos/.+") >= 1
    assert creates(emu) == 3  # none refused for unprocessed media


def test_link_card_becomes_an_article(emu: LinkedInEmulator, account: Account) -> None:
    """A link with a thumbnail is an article; the thumbnail is uploaded first."""
    link = Link(
        url="https://example.com/launch",
        title="Launch",
        description="All about it",
        thumbnail=Media.from_bytes(png(), alt="cover"),
    )
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Read this", link=link, utm=False), account)
    assert d.ok, d.error
    article = emu.posts[0].content["article"]  # type: ignore[index]
    assert article["source"] == "https://example.com/launch" and article["title"] == "Launch"
    assert article["thumbnail"].startswith("urn:li:image:")


def test_long_text_is_refused_before_anything_is_sent(
    emu: LinkedInEmulator, account: Account
) -> None:
    """LinkedIn has no threads: over 3000 characters fails with a ContentError, nothing sent."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text=LONG), account)
    assert d.status is DeliveryStatus.FAILED and isinstance(d.error, ContentError)
    assert "3000" in str(d.error) and emu.count() == 0


def test_delete(emu: LinkedInEmulator, account: Account) -> None:
    """Deleting removes the post; deleting again is fine."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="short-lived"), account)
        client.delete(d)
        again = client.delete(d)
    assert again.status is DeliveryStatus.DELETED and emu.post_texts() == []


def test_metrics_grow_in_one_request_per_batch(emu: LinkedInEmulator, account: Account) -> None:
    """Three posts' statistics come in one request; a later snapshot shows more."""
    with Client(retry=FAST) as client:
        deliveries = [client.publish(Post(text=f"post {i}"), account)[0] for i in range(3)]
        refs = [p for d in deliveries for p in d.parts]
        first = client.collect_refs(account, refs)
        emu.clock.advance(12 * 3600)
        emu.engage(refs[0].id, likeCount=5)
        second = client.collect([*deliveries])
    assert emu.count("GET", r"/rest/organizationalEntityShareStatistics") == 2

    def by_post(samples: list, metric: str) -> dict[str | None, float | None]:  # type: ignore[type-arg]
        return {s.post_id: s.value for s in samples if s.metric == metric}

    assert set(by_post(first, "impressions").values()) == {0}
    later = by_post(second, "impressions")
    assert all(v and v > 0 for v in later.values())
    likes = by_post(second, "likes")
    assert likes[refs[0].id] == emu.statistics(refs[0].id)["likeCount"]
    assert {s.metric for s in second} == {
        "impressions",
        "reach",
        "link_clicks",
        "likes",
        "replies",
        "reposts",
    }


def test_member_posts_metrics_are_unavailable(emu: LinkedInEmulator) -> None:
    """A member's post metrics come back unavailable with the reason, without a request;
    their followers come from memberFollowersCount."""
    member = emu.account(author="person", followers=40, followers_per_day=0)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="as myself"), member)
        samples = client.collect_refs(member, d.parts)
        (followers,) = client.collect_account(member)
    assert d.ok and samples and all(not s.available for s in samples)
    assert "r_member_postAnalytics" in (samples[0].reason or "")
    assert emu.count("GET", r"/rest/organizationalEntityShareStatistics") == 0
    assert followers.value == 40


def test_organization_followers(emu: LinkedInEmulator) -> None:
    """A page's followers from networkSizes, growing with the clock."""
    acct = emu.account(followers=1000, followers_per_day=100)
    with Client(retry=FAST) as client:
        (before,) = client.collect_account(acct)
        emu.clock.advance(86400 * 3)
        (after,) = client.collect_account(acct)
    assert (before.value, after.value) == (1000, 1300)


# -- tokens and versions ---------------------------------------------------------------------------


def test_expired_token_is_refreshed_and_the_hook_called(emu: LinkedInEmulator) -> None:
    """An expired token: 401, refresh at the OAuth endpoint, the hook gets the new token,
    the post is made once."""
    changed: list[Mapping[str, str]] = []
    acct = emu.account(on_credentials_changed=lambda a, c: changed.append(c))
    old = acct.secret("token")
    emu.expire_tokens()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="after refresh"), acct)
    assert d.status is DeliveryStatus.SENT, d.error
    assert len(changed) == 1 and changed[0]["token"] != old
    assert acct.secret("token") == changed[0]["token"]
    assert emu.count("POST", r"/oauth/v2/accessToken") == 1 and emu.post_texts() == [
        "after refresh"
    ]


def test_revoked_grant_fails_with_auth_error(emu: LinkedInEmulator) -> None:
    """Revoked tokens: the refresh is refused; the delivery fails with AuthError and no
    secret shows anywhere."""
    acct = emu.account()
    emu.revoke_tokens()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="nope"), acct)
    assert d.status is DeliveryStatus.FAILED and isinstance(d.error, AuthError)
    assert "authorize the app again" in str(d.error)
    for name in acct.secret_names:
        secret = acct.secret(name) or ""
        assert (
            secret not in str(d.error) and secret not in repr(d) and secret not in str(d.to_dict())
        )


def test_inactive_version_fails_with_advice(emu: LinkedInEmulator) -> None:
    """An inactive LinkedIn-Version: 426 NONEXISTENT_VERSION, failed, saying what to set."""
    acct = emu.account(version="202512")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="x"), acct)
    assert isinstance(d.error, Rejected) and d.error.code == "NONEXISTENT_VERSION"
    assert "Account.linkedin(version=" in str(d.error)


# -- faults ----------------------------------------------------------------------------------------


def test_bare_429_is_backed_off_and_retried(emu: LinkedInEmulator, account: Account) -> None:
    """A daily quota spent: LinkedIn's bare 429 carries no reset; the governor backs off
    and the post goes through when the window turns."""
    emu.set_quota("post", 1, 1.0)
    governor = Governor(backoff_base=0.05, backoff_cap=0.4, rng=random.Random(7))
    # Enough attempts that the jittered backoffs (capped at 0.4 s) surely span the rest of
    # the 1-second window, however fast the emulator answers.
    policy = RetryPolicy(attempts=40, initial=0.01, max_backoff=0.05)
    time.sleep(1.0 - time.time() % 1.0 + 0.02)  # quota windows are aligned like LinkedIn's
    with Client(retry=policy, governor=governor) as client:
        (a,) = client.publish(Post(text="first"), account)
        (b,) = client.publish(Post(text="second"), account)
    assert a.ok and b.ok, (a.error, b.error)
    assert emu.post_texts() == ["first", "second"]
    assert creates(emu) >= 3  # at least one refused attempt in between


def test_server_error_on_create_is_looked_up_then_retried(
    emu: LinkedInEmulator, account: Account
) -> None:
    """A 500 on the create (nothing stored): the author's posts are read, the post is not
    there, so it is created again: one post, sent."""
    emu.fault(method="POST", path=r"/rest/posts", status=500)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="after a hiccup"), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["after a hiccup"] and creates(emu) == 2
    assert emu.count("GET", r"/rest/posts") == 1


def test_dropped_after_store_is_found_not_duplicated(
    emu: LinkedInEmulator, account: Account
) -> None:
    """The connection dies after LinkedIn stored the post: the read-back finds it; exactly
    one post, delivery sent with its URN."""
    emu.fault(method="POST", path=r"/rest/posts", drop="after")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="exactly (once)"), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["exactly (once)"] and d.ids == [emu.posts[0].urn]


def test_member_without_read_scope_ends_unknown(emu: LinkedInEmulator) -> None:
    """A member cannot read posts back without r_member_social: a lost answer stays
    unknown (with LinkedIn's 403), and nothing is posted twice; with the scope it is found."""
    plain = emu.account(author="person")
    emu.fault(method="POST", path=r"/rest/posts", drop="after")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="mine"), plain)
    assert d.status is DeliveryStatus.UNKNOWN and isinstance(d.error, AuthError)
    reader = emu.account(author="person", scopes=["w_member_social", "r_member_social"])
    emu.fault(method="POST", path=r"/rest/posts", drop="after")
    with Client(retry=FAST) as client:
        (e,) = client.publish(Post(text="also mine"), reader)
    assert e.status is DeliveryStatus.SENT, e.error
    assert emu.post_texts() == ["mine", "also mine"]


def test_duplicate_content_of_another_delivery_fails(
    emu: LinkedInEmulator, account: Account
) -> None:
    """Publishing the same content again as another delivery: LinkedIn's 422 names the live
    post, which is the first delivery's, not this one's: the second fails with it named;
    there is still one post."""
    with Client(retry=FAST) as client:
        (a,) = client.publish(Post(text="same words"), account)
        (b,) = client.publish(Post(text="same words"), account)
    assert a.ok and b.status is DeliveryStatus.FAILED
    assert isinstance(b.error, Rejected) and b.error.existing_id == a.ids[0]
    assert b.parts == [] and len(emu.posts) == 1


def test_permanent_rejection_fails_with_linkedins_message(
    emu: LinkedInEmulator, account: Account
) -> None:
    """A 422 is not retried: failed, with LinkedIn's own message."""
    message = "ERROR :: /commentary :: Content violates policy"
    emu.fault(
        method="POST",
        path=r"/rest/posts",
        status=422,
        body={"status": 422, "code": "UNPROCESSABLE_ENTITY", "message": message},
    )
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="x"), account)
    assert d.status is DeliveryStatus.FAILED and isinstance(d.error, Rejected)
    assert d.error.platform_message == message and creates(emu) == 1


def test_unknown_delivery_is_reconciled_later(emu: LinkedInEmulator, account: Account) -> None:
    """Every answer lost: unknown; delivering again reads back and ends sent, one post."""
    emu.fault(method="POST", path=r"/rest/posts", drop="after", times=20)
    emu.fault(method="GET", path=r"/rest/posts", drop="before", times=20)
    policy = RetryPolicy(attempts=2, initial=0.01, max_backoff=0.02)
    with Client(retry=policy) as client:
        (d,) = client.publish(Post(text="lost answers"), account)
        assert d.status is DeliveryStatus.UNKNOWN
        emu.clear_faults()
        again = client.deliver(d, account)
    assert again.status is DeliveryStatus.SENT, again.error
    assert emu.post_texts() == ["lost answers"] and again.ids == [emu.posts[0].urn]


# -- async -----------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_publish_media_metrics_delete(emu: LinkedInEmulator, account: Account) -> None:
    """AsyncClient: a media post and a text post, metrics, followers, delete."""
    async with AsyncClient(retry=FAST) as client:
        (m,) = await client.publish(
            Post(text="async (pic)", media=(Media.from_bytes(png(), alt="async alt"),)), account
        )
        (t,) = await client.publish(Post(text="async #text"), account)
        assert m.ok and t.ok, (m.error, t.error)
        samples = await client.collect_refs(account, [*m.parts, *t.parts])
        (followers,) = await client.collect_account(account)
        await client.delete(m)
    assert emu.post_texts() == ["async #text"]
    assert {s.post_id for s in samples} == {m.ids[0], t.ids[0]}
    assert followers.metric == "followers"


@pytest.mark.anyio
async def test_async_refresh_drop_and_duplicate(emu: LinkedInEmulator) -> None:
    """AsyncClient: an expired token is refreshed, a dropped answer is found, a duplicate of
    another delivery's post fails naming it."""
    changed: list[Mapping[str, str]] = []
    acct = emu.account(on_credentials_changed=lambda a, c: changed.append(c))
    emu.expire_tokens()
    async with AsyncClient(retry=FAST) as client:
        (a,) = await client.publish(Post(text="one"), acct)
        emu.fault(method="POST", path=r"/rest/posts", drop="after")
        (b,) = await client.publish(Post(text="two"), acct)
        (c,) = await client.publish(Post(text="two"), acct)
    assert a.ok and b.ok, (a.error, b.error)
    assert isinstance(c.error, Rejected) and c.error.existing_id == b.ids[0]
    assert len(changed) == 1 and c.parts == []
    assert emu.post_texts() == ["one", "two"]


def test_urns_in_paths_are_encoded(emu: LinkedInEmulator, account: Account) -> None:
    """Every URN brandkit puts in a path is percent-encoded, as Rest.li 2.0 wants."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="enc", media=(Media.from_bytes(png(), alt="x"),)), account)
        client.delete(d)
    paths = [r.url.raw_path.decode() for r in emu.requests if "/rest/" in r.url.path]
    with_urn = [p for p in paths if "urn" in p.split("?")[0]]
    assert with_urn and all(":" not in p.split("?")[0] for p in with_urn)
    assert f"/rest/posts/{quote(d.ids[0], safe='')}" in paths


def test_a_lookup_never_takes_a_post_another_delivery_recorded(
    emu: LinkedInEmulator, account: Account
) -> None:
    """Two images without commentary one after the other: the second one's create answered
    500 with nothing stored. The author's posts since the attempt match both (same empty
    text, same kind of content), so the first was taken for the second, which was never
    posted. A post this client recorded for another delivery is never taken: the second
    image is posted."""
    image = Media.from_bytes(png(), alt="one")
    with Client(retry=FAST) as client:
        (first,) = client.publish(Post(text="", media=[image]), account)
        emu.fault(method="POST", path=r"/rest/posts", status=500)
        (second,) = client.publish(Post(text="", media=[image]), account)
    assert first.status is DeliveryStatus.SENT, first.error
    assert second.status is DeliveryStatus.SENT, second.error
    assert len(emu.posts) == 2 and first.ids != second.ids
