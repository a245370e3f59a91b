"""Instagram flows with canned Graph answers (no I/O): containers, quota, reconciliation."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from brandkit import Account, Media
from brandkit._flow import Wait, run_flow
from brandkit.delivery import new_tid
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    PlatformUnavailable,
    RateLimited,
    Rejected,
)
from brandkit.metrics import Metric
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms.instagram import InstagramAdapter
from brandkit.testing import TINY_JPEG
from tests.facebook.conftest import Canned, answer, graph_error, real, rendered

BASE = "https://graph.example"
IG = "17841400000000001"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\0" * 64


class Host:
    """A media host that records what it was asked to host."""

    def __init__(self) -> None:
        self.hosted: list[Media] = []

    def __call__(self, media: Media) -> str:
        self.hosted.append(media)
        return f"https://cdn.example/{len(self.hosted)}.{media.filename.rsplit('.', 1)[-1]}"


def account(host: Any = None, **kw: Any) -> Account:
    """An Instagram account on a made-up Graph host."""
    return Account.instagram(
        ig_user_id=IG, token="ig-token-secret", media_host=host or Host(), base_url=BASE, **kw
    )


def quota(used: int = 0, total: int = 100) -> tuple[str, str, httpx.Response]:
    """A content_publishing_limit answer."""
    body = {
        "data": [{"config": {"quota_total": total, "quota_duration": 86400}, "quota_usage": used}]
    }
    return ("GET", rf"/v25\.0/{IG}/content_publishing_limit", answer(200, body))


def status(cid: str, code: str, text: str = "") -> tuple[str, str, httpx.Response]:
    """A container status answer."""
    return (
        "GET",
        rf"/v25\.0/{cid}",
        answer(200, {"id": cid, "status_code": code, "status": text or code}),
    )


def published(media_id: str) -> list[tuple[str, str, httpx.Response]]:
    """media_publish then the permalink read."""
    return [
        ("POST", rf"/v25\.0/{IG}/media_publish", answer(200, {"id": media_id})),
        (
            "GET",
            rf"/v25\.0/{media_id}",
            answer(200, {"permalink": f"https://ig.example/{media_id}", "id": media_id}),
        ),
    ]


def image(alt: str = "grey") -> Media:
    """A tiny JPEG."""
    return Media.from_bytes(TINY_JPEG, alt=alt, filename="grey.jpg")


def test_single_image_container_flow_on_real_bodies() -> None:
    """Quota, container (image_url from the media host, caption, alt_text), status, publish
    once, permalink: every answer is a real Graph body; the quota left is reported."""
    host = Host()
    adapter = InstagramAdapter(account(host))
    post = rendered("instagram", "Caption #one", media=(image(),))
    container = real("instagram/apidata/publish/create_photo.json")["id"]
    info = real("instagram/apidata/publish/container_info.json")
    info["id"] = container
    media_id = real("instagram/apidata/publish/publish_container.json")["id"]
    limit = real("instagram/apidata/users/content_publish_limit.json")
    canned = Canned(
        ("GET", rf"/v25\.0/{IG}/content_publishing_limit", answer(200, limit)),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": container})),
        ("GET", rf"/v25\.0/{container}", answer(200, info)),
        *published(media_id),
    )
    ref = run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), canned)
    assert ref.id == media_id and ref.url == f"https://ig.example/{media_id}"
    assert ref.extra == {"container_id": container, "quota_total": 25, "quota_remaining": 24}
    assert canned.form(1) == {
        "image_url": "https://cdn.example/1.jpg",
        "caption": "Caption #one",
        "alt_text": "grey",
    }
    assert canned.form(3) == {"creation_id": container}
    assert [m.alt for m in host.hosted] == ["grey"]
    assert canned.requests[2].url.params["fields"] == "status_code,status"


def test_carousel_children_are_finished_before_the_parent() -> None:
    """A carousel: each child is a carousel item (images keep their alt text, videos are
    VIDEO items), every child is FINISHED before the CAROUSEL parent is made."""
    adapter = InstagramAdapter(account())
    media = (image("first"), Media.from_bytes(VIDEO, filename="v.mp4"), image("third"))
    post = rendered("instagram", "Three", media=media)
    canned = Canned(
        quota(),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": "c1"})),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": "c2"})),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": "c3"})),
        status("c1", "FINISHED"),
        status("c2", "IN_PROGRESS"),
        status("c2", "FINISHED"),
        status("c3", "FINISHED"),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": "parent"})),
        status("parent", "FINISHED"),
        *published("m1"),
    )
    ref = run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), canned)
    assert ref.id == "m1"
    assert canned.form(1) == {
        "image_url": "https://cdn.example/1.jpg",
        "is_carousel_item": "true",
        "alt_text": "first",
    }
    assert canned.form(2) == {
        "media_type": "VIDEO",
        "video_url": "https://cdn.example/2.mp4",
        "is_carousel_item": "true",
    }
    assert canned.form(8) == {"media_type": "CAROUSEL", "children": "c1,c2,c3", "caption": "Three"}


def test_single_video_is_a_reel_and_polling_waits() -> None:
    """One video is a REELS container; while it is IN_PROGRESS the flow waits (growing
    waits) and publishes only when FINISHED."""
    adapter = InstagramAdapter(account())
    post = rendered("instagram", "Reel", media=(Media.from_bytes(VIDEO, filename="v.mp4"),))
    canned = Canned(
        quota(),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": "r1"})),
        status("r1", "IN_PROGRESS"),
        status("r1", "IN_PROGRESS"),
        status("r1", "FINISHED"),
        *published("m9"),
    )
    flow = adapter.publish_part(post, post.parts[0], ThreadContext(new_tid()))
    waits: list[float] = []
    step = next(flow)
    try:
        while True:
            if isinstance(step, Wait):
                waits.append(step.seconds)
                step = flow.send(httpx.Response(204))
            else:
                step = flow.send(canned(step.request))
    except StopIteration as stop:
        ref = stop.value
    assert ref.id == "m9"
    assert len(waits) == 2 and waits[1] > waits[0]
    assert canned.form(1) == {
        "media_type": "REELS",
        "video_url": "https://cdn.example/1.mp4",
        "caption": "Reel",
        "share_to_feed": "true",
    }


def test_container_error_is_rejected_with_metas_status_and_not_reused() -> None:
    """A container that ends in ERROR fails the part with Meta's status text and its code;
    the next attempt makes a new container."""
    adapter = InstagramAdapter(account())
    post = rendered("instagram", "Broken", media=(image(),))
    ctx = ThreadContext(new_tid())
    text = "Error: Media upload has failed with error code 2207004"
    canned = Canned(
        quota(),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": "bad"})),
        status("bad", "ERROR", text),
    )
    with pytest.raises(Rejected) as err:
        run_flow(adapter.publish_part(post, post.parts[0], ctx), canned)
    assert err.value.platform_message == text and err.value.code == "2207004"
    again = Canned(
        quota(),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": "good"})),
        status("good", "FINISHED"),
        *published("m2"),
    )
    assert run_flow(adapter.publish_part(post, post.parts[0], ctx), again).id == "m2"


def test_expired_container_is_made_again_once() -> None:
    """An EXPIRED container (24 h) is replaced by a new one."""
    adapter = InstagramAdapter(account())
    post = rendered("instagram", "Late", media=(image(),))
    canned = Canned(
        quota(),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": "old"})),
        status("old", "EXPIRED"),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": "new"})),
        status("new", "FINISHED"),
        *published("m3"),
    )
    ref = run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), canned)
    assert ref.extra["container_id"] == "new"


def test_processing_that_never_ends_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container still IN_PROGRESS after poll_timeout gives PlatformUnavailable."""
    monkeypatch.setattr(InstagramAdapter, "poll_timeout", 0.1)
    adapter = InstagramAdapter(account())
    post = rendered("instagram", "Slow", media=(image(),))
    canned = Canned(
        quota(),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": "slow"})),
        *[status("slow", "IN_PROGRESS") for _ in range(20)],
    )
    with pytest.raises(PlatformUnavailable, match="still IN_PROGRESS"):
        run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), canned)


