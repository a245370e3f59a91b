"""The Facebook emulator answers as the Graph API does (shapes checked on real bodies)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from brandkit.testing import png
from brandkit.testing.facebook import FacebookEmulator
from tests.facebook.conftest import real


@pytest.fixture
def emu() -> FacebookEmulator:
    """An in-process emulator."""
    return FacebookEmulator(video_processing=5.0)


@pytest.fixture
def http(emu: FacebookEmulator) -> Iterator[httpx.Client]:
    """An httpx client answered by the emulator in-process."""
    with httpx.Client(transport=emu.transport(), base_url="http://graph.test") as client:
        yield client


def auth(token: str | None) -> dict[str, str]:
    """The Authorization header for ``token``."""
    return {"authorization": f"Bearer {token}"}


def test_post_node_has_the_real_shape(emu: FacebookEmulator, http: httpx.Client) -> None:
    """A post read back has exactly the keys of a real one (id, created_time, message) with
    the same formats."""
    acct = emu.account()
    page, token = acct.settings["page_id"], acct.secret("page_token")
    created = http.post(f"/v25.0/{page}/feed", data={"message": "hi"}, headers=auth(token))
    assert created.status_code == 200 and set(created.json()) == {"id"}
    post_id = created.json()["id"]
    sample = real("facebook/apidata/posts/single_post_data_fields.json")
    got = http.get(
        f"/v25.0/{post_id}", params={"fields": "id,created_time,message"}, headers=auth(token)
    ).json()
    assert set(got) == set(sample)
    assert got["id"].split("_")[0] == page and len(got["created_time"]) == len(
        sample["created_time"]
    )


def test_published_posts_page_has_the_real_shape(emu: FacebookEmulator, http: httpx.Client) -> None:
    """published_posts answers like a real page of posts: data items with the asked fields,
    newest first, and paging with cursors to the next page."""
    acct = emu.account()
    page, token = acct.settings["page_id"], acct.secret("page_token")
    for i in range(3):
        http.post(f"/v25.0/{page}/feed", data={"message": f"m{i}"}, headers=auth(token))
        emu.clock.advance(1)
    sample = real("facebook/apidata/posts/feed_fields_p1.json")
    first = http.get(
        f"/v25.0/{page}/published_posts",
        params={"fields": "id,message,created_time", "limit": 2},
        headers=auth(token),
    ).json()
    assert set(first) == set(sample)
    assert set(first["data"][0]) == set(sample["data"][0])
    assert [p["message"] for p in first["data"]] == ["m2", "m1"]
    rest = http.get(
        f"/v25.0/{page}/published_posts",
        params={"fields": "message", "limit": 2, "after": first["paging"]["cursors"]["after"]},
        headers=auth(token),
    ).json()
    assert [p["message"] for p in rest["data"]] == ["m0"] and "next" not in rest["paging"]


def test_tokens_errors_in_metas_shape(emu: FacebookEmulator, http: httpx.Client) -> None:
    """No token is code 104, an unknown one 190, an expired one 190/463 with the
    WWW-Authenticate header; the envelope has Meta's keys."""
    acct = emu.account()
    page = acct.settings["page_id"]
    missing = http.get(f"/v25.0/{page}")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == 104
    unknown = http.get(f"/v25.0/{page}", headers=auth("nope")).json()["error"]
    assert unknown["code"] == 190 and unknown["type"] == "OAuthException"
    assert set(unknown) >= set(real("error.json")["error"])
    emu.expire_tokens()
    expired = http.get(f"/v25.0/{page}", headers=auth(acct.secret("page_token")))
    err = expired.json()["error"]
    assert (err["code"], err["error_subcode"]) == (190, 463)
    assert "invalid_token" in expired.headers["www-authenticate"]


def test_user_token_reads_the_page_token(emu: FacebookEmulator, http: httpx.Client) -> None:
    """A user with a role on the Page reads its access_token; a user token cannot post."""
    acct = emu.account()
    page = acct.settings["page_id"]
    got = http.get(
        f"/v25.0/{page}", params={"fields": "access_token"}, headers=auth(acct.secret("user_token"))
    ).json()
    assert got["access_token"] == acct.secret("page_token")
    refused = http.post(
        f"/v25.0/{page}/feed", data={"message": "x"}, headers=auth(acct.secret("user_token"))
    )
    assert refused.json()["error"]["code"] == 200


