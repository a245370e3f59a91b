"""Facebook flows with canned Graph answers (no I/O): requests, errors, reconciliation."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime

import httpx
import pytest

from brandkit import Account, Link, Media
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
from brandkit.platforms._graph import parse_time, regain_seconds, tid_time
from brandkit.platforms.facebook import FacebookAdapter
from brandkit.testing import png
from tests.facebook.conftest import Canned, answer, graph_error, real, rendered

BASE = "https://graph.example"
PAGE = "1234567890"


def account(**kw: str) -> Account:
    """A Facebook account on a made-up Graph host."""
    tokens = kw or {"page_token": "page-token-secret-1"}
    return Account.facebook(page_id=PAGE, base_url=BASE, **tokens)  # type: ignore[arg-type]


def usage(minutes: int, pct: int = 100) -> dict[str, str]:
    """An X-Business-Use-Case-Usage header for the Page."""
    entry = {
        "type": "pages",
        "call_count": pct,
        "total_cputime": 10,
        "total_time": 10,
        "estimated_time_to_regain_access": minutes,
    }
    return {"x-business-use-case-usage": json.dumps({PAGE: [entry]})}


def permalink(post_id: str) -> tuple[str, str, httpx.Response]:
    """The permalink read that follows every create."""
    return (
        "GET",
        rf"/v25\.0/{post_id}",
        answer(200, {"permalink_url": f"https://www.facebook.com/{post_id}", "id": post_id}),
    )


# -- publishing ---------------------------------------------------------------------------------


def test_text_post_with_link_card() -> None:
    """A text post goes to /feed with message and link, with the Page token in the header
    and the pinned version in the path; the permalink is read back."""
    adapter = FacebookAdapter(account())
    post = rendered("facebook", "Read this", link=Link(url="https://example.com/a"))
    canned = Canned(
        ("POST", rf"/v25\.0/{PAGE}/feed", answer(200, {"id": f"{PAGE}_99"})),
        permalink(f"{PAGE}_99"),
    )
    ref = run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), canned)
    assert (ref.id, ref.url) == (f"{PAGE}_99", f"https://www.facebook.com/{PAGE}_99")
    assert canned.form(0) == {"message": "Read this", "link": "https://example.com/a"}
    create = canned.requests[0]
    assert create.headers["authorization"] == "Bearer page-token-secret-1"
    assert "access_token" not in str(create.url)


def test_one_photo_with_alt_text() -> None:
    """One photo goes to /photos as multipart source with caption and alt_text_custom; the
    part's id is the Page post id Meta answers."""
    adapter = FacebookAdapter(account())
    media = Media.from_bytes(png(), alt="A purple square")
    post = rendered("facebook", "Look", media=(media,))
    canned = Canned(
        ("POST", rf"/v25\.0/{PAGE}/photos", answer(200, {"id": "555", "post_id": f"{PAGE}_7"})),
        permalink(f"{PAGE}_7"),
    )
    ref = run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), canned)
    assert ref.id == f"{PAGE}_7"
    fields = canned.form(0)
    assert fields == {"published": "true", "caption": "Look", "alt_text_custom": "A purple square"}
    assert png() in canned.requests[0].content


def test_album_reuses_uploads_after_an_ambiguous_create() -> None:
    """Several photos are uploaded unpublished and attached to one feed post; when the
    feed create fails with 500 code 2, a second attempt of the part reuses the uploads."""
    adapter = FacebookAdapter(account())
    media = (Media.from_bytes(png(), alt="one"), Media.from_bytes(png(9, 9), alt="two"))
    post = rendered("facebook", "Album", media=media)
    ctx = ThreadContext(new_tid())
    first = Canned(
        ("POST", rf"/v25\.0/{PAGE}/photos", answer(200, {"id": "11"})),
        ("POST", rf"/v25\.0/{PAGE}/photos", answer(200, {"id": "12"})),
        ("POST", rf"/v25\.0/{PAGE}/feed", graph_error(500, 2, "An unexpected error has occurred.")),
    )
    with pytest.raises(PlatformUnavailable) as err:
        run_flow(adapter.publish_part(post, post.parts[0], ctx), first)
    assert err.value.code == 2
    assert [first.form(i)["published"] for i in (0, 1)] == ["false", "false"]
    assert first.form(0)["alt_text_custom"] == "one"
    second = Canned(
        ("POST", rf"/v25\.0/{PAGE}/feed", answer(200, {"id": f"{PAGE}_5"})),
        permalink(f"{PAGE}_5"),
    )
    ref = run_flow(adapter.publish_part(post, post.parts[0], ctx), second)
    assert ref.id == f"{PAGE}_5"
    attached = json.loads(second.form(0)["attached_media"])
    assert attached == [{"media_fbid": "11"}, {"media_fbid": "12"}]