def test_quota_used_up_is_rate_limited_before_any_container() -> None:
    """With the 24-hour quota used (the live value, here the real body's 25), the part is
    RateLimited on the publish bucket and no container is made."""
    adapter = InstagramAdapter(account())
    limit = real("instagram/apidata/users/content_publish_limit.json")
    limit["data"][0]["quota_usage"] = 25
    canned = Canned(("GET", rf"/v25\.0/{IG}/content_publishing_limit", answer(200, limit)))
    post = rendered("instagram", "One too many", media=(image(),))
    with pytest.raises(RateLimited) as err:
        run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), canned)
    assert err.value.bucket == "instagram:publish"
    assert len(canned.requests) == 1


def test_media_host_is_required() -> None:
    """Without a callable media_host, prepare and publish raise ConfigurationError before
    any request; a host that returns no URL is refused too."""
    acct = Account.instagram(ig_user_id=IG, token="t", base_url=BASE)
    adapter = InstagramAdapter(acct)
    with pytest.raises(ConfigurationError, match="media_host"):
        run_flow(adapter.prepare(), Canned())
    post = rendered("instagram", "x", media=(image(),))
    with pytest.raises(ConfigurationError, match="media_host"):
        run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), Canned())
    bad = InstagramAdapter(account(host=lambda media: "file:///tmp/x.jpg"))
    with pytest.raises(ConfigurationError, match="http"):
        run_flow(bad.publish_part(post, post.parts[0], ThreadContext(new_tid())), Canned(quota()))


