"""Threads flows with canned answers (no I/O): containers, replies, quotas, reconciliation."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from brandkit import Account, Link, Media
from brandkit._flow import Flow, Send, Wait
from brandkit.delivery import new_tid
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
)
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms.threads import ThreadsAdapter
from brandkit.testing import TINY_JPEG, png
from tests.facebook.conftest import Canned, answer, graph_error, rendered

BASE = "https://threads.example"
USER = "18000000000000001"


def account(host: Any = None, **kw: Any) -> Account:
    """A Threads account on a made-up host."""
    return Account.threads(
        user_id=USER,
        token="th-token-secret",
        media_host=host if host is not None else (lambda m: f"https://cdn.example/{m.filename}"),
        base_url=BASE,
        **kw,
    )


def drive(flow: Flow[Any], respond: Canned) -> tuple[Any, list[str]]:
    """Run a flow like run_flow, also returning the bucket of every Send."""
    buckets: list[str] = []
    try:
        step = next(flow)
        while True:
            if isinstance(step, Send):
                buckets.append(step.bucket)
                step = flow.send(respond(step.request))
            else:
                assert isinstance(step, Wait)
                step = flow.send(httpx.Response(204))
    except StopIteration as stop:
        return stop.value, buckets


def limit(posts: int = 0, replies: int = 0) -> tuple[str, str, httpx.Response]:
    """A threads_publishing_limit answer."""
    body = {
        "data": [
            {
                "quota_usage": posts,
                "config": {"quota_total": 250, "quota_duration": 86400},
                "reply_quota_usage": replies,
                "reply_config": {"quota_total": 1000, "quota_duration": 86400},
            }
        ]
    }
    return ("GET", rf"/v1\.0/{USER}/threads_publishing_limit", answer(200, body))


def status(cid: str, state: str, message: str | None = None) -> tuple[str, str, httpx.Response]:
    """A container status answer (Meta's troubleshooting example shape)."""
    body: dict[str, Any] = {"status": state, "id": cid}
    if message:
        body["error_message"] = message
    return ("GET", rf"/v1\.0/{cid}", answer(200, body))


def publish(media_id: str) -> list[tuple[str, str, httpx.Response]]:
    """threads_publish then the permalink read."""
    return [
        ("POST", rf"/v1\.0/{USER}/threads_publish", answer(200, {"id": media_id})),
        (
            "GET",
            rf"/v1\.0/{media_id}",
            answer(
                200, {"permalink": f"https://www.threads.net/@b/post/{media_id}", "id": media_id}
            ),
        ),
    ]


def test_text_post_with_link_attachment() -> None:
    """A text post: quota, a TEXT container with the link preview, status, one publish on
    the publish bucket, permalink; the quota left is in extra."""
    adapter = ThreadsAdapter(account())
    post = rendered("threads", "Hello 👋", link=Link(url="https://example.com/x"))
    canned = Canned(
        limit(posts=4),
        ("POST", rf"/v1\.0/{USER}/threads", answer(200, {"id": "c1"})),
        status("c1", "FINISHED"),
        *publish("p1"),
    )
    ref, buckets = drive(
        adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), canned
    )
    assert (ref.id, ref.url) == ("p1", "https://www.threads.net/@b/post/p1")
    assert ref.extra == {"container_id": "c1", "quota_total": 250, "quota_remaining": 245}
    assert canned.form(1) == {
        "text": "Hello 👋",
        "media_type": "TEXT",
        "link_attachment": "https://example.com/x",
    }
    assert canned.form(3) == {"creation_id": "c1"}
    assert buckets[3] == "publish"
    assert canned.requests[0].url.path == f"/v1.0/{USER}/threads_publishing_limit"


def test_reply_part_replies_to_its_parent() -> None:
    """A later part is a reply (reply_to_id = the previous part), counted on the reply
    quota and bucket, without the link preview."""
    adapter = ThreadsAdapter(account())
    post = rendered("threads", "one", "two", link=Link(url="https://example.com/x"))
    ctx = ThreadContext(new_tid(), previous=(PartRef(index=0, id="p1"),))
    canned = Canned(
        limit(replies=999),
        ("POST", rf"/v1\.0/{USER}/threads", answer(200, {"id": "c2"})),
        status("c2", "FINISHED"),
        *publish("p2"),
    )
    ref, buckets = drive(adapter.publish_part(post, post.parts[1], ctx), canned)
    assert ref.id == "p2" and ref.extra["quota_remaining"] == 0
    assert canned.form(1) == {"text": "two", "reply_to_id": "p1", "media_type": "TEXT"}
    assert buckets[3] == "reply"


