"""``meta.previous_token`` on the X emulator's timelines, through tweepy (a real client).

X's OpenAPI lists ``previous_token`` beside ``next_token`` in the meta of
``GET /2/users/:id/mentions`` (Get2UsersIdMentionsResponse) and ``GET /2/users/:id/tweets``
(Get2UsersIdTweetsResponse), not in recent search's (Get2TweetsSearchRecentResponse); the
pagination guide (docs.x.com x-api/fundamentals/pagination): "previous_token ... Use to go
back a page", sent back as ``pagination_token``. The first page has none; tweepy's
``reversed(Paginator(...))`` walks back with it until a page has none."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from brandkit.testing.x import XEmulator
from tests.fidelity._x_support import oauth1_keys, route_to

tweepy = pytest.importorskip("tweepy")


@pytest.fixture
def served() -> Iterator[tuple[XEmulator, Any, str]]:
    """The emulator on 127.0.0.1, the brand's tweepy client and the brand's user id."""
    emu = XEmulator()
    with emu.serve() as url:
        client = tweepy.Client(
            **oauth1_keys(emu, emu.account(name="brand", auth="oauth1")), return_type=dict
        )
        route_to(client.session, url)
        yield emu, client, client.get_me()["data"]["id"]


def ids(page: dict[str, Any]) -> list[str]:
    return [t["id"] for t in page.get("data", [])]


def test_mentions_page_back_with_previous_token(served: tuple[XEmulator, Any, str]) -> None:
    """12 mentions, 5 a page: page 2 (read with a token) has a previous_token that gives
    page 1 again, newest first; page 1 has none; the last page has no next_token."""
    emu, client, me = served
    root = client.create_tweet(text="hello world")["data"]["id"]
    for i in range(12):
        emu.audience(f"fan{i}").reply(root, f"reply {i}")

    def mentions(**kw: Any) -> dict[str, Any]:
        return dict(client.get_users_mentions(me, max_results=5, user_auth=True, **kw))

    first = mentions()
    assert "previous_token" not in first["meta"]
    second = mentions(pagination_token=first["meta"]["next_token"])
    assert "previous_token" in second["meta"]
    back = mentions(pagination_token=second["meta"]["previous_token"])
    assert ids(back) == ids(first)
    assert back["meta"]["next_token"] == first["meta"]["next_token"]
    assert back["meta"]["newest_id"] == first["meta"]["newest_id"]
    # Nothing is newer than the first page: a page with no posts and no tokens.
    newest = mentions(pagination_token=back["meta"]["previous_token"])
    assert newest["meta"] == {"result_count": 0}

    third = mentions(pagination_token=second["meta"]["next_token"])
    assert len(ids(third)) == 2 and "next_token" not in third["meta"]
    assert ids(mentions(pagination_token=third["meta"]["previous_token"])) == ids(second)


def test_tweepy_pages_backwards_through_mentions(served: tuple[XEmulator, Any, str]) -> None:
    """tweepy's Paginator forwards, then backwards from a page read with a token: the same
    posts come back, page by page; the first page read back (with a token) still has a
    previous_token, whose page is empty and ends the walk."""
    emu, client, me = served
    root = client.create_tweet(text="hello world")["data"]["id"]
    for i in range(12):
        emu.audience(f"fan{i}").reply(root, f"reply {i}")
    forward = list(tweepy.Paginator(client.get_users_mentions, me, max_results=5, user_auth=True))
    assert [len(ids(p)) for p in forward] == [5, 5, 2]
    backward = list(
        reversed(
            tweepy.Paginator(
                client.get_users_mentions,
                me,
                max_results=5,
                user_auth=True,
                pagination_token=forward[-1]["meta"]["previous_token"],
            )
        )
    )
    assert [ids(p) for p in backward] == [ids(forward[1]), ids(forward[0]), []]


def test_user_timeline_pages_back_too_and_search_has_no_previous_token(
    served: tuple[XEmulator, Any, str],
) -> None:
    """``GET /2/users/:id/tweets`` shares the tokens; recent search sends no previous_token,
    and refuses one it could not have made."""
    emu, client, me = served
    made = [client.create_tweet(text=f"post number {i}")["data"]["id"] for i in range(7)]
    emu.clock.advance(60)
    first = dict(client.get_users_tweets(me, max_results=5, user_auth=True))
    assert ids(first) == made[::-1][:5] and "previous_token" not in first["meta"]
    second = dict(
        client.get_users_tweets(
            me, max_results=5, user_auth=True, pagination_token=first["meta"]["next_token"]
        )
    )
    assert ids(second) == made[1::-1]
    back = dict(
        client.get_users_tweets(
            me, max_results=5, user_auth=True, pagination_token=second["meta"]["previous_token"]
        )
    )
    assert ids(back) == ids(first) and back["meta"]["next_token"] == first["meta"]["next_token"]

    found = dict(client.search_recent_tweets("post", max_results=10, user_auth=True))
    assert "previous_token" not in found["meta"]
    with pytest.raises(tweepy.BadRequest, match="next_token"):
        client.search_recent_tweets(
            "post",
            max_results=10,
            user_auth=True,
            next_token=second["meta"]["previous_token"],
        )
