"""The LinkedIn flows with canned answers: requests, uploads, refresh, find, metrics, errors."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, unquote

import httpx
import pytest

from brandkit import Account, AuthError, ContentError, Link, Media
from brandkit._flow import Send, Wait, run_flow
from brandkit.content import Rendered
from brandkit.delivery import new_tid, tid_time
from brandkit.errors import MalformedResponse, PlatformUnavailable, RateLimited, Rejected
from brandkit.platforms._base import PartRef, ThreadContext
from brandkit.platforms.linkedin import LinkedInAdapter, little_text
from tests.linkedin.conftest import (
    BASE,
    ORG,
    PERSON,
    REFRESH,
    SECRET,
    TOKEN,
    Canned,
    answer,
    created,
    li_error,
    make_account,
    picture,
    rendered,
    video,
)

CTX = ThreadContext(key=new_tid())
SHARE = "urn:li:share:7300000000000000001"


def publish(adapter: LinkedInAdapter, post: Rendered, canned: Canned) -> PartRef:
    """Run publish_part of the post's part against canned answers."""
    return run_flow(adapter.publish_part(post, post.parts[0], CTX), canned)


def image_answers(urn: str = "urn:li:image:C4E1", *statuses: str) -> list[Any]:
    """initializeUpload, PUT, then one GET per status (AVAILABLE by default)."""
    upload = f"{BASE}/dms-uploads/sp/v2/x/uploaded-image/0"
    out: list[Any] = [
        ("POST", "/rest/images", answer(200, {"value": {"uploadUrl": upload, "image": urn}})),
        ("PUT", "/dms-uploads/sp/v2/x/uploaded-image/0", answer(201)),
    ]
    for status in statuses or ("AVAILABLE",):
        out.append(("GET", f"/rest/images/{urn}", answer(200, {"id": urn, "status": status})))
    return out


# -- create ---------------------------------------------------------------------------------------


def test_text_post_body_headers_and_ref(adapter: LinkedInAdapter) -> None:
    """The post body is escaped little text with the Rest.li headers; the URN comes from
    x-restli-id of the empty 201."""
    canned = Canned(("POST", "/rest/posts", created(SHARE)))
    ref = publish(adapter, rendered("Hi (all) #launch"), canned)
    request = canned.requests[0]
    assert request.headers["linkedin-version"] == "202608"
    assert request.headers["x-restli-protocol-version"] == "2.0.0"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert canned.body(0) == {
        "author": ORG,
        "commentary": "Hi \\(all\\) {hashtag|\\#|launch}",
        "visibility": "PUBLIC",
        "distribution": {
            "feedDistribution": "MAIN_FEED",
            "targetEntities": [],
            "thirdPartyDistributionChannels": [],
        },
        "lifecycleState": "PUBLISHED",
        "isReshareDisabledByAuthor": False,
    }
    assert (ref.id, ref.url) == (SHARE, f"https://www.linkedin.com/feed/update/{SHARE}/")


def test_options_visibility_and_reshare(adapter: LinkedInAdapter) -> None:
    """visibility and reshare_disabled options reach the body; a bad visibility is a
    ContentError before anything is sent."""
    canned = Canned(("POST", "/rest/posts", created(SHARE)))
    publish(
        adapter,
        rendered("x", options={"visibility": "logged_in", "reshare_disabled": True}),
        canned,
    )
    assert (canned.body(0)["visibility"], canned.body(0)["isReshareDisabledByAuthor"]) == (
        "LOGGED_IN",
        True,
    )
    empty = Canned()
    with pytest.raises(ContentError, match="visibility"):
        publish(adapter, rendered("x", options={"visibility": "friends"}), empty)
    assert empty.requests == []


def test_no_threads(adapter: LinkedInAdapter) -> None:
    """A second part is refused: LinkedIn has no threads."""
    post = rendered("x")
    ctx = ThreadContext(key="k", previous=(PartRef(index=0, id=SHARE),))
    with pytest.raises(ContentError, match="no threads"):
        run_flow(adapter.publish_part(post, post.parts[0], ctx), Canned())


