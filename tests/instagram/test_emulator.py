"""The Instagram emulator answers as the Graph API does (shapes checked on real bodies), and
the loopback media host serves what it is given."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from brandkit import Media
from brandkit.testing import TINY_JPEG, png
from brandkit.testing._mediahost import LoopbackMediaHost
from brandkit.testing.instagram import InstagramEmulator
from tests.facebook.conftest import real


@pytest.fixture
def host() -> Iterator[LoopbackMediaHost]:
    """A media host on 127.0.0.1."""
    with LoopbackMediaHost() as host:
        yield host


@pytest.fixture
def emu(host: LoopbackMediaHost) -> InstagramEmulator:
    """An in-process emulator fetching from the loopback host."""
    return InstagramEmulator(media_host=host, video_processing=3.0)


@pytest.fixture
def http(emu: InstagramEmulator) -> Iterator[httpx.Client]:
    """An httpx client answered by the emulator in-process."""
    with httpx.Client(transport=emu.transport(), base_url="http://graph.test") as client:
        yield client


class Who:
    """An account's id and auth header."""

    def __init__(self, emu: InstagramEmulator) -> None:
        acct = emu.account()
        self.id = acct.settings["ig_user_id"]
        self.headers = {"authorization": f"Bearer {acct.secret('token')}"}


def create(http: httpx.Client, who: Who, **data: str) -> httpx.Response:
    """POST a container."""
    return http.post(f"/v25.0/{who.id}/media", data=data, headers=who.headers)


def test_container_and_limit_have_the_real_shapes(
    emu: InstagramEmulator, http: httpx.Client, host: LoopbackMediaHost
) -> None:
    """Container creation, status and content_publishing_limit answer with the keys (and
    status text) of real answers."""
    who = Who(emu)
    made = create(http, who, image_url=host.put(TINY_JPEG, "image/jpeg"), caption="c")
    assert set(made.json()) == set(real("instagram/apidata/publish/create_photo.json"))
    status = http.get(
        f"/v25.0/{made.json()['id']}",
        params={"fields": "id,status,status_code"},
        headers=who.headers,
    ).json()
    sample = real("instagram/apidata/publish/container_info.json")
    assert set(status) == set(sample)
    assert (status["status"], status["status_code"]) == (sample["status"], "FINISHED")
    limit = http.get(
        f"/v25.0/{who.id}/content_publishing_limit",
        params={"fields": "config,quota_usage"},
        headers=who.headers,
    ).json()
    expected = real("instagram/apidata/users/content_publish_limit.json")
    assert set(limit["data"][0]) == set(expected["data"][0])
    assert limit["data"][0]["config"]["quota_duration"] == 86400


def test_media_list_and_node_have_the_real_shapes(
    emu: InstagramEmulator, http: httpx.Client, host: LoopbackMediaHost
) -> None:
    """/media pages like a real answer; a media node has the real fields."""
    who = Who(emu)
    for i in range(3):
        cid = create(
            http, who, image_url=host.put(TINY_JPEG, "image/jpeg"), caption=f"c{i}"
        ).json()["id"]
        http.post(f"/v25.0/{who.id}/media_publish", data={"creation_id": cid}, headers=who.headers)
        emu.clock.advance(1)
    sample = real("instagram/apidata/users/medias_p1.json")
    fields = ",".join(sample["data"][0])
    page = http.get(
        f"/v25.0/{who.id}/media", params={"fields": fields, "limit": 2}, headers=who.headers
    ).json()
    assert set(page) == set(sample) and set(page["paging"]["cursors"]) == {"before", "after"}
    assert set(page["data"][0]) == set(sample["data"][0])
    assert [m["id"] for m in page["data"]] == [emu.posts[2]["id"], emu.posts[1]["id"]]
    assert page["data"][0]["permalink"].startswith("https://www.instagram.com/p/")


