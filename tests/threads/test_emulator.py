"""The Threads emulator follows the Threads API reference field by field (Meta publishes no
recordings of it)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from brandkit import text as textlib
from brandkit.testing import TINY_JPEG, png
from brandkit.testing._mediahost import LoopbackMediaHost
from brandkit.testing.threads import ThreadsEmulator, threads_length


@pytest.fixture
def host() -> Iterator[LoopbackMediaHost]:
    """A media host on 127.0.0.1."""
    with LoopbackMediaHost() as host:
        yield host


@pytest.fixture
def emu(host: LoopbackMediaHost) -> ThreadsEmulator:
    """An in-process emulator."""
    return ThreadsEmulator(media_host=host, video_processing=2.0)


@pytest.fixture
def http(emu: ThreadsEmulator) -> Iterator[httpx.Client]:
    """An httpx client answered by the emulator in-process."""
    with httpx.Client(transport=emu.transport(), base_url="http://threads.test") as client:
        yield client


class Who:
    """An account's id and auth header."""

    def __init__(self, emu: ThreadsEmulator) -> None:
        acct = emu.account()
        self.id = acct.settings["user_id"]
        self.headers = {"authorization": f"Bearer {acct.secret('token')}"}


def container(http: httpx.Client, who: Who, **data: str) -> httpx.Response:
    """POST a container."""
    return http.post(f"/v1.0/{who.id}/threads", data=data, headers=who.headers)


def publish(http: httpx.Client, who: Who, cid: str) -> httpx.Response:
    """Publish a container."""
    return http.post(
        f"/v1.0/{who.id}/threads_publish", data={"creation_id": cid}, headers=who.headers
    )


@pytest.mark.parametrize(
    "text",
    [
        "plain ascii",
        "👍",
        "👍🏽 skin",
        "👨‍👩‍👧‍👦 family",
        "🇫🇷 flag",
        "é accent",
        "1️⃣ keycap",
        "日本語",
    ],
)
def test_counting_agrees_with_the_text_engine(text: str) -> None:
    """The emulator's own Threads count (emoji = UTF-8 bytes) equals brandkit.text's."""
    assert threads_length(text) == textlib.count(text, "threads")


def test_text_limits(emu: ThreadsEmulator, http: httpx.Client) -> None:
    """500 characters pass, 501 do not; an emoji counts its bytes; six links are refused
    with THREADS_API__LINK_LIMIT_EXCEEDED."""
    who = Who(emu)
    assert container(http, who, media_type="TEXT", text="x" * 500).status_code == 200
    assert container(http, who, media_type="TEXT", text="x" * 497 + "👍").status_code == 400
    links = " ".join(f"https://s{i}.com" for i in range(6))
    refused = container(http, who, media_type="TEXT", text=links).json()["error"]
    assert refused["message"] == "THREADS_API__LINK_LIMIT_EXCEEDED"
    same = " ".join(["https://s.com"] * 6)
    assert container(http, who, media_type="TEXT", text=same).status_code == 200


def test_status_shape_and_publish_once(emu: ThreadsEmulator, http: httpx.Client) -> None:
    """Status answers {status, id} (error_message only on ERROR); a container publishes
    once; a published post has the documented fields."""
    who = Who(emu)
    cid = container(http, who, media_type="TEXT", text="hi").json()["id"]
    status = http.get(
        f"/v1.0/{cid}", params={"fields": "status,error_message"}, headers=who.headers
    ).json()
    assert status == {"status": "FINISHED", "id": cid}
    post = publish(http, who, cid).json()
    assert set(post) == {"id"}
    assert publish(http, who, cid).status_code == 400
    fields = "id,text,media_type,permalink,timestamp,is_reply,username,shortcode"
    node = http.get(f"/v1.0/{post['id']}", params={"fields": fields}, headers=who.headers).json()
    assert node["media_type"] == "TEXT_POST" and node["is_reply"] is False
    assert (
        node["permalink"] == f"https://www.threads.net/@{node['username']}/post/{node['shortcode']}"
    )