def test_usage_headers_and_throttling(emu: FacebookEmulator, http: httpx.Client) -> None:
    """Every answer carries X-App-Usage and the Page's X-Business-Use-Case-Usage; past the
    budget, code 80001 with whole minutes to regain access; calls made while throttled
    extend the block; after the window the Page is served again."""
    acct = emu.account()
    page, token = acct.settings["page_id"], acct.secret("page_token")
    emu.set_rate_limit("account", 4, 90.0)
    answers = [http.get(f"/v25.0/{page}", headers=auth(token)) for _ in range(5)]
    usage = json.loads(answers[1].headers["x-business-use-case-usage"])
    assert usage[page][0]["type"] == "pages" and usage[page][0]["call_count"] == 50
    assert "call_count" in json.loads(answers[0].headers["x-app-usage"])
    throttled = answers[4]
    assert throttled.status_code == 400
    assert throttled.json()["error"]["code"] == 80001
    entry = json.loads(throttled.headers["x-business-use-case-usage"])[page][0]
    assert entry["call_count"] == 100 and entry["estimated_time_to_regain_access"] == 2
    emu.clock.advance(89)
    assert http.get(f"/v25.0/{page}", headers=auth(token)).status_code == 400
    emu.clock.advance(91)
    assert http.get(f"/v25.0/{page}", headers=auth(token)).status_code == 200


def test_batch_answers_in_order(emu: FacebookEmulator, http: httpx.Client) -> None:
    """A batch answers each read in order with its code and body (headers left out when
    asked); more than 50 is refused."""
    acct = emu.account()
    page, token = acct.settings["page_id"], acct.secret("page_token")
    post = http.post(f"/v25.0/{page}/feed", data={"message": "b"}, headers=auth(token)).json()
    batch = [
        {"method": "GET", "relative_url": f"{post['id']}?fields=message"},
        {"method": "GET", "relative_url": "999?fields=id"},
    ]
    out = http.post(
        "/v25.0/",
        data={"batch": json.dumps(batch), "include_headers": "false"},
        headers=auth(token),
    ).json()
    assert [item["code"] for item in out] == [200, 400]
    assert json.loads(out[0]["body"])["message"] == "b" and "headers" not in out[0]
    assert json.loads(out[1]["body"])["error"]["error_subcode"] == 33
    too_many = [{"method": "GET", "relative_url": "me"}] * 51
    refused = http.post("/v25.0/", data={"batch": json.dumps(too_many)}, headers=auth(token))
    assert refused.status_code == 400


def test_field_expansion_and_insights(emu: FacebookEmulator, http: httpx.Client) -> None:
    """Summaries and insights come through field expansion and the insights edge; retired
    metrics are refused as Meta refuses them; engagement grows with the clock."""
    acct = emu.account()
    page, token = acct.settings["page_id"], acct.secret("page_token")
    post = http.post(f"/v25.0/{page}/feed", data={"message": "grow"}, headers=auth(token)).json()
    emu.clock.advance(10 * 3600)
    node = http.get(
        f"/v25.0/{post['id']}",
        params={"fields": "reactions.summary(total_count).limit(0),comments.summary(true)"},
        headers=auth(token),
    ).json()
    assert node["reactions"]["data"] == [] and node["reactions"]["summary"]["total_count"] > 0
    assert "total_count" in node["comments"]["summary"]
    insights = http.get(
        f"/v25.0/{post['id']}/insights",
        params={"metric": "post_media_view,post_total_media_view_unique"},
        headers=auth(token),
    ).json()
    views, viewers = (d["values"][0]["value"] for d in insights["data"])
    assert views >= viewers > 0
    retired = http.get(
        f"/v25.0/{post['id']}/insights", params={"metric": "post_impressions"}, headers=auth(token)
    )
    assert retired.json()["error"]["message"] == "(#100) The value must be a valid insights metric"
    unknown_field = http.get(f"/v25.0/{post['id']}", params={"fields": "nope"}, headers=auth(token))
    assert "nonexisting field (nope)" in unknown_field.json()["error"]["message"]