def test_fetch_failures_are_refused_with_metas_words(
    emu: InstagramEmulator, http: httpx.Client, host: LoopbackMediaHost
) -> None:
    """An URL Meta cannot fetch, or one that is not on loopback, or a body that is no
    image, is refused at once with code 9004 / 2207052."""
    who = Who(emu)
    missing = create(http, who, image_url=f"{host.url}/media/nothing.jpg").json()["error"]
    assert (missing["code"], missing["error_subcode"]) == (9004, 2207052)
    assert missing["error_user_title"].startswith("Media download has failed")
    remote = create(http, who, image_url="https://example.com/a.jpg").json()["error"]
    assert remote["code"] == 9004
    text = create(http, who, image_url=host.put(b"<html>hi</html>", "text/html")).json()["error"]
    assert text["message"] == "Only photo or video can be accepted as media type."


def test_wrong_type_and_size_end_in_error(
    emu: InstagramEmulator, http: httpx.Client, host: LoopbackMediaHost
) -> None:
    """A PNG as image_url, or a JPEG over the limit, makes a container that ends in ERROR
    with Meta's status text; publishing it is refused."""
    who = Who(emu)
    cid = create(http, who, image_url=host.put(png(), "image/png")).json()["id"]
    status = http.get(
        f"/v25.0/{cid}", params={"fields": "status_code,status"}, headers=who.headers
    ).json()
    assert status["status_code"] == "ERROR"
    assert status["status"] == "Error: Media upload has failed with error code 2207005"
    refused = http.post(
        f"/v25.0/{who.id}/media_publish", data={"creation_id": cid}, headers=who.headers
    ).json()["error"]
    assert refused["code"] == 9007
    emu.max_image_bytes = 50
    big = create(http, who, image_url=host.put(TINY_JPEG, "image/jpeg")).json()["id"]
    assert emu.container(big)["status"].endswith("2207004")


def test_publishing_rules(
    emu: InstagramEmulator, http: httpx.Client, host: LoopbackMediaHost
) -> None:
    """A video container is IN_PROGRESS until processed (publishing is refused with
    9007/2207027 meanwhile); a container is published once; the quota is enforced with
    9/2207042."""
    who = Who(emu)
    emu.quota_total = 1
    video = b"\x00\x00\x00\x18ftypmp42" + b"\0" * 100
    cid = create(http, who, media_type="REELS", video_url=host.put(video, "video/mp4")).json()["id"]
    early = http.post(
        f"/v25.0/{who.id}/media_publish", data={"creation_id": cid}, headers=who.headers
    ).json()["error"]
    assert (early["code"], early["error_subcode"]) == (9007, 2207027)
    emu.clock.advance(3)
    done = http.post(
        f"/v25.0/{who.id}/media_publish", data={"creation_id": cid}, headers=who.headers
    )
    assert set(done.json()) == set(real("instagram/apidata/publish/publish_container.json"))
    twice = http.post(
        f"/v25.0/{who.id}/media_publish", data={"creation_id": cid}, headers=who.headers
    ).json()["error"]
    assert twice["code"] == 9007
    other = create(http, who, image_url=host.put(TINY_JPEG, "image/jpeg")).json()["id"]
    over = http.post(
        f"/v25.0/{who.id}/media_publish", data={"creation_id": other}, headers=who.headers
    ).json()["error"]
    assert (over["code"], over["error_subcode"]) == (9, 2207042)
    emu.clock.advance(86_400)
    assert (
        http.post(
            f"/v25.0/{who.id}/media_publish", data={"creation_id": other}, headers=who.headers
        ).json()["error"]["error_subcode"]
        == 2207020
    )


def test_container_validation(
    emu: InstagramEmulator, http: httpx.Client, host: LoopbackMediaHost
) -> None:
    """Carousels need 2-10 carousel items; alt_text is for images only; a caption over
    2,200 characters is refused; single VIDEO is no longer a feed type."""
    who = Who(emu)
    url = host.put(TINY_JPEG, "image/jpeg")
    item = create(http, who, image_url=url, is_carousel_item="true").json()["id"]
    one = create(http, who, media_type="CAROUSEL", children=item).json()["error"]
    assert one["error_subcode"] == 2207028
    plain = create(http, who, image_url=url).json()["id"]
    mixed = create(http, who, media_type="CAROUSEL", children=f"{item},{plain}").json()["error"]
    assert mixed["error_subcode"] == 2207028
    reel_alt = create(http, who, media_type="REELS", video_url=url, alt_text="x").json()
    assert "alt_text" in reel_alt["error"]["message"]
    long = create(http, who, image_url=url, caption="x" * 2201).json()["error"]
    assert long["error_subcode"] == 2207010
    video = create(http, who, media_type="VIDEO", video_url=url).json()["error"]
    assert "REELS" in video["message"]