def test_duplicate_422_is_taken_as_the_post(adapter: LinkedInAdapter) -> None:
    """A 422 duplicate naming a live post made since the part began returns that post;
    only that post is read besides."""
    other = "urn:li:share:7429862475279511552"
    refusal = li_error(422, f"Content is a duplicate of {other}", "DUPLICATE_POST")
    now = int(time.time() * 1000)
    canned = Canned(
        ("POST", "/rest/posts", refusal),
        ("GET", f"/rest/posts/{other}", answer(200, {"id": other, "createdAt": now})),
    )
    ref = publish(adapter, rendered("again"), canned)
    assert ref.id == other and ref.extra["from_duplicate"] is True
    assert len(canned.requests) == 2


def test_duplicate_422_of_an_unreadable_post_is_taken_as_the_post(
    adapter: LinkedInAdapter,
) -> None:
    """When the named post cannot be read (no read permission), it is taken as before."""
    other = "urn:li:share:7429862475279511552"
    refusal = li_error(422, f"Content is a duplicate of {other}", "DUPLICATE_POST")
    canned = Canned(
        ("POST", "/rest/posts", refusal),
        ("GET", f"/rest/posts/{other}", li_error(403, "Not enough permissions", "ACCESS_DENIED")),
    )
    ref = publish(adapter, rendered("again"), canned)
    assert ref.id == other and ref.extra["from_duplicate"] is True


def test_other_422_is_a_rejection(adapter: LinkedInAdapter) -> None:
    """A validation 422 raises Rejected with LinkedIn's message."""
    refusal = li_error(422, "ERROR :: /commentary :: too long", "FIELD_LENGTH_TOO_LONG")
    with pytest.raises(Rejected, match="too long") as info:
        publish(adapter, rendered("x"), Canned(("POST", "/rest/posts", refusal)))
    assert not info.value.duplicate


def test_201_without_urn_is_not_success(adapter: LinkedInAdapter) -> None:
    """A 201 without x-restli-id cannot name the post: MalformedResponse (look it up)."""
    with pytest.raises(MalformedResponse, match="x-restli-id"):
        publish(adapter, rendered("x"), Canned(("POST", "/rest/posts", answer(201))))


# -- media ----------------------------------------------------------------------------------------


def test_image_upload_waits_for_processing_then_posts_with_alt_text(
    adapter: LinkedInAdapter,
) -> None:
    """initializeUpload (owner = author), PUT of the bytes, polling until AVAILABLE with
    Wait steps, then content.media with altText."""
    media = picture("a purple square")
    canned = Canned(
        *image_answers("urn:li:image:C4E1", "PROCESSING", "AVAILABLE"),
        ("POST", "/rest/posts", created(SHARE)),
    )
    post = rendered("pic", media=(media,))
    flow = adapter.publish_part(post, post.parts[0], CTX)
    waits: list[float] = []
    step = next(flow)
    try:
        while True:
            if isinstance(step, Wait):
                waits.append(step.seconds)
                step = flow.send(httpx.Response(204))
            else:
                assert isinstance(step, Send)
                step = flow.send(canned(step.request))
    except StopIteration:
        pass
    assert canned.body(0) == {"initializeUploadRequest": {"owner": ORG}}
    assert canned.requests[0].url.query == b"action=initializeUpload"
    put = canned.requests[1]
    assert put.content == media.read() and put.headers["content-length"] == str(media.size)
    assert "linkedin-version" not in put.headers
    assert waits == [0.5]
    assert canned.body(4)["content"] == {
        "media": {"id": "urn:li:image:C4E1", "altText": "a purple square"}
    }


def test_several_images_are_a_multi_image(adapter: LinkedInAdapter) -> None:
    """Two images become content.multiImage with each alt text."""
    canned = Canned(
        *image_answers("urn:li:image:A"),
        *image_answers("urn:li:image:B"),
        ("POST", "/rest/posts", created(SHARE)),
    )
    publish(adapter, rendered("two", media=(picture("one"), picture("two", 9))), canned)
    assert canned.body(6)["content"] == {
        "multiImage": {
            "images": [
                {"id": "urn:li:image:A", "altText": "one"},
                {"id": "urn:li:image:B", "altText": "two"},
            ]
        }
    }