def test_media_download_and_errors(
    emu: ThreadsEmulator, http: httpx.Client, host: LoopbackMediaHost
) -> None:
    """PNG and JPEG images are accepted; a video that cannot be downloaded ends in ERROR
    with FAILED_DOWNLOADING_VIDEO; publishing a processing video is refused."""
    who = Who(emu)
    for data, mime in ((png(), "image/png"), (TINY_JPEG, "image/jpeg")):
        cid = container(http, who, media_type="IMAGE", image_url=host.put(data, mime)).json()["id"]
        assert emu.containers[-1]["status"] == "FINISHED", cid
    missing = container(
        http, who, media_type="VIDEO", video_url=f"{host.url}/media/none.mp4"
    ).json()["id"]
    emu.clock.advance(2)
    status = http.get(
        f"/v1.0/{missing}", params={"fields": "status,error_message"}, headers=who.headers
    ).json()
    assert status["error_message"] == "FAILED_DOWNLOADING_VIDEO"
    video = b"\x00\x00\x00\x18ftypmp42" + b"\0" * 10
    slow = container(http, who, media_type="VIDEO", video_url=host.put(video, "video/mp4"))
    assert "not ready" in publish(http, who, slow.json()["id"]).json()["error"]["message"]


def test_replies_chain_and_listing(emu: ThreadsEmulator, http: httpx.Client) -> None:
    """A reply names its parent and root; /threads lists roots, /replies lists replies;
    replying to a deleted post is refused."""
    who = Who(emu)
    root = publish(http, who, container(http, who, media_type="TEXT", text="r").json()["id"])
    root_id = root.json()["id"]
    reply_c = container(http, who, media_type="TEXT", text="c", reply_to_id=root_id)
    reply_id = publish(http, who, reply_c.json()["id"]).json()["id"]
    node = http.get(
        f"/v1.0/{reply_id}", params={"fields": "replied_to,root_post,is_reply"}, headers=who.headers
    ).json()
    assert node == {
        "replied_to": {"id": root_id},
        "root_post": {"id": root_id},
        "is_reply": True,
        "id": reply_id,
    }
    roots = http.get(f"/v1.0/{who.id}/threads", params={"fields": "id"}, headers=who.headers)
    replies = http.get(f"/v1.0/{who.id}/replies", params={"fields": "id"}, headers=who.headers)
    assert [p["id"] for p in roots.json()["data"]] == [root_id]
    assert [p["id"] for p in replies.json()["data"]] == [reply_id]
    http.delete(f"/v1.0/{root_id}", headers=who.headers)
    late = container(http, who, media_type="TEXT", text="x", reply_to_id=root_id)
    assert late.status_code == 400


def test_quotas(emu: ThreadsEmulator, http: httpx.Client) -> None:
    """threads_publishing_limit reports posts, replies and deletes; the post quota is
    enforced at publish."""
    who = Who(emu)
    emu.quota_posts = 1
    publish(http, who, container(http, who, media_type="TEXT", text="a").json()["id"])
    over = publish(http, who, container(http, who, media_type="TEXT", text="b").json()["id"])
    assert over.status_code == 400 and over.json()["error"]["code"] == 4
    fields = "quota_usage,config,reply_quota_usage,reply_config,delete_quota_usage,delete_config"
    got = http.get(
        f"/v1.0/{who.id}/threads_publishing_limit", params={"fields": fields}, headers=who.headers
    ).json()["data"][0]
    assert got["quota_usage"] == 1 and got["config"] == {"quota_total": 1, "quota_duration": 86400}
    assert got["reply_config"]["quota_total"] == 1000 and got["delete_quota_usage"] == 0


def test_insights_shapes(emu: ThreadsEmulator, http: httpx.Client) -> None:
    """Media insights use values[0].value, user insights total_value; unknown metrics are
    refused."""
    who = Who(emu)
    post = publish(http, who, container(http, who, media_type="TEXT", text="a").json()["id"])
    emu.clock.advance(3600)
    media = http.get(
        f"/v1.0/{post.json()['id']}/insights", params={"metric": "views,likes"}, headers=who.headers
    ).json()
    assert [d["name"] for d in media["data"]] == ["views", "likes"]
    assert media["data"][0]["values"][0]["value"] > 0
    user = http.get(
        f"/v1.0/{who.id}/threads_insights",
        params={"metric": "followers_count"},
        headers=who.headers,
    ).json()
    assert "total_value" in user["data"][0]
    bad = http.get(
        f"/v1.0/{post.json()['id']}/insights", params={"metric": "impressions"}, headers=who.headers
    )
    assert bad.status_code == 400


def test_app_usage_and_throttle(emu: ThreadsEmulator, http: httpx.Client) -> None:
    """Answers carry X-App-Usage only; past the app's budget, code 4."""
    who = Who(emu)
    emu.set_rate_limit("app", 2, 60.0)
    answers = [http.get(f"/v1.0/{who.id}", headers=who.headers) for _ in range(3)]
    assert "x-business-use-case-usage" not in answers[0].headers
    assert json.loads(answers[1].headers["x-app-usage"])["call_count"] == 100
    assert answers[2].json()["error"]["code"] == 4