def test_reply_quota_used_up_is_rate_limited() -> None:
    """With 1,000 replies in 24 hours, a reply part is RateLimited on the reply bucket."""
    adapter = ThreadsAdapter(account())
    post = rendered("threads", "one", "two")
    ctx = ThreadContext(new_tid(), previous=(PartRef(index=0, id="p1"),))
    with pytest.raises(RateLimited) as err:
        drive(adapter.publish_part(post, post.parts[1], ctx), Canned(limit(replies=1000)))
    assert err.value.bucket == "threads:reply"


def test_image_carousel_and_video() -> None:
    """One image is an IMAGE container with alt text; several media are carousel items
    (each finished first) under a CAROUSEL parent."""
    adapter = ThreadsAdapter(account())
    one = rendered(
        "threads", "pic", media=(Media.from_bytes(png(), alt="square", filename="a.png"),)
    )
    canned = Canned(
        limit(),
        ("POST", rf"/v1\.0/{USER}/threads", answer(200, {"id": "i1"})),
        status("i1", "IN_PROGRESS"),
        status("i1", "FINISHED"),
        *publish("p1"),
    )
    drive(adapter.publish_part(one, one.parts[0], ThreadContext(new_tid())), canned)
    assert canned.form(1) == {
        "text": "pic",
        "media_type": "IMAGE",
        "image_url": "https://cdn.example/a.png",
        "alt_text": "square",
    }
    media = (
        Media.from_bytes(TINY_JPEG, alt="x", filename="x.jpg"),
        Media.from_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\0" * 20, filename="v.mp4"),
    )
    many = rendered("threads", "two things", media=media)
    canned = Canned(
        limit(),
        ("POST", rf"/v1\.0/{USER}/threads", answer(200, {"id": "k1"})),
        ("POST", rf"/v1\.0/{USER}/threads", answer(200, {"id": "k2"})),
        status("k1", "FINISHED"),
        status("k2", "FINISHED"),
        ("POST", rf"/v1\.0/{USER}/threads", answer(200, {"id": "par"})),
        status("par", "FINISHED"),
        *publish("p2"),
    )
    drive(adapter.publish_part(many, many.parts[0], ThreadContext(new_tid())), canned)
    assert canned.form(1)["is_carousel_item"] == "true" and canned.form(1)["alt_text"] == "x"
    assert canned.form(2)["media_type"] == "VIDEO" and canned.form(2)["video_url"].endswith("v.mp4")
    assert canned.form(5) == {"media_type": "CAROUSEL", "children": "k1,k2", "text": "two things"}


def test_container_error_carries_the_error_message() -> None:
    """A container in ERROR fails the part with Threads' error_message as message and
    code."""
    adapter = ThreadsAdapter(account())
    post = rendered(
        "threads",
        "v",
        media=(Media.from_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\0" * 20, filename="v.mp4"),),
    )
    canned = Canned(
        limit(),
        ("POST", rf"/v1\.0/{USER}/threads", answer(200, {"id": "e"})),
        status("e", "ERROR", "FAILED_DOWNLOADING_VIDEO"),
    )
    with pytest.raises(Rejected) as err:
        drive(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), canned)
    assert err.value.platform_message == "FAILED_DOWNLOADING_VIDEO"
    assert err.value.code == "FAILED_DOWNLOADING_VIDEO"


def test_media_host_needed_only_for_media() -> None:
    """A text post needs no media_host; a media post without one is a ConfigurationError
    before any request."""
    acct = Account.threads(user_id=USER, token="t", base_url=BASE)
    adapter = ThreadsAdapter(acct)
    post = rendered("threads", "pic", media=(Media.from_bytes(png(), alt="x"),))
    with pytest.raises(ConfigurationError, match="media_host"):
        drive(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), Canned())
    text = rendered("threads", "words")
    canned = Canned(
        limit(),
        ("POST", rf"/v1\.0/{USER}/threads", answer(200, {"id": "c"})),
        status("c", "FINISHED"),
        *publish("p"),
    )
    assert (
        drive(adapter.publish_part(text, text.parts[0], ThreadContext(new_tid())), canned)[0].id
        == "p"
    )