def test_video_is_uploaded_in_the_chunks_meta_asks_for() -> None:
    """A video goes through start / transfer (at the offsets Meta names) / finish, then is
    polled until ready; the bytes sent are exactly the file's."""
    adapter = FacebookAdapter(account())
    video = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40
    media = Media.from_bytes(video)
    post = rendered("facebook", "Watch", media=(media,))
    size = len(video)
    states = iter(["processing", "ready"])

    def status(request: httpx.Request) -> httpx.Response:
        state = next(states)
        body = {"id": "77", "status": {"video_status": state}}
        if state == "ready":
            body["post_id"] = f"{PAGE}_8"
        return answer(200, body)

    canned = Canned(
        (
            "POST",
            rf"/v25\.0/{PAGE}/videos",
            answer(
                200,
                {
                    "video_id": "77",
                    "upload_session_id": "s1",
                    "start_offset": "0",
                    "end_offset": "4000",
                },
            ),
        ),
        (
            "POST",
            rf"/v25\.0/{PAGE}/videos",
            answer(200, {"start_offset": "4000", "end_offset": str(size)}),
        ),
        (
            "POST",
            rf"/v25\.0/{PAGE}/videos",
            answer(200, {"start_offset": str(size), "end_offset": str(size)}),
        ),
        ("POST", rf"/v25\.0/{PAGE}/videos", answer(200, {"success": True})),
        ("GET", r"/v25\.0/77", status),
        ("GET", r"/v25\.0/77", status),
        permalink(f"{PAGE}_8"),
    )
    ref = run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), canned)
    assert ref.id == f"{PAGE}_8"
    assert canned.form(0) == {"upload_phase": "start", "file_size": str(size)}
    sent = b""
    for i in (1, 2):
        assert canned.form(i)["start_offset"] == str(len(sent))
        body = canned.requests[i].content
        marker = b'name="video_file_chunk"'
        chunk = body.split(marker, 1)[1].split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]
        sent += chunk
    assert sent == video
    assert canned.form(3) == {
        "upload_phase": "finish",
        "upload_session_id": "s1",
        "description": "Watch",
    }


def test_video_processing_error_is_rejected_with_metas_words() -> None:
    """A video whose processing fails ends the part with Meta's message."""
    adapter = FacebookAdapter(account())
    media = Media.from_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\0" * 100)
    post = rendered("facebook", "Watch", media=(media,))
    error = {"status": "error", "errors": [{"code": 1363008, "message": "Bad format"}]}
    canned = Canned(
        (
            "POST",
            rf"/v25\.0/{PAGE}/videos",
            answer(
                200,
                {
                    "video_id": "7",
                    "upload_session_id": "s",
                    "start_offset": "0",
                    "end_offset": "112",
                },
            ),
        ),
        (
            "POST",
            rf"/v25\.0/{PAGE}/videos",
            answer(200, {"start_offset": "112", "end_offset": "112"}),
        ),
        ("POST", rf"/v25\.0/{PAGE}/videos", answer(200, {"success": True})),
        (
            "GET",
            r"/v25\.0/7",
            answer(200, {"status": {"video_status": "error", "processing_phase": error}}),
        ),
    )
    with pytest.raises(Rejected, match="Bad format"):
        run_flow(adapter.publish_part(post, post.parts[0], ThreadContext(new_tid())), canned)


# -- tokens -------------------------------------------------------------------------------------


def test_page_token_is_fetched_from_the_user_token() -> None:
    """With only a user token, prepare asks for the Page's access_token and hands it to the
    credentials hook; the secret never shows in the account's repr."""
    changed: list[Mapping[str, str]] = []
    acct = Account.facebook(
        page_id=PAGE,
        user_token="user-token-secret",
        base_url=BASE,
        on_credentials_changed=lambda a, c: changed.append(c),
    )
    canned = Canned(
        ("GET", rf"/v25\.0/{PAGE}", answer(200, {"access_token": "new-page-token", "id": PAGE})),
    )
    run_flow(FacebookAdapter(acct).prepare(), canned)
    assert changed == [{"page_token": "new-page-token"}]
    assert canned.requests[0].url.params["fields"] == "access_token"
    assert canned.requests[0].headers["authorization"] == "Bearer user-token-secret"
    assert "new-page-token" not in repr(acct)