def test_insights_and_retired_metrics(
    emu: InstagramEmulator, http: httpx.Client, host: LoopbackMediaHost
) -> None:
    """Insights come in the real shape and grow with the clock; impressions (retired with
    v22.0) is refused with the list of valid metrics."""
    who = Who(emu)
    cid = create(http, who, image_url=host.put(TINY_JPEG, "image/jpeg")).json()["id"]
    media = http.post(
        f"/v25.0/{who.id}/media_publish", data={"creation_id": cid}, headers=who.headers
    ).json()["id"]
    emu.clock.advance(6 * 3600)
    got = http.get(
        f"/v25.0/{media}/insights", params={"metric": "reach,saved"}, headers=who.headers
    ).json()
    sample = real("instagram/apidata/medias/insights.json")
    assert set(got["data"][0]) == set(sample["data"][0])
    assert got["data"][0]["values"][0]["value"] > 0
    old = http.get(
        f"/v25.0/{media}/insights", params={"metric": "impressions"}, headers=who.headers
    ).json()["error"]
    assert old["message"].startswith("(#100) metric[0] must be one of the following values")


def test_refresh_access_token(emu: InstagramEmulator, http: httpx.Client) -> None:
    """A token is refreshed only when at least a day old; the new one works."""
    who = Who(emu)
    young = http.get(
        "/refresh_access_token", params={"grant_type": "ig_refresh_token"}, headers=who.headers
    )
    assert young.status_code == 400
    emu.clock.advance(86_401)
    fresh = http.get(
        "/refresh_access_token", params={"grant_type": "ig_refresh_token"}, headers=who.headers
    ).json()
    assert fresh["token_type"] == "bearer" and fresh["expires_in"] == 60 * 86400
    me = http.get(
        f"/v25.0/{who.id}",
        params={"fields": "followers_count"},
        headers={"authorization": f"Bearer {fresh['access_token']}"},
    )
    assert set(me.json()) == {"followers_count", "id"}


def test_usage_header_and_throttle(emu: InstagramEmulator, http: httpx.Client) -> None:
    """Answers carry X-Business-Use-Case-Usage of type instagram; past the budget, code
    80002."""
    who = Who(emu)
    emu.set_rate_limit("account", 2, 60.0)
    answers = [http.get(f"/v25.0/{who.id}", headers=who.headers) for _ in range(3)]
    entry = json.loads(answers[0].headers["x-business-use-case-usage"])[who.id][0]
    assert entry["type"] == "instagram"
    assert answers[2].json()["error"]["code"] == 80002


def test_media_host_serves_and_forgets(tmp_path: Path) -> None:
    """The media host serves a file (streamed from disk) at a content-addressed URL, the
    same bytes at the same URL, and 404 once removed; it refuses non-loopback hosts."""
    path = tmp_path / "pic.jpg"
    path.write_bytes(TINY_JPEG)
    with LoopbackMediaHost() as host:
        url = host(Media.from_path(path))
        assert url == host(Media.from_bytes(TINY_JPEG)) and url.endswith(".jpg")
        got = httpx.get(url)
        assert got.content == TINY_JPEG and got.headers["content-type"] == "image/jpeg"
        host.remove(url)
        assert httpx.get(url).status_code == 404
        assert host.requests == ["/media/" + url.rsplit("/", 1)[1]] * 2
    with pytest.raises(ValueError, match="loopback"):
        LoopbackMediaHost(host="0.0.0.0")


# -- /me and comments (issue 11) -------------------------------------------------------------


