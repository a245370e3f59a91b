"""The Mastodon emulator's audience and conversation endpoints answer as Mastodon does
(in-process, checked against the OpenAPI spec and Mastodon's controllers)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import schema_errors
from tests.mastodon.test_emulator import Api
from tests.mastodon.test_inbox_flows import notification_errors


@pytest.fixture
def emu() -> MastodonEmulator:
    """A fresh 4.5 emulator."""
    return MastodonEmulator()


@pytest.fixture
def api(emu: MastodonEmulator) -> Iterator[Api]:
    """A client of the brand account."""
    account = emu.account(username="brand")
    client = Api(emu, account.secret("token"))
    yield client
    client.http.close()


def brand_post(api: Api, text: str = "Tell us") -> str:
    """A status of the brand; its id."""
    response = api.post(text)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def notifications(api: Api, **params: Any) -> httpx.Response:
    """GET /api/v1/notifications."""
    return api.http.get("/api/v1/notifications", params=params)


# -- the audience ------------------------------------------------------------------------------


def test_a_reply_starts_with_the_mention_and_notifies(emu: MastodonEmulator, api: Api) -> None:
    """A reply is written as the web app writes it (the author's @handle first) and makes
    a mention notification with the real Notification shape."""
    post = brand_post(api)
    reply = emu.audience("fan1@other.example").reply(post, "Is it open?")
    assert emu.status(reply)["text"] == "@brand Is it open?"
    (item,) = notifications(api).json()
    assert notification_errors(item) == []
    assert item["type"] == "mention" and item["group_key"] == f"ungrouped-{item['id']}"
    assert item["status"]["id"] == reply and item["status"]["in_reply_to_id"] == post
    author = item["status"]["account"]
    assert (author["acct"], author["url"]) == ("fan1@other.example", "https://other.example/@fan1")
    assert item["status"]["url"] == f"https://other.example/@fan1/{reply}"
    assert item["status"]["mentions"][0]["acct"] == "brand"
    assert emu.audience("fan1@other.example").reply(post, "@brand again")
    assert emu.post_texts() == ["Tell us"]


def test_mentions_and_quotes(emu: MastodonEmulator, api: Api) -> None:
    """A mention names the first account unless it names one; a quote notifies the
    quoted account with ``quote`` and carries a Quote with the quoted status."""
    post = brand_post(api)
    mention = emu.audience("fan2").mention("hello there")
    assert emu.status(mention)["text"] == "@brand hello there"
    quote = emu.audience("fan3").quote(post, "So true")
    items = notifications(api, **{"types[]": ["mention", "quote"]}).json()
    assert [(n["type"], n["status"]["id"]) for n in items] == [
        ("quote", quote),
        ("mention", mention),
    ]
    quoted = items[0]["status"]["quote"]
    assert quoted["state"] == "accepted" and quoted["quoted_status"]["id"] == post
    assert quoted["quoted_status"]["quote"] is None
    assert schema_errors("Quote", quoted) == []
    assert api.http.get(f"/api/v1/statuses/{post}").json()["quotes_count"] >= 1


def test_what_mastodon_has_not(api: Api) -> None:
    """No comments anywhere; no quotes before 4.5; unknown targets are KeyErrors."""
    old = MastodonEmulator(version="4.4.0")
    old.account(username="brand")
    with pytest.raises(NotImplementedError, match=r"4\.5"):
        old.audience("fan").quote("1", "x")
    with pytest.raises(NotImplementedError, match="reply"):
        api.emu.audience("fan").comment(brand_post(api), "x")
    with pytest.raises(KeyError):
        api.emu.audience("fan").reply("999", "x")
    with pytest.raises(KeyError, match="account"):
        MastodonEmulator().audience("fan").mention("nobody to mention")


def test_answers_are_the_accounts_replies_without_the_leading_mention(
    emu: MastodonEmulator, api: Api
) -> None:
    """answers() lists the accounts' direct replies, oldest first, without the author's
    handle in front; the audience's own replies and deleted answers are left out."""
    post = brand_post(api)
    asked = emu.audience("fan1@other.example").reply(post, "Open Sunday?")
    api.post("@fan1@other.example Yes, ten to four.", in_reply_to_id=asked)
    gone = api.post("@fan1@other.example typo", in_reply_to_id=asked).json()["id"]
    api.http.delete(f"/api/v1/statuses/{gone}")
    emu.audience("fan2").reply(asked, "me too")
    assert emu.answers(asked) == ["Yes, ten to four."]


def test_a_deleted_status_takes_its_notification(emu: MastodonEmulator, api: Api) -> None:
    """When a fan deletes a mention, its notification goes with it."""
    post = brand_post(api)
    said = emu.audience("fan1").reply(post, "oops")
    assert len(notifications(api).json()) == 1
    emu.delete(said)
    assert notifications(api).json() == []
    assert api.http.get(f"/api/v1/statuses/{said}").status_code == 404


# -- GET /api/v1/notifications -------------------------------------------------------------------


def test_paging_forward_with_min_id_and_link_headers(emu: MastodonEmulator, api: Api) -> None:
    """min_id pages forward (answered newest first); the Link header names the next
    (older, max_id) and previous (newer, min_id) pages with the query kept, keys sorted."""
    post = brand_post(api)
    ids = [emu.audience(f"fan{i}").reply(post, f"n{i}") for i in range(5)]
    everything = notifications(api).json()
    n_ids = [n["id"] for n in reversed(everything)]
    assert [n["status"]["id"] for n in reversed(everything)] == ids
    page = notifications(api, min_id=n_ids[0], limit=2, **{"types[]": "mention"})
    assert [n["id"] for n in page.json()] == [n_ids[2], n_ids[1]]
    assert page.headers["link"] == (
        f"<http://masto.test/api/v1/notifications?limit=2&max_id={n_ids[1]}"
        f'&types%5B%5D=mention>; rel="next", '
        f"<http://masto.test/api/v1/notifications?limit=2&min_id={n_ids[2]}"
        f'&types%5B%5D=mention>; rel="prev"'
    )
    assert [n["id"] for n in notifications(api, max_id=n_ids[2]).json()] == n_ids[1::-1]
    assert [n["id"] for n in notifications(api, since_id=n_ids[2]).json()] == n_ids[:2:-1]
    empty = notifications(api, min_id=n_ids[-1])
    assert empty.json() == [] and "link" not in empty.headers
    assert empty.headers["x-ratelimit-limit"] == "300"


def test_a_page_between_bounds_holds_only_browserable_notifications(
    emu: MastodonEmulator, api: Api
) -> None:
    """max_id with since_id (newest first) or with min_id (oldest first): the page is the
    ``limit`` nearest its starting bound that pass the filters, a deleted status's
    notification and other types skipped, never one at or past either bound."""
    post = brand_post(api)
    said = []
    for i in range(8):
        said.append(emu.audience(f"fan{i}").reply(post, f"n{i}"))
        if i in (2, 5):
            liker = emu.account(username=f"liker{i}")
            Api(emu, liker.secret("token")).http.post(f"/api/v1/statuses/{post}/favourite")
    every = [n["id"] for n in reversed(notifications(api, limit=80).json())]
    assert len(every) == 10
    emu.delete(said[4])
    by_status = {n["status"]["id"]: n["id"] for n in notifications(api, limit=80).json()}
    mentions = [by_status[s] for s in said if s in by_status]
    mention = {"types[]": "mention"}
    newest = notifications(api, max_id=mentions[6], since_id=mentions[0], limit=3, **mention)
    assert [n["id"] for n in newest.json()] == [mentions[5], mentions[4], mentions[3]]
    oldest = notifications(api, max_id=mentions[6], min_id=mentions[0], limit=3)
    assert [n["id"] for n in oldest.json()] == [every[3], every[2], mentions[1]]
    assert notifications(api, max_id=mentions[1], min_id=mentions[5]).json() == []


def test_a_notification_names_who_acted_and_the_statuss_author(
    emu: MastodonEmulator, api: Api
) -> None:
    """A mention's account is its status's author (the status's copy with the status's
    own origin); a favourite's account is who favourited, its status's account the
    brand."""
    post = brand_post(api)
    emu.audience("fan1").reply(post, "hi")
    liker = emu.account(username="liker")
    Api(emu, liker.secret("token")).http.post(f"/api/v1/statuses/{post}/favourite")
    favourite, mention = notifications(api).json()
    assert (favourite["type"], mention["type"]) == ("favourite", "mention")
    assert favourite["account"]["acct"] == "liker"
    assert favourite["status"]["account"]["acct"] == "brand"
    assert mention["account"]["acct"] == "fan1"
    author = mention["status"]["account"]
    assert (author["id"], author["acct"]) == (mention["account"]["id"], "fan1")
    origin = mention["status"]["url"].split("/@", 1)[0]
    assert author["avatar"] == f"{origin}/avatars/original/missing.png"


@pytest.mark.parametrize(
    ("version", "limit", "count"),
    [
        ("4.5.0", None, 40),
        ("4.5.0", "100", 80),
        ("4.5.0", "-5", 5),
        ("4.5.0", "abc", 0),
        ("4.0.2", None, 15),
        ("4.0.2", "100", 30),
    ],
)
def test_limit(version: str, limit: str | None, count: int) -> None:
    """limit_param: 40 by default and at most 80 (15 and 30 before 4.1), Ruby's to_i
    and abs on what is sent."""
    emu = MastodonEmulator(version=version)
    account = emu.account(username="brand")
    api = Api(emu, account.secret("token"))
    post = brand_post(api)
    for i in range(90):
        emu.audience(f"fan{i}").reply(post, "hi")
    params = {} if limit is None else {"limit": limit}
    assert len(notifications(api, **params).json()) == count


def test_types_filter(emu: MastodonEmulator, api: Api) -> None:
    """types[] keeps the named types, unknown ones are dropped (a 4.4 server ignores
    quote), exclude_types[] takes some out."""
    post = brand_post(api)
    fan = emu.account(username="fan9")
    Api(emu, fan.secret("token")).http.post(f"/api/v1/statuses/{post}/favourite")
    emu.audience("fan1").mention("@brand hi")
    assert [n["type"] for n in notifications(api).json()] == ["mention", "favourite"]
    assert [n["type"] for n in notifications(api, **{"types[]": "mention"}).json()] == ["mention"]
    excluded = notifications(api, **{"exclude_types[]": "mention"}).json()
    assert [n["type"] for n in excluded] == ["favourite"]
    old = MastodonEmulator(version="4.4.0")
    old_api = Api(old, old.account(username="brand").secret("token"))
    old.audience("fan").mention("hey")
    asked = {"types[]": ["mention", "quote"]}
    assert [n["type"] for n in notifications(old_api, **asked).json()] == ["mention"]


def test_notifications_need_a_token(emu: MastodonEmulator) -> None:
    """Without a token: 401 with Mastodon's error body."""
    response = Api(emu).http.get("/api/v1/notifications")
    assert response.status_code == 401 and response.json() == {
        "error": "The access token is invalid"
    }


def test_one_notification(emu: MastodonEmulator, api: Api) -> None:
    """GET /api/v1/notifications/:id shows one of the account's, 404 otherwise."""
    emu.audience("fan").mention("hi")
    (item,) = notifications(api).json()
    assert api.http.get(f"/api/v1/notifications/{item['id']}").json() == item
    assert api.http.get("/api/v1/notifications/1").status_code == 404


# -- context, favourite ---------------------------------------------------------------------------


def test_context(emu: MastodonEmulator, api: Api) -> None:
    """Ancestors oldest first, descendants depth first, per the spec; 404 for a status
    that is not there."""
    root = brand_post(api)
    a = emu.audience("fan1").reply(root, "a")
    a1 = emu.audience("fan2").reply(a, "a1")
    b = emu.audience("fan3").reply(root, "b")
    context = api.http.get(f"/api/v1/statuses/{root}/context").json()
    assert schema_errors("Context", context) == []
    assert context["ancestors"] == []
    assert [s["id"] for s in context["descendants"]] == [a, a1, b]
    below = api.http.get(f"/api/v1/statuses/{a1}/context").json()
    assert [s["id"] for s in below["ancestors"]] == [root, a]
    missing = api.http.get("/api/v1/statuses/123/context")
    assert missing.status_code == 404 and missing.json() == {"error": "Record not found"}


def test_anonymous_context_is_limited(emu: MastodonEmulator, api: Api) -> None:
    """Without a token: at most 60 descendants (signed in: all of them)."""
    root = brand_post(api)
    for i in range(65):
        emu.audience(f"fan{i}").reply(root, "hi")
    anonymous = Api(emu).http.get(f"/api/v1/statuses/{root}/context").json()
    assert len(anonymous["descendants"]) == 60
    assert len(api.http.get(f"/api/v1/statuses/{root}/context").json()["descendants"]) == 65


def test_favourite(emu: MastodonEmulator, api: Api) -> None:
    """Favouriting shows ``favourited`` and counts once, notifies the author once;
    unfavourite undoes it; an unknown status is 404."""
    post = brand_post(api)
    said = emu.audience("fan1").reply(post, "nice")
    before = api.http.get(f"/api/v1/statuses/{said}").json()["favourites_count"]
    first = api.http.post(f"/api/v1/statuses/{said}/favourite")
    again = api.http.post(f"/api/v1/statuses/{said}/favourite")
    assert first.status_code == again.status_code == 200
    assert schema_errors("Status", {**again.json(), "quote": None}) == []
    assert again.json()["favourited"] is True
    assert again.json()["favourites_count"] == before + 1
    assert [n["type"] for n in emu.notifications(emu.account_id("fan1"))] == ["favourite"]
    undone = api.http.post(f"/api/v1/statuses/{said}/unfavourite").json()
    assert undone["favourited"] is False
    assert api.http.post("/api/v1/statuses/42/favourite").status_code == 404


def test_an_account_can_be_the_audience_of_another(emu: MastodonEmulator, api: Api) -> None:
    """An audience name that is an account's username is that account (no second user of
    the same name), so one brand can mention another."""
    other = emu.account(username="shop")
    said = emu.audience("shop").mention("@brand hello neighbour")
    assert emu.status(said)["account"]["id"] == emu.account_id("shop")
    assert other.secret("token") and [n["status"]["id"] for n in notifications(api).json()] == [
        said
    ]