def test_refused_page_token_is_replaced_once() -> None:
    """Code 190 on the Page token: a new one is fetched with the user token and the create
    is sent once more."""
    changed: list[Mapping[str, str]] = []
    acct = Account.facebook(
        page_id=PAGE,
        page_token="old-page-token",
        user_token="user-token-secret",
        base_url=BASE,
        on_credentials_changed=lambda a, c: changed.append(c),
    )
    post = rendered("facebook", "Hi")
    canned = Canned(
        (
            "POST",
            rf"/v25\.0/{PAGE}/feed",
            graph_error(400, 190, "Error validating access token: Session has expired", 463),
        ),
        ("GET", rf"/v25\.0/{PAGE}", answer(200, {"access_token": "fresh-page-token"})),
        ("POST", rf"/v25\.0/{PAGE}/feed", answer(200, {"id": f"{PAGE}_1"})),
        permalink(f"{PAGE}_1"),
    )
    ref = run_flow(
        FacebookAdapter(acct).publish_part(post, post.parts[0], ThreadContext(new_tid())), canned
    )
    assert ref.id == f"{PAGE}_1"
    assert changed == [{"page_token": "fresh-page-token"}]
    assert canned.requests[2].headers["authorization"] == "Bearer fresh-page-token"


def test_both_tokens_refused_is_an_auth_error() -> None:
    """When the user token is refused too, the part fails with AuthError and Meta's
    message, and the advice to log in again."""
    acct = account(page_token="old-page-token", user_token="dead-user-token")
    post = rendered("facebook", "Hi")
    expired = graph_error(400, 190, "Error validating access token: Session has expired", 463)
    canned = Canned(
        ("POST", rf"/v25\.0/{PAGE}/feed", expired),
        ("GET", rf"/v25\.0/{PAGE}", expired),
    )
    with pytest.raises(AuthError) as err:
        run_flow(
            FacebookAdapter(acct).publish_part(post, post.parts[0], ThreadContext(new_tid())),
            canned,
        )
    assert err.value.platform_message.startswith("Error validating access token")
    assert "log in again" in str(err.value)
    assert "dead-user-token" not in str(err.value)


def test_account_without_page_id_is_a_configuration_error() -> None:
    """An account without page_id cannot become an adapter."""
    acct = Account("facebook", base_url=BASE, secrets={"page_token": "x"})
    with pytest.raises(ConfigurationError, match="page_id"):
        FacebookAdapter(acct)


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "subcode", "kind"),
    [
        (400, 190, 463, AuthError),
        (400, 190, 460, AuthError),
        (400, 102, None, AuthError),
        (403, 200, None, AuthError),
        (400, 10, None, AuthError),
        (400, 4, None, RateLimited),
        (400, 17, None, RateLimited),
        (400, 32, None, RateLimited),
        (400, 613, 1996, RateLimited),
        (400, 80001, None, RateLimited),
        (400, 368, 1390008, Rejected),
        (400, 506, None, Rejected),
        (500, 2, None, PlatformUnavailable),
        (500, 1, None, PlatformUnavailable),
        (400, 100, None, Rejected),
        (400, 324, None, Rejected),
    ],
)
def test_error_codes_map_to_typed_errors(
    status: int, code: int, subcode: int | None, kind: type[Exception]
) -> None:
    """Each Meta code becomes its typed error with Meta's own message and code."""
    adapter = FacebookAdapter(account())
    response = graph_error(status, code, f"(#{code}) Meta says no", subcode)
    response.request = httpx.Request("POST", f"{BASE}/v25.0/{PAGE}/feed")
    err = adapter.error_for(response)
    assert type(err) is kind
    assert err.platform_message == f"(#{code}) Meta says no"
    assert err.code == code and err.status_code == status
    if code in (368, 506):
        assert isinstance(err, Rejected) and err.duplicate