def test_photos_are_checked(emu: FacebookEmulator, http: httpx.Client) -> None:
    """A photo that is not an image is refused with code 324; an unpublished photo makes
    no post until a feed post attaches it, and it can be attached once."""
    acct = emu.account()
    page, token = acct.settings["page_id"], acct.secret("page_token")
    bad = http.post(
        f"/v25.0/{page}/photos",
        files={"source": ("x.txt", b"hello", "text/plain")},
        headers=auth(token),
    )
    assert bad.json()["error"]["code"] == 324
    photo = http.post(
        f"/v25.0/{page}/photos",
        data={"published": "false"},
        files={"source": ("a.png", png(), "image/png")},
        headers=auth(token),
    ).json()
    assert set(photo) == {"id"} and emu.post_texts() == []
    attach = {"message": "album", "attached_media": json.dumps([{"media_fbid": photo["id"]}])}
    assert http.post(f"/v25.0/{page}/feed", data=attach, headers=auth(token)).status_code == 200
    again = http.post(f"/v25.0/{page}/feed", data=attach, headers=auth(token))
    assert again.json()["error"]["code"] == 100


def test_video_upload_is_checked_and_processed(emu: FacebookEmulator, http: httpx.Client) -> None:
    """The resumable upload refuses a chunk at the wrong offset and a finish before all
    bytes; the post appears only when processing is done."""
    acct = emu.account()
    page, token = acct.settings["page_id"], acct.secret("page_token")
    data = b"\x00\x00\x00\x18ftypmp42" + b"\1" * 100
    start = http.post(
        f"/v25.0/{page}/videos",
        data={"upload_phase": "start", "file_size": str(len(data))},
        headers=auth(token),
    ).json()
    session = start["upload_session_id"]
    early = http.post(
        f"/v25.0/{page}/videos",
        data={"upload_phase": "finish", "upload_session_id": session},
        headers=auth(token),
    )
    assert early.json()["error"]["error_subcode"] == 1363019
    wrong = http.post(
        f"/v25.0/{page}/videos",
        data={"upload_phase": "transfer", "upload_session_id": session, "start_offset": "10"},
        files={"video_file_chunk": ("c", data[10:], "application/octet-stream")},
        headers=auth(token),
    )
    assert wrong.json()["error"]["error_subcode"] == 1363037
    http.post(
        f"/v25.0/{page}/videos",
        data={"upload_phase": "transfer", "upload_session_id": session, "start_offset": "0"},
        files={"video_file_chunk": ("c", data, "application/octet-stream")},
        headers=auth(token),
    )
    done = http.post(
        f"/v25.0/{page}/videos",
        data={"upload_phase": "finish", "upload_session_id": session, "description": "clip"},
        headers=auth(token),
    )
    assert done.json() == {"success": True}
    status = http.get(
        f"/v25.0/{start['video_id']}", params={"fields": "status"}, headers=auth(token)
    ).json()["status"]
    assert status["video_status"] == "processing" and emu.post_texts() == []
    emu.clock.advance(5)
    assert emu.post_texts() == ["clip"]


def test_fail_after_store_creates_and_answers_code_2(
    emu: FacebookEmulator, http: httpx.Client
) -> None:
    """fail_after_store: the post exists, the answer is Meta's 500 code 2."""
    acct = emu.account()
    page, token = acct.settings["page_id"], acct.secret("page_token")
    emu.fail_after_store("POST", r"/v25\.0/\d+/feed")
    answer = http.post(f"/v25.0/{page}/feed", data={"message": "ghost"}, headers=auth(token))
    assert answer.status_code == 500
    error = answer.json()["error"]
    assert (error["code"], error["is_transient"]) == (2, True)
    assert emu.post_texts() == ["ghost"]


# -- /me, /me/accounts and comments (issue 11) ---------------------------------------------