def published(http: httpx.Client, who: Who, host: LoopbackMediaHost) -> str:
    """Publish one image post and return its media id."""
    made = create(http, who, image_url=host.put(TINY_JPEG, "image/jpeg"), caption="c")
    done = http.post(
        f"/v25.0/{who.id}/media_publish",
        data={"creation_id": made.json()["id"]},
        headers=who.headers,
    )
    assert done.status_code == 200, done.text
    return str(done.json()["id"])


def test_me_on_instagram_login_over_a_socket(emu: InstagramEmulator) -> None:
    """Over a real socket, GET /me (unversioned, as graph.instagram.com is called, and
    versioned) answers the token's account: user_id, username, account_type."""
    with emu.serve() as url, httpx.Client(base_url=url) as http:
        acct = emu.account(username="brandco")
        headers = {"authorization": f"Bearer {acct.secret('token')}"}
        me = http.get("/me", params={"fields": "user_id,username,account_type"}, headers=headers)
        assert me.json() == {
            "user_id": acct.settings["ig_user_id"],
            "username": "brandco",
            "account_type": "BUSINESS",
            "id": acct.settings["ig_user_id"],
        }
        assert http.get("/v25.0/me", headers=headers).json() == {"id": acct.settings["ig_user_id"]}
        bad = http.get("/me", params={"access_token": "nope"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == 190


def test_comments_replies_hide_and_delete(
    emu: InstagramEmulator, http: httpx.Client, host: LoopbackMediaHost
) -> None:
    """An audience comment lists on GET /{media}/comments with the keys of a real page of
    comments, newest first; the account comments (POST /{media}/comments) and replies (POST
    /{comment}/replies; a reply to a reply joins the top-level comment); hide=true flags it;
    DELETE removes it; comments_count counts them."""
    who = Who(emu)
    media = published(http, who, host)
    theirs = emu.add_comment(media, author="ada", text="Beautiful!")
    ours = http.post(f"/v25.0/{media}/comments", data={"message": "Hi all"}, headers=who.headers)
    assert ours.status_code == 200 and set(ours.json()) == {"id"}
    reply = http.post(
        f"/v25.0/{theirs}/replies", data={"message": "@ada thanks"}, headers=who.headers
    )
    nested = http.post(
        f"/v25.0/{reply.json()['id']}/replies", data={"message": "and more"}, headers=who.headers
    )
    assert nested.status_code == 200
    listed = http.get(f"/v25.0/{media}/comments", headers=who.headers).json()
    sample = real("instagram/apidata/medias/comments_p1.json")
    assert set(listed["data"][0]) == set(sample["data"][0])
    # Newest first, as in the real page of comments (comments_p1.json).
    assert [c["text"] for c in listed["data"]] == ["Hi all", "Beautiful!"]
    replies = http.get(
        f"/v25.0/{theirs}/replies",
        params={"fields": "text,username,parent_id"},
        headers=who.headers,
    ).json()["data"]
    assert [r["text"] for r in replies] == ["@ada thanks", "and more"]
    of_reply = http.get(f"/v25.0/{reply.json()['id']}/replies", headers=who.headers)
    assert of_reply.json()["data"] == []
    assert {r["parent_id"] for r in replies} == {theirs}
    hide = http.post(f"/v25.0/{theirs}", data={"hide": "true"}, headers=who.headers)
    assert hide.json() == {"success": True}
    got = http.get(
        f"/v25.0/{theirs}", params={"fields": "hidden,username,text"}, headers=who.headers
    )
    assert got.json() == {"hidden": True, "username": "ada", "text": "Beautiful!", "id": theirs}
    count = http.get(f"/v25.0/{media}", params={"fields": "comments_count"}, headers=who.headers)
    assert count.json()["comments_count"] >= 4
    assert http.delete(f"/v25.0/{theirs}", headers=who.headers).json() == {"success": True}
    assert [c.text for c in emu.comments(media)] == ["Hi all", "@ada thanks", "and more"]
    gone = http.get(f"/v25.0/{theirs}", headers=who.headers)
    assert gone.status_code == 400 and gone.json()["error"]["error_subcode"] == 33


def test_comments_of_others_media_are_refused(
    emu: InstagramEmulator, http: httpx.Client, host: LoopbackMediaHost
) -> None:
    """Another account's token cannot list, comment on, hide or delete (subcode 33), and a
    comment without message is refused (code 100)."""
    who, other = Who(emu), Who(emu)
    media = published(http, who, host)
    theirs = emu.add_comment(media, text="hello")
    for method, path, data in (
        ("GET", f"/v25.0/{media}/comments", None),
        ("POST", f"/v25.0/{media}/comments", {"message": "x"}),
        ("POST", f"/v25.0/{theirs}", {"hide": "true"}),
        ("DELETE", f"/v25.0/{theirs}", None),
    ):
        answer = http.request(method, path, data=data, headers=other.headers)
        assert answer.json()["error"]["error_subcode"] == 33, (method, path)
    empty = http.post(f"/v25.0/{media}/comments", data={"message": ""}, headers=who.headers)
    assert empty.status_code == 400 and empty.json()["error"]["code"] == 100


# -- conversations (issue 12) --------------------------------------------------------------


def test_comments_and_replies_expanded_in_media(
    emu: InstagramEmulator, http: httpx.Client, host: LoopbackMediaHost
) -> None:
    """GET /{ig-user-id}/media expands each media's comments (newest first, limit, paging
    to the media's comments edge) and their replies (paging to the comment's replies
    edge); ``user`` shows only on the account's own; a media without comments has no
    comments field."""
    who = Who(emu)
    quiet = published(http, who, host)
    media = published(http, who, host)
    first = emu.audience("ada").comment(media, "first")
    second = emu.audience("bob").comment(media, "second")
    answers = [emu.audience(f"fan{i}").comment(first, f"a{i}") for i in range(3)]
    ours = http.post(f"/v25.0/{first}/replies", data={"message": "ours"}, headers=who.headers)
    fields = (
        "id,comments.limit(1){id,username,user,replies.limit(2){id,text,username,user,parent_id}}"
    )
    got = http.get(f"/v25.0/{who.id}/media", params={"fields": fields}, headers=who.headers)
    by_id = {m["id"]: m for m in got.json()["data"]}
    assert "comments" not in by_id[quiet]
    edge = by_id[media]["comments"]
    assert [c["id"] for c in edge["data"]] == [second] and "next" in edge["paging"]
    nxt = httpx.URL(edge["paging"]["next"])
    assert nxt.path == f"/v25.0/{media}/comments"
    rest = http.get(nxt.path, params=dict(nxt.params), headers=who.headers).json()
    (top,) = rest["data"]
    assert top["id"] == first and "user" not in top
    replies = top["replies"]
    assert [r["id"] for r in replies["data"]] == answers[:2]
    assert {r["parent_id"] for r in replies["data"]} == {first}
    more = httpx.URL(replies["paging"]["next"])
    assert more.path == f"/v25.0/{first}/replies"
    tail = http.get(more.path, params=dict(more.params), headers=who.headers).json()["data"]
    assert [r["id"] for r in tail] == [answers[2], ours.json()["id"]]
    assert tail[1]["user"] == {"id": who.id} and emu.answers(first) == ["ours"]


def test_a_hidden_comment_cannot_be_answered(
    emu: InstagramEmulator, http: httpx.Client, host: LoopbackMediaHost
) -> None:
    """Instagram refuses a reply to a hidden comment (code 100); the audience answers a
    reply on its comment (one level); the audience has comments only."""
    who = Who(emu)
    media = published(http, who, host)
    rude = emu.audience("troll").comment(media, "rude")
    echo = emu.audience("fan").comment(rude, "agreed")
    again = emu.audience("fan2").comment(echo, "me too")
    assert emu.comment(again).parent == rude
    http.post(f"/v25.0/{rude}", data={"hide": "true"}, headers=who.headers)
    assert emu.is_hidden(rude)
    refused = http.post(f"/v25.0/{rude}/replies", data={"message": "no"}, headers=who.headers)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == 100
    assert emu.answers(rude) == []
    with pytest.raises(NotImplementedError):
        emu.audience("fan").quote(media, "look")