def test_failed_processing_is_rejected(adapter: LinkedInAdapter) -> None:
    """PROCESSING_FAILED ends the flow with Rejected; no post is made."""
    canned = Canned(*image_answers("urn:li:image:X", "PROCESSING_FAILED"))
    with pytest.raises(Rejected, match="could not process"):
        publish(adapter, rendered("pic", media=(picture(),)), canned)


def test_video_parts_etags_and_finalize(adapter: LinkedInAdapter) -> None:
    """Each byte range is PUT on its own; the ETags go to finalizeUpload in order."""
    media = video(10_000)
    urn = "urn:li:video:C5505"
    parts = [(0, 3999), (4000, 7999), (8000, 9999)]
    init = {
        "value": {
            "video": urn,
            "uploadToken": "",
            "uploadInstructions": [
                {"uploadUrl": f"{BASE}/up/{i}", "firstByte": f, "lastByte": last}
                for i, (f, last) in enumerate(parts)
            ],
        }
    }
    canned = Canned(
        ("POST", "/rest/videos", answer(200, init)),
        *[("PUT", f"/up/{i}", answer(200, etag=f"etag-{i}")) for i in range(3)],
        ("POST", "/rest/videos", answer(200)),
        ("GET", f"/rest/videos/{urn}", answer(200, {"status": "AVAILABLE"})),
        ("POST", "/rest/posts", created(SHARE)),
    )
    publish(adapter, rendered("film", media=(media,), options={"video_title": "Launch"}), canned)
    assert canned.body(0)["initializeUploadRequest"]["fileSizeBytes"] == 10_000
    data = media.read()
    for i, (first, last) in enumerate(parts):
        assert canned.requests[1 + i].content == data[first : last + 1]
    assert canned.requests[4].url.query == b"action=finalizeUpload"
    assert canned.body(4)["finalizeUploadRequest"]["uploadedPartIds"] == [
        "etag-0",
        "etag-1",
        "etag-2",
    ]
    assert canned.body(6)["content"] == {"media": {"id": urn, "title": "Launch"}}


def test_upload_of_a_file_is_streamed_by_range(adapter: LinkedInAdapter, tmp_path: Any) -> None:
    """A file on disk is read range by range, and a part can be sent twice identically."""
    path = tmp_path / "v.mp4"
    path.write_bytes(video(9000).read())
    request = adapter._put(f"{BASE}/up/1", Media.from_path(path), 4000, 7999)
    first = b"".join(request.stream)  # type: ignore[union-attr]
    again = b"".join(request.stream)  # type: ignore[union-attr]
    assert first == again == path.read_bytes()[4000:8000]


def test_link_becomes_an_article_with_thumbnail(adapter: LinkedInAdapter) -> None:
    """A link card without media is content.article; its thumbnail is uploaded first."""
    link = Link(url="https://example.com/a", title="A", description="D", thumbnail=picture("th"))
    canned = Canned(*image_answers("urn:li:image:T"), ("POST", "/rest/posts", created(SHARE)))
    publish(adapter, rendered("read", link=link), canned)
    assert canned.body(3)["content"] == {
        "article": {
            "source": "https://example.com/a",
            "title": "A",
            "description": "D",
            "thumbnail": "urn:li:image:T",
            "thumbnailAltText": "th",
        }
    }


def test_media_are_not_uploaded_again_when_the_create_is_repeated(
    adapter: LinkedInAdapter,
) -> None:
    """After a failed create, publishing the same part again reuses the uploaded media."""
    canned = Canned(
        *image_answers("urn:li:image:A"), ("POST", "/rest/posts", li_error(500, "boom"))
    )
    post = rendered("pic", media=(picture(),))
    with pytest.raises(PlatformUnavailable):
        publish(adapter, post, canned)
    again = Canned(("POST", "/rest/posts", created(SHARE)))
    publish(adapter, post, again)
    assert again.body(0)["content"]["media"]["id"] == "urn:li:image:A"


# -- tokens ---------------------------------------------------------------------------------------