def test_me_and_me_accounts_give_page_tokens_over_a_socket() -> None:
    """Over a real socket: a user token's /me is the user, /me/accounts lists the Pages the
    user administers (id, name, access_token, category, category_list, tasks) in pages with
    cursors, and the Page token it hands out publishes; a Page token's /me is the Page."""
    emu = FacebookEmulator()
    with emu.serve() as url, httpx.Client(base_url=url) as http:
        first = emu.account(tokens="user", page_name="First")
        owner = emu.page_owner(first.settings["page_id"])
        second = emu.account(tokens="both", page_name="Second", user_id=owner)
        user = auth(first.secret("user_token"))
        me = http.get("/v25.0/me", headers=user)
        assert (
            me.status_code == 200
            and me.json()["id"] == owner
            and set(me.json())
            == {
                "id",
                "name",
            }
        )
        one = http.get("/v25.0/me/accounts", params={"limit": 1}, headers=user).json()
        (page,) = one["data"]
        assert set(page) == {"access_token", "category", "category_list", "name", "id", "tasks"}
        assert page["name"] == "First" and "CREATE_CONTENT" in page["tasks"]
        assert set(one["paging"]["cursors"]) == {"before", "after"} and "next" in one["paging"]
        rest = httpx.get(one["paging"]["next"], headers=user).json()
        assert [p["name"] for p in rest["data"]] == ["Second"] and "next" not in rest["paging"]
        posted = http.post(
            f"/v25.0/{page['id']}/feed",
            data={"message": "with the listed token"},
            headers=auth(page["access_token"]),
        )
        assert posted.status_code == 200
        as_page = http.get(
            "/me", params={"fields": "id,name"}, headers=auth(second.secret("page_token"))
        )
        assert as_page.json() == {"id": second.settings["page_id"], "name": "Second"}
        refused = http.get("/v25.0/me/accounts", headers=auth(second.secret("page_token")))
        assert refused.status_code == 400 and refused.json()["error"]["code"] == 100
    assert emu.post_texts() == ["with the listed token"]


def test_comments_replies_hide_and_delete(emu: FacebookEmulator, http: httpx.Client) -> None:
    """An audience comment appears on GET /{post}/comments (default fields created_time,
    from, message, id, as a real comment); the Page answers it with POST /{comment}/comments;
    filter=stream shows both levels, order=reverse_chronological reverses, summary counts;
    is_hidden hides it (not the Page's own); DELETE removes it."""
    acct = emu.account()
    page, token = acct.settings["page_id"], auth(acct.secret("page_token"))
    post_id = http.post(f"/v25.0/{page}/feed", data={"message": "hi"}, headers=token).json()["id"]
    theirs = emu.add_comment(post_id, author="Ada", text="Love it")
    emu.clock.advance(1)
    reply = http.post(f"/v25.0/{theirs}/comments", data={"message": "Thanks!"}, headers=token)
    assert reply.status_code == 200 and set(reply.json()) == {"id"}
    ours = reply.json()["id"]
    assert ours.split("_")[0] == post_id.split("_")[1]
    top = http.get(f"/v25.0/{post_id}/comments", params={"summary": "true"}, headers=token).json()
    (only,) = top["data"]
    sample = real("facebook/models/comment.json")
    assert set(only) == {"created_time", "from", "message", "id"} <= set(sample)
    assert only["from"]["name"] == "Ada" and top["summary"]["total_count"] == 1
    stream = http.get(
        f"/v25.0/{post_id}/comments",
        params={"filter": "stream", "order": "reverse_chronological", "fields": "id,parent{id}"},
        headers=token,
    ).json()["data"]
    assert [c["id"] for c in stream] == [ours, theirs] and stream[0]["parent"] == {"id": theirs}
    answers = http.get(f"/v25.0/{theirs}/comments", headers=token).json()["data"]
    assert [c["message"] for c in answers] == ["Thanks!"]
    hidden = http.post(f"/v25.0/{theirs}", data={"is_hidden": "true"}, headers=token)
    assert hidden.json() == {"success": True}
    got = http.get(f"/v25.0/{theirs}", params={"fields": "is_hidden,can_hide"}, headers=token)
    assert got.json() == {"is_hidden": True, "can_hide": True, "id": theirs}
    own = http.post(f"/v25.0/{ours}", data={"is_hidden": "true"}, headers=token)
    assert own.status_code == 400 and own.json()["error"]["code"] == 100
    counted = http.get(
        f"/v25.0/{post_id}", params={"fields": "comments.summary(true).limit(0)"}, headers=token
    ).json()
    assert counted["comments"]["summary"]["total_count"] >= 2
    assert http.delete(f"/v25.0/{theirs}", headers=token).json() == {"success": True}
    left = http.get(f"/v25.0/{post_id}/comments", headers=token).json()["data"]
    assert left == [] and emu.comment(theirs).deleted_at is not None
    again = http.delete(f"/v25.0/{theirs}", headers=token)
    assert again.status_code == 400 and again.json()["error"]["error_subcode"] == 33