def test_throttle_carries_the_regain_time_and_bucket() -> None:
    """A throttle answer in Meta's style (code 80001 plus usage headers) says when access
    returns (estimated_time_to_regain_access, in minutes) and which bucket."""
    adapter = FacebookAdapter(account())
    response = graph_error(
        400,
        80001,
        "(#80001) There have been too many calls to this Page account.",
        **usage(minutes=7),
    )
    response.request = httpx.Request("POST", f"{BASE}/v25.0/{PAGE}/feed")
    err = adapter.error_for(response)
    assert isinstance(err, RateLimited)
    assert err.retry_after == 420
    assert err.bucket == "facebook:pages"
    assert err.reset_at is not None and err.reset_at > datetime.now(UTC)
    assert "7 min" in str(err)


def test_real_error_body_keeps_metas_message() -> None:
    """The real Graph error body (code 100) is a Rejected with Meta's words."""
    adapter = FacebookAdapter(account())
    body = real("error.json")
    err = adapter.error_for(answer(400, body))
    assert isinstance(err, Rejected) and not err.duplicate
    assert err.platform_message == body["error"]["message"]
    assert err.code == 100


def test_non_json_server_error_is_unavailable() -> None:
    """A 502 from a proxy with an HTML body is PlatformUnavailable."""
    adapter = FacebookAdapter(account())
    err = adapter.error_for(httpx.Response(502, text="<html>Bad Gateway</html>"))
    assert isinstance(err, PlatformUnavailable)
    assert "Bad Gateway" in str(err)


def test_regain_seconds_reads_the_largest_wait() -> None:
    """estimated_time_to_regain_access of every business object counts; 0 means none."""
    assert regain_seconds(answer(200, {}, **usage(minutes=0, pct=20))) is None
    response = answer(
        200,
        {},
        **{
            "x-business-use-case-usage": json.dumps(
                {
                    "1": [{"type": "pages", "estimated_time_to_regain_access": 2}],
                    "2": [{"type": "pages", "estimated_time_to_regain_access": 5}],
                }
            )
        },
    )
    assert regain_seconds(response) == 300
    assert regain_seconds(answer(200, {}, **{"x-business-use-case-usage": "not json"})) is None


# -- find_part ----------------------------------------------------------------------------------


def test_find_part_matches_a_real_published_posts_page() -> None:
    """A real page of posts is read back; the post with the part's message created after
    the part's key was made is the one found."""
    adapter = FacebookAdapter(account())
    body = real("facebook/apidata/posts/feed_fields_p1.json")
    target = body["data"][0]
    made = parse_time(target["created_time"])
    assert made is not None
    key = new_tid(int(made.timestamp() * 1_000_000) - 60_000_000)
    post = rendered("facebook", target["message"])
    canned = Canned(("GET", rf"/v25\.0/{PAGE}/published_posts", answer(200, body)))
    ref = run_flow(adapter.find_part(post, post.parts[0], ThreadContext(key)), canned)
    assert ref is not None and ref.id == target["id"]
    params = canned.requests[0].url.params
    assert int(params["since"]) == int(made.timestamp()) - 60 - 600
    assert "message" in params["fields"] and "created_time" in params["fields"]


def test_find_part_ignores_posts_older_than_the_attempt() -> None:
    """The same message posted long before this attempt is not taken for it."""
    adapter = FacebookAdapter(account())
    body = real("facebook/apidata/posts/feed_fields_p1.json")
    target = body["data"][2]
    key = new_tid(int(datetime(2021, 7, 3, tzinfo=UTC).timestamp() * 1_000_000))
    post = rendered("facebook", target["message"])
    canned = Canned(("GET", rf"/v25\.0/{PAGE}/published_posts", answer(200, body)))
    assert run_flow(adapter.find_part(post, post.parts[0], ThreadContext(key)), canned) is None


def test_find_part_follows_cursors() -> None:
    """Read-back follows paging.cursors.after to the next page."""
    adapter = FacebookAdapter(account())
    post = rendered("facebook", "needle")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")
    first = {
        "data": [{"id": f"{PAGE}_1", "message": "hay", "created_time": now}],
        "paging": {"cursors": {"after": "CUR"}, "next": "https://graph.example/next"},
    }
    second = {"data": [{"id": f"{PAGE}_2", "message": "needle", "created_time": now}]}
    canned = Canned(
        ("GET", rf"/v25\.0/{PAGE}/published_posts", answer(200, first)),
        ("GET", rf"/v25\.0/{PAGE}/published_posts", answer(200, second)),
    )
    ref = run_flow(adapter.find_part(post, post.parts[0], ThreadContext(new_tid())), canned)
    assert ref is not None and ref.id == f"{PAGE}_2"
    assert canned.requests[1].url.params["after"] == "CUR"