def _listing(text: str, post_id: str, parent: str | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": post_id,
        "text": text,
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
        "permalink": f"https://www.threads.net/@b/post/{post_id}",
        "is_reply": parent is not None,
    }
    if parent:
        item["replied_to"] = {"id": parent}
    other = dict(item, id="other", replied_to={"id": "someone-else"})
    return {"data": [other, item] if parent else [item]}


def test_find_published_reply_by_container_and_replies() -> None:
    """An ambiguous publish of a reply: the container says PUBLISHED, and the reply is
    found in /replies by text and reply target (not another reply with the same text)."""
    adapter = ThreadsAdapter(account())
    post = rendered("threads", "one", "two")
    ctx = ThreadContext(new_tid(), previous=(PartRef(index=0, id="p1"),))
    adapter._containers[ctx.key] = "c9"
    canned = Canned(
        status("c9", "PUBLISHED"),
        ("GET", rf"/v1\.0/{USER}/replies", answer(200, _listing("two", "p2", "p1"))),
    )
    ref, _ = drive(adapter.find_part(post, post.parts[1], ctx), canned)
    assert ref is not None and ref.id == "p2" and ref.extra == {"container_id": "c9"}


def test_find_published_but_unlisted_keeps_the_container() -> None:
    """A container that says PUBLISHED while its post is not listed yet is no answer either
    way: PlatformUnavailable says to reconcile later, and the container is kept so that the
    next find asks it again (never a second publish)."""
    adapter = ThreadsAdapter(account())
    post = rendered("threads", "root")
    ctx = ThreadContext(new_tid())
    adapter._containers[ctx.key] = "c4"
    canned = Canned(
        status("c4", "PUBLISHED"),
        ("GET", rf"/v1\.0/{USER}/threads", answer(200, _listing("else", "p8", None))),
    )
    with pytest.raises(PlatformUnavailable, match="container c4 is PUBLISHED but its post"):
        drive(adapter.find_part(post, post.parts[0], ctx), canned)
    assert adapter._containers[ctx.key] == "c4"
    canned = Canned(
        status("c4", "PUBLISHED"),
        ("GET", rf"/v1\.0/{USER}/threads", answer(200, _listing("root", "p9", None))),
    )
    ref, _ = drive(adapter.find_part(post, post.parts[0], ctx), canned)
    assert ref is not None and ref.id == "p9" and ref.extra == {"container_id": "c4"}
    assert ctx.key not in adapter._containers


def test_find_without_container_reads_threads() -> None:
    """Without a known container a root part is looked for in /threads; no match is None."""
    adapter = ThreadsAdapter(account())
    post = rendered("threads", "root")
    canned = Canned(("GET", rf"/v1\.0/{USER}/threads", answer(200, _listing("root", "p7", None))))
    ref, _ = drive(adapter.find_part(post, post.parts[0], ThreadContext(new_tid())), canned)
    assert ref is not None and ref.id == "p7"
    canned = Canned(("GET", rf"/v1\.0/{USER}/threads", answer(200, _listing("else", "p8", None))))
    assert (
        drive(adapter.find_part(post, post.parts[0], ThreadContext(new_tid())), canned)[0] is None
    )


def test_refresh_uses_th_refresh_token() -> None:
    """A token near its expiry is refreshed with th_refresh_token before publishing; the
    hook is called."""
    changed: list[Mapping[str, str]] = []
    acct = account(on_credentials_changed=lambda a, c: changed.append(c))
    adapter = ThreadsAdapter(acct)
    adapter.clock = lambda: 5_000_000.0
    acct.settings["token_expires_at"] = 5_000_000.0 + 86400
    canned = Canned(
        (
            "GET",
            r"/refresh_access_token",
            answer(
                200, {"access_token": "renewed", "token_type": "bearer", "expires_in": 5_184_000}
            ),
        )
    )
    drive(adapter.prepare(), canned)
    assert changed == [{"token": "renewed"}]
    assert canned.requests[0].url.params["grant_type"] == "th_refresh_token"
    assert canned.requests[0].headers["authorization"] == "Bearer th-token-secret"