def test_comment_writes_need_the_page_token(emu: FacebookEmulator, http: httpx.Client) -> None:
    """A user token reads comments but cannot comment as the Page (code 200), an empty
    message is refused (code 100), and comments on an unknown object are "Unsupported post
    request"."""
    acct = emu.account()
    page, token = acct.settings["page_id"], auth(acct.secret("page_token"))
    user = auth(acct.secret("user_token"))
    post_id = http.post(f"/v25.0/{page}/feed", data={"message": "hi"}, headers=token).json()["id"]
    assert http.get(f"/v25.0/{post_id}/comments", headers=user).status_code == 200
    as_user = http.post(f"/v25.0/{post_id}/comments", data={"message": "x"}, headers=user)
    assert as_user.status_code == 403 and as_user.json()["error"]["code"] == 200
    empty = http.post(f"/v25.0/{post_id}/comments", data={"message": ""}, headers=token)
    assert empty.status_code == 400 and "Missing message" in empty.json()["error"]["message"]
    nowhere = http.post("/v25.0/123_456/comments", data={"message": "x"}, headers=token)
    assert nowhere.json()["error"]["error_subcode"] == 33
    with pytest.raises(KeyError):
        emu.add_comment("123_456", text="x")


def test_fidelity_docs_example_runs() -> None:
    """The example of the docs' "Emulator fidelity" section runs as written."""
    from tests.docs_blocks import DOCS, code_blocks

    page = DOCS / "platforms" / "facebook.md"
    (example,) = code_blocks(page, "python", "## Emulator fidelity", section_only=True)
    exec(compile(example, str(page), "exec"), {"__name__": "docs_example"})


def test_engage_names_the_kinds_it_counts(emu: FacebookEmulator, http: httpx.Client) -> None:
    """engage() adds the platform's kinds and refuses others (a typo is no silent no-op)."""
    acct = emu.account()
    page, token = acct.settings["page_id"], auth(acct.secret("page_token"))
    post_id = http.post(f"/v25.0/{page}/feed", data={"message": "hi"}, headers=token).json()["id"]
    emu.engage(post_id, shares=7)
    got = http.get(f"/v25.0/{post_id}", params={"fields": "shares"}, headers=token).json()
    assert got["shares"] == {"count": 7}
    with pytest.raises(TypeError, match="likes"):
        emu.engage(post_id, likes=1)
    with pytest.raises(KeyError):
        emu.engage("1_2", shares=1)