def test_401_refreshes_once_and_repeats_the_request(account: Account) -> None:
    """A 401 triggers the refresh grant at the OAuth host; the new tokens reach the hook and
    the request is sent again with the new token."""
    seen: list[Mapping[str, str]] = []
    account.on_credentials_changed = lambda acct, changed: seen.append(changed)
    adapter = LinkedInAdapter(account)
    token = {"access_token": "AQV-new-access", "expires_in": 5_184_000, "refresh_token": REFRESH}
    canned = Canned(
        ("POST", "/rest/posts", li_error(401, "The token used in the request has expired")),
        ("POST", "/oauth/v2/accessToken", answer(200, token)),
        ("POST", "/rest/posts", created(SHARE)),
    )
    assert publish(adapter, rendered("x"), canned).id == SHARE
    refresh = canned.requests[1]
    assert str(refresh.url) == f"{BASE}/oauth/v2/accessToken"
    assert parse_qs(refresh.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [REFRESH],
        "client_id": ["78client"],
        "client_secret": [SECRET],
    }
    assert canned.requests[2].headers["authorization"] == "Bearer AQV-new-access"
    assert seen == [{"token": "AQV-new-access", "refresh_token": REFRESH}]


def test_real_api_refreshes_at_www_linkedin_com() -> None:
    """For api.linkedin.com the token endpoint is www.linkedin.com; a setting overrides."""
    real = Account.linkedin(author=ORG, token=TOKEN)
    assert LinkedInAdapter(real).oauth_url == "https://www.linkedin.com/oauth/v2/accessToken"
    custom = Account.linkedin(author=ORG, token=TOKEN, base_url=BASE)
    custom.settings["oauth_url"] = "http://127.0.0.1:9/token"
    assert LinkedInAdapter(custom).oauth_url == "http://127.0.0.1:9/token"


def test_refresh_refused_is_an_auth_error(account: Account) -> None:
    """invalid_grant on refresh: AuthError saying to authorize again."""
    adapter = LinkedInAdapter(account)
    grant = answer(400, {"error": "invalid_grant", "error_description": "refresh token revoked"})
    canned = Canned(
        ("POST", "/rest/posts", li_error(401, "expired")),
        ("POST", "/oauth/v2/accessToken", grant),
    )
    with pytest.raises(AuthError, match="authorize the app again") as info:
        publish(adapter, rendered("x"), canned)
    assert info.value.platform_message == "refresh token revoked"


def test_no_refresh_token_means_auth_error() -> None:
    """Without refresh credentials a 401 is an AuthError at once."""
    adapter = LinkedInAdapter(make_account(refreshable=False))
    canned = Canned(("POST", "/rest/posts", li_error(401, "Invalid access token", service=65600)))
    with pytest.raises(AuthError, match="expired or was revoked"):
        publish(adapter, rendered("x"), canned)
    assert len(canned.requests) == 1


def test_refresh_before_known_expiry(account: Account) -> None:
    """Once a refresh told the lifetime, the token is refreshed a minute before it ends."""
    adapter = LinkedInAdapter(account)
    now = [1_000_000.0]
    adapter.clock = lambda: now[0]
    token = {"access_token": "AQV-2", "expires_in": 3600}
    canned = Canned(
        ("POST", "/rest/posts", li_error(401, "expired")),
        ("POST", "/oauth/v2/accessToken", answer(200, token)),
        ("POST", "/rest/posts", created(SHARE)),
        ("POST", "/oauth/v2/accessToken", answer(200, {**token, "access_token": "AQV-3"})),
        ("POST", "/rest/posts", created("urn:li:share:2")),
    )
    publish(adapter, rendered("x"), canned)
    now[0] += 3550
    publish(adapter, rendered("y"), canned)
    assert canned.requests[4].headers["authorization"] == "Bearer AQV-3"


# -- find -----------------------------------------------------------------------------------------


def post_json(urn: str, text: str, created_ms: int, content: Any = None) -> dict[str, Any]:
    """A Posts API element."""
    data: dict[str, Any] = {
        "id": urn,
        "author": ORG,
        "commentary": little_text(text),
        "lifecycleState": "PUBLISHED",
        "createdAt": created_ms,
        "lastModifiedAt": created_ms,
    }
    if content is not None:
        data["content"] = content
    return data