def test_refused_refresh_is_an_auth_error() -> None:
    """Meta refusing the refresh (an expired token) is an AuthError telling to authorise
    again."""
    acct = account()
    adapter = ThreadsAdapter(acct)
    adapter.clock = lambda: 5_000_000.0
    acct.settings["token_expires_at"] = 5_000_000.0 + 100
    canned = Canned(
        (
            "GET",
            r"/refresh_access_token",
            graph_error(400, 190, "Error validating access token", 463),
        )
    )
    with pytest.raises(AuthError, match="authorise the app again"):
        drive(adapter.prepare(), canned)


def test_link_limit_refusal_keeps_metas_words() -> None:
    """THREADS_API__LINK_LIMIT_EXCEEDED at container creation is a Rejected with it."""
    adapter = ThreadsAdapter(account())
    err = adapter.error_for(graph_error(400, 100, "THREADS_API__LINK_LIMIT_EXCEEDED"))
    assert isinstance(err, Rejected) and err.platform_message == "THREADS_API__LINK_LIMIT_EXCEEDED"


def test_metrics_one_read_per_post_and_gone_posts() -> None:
    """Each post's insights is one read; the six metrics map to canonical names; a post
    that is gone gives unavailable samples; another refusal raises."""
    adapter = ThreadsAdapter(account())
    body = {
        "data": [
            {
                "name": name,
                "period": "lifetime",
                "values": [{"value": v}],
                "id": f"p/insights/{name}",
            }
            for name, v in (
                ("views", 90),
                ("likes", 9),
                ("replies", 2),
                ("reposts", 1),
                ("quotes", 0),
                ("shares", 3),
            )
        ]
    }
    gone = graph_error(400, 100, "Unsupported get request.", 33)
    canned = Canned(
        ("GET", r"/v1\.0/p1/insights", answer(200, body)), ("GET", r"/v1\.0/p2/insights", gone)
    )
    samples, _ = drive(
        adapter.collect_metrics([PartRef(index=0, id="p1"), PartRef(index=1, id="p2")]), canned
    )
    got = {s.metric: s.value for s in samples if s.post_id == "p1"}
    assert got == {
        "impressions": 90,
        "likes": 9,
        "replies": 2,
        "reposts": 1,
        "quotes": 0,
        "shares": 3,
    }
    assert canned.requests[0].url.params["metric"] == "views,likes,replies,reposts,quotes,shares"
    assert all(not s.available and s.reason for s in samples if s.post_id == "p2")
    with pytest.raises(AuthError):
        drive(
            adapter.collect_metrics([PartRef(index=0, id="p3")]),
            Canned(("GET", r"/v1\.0/p3/insights", graph_error(400, 190, "expired", 463))),
        )


def test_followers_from_threads_insights_total_value() -> None:
    """followers_count comes from threads_insights' total_value."""
    adapter = ThreadsAdapter(account())
    body = {
        "data": [
            {
                "name": "followers_count",
                "period": "day",
                "total_value": {"value": 4321},
                "id": f"{USER}/insights/followers_count",
            }
        ]
    }
    (sample,), _ = drive(
        adapter.collect_account_metrics(),
        Canned(("GET", rf"/v1\.0/{USER}/threads_insights", answer(200, body))),
    )
    assert (sample.metric, sample.value, sample.post_id) == ("followers", 4321, None)


def test_delete_on_the_delete_bucket() -> None:
    """DELETE counts on the delete bucket (100 per 24 hours); a gone post is fine."""
    adapter = ThreadsAdapter(account())
    _, buckets = drive(
        adapter.delete_part(PartRef(index=0, id="p1")),
        Canned(("DELETE", r"/v1\.0/p1", answer(200, {"success": True}))),
    )
    assert buckets == ["delete"]
    drive(
        adapter.delete_part(PartRef(index=0, id="p1")),
        Canned(
            ("DELETE", r"/v1\.0/p1", graph_error(400, 100, "Unsupported delete", 33)),
            ("GET", r"/v1\.0/p1", graph_error(400, 100, "Unsupported get", 33)),
        ),
    )
