"""python-facebook-api (``pyfacebook``), a Graph API client brands use, against the Facebook,
Instagram and Threads emulators over a real socket: a brand's workflow from a user token to a
Page token to posts, comments and metrics (on Instagram: containers, comments, replies; on
Threads: containers, replies), and the errors it must raise as it does against Meta's hosts.

pyfacebook takes the host as ``base_url`` (no monkeypatching needed)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest

from brandkit.testing import TINY_JPEG, png
from brandkit.testing.facebook import FacebookEmulator
from brandkit.testing.instagram import InstagramEmulator
from brandkit.testing.threads import ThreadsEmulator

pyfacebook = pytest.importorskip("pyfacebook")
FacebookError = importlib.import_module("pyfacebook.exceptions").FacebookError

VERSION = "v25.0"


def connect(url: str, token: str) -> Any:
    """A pyfacebook ``FacebookApi`` of the served emulator: its own session without
    environment proxies, bounded waits, pinned version."""
    api = pyfacebook.FacebookApi(access_token=token, version=VERSION, base_url=f"{url}/", timeout=5)
    api.session.trust_env = False
    return api


@pytest.fixture
def served() -> Iterator[tuple[FacebookEmulator, str]]:
    """A Facebook emulator served on 127.0.0.1."""
    emu = FacebookEmulator()
    with emu.serve() as url:
        yield emu, url


def page_api(emu: FacebookEmulator, url: str) -> tuple[Any, str]:
    """Log in as a user, find the Page on /me/accounts and connect with its Page token, as
    a brand's tool does; returns the Page client and the Page id."""
    acct = emu.account(tokens="user", page_name="Brand Page")
    user = connect(url, str(acct.secret("user_token")))
    me = user.user.get_info(user_id="me", fields="id,name", return_json=True)
    assert me["id"] == emu.page_owner(acct.settings["page_id"])
    pages = user.user.get_accounts(
        user_id="me", fields="id,name,access_token,category,tasks", return_json=True
    )
    (page,) = pages["data"]
    assert page["name"] == "Brand Page" and "CREATE_CONTENT" in page["tasks"]
    return connect(url, page["access_token"]), page["id"]


def test_brand_workflow(served: tuple[FacebookEmulator, str]) -> None:
    """/me and /me/accounts give the Page token; a photo with alt text and a status post are
    published; the Page comments, an audience comment is listed, hidden and deleted; the post
    reads back with its comment summary and insights; the post is deleted."""
    emu, url = served
    api, page_id = page_api(emu, url)
    photo = api.post_object(
        object_id=page_id,
        connection="photos",
        data={"caption": "Our new logo", "alt_text_custom": "A green leaf"},
        files={"source": ("logo.png", png(40, 30), "image/png")},
    )
    assert set(photo) == {"id", "post_id"}
    post = api.post_object(object_id=page_id, connection="feed", data={"message": "Hello"})
    post_id = post["id"]
    ours = api.comment.create(object_id=post_id, message="More soon", return_json=True)
    theirs = emu.add_comment(post_id, author="Ada", text="Congrats!")
    listed = api.page.get_comments(
        object_id=post_id, fields="id,message,from,is_hidden", summary=True, return_json=True
    )
    assert [c["message"] for c in listed["data"]] == ["More soon", "Congrats!"]
    assert listed["summary"]["total_count"] == 2
    assert api.comment.update(comment_id=theirs, is_hidden=True) == {"success": True}
    hidden = api.comment.get_info(comment_id=theirs, fields="id,is_hidden", return_json=True)
    assert hidden["is_hidden"] is True
    assert api.comment.delete(comment_id=ours["id"]) == {"success": True}
    read = api.post.get_info(
        post_id=post_id,
        fields="id,message,created_time,comments.summary(true).limit(0)",
        return_json=True,
    )
    assert read["message"] == "Hello" and read["comments"]["summary"]["total_count"] >= 1
    emu.engage(post_id, reactions=5, views=40)
    insights = api.get_connection(
        object_id=post_id,
        connection="insights",
        metric="post_media_view,post_reactions_by_type_total",
    )
    values = {m["name"]: m["values"][0]["value"] for m in insights["data"]}
    assert (
        values["post_media_view"] >= 40
        and sum(values["post_reactions_by_type_total"].values()) >= 5
    )
    assert api.delete_object(object_id=post_id) == {"success": True}
    assert emu.post_texts() == ["Our new logo"]
    (stored,) = emu.photos
    assert stored["alt_text_custom"] == "A green leaf"