def test_no_batch_endpoint(emu: ThreadsEmulator, http: httpx.Client) -> None:
    """Threads documents no batch requests: the emulator refuses them."""
    who = Who(emu)
    batch = json.dumps([{"method": "GET", "relative_url": who.id}])
    refused = http.post("/v1.0/", data={"batch": batch}, headers=who.headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 100


def test_me_over_a_socket() -> None:
    """Over a real socket, GET /v1.0/me (and unversioned /me) answers the token's Threads
    user with the profile fields the reference names."""
    emu = ThreadsEmulator()
    with emu.serve() as url, httpx.Client(base_url=url) as http:
        acct = emu.account(username="brandco")
        headers = {"authorization": f"Bearer {acct.secret('token')}"}
        fields = "id,username,name,threads_profile_picture_url,threads_biography,is_verified"
        me = http.get("/v1.0/me", params={"fields": fields}, headers=headers).json()
        assert me["id"] == acct.settings["user_id"] and me["username"] == "brandco"
        assert me["threads_profile_picture_url"].startswith("https://")
        assert me["is_verified"] is False and me["threads_biography"] == ""
        assert http.get("/me", headers=headers).json() == {"id": acct.settings["user_id"]}
        graph_version = http.get("/v25.0/me", headers=headers)
        assert graph_version.status_code == 400 and graph_version.json()["error"]["code"] == 2500
        unknown = http.get("/v1.0/me", params={"fields": "followers"}, headers=headers)
        assert (
            unknown.status_code == 400 and "nonexisting field" in unknown.json()["error"]["message"]
        )


def test_replies_conversation_and_hiding(emu: ThreadsEmulator, http: httpx.Client) -> None:
    """Others' replies to the account's post show on GET /{post}/replies (top level) and
    /conversation (every level, newest first unless reverse=false), with hide_status;
    manage_reply hides a top-level reply and the replies under it, refuses a nested one;
    another account cannot read or hide them; the account's own post list stays its own."""
    who, other = Who(emu), Who(emu)
    made = container(http, who, media_type="TEXT", text="Launch")
    root = http.post(
        f"/v1.0/{who.id}/threads_publish",
        data={"creation_id": made.json()["id"]},
        headers=who.headers,
    ).json()["id"]
    first = emu.add_reply(root, author="ada", text="Congrats")
    emu.clock.advance(1)
    nested = emu.add_reply(first, author="bob", text="Agreed")
    top = http.get(
        f"/v1.0/{root}/replies",
        params={"fields": "id,text,username,hide_status"},
        headers=who.headers,
    )
    assert top.json()["data"] == [
        {"id": first, "text": "Congrats", "username": "ada", "hide_status": "NOT_HUSHED"}
    ]
    whole = http.get(
        f"/v1.0/{root}/conversation", params={"fields": "id,replied_to"}, headers=who.headers
    )
    assert [(r["id"], r["replied_to"]["id"]) for r in whole.json()["data"]] == [
        (nested, first),
        (first, root),
    ]
    oldest_first = http.get(
        f"/v1.0/{root}/conversation",
        params={"fields": "id", "reverse": "false"},
        headers=who.headers,
    )
    assert [r["id"] for r in oldest_first.json()["data"]] == [first, nested]
    refused = http.post(f"/v1.0/{nested}/manage_reply", data={"hide": "true"}, headers=who.headers)
    assert refused.status_code == 400 and "top-level" in refused.json()["error"]["message"]
    hidden = http.post(f"/v1.0/{first}/manage_reply", data={"hide": "true"}, headers=who.headers)
    assert hidden.json() == {"success": True}
    got = http.get(f"/v1.0/{nested}", params={"fields": "hide_status,text"}, headers=who.headers)
    assert got.json() == {"hide_status": "HIDDEN", "text": "Agreed", "id": nested}
    assert [r["hidden"] for r in emu.replies(root)] == [True, True]
    assert emu.is_hidden(nested)
    shown = http.post(f"/v1.0/{first}/manage_reply", data={"hide": "false"}, headers=who.headers)
    assert shown.json() == {"success": True} and not emu.is_hidden(nested)
    for method, path in (("GET", f"/v1.0/{root}/replies"), ("POST", f"/v1.0/{first}/manage_reply")):
        refused = http.request(
            method, path, data={"hide": "true"} if method == "POST" else None, headers=other.headers
        )
        assert refused.json()["error"]["error_subcode"] == 33, path
    assert emu.post_texts() == ["Launch"]
    own = http.get(f"/v1.0/{who.id}/replies", headers=who.headers).json()["data"]
    assert own == []