def test_photo_part_without_file_name_is_still_the_file(
    emu: FacebookEmulator, http: httpx.Client
) -> None:
    """A multipart ``source`` part with no file name but an image type (as some clients send
    uploads) is read as the file, not decoded as text; a body without its boundary is code
    100."""
    acct = emu.account()
    page, token = acct.settings["page_id"], auth(acct.secret("page_token"))
    boundary = "b0undary"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="caption"\r\n\r\n'
            "no file name\r\n"
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="source"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + png(20, 10)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    sent = http.post(
        f"/v25.0/{page}/photos",
        content=body,
        headers={**token, "content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert sent.status_code == 200, sent.text
    (photo,) = emu.photos
    assert (photo["mime_type"], photo["width"], photo["caption"]) == (
        "image/png",
        20,
        "no file name",
    )
    broken = http.post(
        f"/v25.0/{page}/photos",
        content=b"no parts here",
        headers={**token, "content-type": "multipart/form-data"},
    )
    assert broken.status_code == 400 and broken.json()["error"]["code"] == 100


# -- conversations (issue 12) --------------------------------------------------------------


def _post(emu: FacebookEmulator, http: httpx.Client) -> tuple[str, str, dict[str, str]]:
    acct = emu.account()
    page, token = acct.settings["page_id"], auth(acct.secret("page_token"))
    post_id = http.post(f"/v25.0/{page}/feed", data={"message": "hi"}, headers=token).json()["id"]
    return page, post_id, token


def test_comments_expanded_in_published_posts(emu: FacebookEmulator, http: httpx.Client) -> None:
    """published_posts expands each post's comments with filter, order, limit and nested
    fields: every level newest first (the same second too), paging.next to the post's
    comments edge while more follow; a post without comments has no comments field."""
    page, post_id, token = _post(emu, http)
    emu.clock.advance(1)
    http.post(f"/v25.0/{page}/feed", data={"message": "quiet"}, headers=token)
    fan = emu.audience("ada")
    first = fan.comment(post_id, "first")
    answer = emu.audience("bob").comment(first, "an answer")
    third = fan.comment(post_id, "third")
    fields = "id,comments.filter(stream).order(reverse_chronological).limit(2){id,message,from,parent{id}}"
    got = http.get(
        f"/v25.0/{page}/published_posts", params={"fields": fields}, headers=token
    ).json()
    quiet, busy = got["data"]
    assert "comments" not in quiet
    edge = busy["comments"]
    assert [c["id"] for c in edge["data"]] == [third, answer]
    assert edge["data"][1]["parent"] == {"id": first}
    assert edge["data"][0]["from"]["name"] == "ada"
    nxt = httpx.URL(edge["paging"]["next"])
    assert nxt.path == f"/v25.0/{post_id}/comments"
    rest = http.get(nxt.path, params=dict(nxt.params), headers=token).json()
    assert [c["id"] for c in rest["data"]] == [first] and "next" not in rest["paging"]
    counted = http.get(
        f"/v25.0/{post_id}", params={"fields": "comments.summary(true).limit(0)"}, headers=token
    ).json()
    assert counted["comments"]["data"] == [] and counted["comments"]["summary"]["total_count"] >= 3


def test_comment_cursors_go_both_ways_and_stand_at_their_comment(
    emu: FacebookEmulator, http: httpx.Client
) -> None:
    """Cursors name the comment they stand at: a comment made meanwhile does not shift the
    next page; ``before`` reads back; ``previous`` only when something comes before; a
    cursor the emulator did not make is code 100."""
    _, post_id, token = _post(emu, http)
    ids = [emu.audience(f"fan{i}").comment(post_id, f"c{i}") for i in range(5)]
    one = http.get(f"/v25.0/{post_id}/comments", params={"limit": 2}, headers=token).json()
    assert [c["id"] for c in one["data"]] == ids[:2] and "previous" not in one["paging"]
    emu.clock.advance(1)
    emu.audience("late").comment(post_id, "late")
    two = http.get(
        f"/v25.0/{post_id}/comments",
        params={"limit": 2, "after": one["paging"]["cursors"]["after"]},
        headers=token,
    ).json()
    assert [c["id"] for c in two["data"]] == ids[2:4] and "previous" in two["paging"]
    back = http.get(
        f"/v25.0/{post_id}/comments",
        params={"limit": 2, "before": two["paging"]["cursors"]["before"]},
        headers=token,
    ).json()
    assert [c["id"] for c in back["data"]] == ids[:2]
    bad = http.get(f"/v25.0/{post_id}/comments", params={"after": "%%%"}, headers=token)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == 100


def test_likes_answers_and_hidden(emu: FacebookEmulator, http: httpx.Client) -> None:
    """The Page likes and unlikes a comment (like_count, user_likes); its answers are what
    answers() lists (an answer to a reply joins the comment, as on Facebook); is_hidden
    follows hiding; the audience has comments only."""
    _, post_id, token = _post(emu, http)
    asked = emu.audience("ada").comment(post_id, "question")
    reply = emu.audience("bob").comment(asked, "me too")
    assert emu.comment(reply).parent == asked
    assert http.post(f"/v25.0/{asked}/likes", headers=token).json() == {"success": True}
    liked = http.get(f"/v25.0/{asked}", params={"fields": "like_count,user_likes"}, headers=token)
    assert liked.json() == {"like_count": 1, "user_likes": True, "id": asked}
    assert http.delete(f"/v25.0/{asked}/likes", headers=token).json() == {"success": True}
    assert emu.comment(asked).liked is False
    http.post(f"/v25.0/{reply}/comments", data={"message": "answer"}, headers=token)
    assert emu.answers(asked) == ["answer"] and emu.answers(reply) == []
    assert not emu.is_hidden(asked)
    http.post(f"/v25.0/{asked}", data={"is_hidden": "true"}, headers=token)
    assert emu.is_hidden(asked)
    with pytest.raises(NotImplementedError, match="comment"):
        emu.audience("ada").quote(asked, "hello")
    # A mention is a post written on the Page: its feed lists it, its own posts do not.
    visitor = emu.audience("ada").mention("hello")
    feed = http.get(f"/v25.0/{visitor.split('_')[0]}/feed", headers=token).json()["data"]
    assert visitor in [p["id"] for p in feed]
    with pytest.raises(KeyError):
        emu.audience("ada").comment("1_2", "nowhere")
    nobody = http.post("/v25.0/1_2/likes", headers=token)
    assert nobody.status_code == 400 and nobody.json()["error"]["error_subcode"] == 33