def test_find_part_matches_text_content_and_time(adapter: LinkedInAdapter) -> None:
    """The oldest post since the attempt with the same visible text and content kind is
    found; older posts and other texts are not."""
    key = new_tid()
    started = tid_time(key)
    assert started is not None
    ms = int(started.timestamp() * 1000)
    page = {
        "elements": [
            post_json("urn:li:share:4", "Hello (world)", ms + 2000),
            post_json("urn:li:share:3", "Hello (world)", ms + 1000),
            post_json("urn:li:share:2", "Other", ms + 500),
            post_json("urn:li:share:1", "Hello (world)", ms - 3_600_000),
        ]
    }
    canned = Canned(("GET", "/rest/posts", answer(200, page)))
    post = rendered("Hello (world)")
    ref = run_flow(adapter.find_part(post, post.parts[0], ThreadContext(key=key)), canned)
    assert ref is not None and ref.id == "urn:li:share:3"
    request = canned.requests[0]
    query = request.url.query.decode()
    assert f"author={'urn%3Ali%3Aorganization%3A2414183'}" in query and "q=author" in query
    assert request.headers["x-restli-method"] == "FINDER"


def test_find_part_needs_the_same_content(adapter: LinkedInAdapter) -> None:
    """A text-only post does not match a part with an image."""
    canned = Canned(
        ("GET", "/rest/posts", answer(200, {"elements": [post_json("urn:li:share:1", "pic", 0)]}))
    )
    post = rendered("pic", media=(picture(),))
    assert run_flow(adapter.find_part(post, post.parts[0], ThreadContext(key="x")), canned) is None


def test_find_part_refused_raises(adapter: LinkedInAdapter) -> None:
    """Without the read permission the lookup raises: the outcome stays unknown."""
    canned = Canned(
        (
            "GET",
            "/rest/posts",
            li_error(403, "Not enough permissions to access: x", "ACCESS_DENIED"),
        )
    )
    post = rendered("x")
    with pytest.raises(AuthError):
        run_flow(adapter.find_part(post, post.parts[0], CTX), canned)


# -- delete and metrics ---------------------------------------------------------------------------


@pytest.mark.parametrize("status", [204, 404, 410])
def test_delete(adapter: LinkedInAdapter, status: int) -> None:
    """DELETE with the encoded URN; a post already gone is fine."""
    canned = Canned(("DELETE", f"/rest/posts/{SHARE}", answer(status)))
    run_flow(adapter.delete_part(PartRef(index=0, id=SHARE)), canned)
    request = canned.requests[0]
    assert (
        request.url.raw_path.decode() == f"/rest/posts/{'urn%3Ali%3Ashare%3A7300000000000000001'}"
    )
    assert request.headers["x-restli-method"] == "DELETE"


def test_organization_metrics_in_one_request(adapter: LinkedInAdapter) -> None:
    """Shares and ugcPosts go in one statistics request; each count maps to its metric."""
    refs = [PartRef(index=0, id=SHARE), PartRef(index=0, id="urn:li:ugcPost:9")]
    stats = {
        "impressionCount": 100,
        "uniqueImpressionsCount": 60,
        "clickCount": 5,
        "likeCount": 4,
        "commentCount": 2,
        "shareCount": 1,
        "engagement": 0.12,
    }
    body = {
        "elements": [{"organizationalEntity": ORG, "share": SHARE, "totalShareStatistics": stats}]
    }
    canned = Canned(("GET", "/rest/organizationalEntityShareStatistics", answer(200, body)))
    samples = run_flow(adapter.collect_metrics(refs), canned)
    query = unquote(canned.requests[0].url.query.decode())
    assert f"shares=List({SHARE})" in query and "ugcPosts=List(urn:li:ugcPost:9)" in query
    assert "List(urn%3Ali%3Ashare" in canned.requests[0].url.query.decode()
    got = {(s.post_id, s.metric): (s.value, s.raw_name) for s in samples if s.available}
    assert got[(SHARE, "impressions")] == (100, "impressionCount")
    assert got[(SHARE, "reach")] == (60, "uniqueImpressionsCount")
    assert got[(SHARE, "reposts")] == (1, "shareCount")
    missing = [s for s in samples if s.post_id == "urn:li:ugcPost:9"]
    assert missing and all(not s.available and "no statistics" in (s.reason or "") for s in missing)