# -- reconciliation ----------------------------------------------------------------------------


def _media_page(caption: str, media_id: str, when: datetime) -> dict[str, Any]:
    body = real("instagram/apidata/users/medias_p1.json")
    item = dict(body["data"][0])
    item.update(id=media_id, caption=caption, timestamp=when.strftime("%Y-%m-%dT%H:%M:%S+0000"))
    body["data"] = [item, *body["data"]]
    del body["paging"]["next"]
    return body


def test_find_part_published_container_is_found_in_media() -> None:
    """After an ambiguous publish, a PUBLISHED container means it landed: the media is read
    back from /media (shape of a real page) and nothing is published again."""
    adapter = InstagramAdapter(account())
    post = rendered("instagram", "Landed", media=(image(),))
    ctx = ThreadContext(new_tid())
    first = Canned(
        quota(),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": "k1"})),
        status("k1", "FINISHED"),
        (
            "POST",
            rf"/v25\.0/{IG}/media_publish",
            graph_error(500, 2, "An unexpected error has occurred."),
        ),
    )
    with pytest.raises(PlatformUnavailable):
        run_flow(adapter.publish_part(post, post.parts[0], ctx), first)
    now = datetime.now(UTC)
    find = Canned(
        status("k1", "PUBLISHED"),
        ("GET", rf"/v25\.0/{IG}/media", answer(200, _media_page("Landed", "m77", now))),
    )
    ref = run_flow(adapter.find_part(post, post.parts[0], ctx), find)
    assert ref is not None and ref.id == "m77"
    assert ref.extra == {"container_id": "k1", "quota_total": 100, "quota_remaining": 99}
    assert "caption" in find.requests[1].url.params["fields"]


def test_find_part_finished_container_is_reused_not_remade() -> None:
    """A FINISHED container means the publish did not land: find_part says None and the
    next attempt publishes that same container (no new POST /media)."""
    adapter = InstagramAdapter(account())
    post = rendered("instagram", "Again", media=(image(),))
    ctx = ThreadContext(new_tid())
    first = Canned(
        quota(),
        ("POST", rf"/v25\.0/{IG}/media", answer(200, {"id": "k2"})),
        status("k2", "FINISHED"),
        ("POST", rf"/v25\.0/{IG}/media_publish", graph_error(503, 1, "Service unavailable")),
    )
    with pytest.raises(PlatformUnavailable):
        run_flow(adapter.publish_part(post, post.parts[0], ctx), first)
    assert (
        run_flow(adapter.find_part(post, post.parts[0], ctx), Canned(status("k2", "FINISHED")))
        is None
    )
    second = Canned(quota(), status("k2", "FINISHED"), *published("m5"))
    ref = run_flow(adapter.publish_part(post, post.parts[0], ctx), second)
    assert ref.id == "m5" and second.form(2) == {"creation_id": "k2"}


