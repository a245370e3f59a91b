"""What the Facebook, Instagram and Threads emulators get from their Graph base
(``brandkit.testing._graph``): each platform answers these in its own words, and the words
are pinned here so that the shared code keeps saying them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.testing import TINY_JPEG, Clock
from brandkit.testing._mediahost import LoopbackMediaHost
from brandkit.testing.facebook import FacebookEmulator
from brandkit.testing.instagram import InstagramEmulator
from brandkit.testing.threads import ThreadsEmulator

HOUR = 3600.0
DAY = 86_400.0


@pytest.fixture
def host() -> Iterator[LoopbackMediaHost]:
    """A media host on 127.0.0.1."""
    with LoopbackMediaHost() as host:
        yield host


class Still(Clock):
    """A clock that moves only when advanced (real time does not creep into the times a
    test compares)."""

    def time(self) -> float:
        """A fixed moment plus what tests advanced."""
        return 1_750_000_000.0 + self._offset


def client(emu: Any) -> httpx.Client:
    """An httpx client answered by ``emu`` in-process."""
    return httpx.Client(transport=emu.transport(), base_url="http://graph.test")


def bearer(token: str | None) -> dict[str, str]:
    """The Authorization header for ``token`` (an account's secret, which is there)."""
    assert token is not None
    return {"authorization": f"Bearer {token}"}


def error(answer: httpx.Response) -> dict[str, Any]:
    """The Graph error of a refused call (400)."""
    assert answer.status_code == 400, answer.text
    body: dict[str, Any] = answer.json()["error"]
    return body


def weight(post_id: str) -> int:
    """The per-post weight (1 to 5) the emulators draw from a post's id."""
    return 1 + int(post_id.rsplit("_", 1)[-1]) % 5


# -- listing within since/until ------------------------------------------------------------


def test_facebook_published_posts_keep_the_window_newest_first() -> None:
    """``since``/``until`` (unix times or ISO dates) include both ends; posts come newest
    first; a time that is neither is refused with code 100."""
    emu = FacebookEmulator(clock=Still())
    acct = emu.account()
    page, auth = acct.settings["page_id"], bearer(acct.secret("page_token"))
    with client(emu) as http:
        ids, times = [], []
        for i in range(3):
            times.append(emu.clock.time())
            made = http.post(f"/v25.0/{page}/feed", data={"message": f"m{i}"}, headers=auth)
            ids.append(made.json()["id"])
            emu.clock.advance(100)
        path = f"/v25.0/{page}/published_posts"
        window = {"since": repr(times[1]), "until": repr(times[2])}
        got = http.get(path, params=window, headers=auth).json()["data"]
        assert [p["id"] for p in got] == [ids[2], ids[1]]
        everything = http.get(path, params={"since": "1970-01-02"}, headers=auth).json()
        assert [p["id"] for p in everything["data"]] == ids[::-1]
        refused = error(http.get(path, params={"until": "soon"}, headers=auth))
        assert (refused["code"], refused["message"]) == (100, "(#100) Invalid time 'soon'")


def test_threads_mentions_and_search_refuse_the_same_windows() -> None:
    """``/mentions`` and ``/keyword_search`` take no ``since`` before Threads' launch and no
    ``since`` at or after ``until``, with the same words."""
    emu = ThreadsEmulator()
    acct = emu.account()
    user, auth = acct.settings["user_id"], bearer(acct.secret("token"))
    with client(emu) as http:
        for path, extra in ((f"/v1.0/{user}/mentions", {}), ("/v1.0/keyword_search", {"q": "x"})):
            early = error(http.get(path, params={**extra, "since": "1000"}, headers=auth))
            assert early["message"] == "(#100) The since parameter must be at least 1688540400"
            window = {**extra, "since": "1700000100", "until": "1700000000"}
            backwards = error(http.get(path, params=window, headers=auth))
            assert backwards["message"] == "(#100) since must be earlier than until"


# -- growth by the clock -------------------------------------------------------------------


def test_followers_grow_with_the_clock_on_every_platform() -> None:
    """A Page's, an Instagram account's and a Threads account's followers grow by
    ``followers_per_day`` a day (whole followers, from the account's creation)."""
    fb = FacebookEmulator()
    page_acct = fb.account(followers=10, followers_per_day=24.0)
    ig = InstagramEmulator()
    ig_acct = ig.account(followers=10, followers_per_day=24.0)
    th = ThreadsEmulator()
    th_acct = th.account(followers=10, followers_per_day=24.0)
    for emu in (fb, ig, th):
        emu.clock.advance(1.5 * DAY)
    with client(fb) as http:
        page = page_acct.settings["page_id"]
        got = http.get(
            f"/v25.0/{page}",
            params={"fields": "followers_count"},
            headers=bearer(page_acct.secret("page_token")),
        ).json()
        assert got["followers_count"] == 10 + 36
        follows = http.get(
            f"/v25.0/{page}/insights",
            params={"metric": "page_follows,page_daily_follows"},
            headers=bearer(page_acct.secret("page_token")),
        ).json()["data"]
        assert [m["values"][0]["value"] for m in follows] == [46, 24]
    with client(ig) as http:
        user = ig_acct.settings["ig_user_id"]
        got = http.get(
            f"/v25.0/{user}",
            params={"fields": "followers_count"},
            headers=bearer(ig_acct.secret("token")),
        ).json()
        assert got["followers_count"] == 46
    with client(th) as http:
        user = th_acct.settings["user_id"]
        got = http.get(
            f"/v1.0/{user}/threads_insights",
            params={"metric": "followers_count"},
            headers=bearer(th_acct.secret("token")),
        ).json()
        assert got["data"][0]["total_value"]["value"] == 46


def test_engagement_grows_with_the_clock_and_engage_adds_to_it(
    host: LoopbackMediaHost,
) -> None:
    """A post gathers ``engagement_rate`` an hour times its weight (Facebook: reactions;
    Instagram, Threads: likes), and `engage` adds on top."""
    fb = FacebookEmulator(engagement_rate=4.0)
    acct = fb.account()
    page, auth = acct.settings["page_id"], bearer(acct.secret("page_token"))
    with client(fb) as http:
        post = http.post(f"/v25.0/{page}/feed", data={"message": "hi"}, headers=auth).json()
        fb.clock.advance(2.5 * HOUR)
        fb.engage(post["id"], reactions=3)
        got = http.get(
            f"/v25.0/{post['id']}",
            params={"fields": "reactions.summary(true)"},
            headers=auth,
        ).json()
        assert got["reactions"]["summary"]["total_count"] == int(2.5 * 4.0 * weight(post["id"])) + 3

    ig = InstagramEmulator(media_host=host, engagement_rate=4.0)
    acct = ig.account()
    user, auth = acct.settings["ig_user_id"], bearer(acct.secret("token"))
    with client(ig) as http:
        made = http.post(
            f"/v25.0/{user}/media",
            data={"image_url": host.put(TINY_JPEG, "image/jpeg")},
            headers=auth,
        ).json()
        media = http.post(
            f"/v25.0/{user}/media_publish", data={"creation_id": made["id"]}, headers=auth
        ).json()
        ig.clock.advance(2.5 * HOUR)
        ig.engage(media["id"], likes=3)
        got = http.get(
            f"/v25.0/{media['id']}", params={"fields": "like_count"}, headers=auth
        ).json()
        assert got["like_count"] == int(2.5 * 4.0 * weight(media["id"])) + 3

    th = ThreadsEmulator(engagement_rate=4.0)
    acct = th.account()
    user, auth = acct.settings["user_id"], bearer(acct.secret("token"))
    with client(th) as http:
        made = http.post(
            f"/v1.0/{user}/threads", data={"media_type": "TEXT", "text": "hi"}, headers=auth
        ).json()
        post = http.post(
            f"/v1.0/{user}/threads_publish", data={"creation_id": made["id"]}, headers=auth
        ).json()
        th.clock.advance(2.5 * HOUR)
        th.engage(post["id"], likes=3)
        got = http.get(
            f"/v1.0/{post['id']}/insights", params={"metric": "likes"}, headers=auth
        ).json()
        assert got["data"][0]["values"][0]["value"] == int(2.5 * 4.0 * weight(post["id"])) + 3


# -- publishing containers -----------------------------------------------------------------


def test_publishing_refusals_keep_each_platforms_words(host: LoopbackMediaHost) -> None:
    """No ``creation_id``: code 100 on both; a container the account does not have:
    Instagram's 9007/2207006 with its user title, Threads' 24/4279009; a published one is
    not published twice."""
    ig = InstagramEmulator(media_host=host)
    acct = ig.account()
    user, auth = acct.settings["ig_user_id"], bearer(acct.secret("token"))
    with client(ig) as http:
        path = f"/v25.0/{user}/media_publish"
        missing = error(http.post(path, data={}, headers=auth))
        assert missing["message"] == "(#100) The parameter creation_id is required."
        unknown = error(http.post(path, data={"creation_id": "1"}, headers=auth))
        assert (unknown["code"], unknown["error_subcode"]) == (9007, 2207006)
        assert unknown["message"] == "Media ID is not available"
        assert unknown["error_user_title"] == "Media not found"
        made = http.post(
            f"/v25.0/{user}/media",
            data={"image_url": host.put(TINY_JPEG, "image/jpeg")},
            headers=auth,
        ).json()
        assert http.post(path, data={"creation_id": made["id"]}, headers=auth).is_success
        again = error(http.post(path, data={"creation_id": made["id"]}, headers=auth))
        assert (again["code"], again["error_subcode"]) == (9007, 2207008)
        assert again["error_user_title"] == "Media already published"
        assert ig.usage(user) > 0 and len(ig.post_texts()) == 1

    th = ThreadsEmulator()
    acct = th.account()
    user, auth = acct.settings["user_id"], bearer(acct.secret("token"))
    with client(th) as http:
        path = f"/v1.0/{user}/threads_publish"
        missing = error(http.post(path, data={}, headers=auth))
        assert missing["message"] == "(#100) The parameter creation_id is required."
        unknown = error(http.post(path, data={"creation_id": "1"}, headers=auth))
        assert (unknown["code"], unknown["error_subcode"]) == (24, 4279009)
        assert unknown["message"] == "(#24) The requested resource does not exist"


def test_hiding_needs_the_hide_parameter() -> None:
    """Instagram's comment hiding and Threads' manage_reply refuse a call without ``hide``
    in the same words, and read it as a Graph boolean."""
    th = ThreadsEmulator()
    acct = th.account()
    user, auth = acct.settings["user_id"], bearer(acct.secret("token"))
    with client(th) as http:
        made = http.post(
            f"/v1.0/{user}/threads", data={"media_type": "TEXT", "text": "hi"}, headers=auth
        ).json()
        post = http.post(
            f"/v1.0/{user}/threads_publish", data={"creation_id": made["id"]}, headers=auth
        ).json()
        reply = th.add_reply(post["id"], text="nice")
        path = f"/v1.0/{reply}/manage_reply"
        refused = error(http.post(path, data={}, headers=auth))
        assert refused["message"] == "(#100) The parameter hide is required."
        assert http.post(path, data={"hide": "1"}, headers=auth).json() == {"success": True}
        assert th.is_hidden(reply)
        http.post(path, data={"hide": "false"}, headers=auth)
        assert not th.is_hidden(reply)


# -- the login's token endpoints -----------------------------------------------------------


def test_token_endpoints_refuse_in_metas_envelope() -> None:
    """The token endpoints (no usage headers: they are the login's, not the API's) refuse in
    Meta's envelope: Facebook's long-lived exchange an unknown token (190) or a wrong secret
    (101), a reused code (100/36009); Instagram's code exchange another grant type."""
    fb = FacebookEmulator()
    app = fb.oauth_app(redirect_uri="https://app.test/cb", scopes="pages_manage_posts")
    path = "/v25.0/oauth/access_token"
    secret = {"client_id": app.client_id, "client_secret": app.client_secret}
    with client(fb) as http:
        unknown = http.get(
            path, params={**secret, "grant_type": "fb_exchange_token", "fb_exchange_token": "x"}
        )
        err = error(unknown)
        assert (err["code"], err["type"]) == (190, "OAuthException")
        assert err["message"] == "Invalid OAuth access token - Cannot parse access token"
        assert "x-app-usage" not in unknown.headers
        wrong = {**secret, "client_secret": "nope", "grant_type": "fb_exchange_token"}
        assert error(http.get(path, params=wrong))["code"] == 101
        login = http.get(
            "/v25.0/dialog/oauth",
            params={
                "client_id": app.client_id,
                "redirect_uri": "https://app.test/cb",
                "scope": "pages_manage_posts",
            },
        )
        code = httpx.URL(login.headers["location"]).params["code"]
        exchange = {**secret, "code": code, "redirect_uri": "https://app.test/cb"}
        token = http.get(path, params=exchange).json()
        assert set(token) == {"access_token", "token_type", "expires_in"}
        assert token["expires_in"] == 3600
        reused = error(http.get(path, params=exchange))
        assert (reused["code"], reused["error_subcode"]) == (100, 36009)

    ig = InstagramEmulator()
    app = ig.oauth_app(redirect_uri="https://app.test/cb", scopes="instagram_business_basic")
    with client(ig) as http:
        answer = http.post(
            "/oauth/access_token",
            data={
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "grant_type": "client_credentials",
            },
        )
        err = error(answer)
        assert (err["code"], err["message"]) == (100, "Unsupported grant_type")
        assert "x-app-usage" not in answer.headers