def test_member_metrics_are_unavailable_without_a_request() -> None:
    """Member posts: every metric unavailable with the reason; nothing is sent."""
    adapter = LinkedInAdapter(make_account(PERSON))
    canned = Canned()
    samples = run_flow(adapter.collect_metrics([PartRef(index=0, id=SHARE)]), canned)
    assert canned.requests == [] and samples
    assert all(
        not s.available and "memberCreatorPostAnalytics" in (s.reason or "") for s in samples
    )


def test_followers_of_an_organization_and_a_member() -> None:
    """networkSizes for a page, memberFollowersCount for a member."""
    org = LinkedInAdapter(make_account(ORG))
    canned = Canned(("GET", f"/rest/networkSizes/{ORG}", answer(200, {"firstDegreeSize": 42})))
    (sample,) = run_flow(org.collect_account_metrics(), canned)
    assert (sample.value, sample.raw_name) == (42, "firstDegreeSize")
    assert canned.requests[0].url.query == b"edgeType=COMPANY_FOLLOWED_BY_MEMBER"
    member = LinkedInAdapter(make_account(PERSON))
    canned = Canned(
        (
            "GET",
            "/rest/memberFollowersCount",
            answer(200, {"elements": [{"memberFollowersCount": 7}]}),
        )
    )
    (sample,) = run_flow(member.collect_account_metrics(), canned)
    assert (sample.value, sample.raw_name) == (7, "memberFollowersCount")


# -- errors ---------------------------------------------------------------------------------------


def with_request(
    response: httpx.Response, method: str = "POST", path: str = "/rest/posts"
) -> httpx.Response:
    """The response as if answering a request to ``path``."""
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=response.content,
        request=httpx.Request(method, BASE + path),
    )


@pytest.mark.parametrize(
    ("response", "kind", "hint"),
    [
        (
            li_error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600),
            AuthError,
            "revoked",
        ),
        (
            li_error(403, "Not enough permissions to access: x", "ACCESS_DENIED", 100),
            AuthError,
            "scope",
        ),
        (
            li_error(426, "Requested version 20260800 is not active", "NONEXISTENT_VERSION"),
            Rejected,
            "version=",
        ),
        (li_error(400, "A version must be present.", "VERSION_MISSING"), Rejected, "version="),
        (li_error(422, "ERROR :: /author :: missing", "UNPROCESSABLE_ENTITY"), Rejected, "/author"),
        (li_error(500, "Internal Server Error"), PlatformUnavailable, "Internal"),
        (httpx.Response(503, text="<html>down</html>"), PlatformUnavailable, "down"),
    ],
)
def test_error_mapping(
    adapter: LinkedInAdapter, response: httpx.Response, kind: type, hint: str
) -> None:
    """Each LinkedIn answer maps to its brandkit error with LinkedIn's message."""
    err = adapter.error_for(with_request(response))
    assert type(err) is kind and hint in str(err)
    assert err.platform_message and err.platform_message in str(err)


def test_429_has_no_reset_and_names_the_bucket(adapter: LinkedInAdapter) -> None:
    """A bare 429: RateLimited without reset or retry_after (LinkedIn sends none)."""
    err = adapter.error_for(
        with_request(
            li_error(429, "Resource level throttle limit for calls to this resource is reached.")
        )
    )
    assert isinstance(err, RateLimited)
    assert (err.reset_at, err.retry_after, err.bucket) == (None, None, "linkedin:post")


def test_duplicate_error_carries_the_existing_urn(adapter: LinkedInAdapter) -> None:
    """The duplicate 422 names the live post."""
    err = adapter.error_for(
        with_request(li_error(422, "Content is a duplicate of urn:li:share:77"))
    )
    assert isinstance(err, Rejected) and err.duplicate and err.existing_id == "urn:li:share:77"


def test_errors_never_contain_secrets(adapter: LinkedInAdapter) -> None:
    """No error message carries the token, refresh token or client secret."""
    for status in (400, 401, 403, 422, 429, 500):
        err = adapter.error_for(with_request(li_error(status, "nope")))
        for secret in (TOKEN, REFRESH, SECRET):
            assert secret not in str(err) and secret not in str(err.to_dict())