# -- delete -------------------------------------------------------------------------------------


def test_delete_counts_a_gone_post_as_deleted() -> None:
    """DELETE succeeds; a post that no longer exists (100/33, and a read of it says so too)
    is not an error; anything else is."""
    adapter = FacebookAdapter(account())
    ref = PartRef(index=0, id=f"{PAGE}_1")
    run_flow(
        adapter.delete_part(ref),
        Canned(("DELETE", rf"/v25\.0/{PAGE}_1", answer(200, {"success": True}))),
    )
    gone = graph_error(400, 100, "Unsupported delete request.", 33)
    unread = graph_error(400, 100, "Unsupported get request.", 33)
    canned = Canned(("DELETE", rf"/v25\.0/{PAGE}_1", gone), ("GET", rf"/v25\.0/{PAGE}_1", unread))
    run_flow(adapter.delete_part(ref), canned)
    assert canned.requests[1].url.params["fields"] == "id"
    # Meta's 100/33 also covers "missing permissions" and "does not support this operation":
    # a post that a read still finds is not deleted.
    there = Canned(
        ("DELETE", rf"/v25\.0/{PAGE}_1", gone),
        ("GET", rf"/v25\.0/{PAGE}_1", answer(200, {"id": f"{PAGE}_1"})),
    )
    with pytest.raises(Rejected, match="still there") as caught:
        run_flow(adapter.delete_part(ref), there)
    assert caught.value.code == 100 and caught.value.platform_message
    with pytest.raises(AuthError):
        run_flow(
            adapter.delete_part(ref),
            Canned(
                ("DELETE", rf"/v25\.0/{PAGE}_1", graph_error(403, 200, "(#200) No")),
                # The permission refusal asks whose the token is: the Page's own.
                ("GET", r"/v25\.0/me", answer(200, {"id": PAGE})),
            ),
        )


# -- metrics ------------------------------------------------------------------------------------


def test_metrics_in_one_batch_with_retired_and_refused_metrics() -> None:
    """Two posts' metrics come from one batch request: counts from the post node, views
    and viewers from insights. A retired metric is not asked for and is unavailable with
    the reason; a refused insights read makes its metrics unavailable with Meta's words;
    nothing raises."""
    adapter = FacebookAdapter(account())
    adapter.post_metrics = (*FacebookAdapter.post_metrics, ("post_impressions", Metric.IMPRESSIONS))
    node = real("facebook/apidata/posts/single_post_data_fields.json")
    node.update(
        reactions={"data": [], "summary": {"total_count": 12}},
        comments={"data": [], "summary": {"total_count": 3}},
        shares={"count": 2},
    )
    insights = {
        "data": [
            {"name": "post_media_view", "values": [{"value": 340}]},
            {"name": "post_total_media_view_unique", "values": [{"value": 200}]},
            {"name": "post_clicks_by_type", "values": [{"value": {"link clicks": 9}}]},
        ]
    }
    refused = {
        "error": {"message": "(#100) The value must be a valid insights metric", "code": 100}
    }

    def batch(request: httpx.Request) -> httpx.Response:
        return answer(
            200,
            [
                {"code": 200, "body": json.dumps(node)},
                {"code": 200, "body": json.dumps(insights)},
                {
                    "code": 200,
                    "body": json.dumps({"id": "1_2", "created_time": node["created_time"]}),
                },
                {"code": 400, "body": json.dumps(refused)},
            ],
        )

    canned = Canned(("POST", r"/v25\.0/", batch))
    refs = [PartRef(index=0, id=node["id"]), PartRef(index=0, id="1_2")]
    samples = run_flow(adapter.collect_metrics(refs), canned)
    assert len(canned.requests) == 1
    sent = json.loads(canned.form(0)["batch"])
    assert [s["relative_url"].split("?")[0] for s in sent] == [
        node["id"],
        f"{node['id']}/insights",
        "1_2",
        "1_2/insights",
    ]
    assert "post_impressions" not in sent[1]["relative_url"]
    first = {(s.metric, s.raw_name): s for s in samples if s.post_id == node["id"]}
    assert first[("likes", "reactions")].value == 12
    assert first[("replies", "comments")].value == 3
    assert first[("shares", "shares")].value == 2
    assert first[("impressions", "post_media_view")].value == 340
    assert first[("reach", "post_total_media_view_unique")].value == 200
    assert first[("link_clicks", "post_clicks_by_type")].value == 9
    retired = first[("impressions", "post_impressions")]
    assert not retired.available and "retired" in (retired.reason or "")
    assert first[("likes", "reactions")].posted_at == parse_time(node["created_time"])
    second = {(s.metric, s.raw_name): s for s in samples if s.post_id == "1_2"}
    assert second[("shares", "shares")].value == 0
    refused_sample = second[("impressions", "post_media_view")]
    assert not refused_sample.available
    assert "valid insights metric" in (refused_sample.reason or "")