def test_publish_never_publishes_a_published_container() -> None:
    """If the container turns out PUBLISHED when publish_part runs again, the post is read
    back instead of published a second time."""
    adapter = InstagramAdapter(account())
    post = rendered("instagram", "Once", media=(image(),))
    ctx = ThreadContext(new_tid())
    adapter._containers[ctx.key] = "k3"
    canned = Canned(
        quota(),
        status("k3", "PUBLISHED"),
        ("GET", rf"/v25\.0/{IG}/media", answer(200, _media_page("Once", "m8", datetime.now(UTC)))),
    )
    assert run_flow(adapter.publish_part(post, post.parts[0], ctx), canned).id == "m8"
    assert not any(r.url.path.endswith("media_publish") for r in canned.requests)


def test_find_part_without_a_container_reads_back_by_caption() -> None:
    """In a new process (no container known), /media since the key's time is matched on
    the caption; an older post with the same caption is not taken."""
    adapter = InstagramAdapter(account())
    post = rendered("instagram", "Fresh", media=(image(),))
    ctx = ThreadContext(new_tid())
    old = datetime(2021, 1, 1, tzinfo=UTC)
    canned = Canned(("GET", rf"/v25\.0/{IG}/media", answer(200, _media_page("Fresh", "o", old))))
    assert run_flow(adapter.find_part(post, post.parts[0], ctx), canned) is None
    assert abs(int(canned.requests[0].url.params["since"]) - (time.time() - 600)) < 5


# -- errors, tokens, metrics --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status_code", "code", "subcode", "kind", "bucket"),
    [
        (400, 9, 2207042, RateLimited, "instagram:publish"),
        (400, 80002, None, RateLimited, "instagram:instagram"),
        (400, 4, None, RateLimited, "instagram:instagram"),
        (400, 9004, 2207052, Rejected, None),
        (400, 36003, 2207009, Rejected, None),
        (400, 190, 463, AuthError, None),
        (500, 2, None, PlatformUnavailable, None),
    ],
)
def test_instagram_error_codes(
    status_code: int, code: int, subcode: int | None, kind: type[Exception], bucket: str | None
) -> None:
    """Instagram's codes map to typed errors with Meta's message."""
    adapter = InstagramAdapter(account())
    response = graph_error(status_code, code, f"(#{code}) Instagram says no", subcode)
    response.request = httpx.Request("GET", f"{BASE}/v25.0/{IG}")
    err = adapter.error_for(response)
    assert type(err) is kind and err.platform_message == f"(#{code}) Instagram says no"
    if bucket is not None:
        assert isinstance(err, RateLimited) and err.bucket == bucket
    if code == 190:
        assert "token_expires_at" in str(err)


def test_user_message_is_kept_beside_the_message() -> None:
    """Meta's error_user_title and error_user_msg are part of the error text."""
    adapter = InstagramAdapter(account())
    body = {
        "error": {
            "message": "Only photo or video can be accepted as media type.",
            "code": 9004,
            "error_subcode": 2207052,
            "error_user_title": "Media download has failed.",
            "error_user_msg": "The media could not be fetched from this URI.",
        }
    }
    err = adapter.error_for(answer(400, body))
    assert "could not be fetched" in str(err)
    assert err.platform_message == "Only photo or video can be accepted as media type."