def test_bad_token_raises_facebook_error(served: tuple[FacebookEmulator, str]) -> None:
    """An unknown token: FacebookError code 190, as graph.facebook.com makes it raise."""
    emu, url = served
    acct = emu.account()
    api = connect(url, "EAAB-not-a-token")
    with pytest.raises(FacebookError) as caught:
        api.get_object(object_id=acct.settings["page_id"], fields="id,name")
    assert caught.value.code == 190 and caught.value.type == "OAuthException"


def test_too_long_and_missing_media_raise(served: tuple[FacebookEmulator, str]) -> None:
    """A message over the limit is code 100; a photo upload without a file is code 324."""
    emu, url = served
    api, page_id = page_api(emu, url)
    with pytest.raises(FacebookError) as long:
        api.post_object(object_id=page_id, connection="feed", data={"message": "x" * 63_207})
    assert long.value.code == 100
    with pytest.raises(FacebookError) as missing:
        api.post_object(object_id=page_id, connection="photos", data={"caption": "no file"})
    assert missing.value.code == 324
    assert emu.post_texts() == []


def test_rate_limit_exhausted_raises_80001(served: tuple[FacebookEmulator, str]) -> None:
    """Past the Page's Business Use Case budget: FacebookError code 80001, and the usage
    header pyfacebook reads says 100 %."""
    emu, url = served
    api, page_id = page_api(emu, url)
    emu.set_rate_limit("account", 2, 3600.0)
    api.post_object(object_id=page_id, connection="feed", data={"message": "one"})
    api.post_object(object_id=page_id, connection="feed", data={"message": "two"})
    with pytest.raises(FacebookError) as caught:
        api.post_object(object_id=page_id, connection="feed", data={"message": "three"})
    assert caught.value.code == 80001 and caught.value.is_transient is True
    usage = api.rate_limit.get_limit(object_id=page_id, rate_limit_type="pages")
    assert usage is not None and usage.call_count == 100
    assert emu.post_texts() == ["one", "two"]


def test_default_field_lists_read_as_from_a_real_page(
    served: tuple[FacebookEmulator, str],
) -> None:
    """pyfacebook's own default field lists (its Page, Post with reaction aliases
    ``.as(like)``, and Comment fields) are answered, and its data classes read the answers:
    a tool that never names fields works as against the real API."""
    emu, url = served
    api, page_id = page_api(emu, url)
    page = api.page.get_info(page_id=page_id)
    assert page.name == "Brand Page" and page.verification_status == "not_verified"
    post_id = api.post_object(object_id=page_id, connection="feed", data={"message": "Hi"})["id"]
    emu.engage(post_id, reactions=10)
    post = api.post.get_info(post_id=post_id)
    assert post.message == "Hi" and post.status_type == "mobile_status_update"
    assert post.reactions.summary.total_count == 10
    assert (post.like.summary.total_count, post.love.summary.total_count) == (8, 2)
    (listed,) = api.page.get_published_posts(object_id=page_id).data
    assert listed.id == post_id
    theirs = emu.add_comment(post_id, author="Ada", text="Love it")
    comment = api.comment.get_info(comment_id=theirs)
    assert (comment.message, comment.comment_count, comment.like_count) == ("Love it", 0, 0)
    (again,) = api.post.get_comments(object_id=post_id).data
    assert again.id == theirs and again.permalink_url.endswith(theirs.split("_")[1])


# -- Instagram through the same client (IGBusinessApi) -----------------------------------------


@pytest.fixture
def instagram() -> Iterator[tuple[InstagramEmulator, Any, str]]:
    """An Instagram emulator served on 127.0.0.1, an account, and pyfacebook's
    ``IGBusinessApi`` pointed at it with ``base_url``."""
    emu = InstagramEmulator()
    with emu.serve() as url:
        acct = emu.account(username="brandco")
        ig_id = str(acct.settings["ig_user_id"])
        api = pyfacebook.IGBusinessApi(
            access_token=acct.secret("token"),
            instagram_business_id=ig_id,
            version=VERSION,
            base_url=f"{url}/",
            timeout=5,
        )
        api.session.trust_env = False
        yield emu, api, ig_id


def publish(emu: InstagramEmulator, api: Any, ig_id: str, caption: str) -> str:
    """Container, status, publish, as a brand's tool does with pyfacebook."""
    image = emu.media_host.put(TINY_JPEG, "image/jpeg")
    made = api.post_object(
        object_id=ig_id,
        connection="media",
        data={"image_url": image, "caption": caption, "alt_text": "a grey square"},
    )
    assert api.container.get_info(container_id=made["id"]).status_code == "FINISHED"
    done = api.post_object(
        object_id=ig_id, connection="media_publish", data={"creation_id": made["id"]}
    )
    return str(done["id"])