def test_metrics_of_a_deleted_post_are_unavailable() -> None:
    """A post Meta no longer returns gives unavailable samples saying so; a read Meta did
    not answer (null) is asked once more, then reported as timed out."""
    adapter = FacebookAdapter(account())
    gone = {"error": {"message": "Unsupported get request.", "code": 100, "error_subcode": 33}}
    canned = Canned(
        ("POST", r"/v25\.0/", answer(200, [{"code": 400, "body": json.dumps(gone)}, None])),
        ("POST", r"/v25\.0/", answer(200, [None])),
    )
    samples = run_flow(adapter.collect_metrics([PartRef(index=0, id="9_9")]), canned)
    assert samples and not any(s.available for s in samples)
    counts = [s for s in samples if s.raw_name == "reactions"]
    assert "did not return the post (deleted" in (counts[0].reason or "")
    views = [s for s in samples if s.raw_name == "post_media_view"]
    assert "timed out" in (views[0].reason or "")
    assert len(json.loads(canned.form(1)["batch"])) == 1


def test_throttled_batch_reads_are_read_again_after_the_regain_time() -> None:
    """Reads of a batch throttled by Meta (the batch itself succeeds) are read again in a
    second batch, after the wait the usage header names."""
    adapter = FacebookAdapter(account())
    throttled = {"error": {"message": "(#80001) There have been too many calls", "code": 80001}}
    node = {
        "id": "1_1",
        "created_time": "2026-01-01T00:00:00+0000",
        "reactions": {"data": [], "summary": {"total_count": 5}},
    }
    insights = {"data": [{"name": "post_media_view", "values": [{"value": 50}]}]}
    canned = Canned(
        (
            "POST",
            r"/v25\.0/",
            answer(
                200,
                [
                    {"code": 200, "body": json.dumps(node)},
                    {"code": 400, "body": json.dumps(throttled)},
                ],
                **usage(minutes=3),
            ),
        ),
        ("POST", r"/v25\.0/", answer(200, [{"code": 200, "body": json.dumps(insights)}])),
    )
    flow = adapter.collect_metrics([PartRef(index=0, id="1_1")])
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
        samples = stop.value
    assert waits == [180]
    got = {s.raw_name: s.value for s in samples}
    assert got["reactions"] == 5 and got["post_media_view"] == 50


def test_account_metrics_from_real_page_bodies() -> None:
    """followers_count is the followers metric; a real Page body without it gives an
    unavailable sample rather than an error."""
    adapter = FacebookAdapter(account())
    page = real("facebook/apidata/pages/single_fields_page.json")
    (sample,) = run_flow(
        adapter.collect_account_metrics(), Canned(("GET", rf"/v25\.0/{PAGE}", answer(200, page)))
    )
    assert not sample.available and sample.reason
    page["followers_count"] = 214_507_731
    (sample,) = run_flow(
        adapter.collect_account_metrics(), Canned(("GET", rf"/v25\.0/{PAGE}", answer(200, page)))
    )
    assert (sample.metric, sample.value) == ("followers", 214_507_731)


def test_time_helpers_read_graph_formats() -> None:
    """Graph timestamps (+0000) parse to aware UTC; a TID key gives its creation time."""
    when = parse_time("2019-08-12T03:45:11+0000")
    assert when == datetime(2019, 8, 12, 3, 45, 11, tzinfo=UTC)
    key = new_tid(1_700_000_000_000_000)
    assert tid_time(key) == datetime.fromtimestamp(1_700_000_000, UTC)
    assert tid_time("not-a-tid") is None and parse_time("yesterday") is None