def test_token_is_refreshed_ahead_of_expiry() -> None:
    """A token within a week of token_expires_at is refreshed first (unversioned
    /refresh_access_token with ig_refresh_token); the hook gets it and the new expiry is
    on the account; far from expiry, or already expired, nothing is sent."""
    changed: list[Mapping[str, str]] = []
    acct = account(on_credentials_changed=lambda a, c: changed.append(c))
    adapter = InstagramAdapter(acct)
    adapter.clock = lambda: 1_000_000.0
    acct.settings["token_expires_at"] = 1_000_000.0 + 3 * 86400
    canned = Canned(
        (
            "GET",
            r"/refresh_access_token",
            answer(
                200, {"access_token": "new-token", "token_type": "bearer", "expires_in": 5_184_000}
            ),
        )
    )
    run_flow(adapter.prepare(), canned)
    assert changed == [{"token": "new-token"}]
    assert canned.requests[0].url.params["grant_type"] == "ig_refresh_token"
    assert acct.settings["token_expires_at"] == 1_000_000.0 + 5_184_000
    run_flow(adapter.prepare(), Canned())  # far from expiry now
    acct.settings["token_expires_at"] = 999_000.0
    run_flow(adapter.prepare(), Canned())  # expired: cannot be refreshed


def test_metrics_from_real_insights_bodies() -> None:
    """One batch for all posts; real insights bodies (old 'values' and new 'total_value'
    shapes) are read; retired metrics are not asked for and come back unavailable."""
    adapter = InstagramAdapter(account())
    adapter.media_metrics = (
        *InstagramAdapter.media_metrics,
        ("impressions", Metric.IMPRESSIONS),
        ("profile_activity", Metric.PROFILE_CLICKS),
    )
    old = real("instagram/apidata/medias/insights.json")
    new = real("instagram/apidata/medias/insights_new.json")

    def batch(request: httpx.Request) -> httpx.Response:
        return answer(
            200, [{"code": 200, "body": json.dumps(old)}, {"code": 200, "body": json.dumps(new)}]
        )

    canned = Canned(("POST", r"/v25\.0/", batch))
    refs = [PartRef(index=0, id="a"), PartRef(index=0, id="b")]
    samples = run_flow(adapter.collect_metrics(refs), canned)
    assert len(canned.requests) == 1
    urls = [item["relative_url"] for item in json.loads(canned.form(0)["batch"])]
    assert urls[0].startswith("a/insights?metric=views,reach") and "impressions" not in urls[0]
    a = {s.raw_name: s for s in samples if s.post_id == "a"}
    assert (a["reach"].value, a["saved"].value, a["saved"].metric) == (5, 0, "bookmarks")
    assert not a["views"].available and "no value" in (a["views"].reason or "")
    assert not a["impressions"].available and "v22.0" in (a["impressions"].reason or "")
    b = {s.raw_name: s for s in samples if s.post_id == "b"}
    assert b["profile_activity"].value == 11


def test_account_metrics_from_a_real_user_body() -> None:
    """followers_count of a real IG user body is the followers metric."""
    adapter = InstagramAdapter(account())
    body = real("instagram/apidata/users/user_fields.json")
    (sample,) = run_flow(
        adapter.collect_account_metrics(), Canned(("GET", rf"/v25\.0/{IG}", answer(200, body)))
    )
    assert (sample.metric, sample.value) == ("followers", 64363)


def test_delete_whole_post() -> None:
    """DELETE /{media-id}; one already gone is fine."""
    adapter = InstagramAdapter(account())
    ref = PartRef(index=0, id="m1")
    run_flow(
        adapter.delete_part(ref), Canned(("DELETE", r"/v25\.0/m1", answer(200, {"success": True})))
    )
    gone = graph_error(400, 100, "Unsupported delete request.", 33)
    unread = graph_error(400, 100, "Unsupported get request.", 33)
    run_flow(
        adapter.delete_part(ref),
        Canned(("DELETE", r"/v25\.0/m1", gone), ("GET", r"/v25\.0/m1", unread)),
    )
    with pytest.raises(Rejected):
        run_flow(
            adapter.delete_part(ref),
            Canned(("DELETE", r"/v25\.0/m1", graph_error(400, 100, "(#100) Other"))),
        )