def test_instagram_workflow(instagram: tuple[InstagramEmulator, Any, str]) -> None:
    """/me, the account with the client's default fields, a published image with alt text,
    a comment, an audience comment answered and hidden, replies read back, insights and the
    publishing limit, then the comment and the post deleted."""
    emu, api, ig_id = instagram
    me = api.get_object(object_id="me", fields="user_id,username")
    assert (me["user_id"], me["username"]) == (ig_id, "brandco")
    assert api.user.get_info().username == "brandco"
    media_id = publish(emu, api, ig_id, "Hello")
    media = api.media.get_info(media_id=media_id)
    assert media.caption == "Hello" and media.media_type == "IMAGE"
    ours = api.post_object(object_id=media_id, connection="comments", data={"message": "Hi all"})
    theirs = emu.add_comment(media_id, author="ada", text="Beautiful!")
    api.post_object(object_id=theirs, connection="replies", data={"message": "@ada thanks"})
    comments = api.media.get_comments(media_id=media_id)
    # Newest first, as Meta lists a media's comments.
    assert [(c.username, c.text) for c in comments.data] == [
        ("ada", "Beautiful!"),
        ("brandco", "Hi all"),
    ]
    (reply,) = api.comment.get_replies(comment_id=theirs).data
    assert reply.text == "@ada thanks"
    assert api.post_object(object_id=theirs, data={"hide": True}) == {"success": True}
    assert emu.comment(theirs).hidden
    insights = api.media.get_insights(media_id=media_id, metric="reach,likes,comments")
    values = {m.name: m.values[0].value for m in insights.data}
    assert values["comments"] >= 3
    limit = api.user.get_content_publishing_limit()
    assert limit.data[0].quota_usage == 1
    assert api.delete_object(object_id=ours["id"]) == {"success": True}
    assert api.delete_object(object_id=media_id) == {"success": True}
    assert emu.post_texts() == []


def test_instagram_errors(instagram: tuple[InstagramEmulator, Any, str]) -> None:
    """A bad token is FacebookError 190, a caption over 2,200 characters code 100 subcode
    2207010, and past the account's budget code 80002."""
    emu, api, ig_id = instagram
    api.access_token = "IGQ-not-a-token"
    with pytest.raises(FacebookError) as bad:
        api.user.get_info()
    assert bad.value.code == 190
    api.access_token = emu.issue_token(ig_id, "instagram")
    with pytest.raises(FacebookError) as long:
        publish(emu, api, ig_id, "x" * 2201)
    assert (long.value.code, long.value.error_subcode) == (100, 2207010)
    # The refused caption already spent the account's one call of the hour.
    emu.set_rate_limit("account", 1, 3600.0)
    with pytest.raises(FacebookError) as limited:
        api.user.get_info()
    assert limited.value.code == 80002


# -- Threads through the same client (ThreadsGraphAPI) -----------------------------------------


def test_threads_workflow_and_errors() -> None:
    """pyfacebook's ``ThreadsGraphAPI`` (default version v1.0, pointed at the emulator with
    ``base_url``): /me, a text post and a reply through containers, read back, insights,
    delete; a bad token and a text over 500 characters raise FacebookError 190 and 100."""
    emu = ThreadsEmulator()
    with emu.serve() as url:
        acct = emu.account(username="brandco")
        user_id = str(acct.settings["user_id"])
        api = pyfacebook.ThreadsGraphAPI(
            access_token=acct.secret("token"), base_url=f"{url}/", timeout=5
        )
        api.session.trust_env = False
        me = api.get_object(object_id="me", fields="id,username,threads_profile_picture_url")
        assert (me["id"], me["username"]) == (user_id, "brandco")

        def post(text: str, **extra: str) -> str:
            made = api.post_object(
                object_id=user_id,
                connection="threads",
                data={"media_type": "TEXT", "text": text, **extra},
            )
            done = api.post_object(
                object_id=user_id, connection="threads_publish", data={"creation_id": made["id"]}
            )
            return str(done["id"])

        root = post("Launch day")
        reply = post("More in the thread", reply_to_id=root)
        read = api.get_object(object_id=reply, fields="text,is_reply,root_post")
        assert read["is_reply"] is True and read["root_post"] == {"id": root}
        emu.engage(root, likes=3)
        insights = api.get_connection(object_id=root, connection="insights", metric="likes,replies")
        values = {m["name"]: m["values"][0]["value"] for m in insights["data"]}
        assert values["likes"] >= 3 and values["replies"] >= 1
        # Meta's Delete Posts page: the answer names the post deleted.
        assert api.delete_object(object_id=reply) == {"success": True, "deleted_id": reply}
        assert emu.post_texts() == ["Launch day"]
        with pytest.raises(FacebookError) as long:
            post("x" * 501)
        assert long.value.code == 100
        api.access_token = "THQ-not-a-token"
        with pytest.raises(FacebookError) as bad:
            api.get_object(object_id="me", fields="id")
        assert bad.value.code == 190
