"""tweepy's v2 ``Client`` reading and moderating the conversation an audience made on the X
emulator, over a real socket, exactly as a brand's tool does: mentions since a cursor with
expansions, the replies of a conversation by recent search, hiding and unhiding a reply,
liking, and ``tweepy.Paginator`` over both reads."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime

import pytest

from brandkit.testing.conformance import tiny_png
from brandkit.testing.x import XEmulator
from tests.fidelity.test_x_tweepy import Brand

tweepy = pytest.importorskip("tweepy")


@pytest.fixture
def served() -> Iterator[tuple[XEmulator, str]]:
    """The emulator on a socket, engagement only as tests make it."""
    emu = XEmulator()
    with emu.serve() as url:
        yield emu, url


@pytest.fixture
def brand(served: tuple[XEmulator, str]) -> Brand:
    """The brand's OAuth 1.0a tweepy objects."""
    return Brand(*served)


def test_mentions_since_a_cursor_with_expansions(
    served: tuple[XEmulator, str], brand: Brand
) -> None:
    """``get_users_mentions(since_id=..., max_results=100)`` with the author and the replied
    post expanded: each expansion brings the field it expands into the post (``author_id``,
    ``referenced_tweets``, ``in_reply_to_user_id``, as docs.x.com's expansions page shows)
    without naming it in ``tweet_fields``; tweepy's Tweet and User objects carry ids as
    ints, dates as datetimes, and ``meta`` names the newest id for the next cursor."""
    emu, _ = served
    me = brand.client.get_me().data
    post = brand.client.create_tweet(text="What should we make next?").data
    fan = emu.audience("fan1")
    first = fan.reply(post["id"], "More boots!")
    cursor = brand.client.get_users_mentions(me.id, user_auth=True).meta["newest_id"]
    assert cursor == first

    second = emu.audience("fan2").reply(post["id"], "And hats")
    third = fan.mention("are you open on Sundays?")
    page = brand.client.get_users_mentions(
        me.id,
        since_id=cursor,
        max_results=100,
        expansions=["author_id", "referenced_tweets.id", "in_reply_to_user_id"],
        tweet_fields=["created_at", "conversation_id"],
        user_fields=["username", "profile_image_url", "verified", "protected", "description"],
        user_auth=True,
    )
    assert [t.id for t in page.data] == [int(third), int(second)]
    assert page.meta["result_count"] == 2 and page.meta["newest_id"] == third
    reply = page.data[1]
    assert isinstance(reply.created_at, datetime) and reply.created_at.tzinfo is not None
    assert reply.conversation_id == int(post["id"]) and reply.in_reply_to_user_id == me.id
    assert reply.text == "@brand And hats"
    assert reply.referenced_tweets[0].type == "replied_to"
    assert reply.referenced_tweets[0].id == int(post["id"])
    users = {u.id: u.username for u in page.includes["users"]}
    assert users[reply.author_id] == "fan2" and users[me.id] == "brand"
    # What an inbox shows of a fan: the avatar and the badge (an account without them gets
    # X's default picture, unverified, unprotected, an empty description).
    fan2 = next(u for u in page.includes["users"] if u.username == "fan2")
    assert fan2.profile_image_url.startswith("https://") and fan2.verified is False
    assert (fan2.protected, fan2.description) == (False, "")
    assert [t.id for t in page.includes["tweets"]] == [int(post["id"])]

    # One mention read again by id (as from a notification), its author and parent expanded.
    one = brand.client.get_tweet(
        second,
        expansions=["author_id", "referenced_tweets.id", "referenced_tweets.id.author_id"],
        user_fields=["created_at"],
        user_auth=True,
    )
    assert one.data.author_id == reply.author_id
    assert {u.username for u in one.includes["users"]} == {"fan2", "brand"}
    assert all(u.created_at is not None for u in one.includes["users"])
    assert [t.id for t in one.includes["tweets"]] == [int(post["id"])]

    empty = brand.client.get_users_mentions(me.id, since_id=third, user_auth=True)
    assert empty.data is None and empty.meta == {"result_count": 0}


def test_conversation_search_hide_unhide_like(served: tuple[XEmulator, str], brand: Brand) -> None:
    """``search_recent_tweets("conversation_id:...")`` lists the replies, newest first;
    ``hide_reply`` hides one and ``unhide_reply`` shows it again (``{"hidden": ...}``);
    ``like`` likes a reply and its like count shows it, ``unlike`` takes it back (twice:
    the second does nothing, as X documents); hiding a reply in a conversation someone
    else started is tweepy.Forbidden with X's detail."""
    emu, _ = served
    post = brand.client.create_tweet(text="Launch day").data
    fan = emu.audience("fan1")
    rude = fan.reply(post["id"], "meh")
    kind = emu.audience("fan2").reply(post["id"], "Congrats!")
    found = brand.client.search_recent_tweets(
        f"conversation_id:{post['id']}",
        max_results=100,
        tweet_fields=["conversation_id", "author_id", "public_metrics"],
        user_auth=True,
    )
    assert [t.id for t in found.data] == [int(kind), int(rude)]
    assert all(t.conversation_id == int(post["id"]) for t in found.data)

    assert brand.client.hide_reply(rude, user_auth=True).data == {"hidden": True}
    assert emu.is_hidden(rude)
    assert brand.client.unhide_reply(rude, user_auth=True).data == {"hidden": False}
    assert not emu.is_hidden(rude)

    assert brand.client.like(kind).data == {"liked": True}
    liked = brand.client.get_tweet(kind, tweet_fields=["public_metrics"], user_auth=True)
    assert liked.data.public_metrics["like_count"] == 1
    assert brand.client.unlike(kind, user_auth=True).data == {"liked": False}
    assert brand.client.unlike(kind, user_auth=True).data == {"liked": False}  # no-op
    unliked = brand.client.get_tweet(kind, tweet_fields=["public_metrics"], user_auth=True)
    assert unliked.data.public_metrics["like_count"] == 0

    theirs = fan.post("my own thread")
    answer = emu.audience("fan2").reply(theirs, "nice")
    with pytest.raises(tweepy.Forbidden) as caught:
        brand.client.hide_reply(answer, user_auth=True)
    assert caught.value.api_messages == [
        "You can only hide or unhide replies to conversations you started."
    ]


def test_paginator_walks_mentions_and_search(served: tuple[XEmulator, str], brand: Brand) -> None:
    """``tweepy.Paginator`` reads twelve mentions five at a time by ``pagination_token`` and
    twenty-three replies ten at a time by ``next_token``, each once, newest first, and stops
    where ``meta`` has no ``next_token``; ``flatten`` gives the posts themselves."""
    emu, _ = served
    me = brand.client.get_me().data
    post = brand.client.create_tweet(text="Ask us anything").data
    fan = emu.audience("fan1")
    mentions = [fan.mention(f"question {i}") for i in range(12)]
    pages = list(
        tweepy.Paginator(brand.client.get_users_mentions, me.id, max_results=5, user_auth=True)
    )
    assert [len(p.data) for p in pages] == [5, 5, 2]
    assert [t.id for p in pages for t in p.data] == [int(m) for m in reversed(mentions)]
    assert "next_token" not in pages[-1].meta

    replies = [emu.audience(f"fan{i % 3}").reply(post["id"], f"answer {i}") for i in range(23)]
    flat = tweepy.Paginator(
        brand.client.search_recent_tweets,
        f"conversation_id:{post['id']}",
        max_results=10,
        user_auth=True,
    ).flatten(limit=100)
    assert [t.id for t in flat] == [int(r) for r in reversed(replies)]


def test_a_fans_timeline_with_expansions(served: tuple[XEmulator, str], brand: Brand) -> None:
    """``get_users_tweets`` of a fan (who is this, what else did they say) takes the
    expansions and user fields mentions and search take: the fan and the brand post they
    answered come in ``includes`` with the asked user fields; an expansion or user field X
    does not know is tweepy.BadRequest naming it, as on mentions."""
    emu, _ = served
    post = brand.client.create_tweet(text="What should we make next?").data
    fan = emu.audience("fan1")
    reply = fan.reply(post["id"], "More boots!")
    said = fan.mention("are you open on Sundays?")
    fan_id = brand.client.get_tweet(
        reply, tweet_fields=["author_id"], user_auth=True
    ).data.author_id
    page = brand.client.get_users_tweets(
        fan_id,
        expansions=["author_id", "referenced_tweets.id", "in_reply_to_user_id"],
        user_fields=["profile_image_url", "verified", "description"],
        user_auth=True,
    )
    assert [t.id for t in page.data] == [int(said), int(reply)]
    assert page.data[1].author_id == fan_id and page.data[1].in_reply_to_user_id is not None
    users = {u.username: u for u in page.includes["users"]}
    assert set(users) == {"fan1", "brand"}
    assert users["fan1"].profile_image_url.startswith("https://")
    assert users["fan1"].verified is False and users["fan1"].description == ""
    assert [t.id for t in page.includes["tweets"]] == [int(post["id"])]
    assert page.meta["result_count"] == 2

    with pytest.raises(tweepy.BadRequest) as bad:
        brand.client.get_users_tweets(fan_id, expansions=["author"], user_auth=True)
    assert "[author]" in str(bad.value) and "expansions" in str(bad.value)
    with pytest.raises(tweepy.BadRequest) as bad:
        brand.client.get_users_tweets(fan_id, user_fields=["colour"], user_auth=True)
    assert "[colour]" in str(bad.value) and "user.fields" in str(bad.value)


def test_who_is_this_fan_by_handle_and_id(served: tuple[XEmulator, str], brand: Brand) -> None:
    """``get_user(username=...)`` (any case) and ``get_user(id=...)`` answer the fan with
    the asked user fields; an unknown handle is X's 200 with a resource-not-found error
    (tweepy puts it in ``errors``, ``data`` None); a handle X's pattern refuses is
    tweepy.BadRequest naming the pattern."""
    emu, _ = served
    post = brand.client.create_tweet(text="Launch day").data
    emu.audience("fan1").reply(post["id"], "Congrats!")
    by_name = brand.client.get_user(
        username="FAN1", user_fields=["profile_image_url", "verified"], user_auth=True
    ).data
    assert by_name.username == "fan1" and by_name.verified is False
    assert by_name.profile_image_url.startswith("https://")
    by_id = brand.client.get_user(id=by_name.id, user_fields=["created_at"], user_auth=True)
    assert by_id.data.username == "fan1" and by_id.data.created_at is not None

    missing = brand.client.get_user(username="nobody_here", user_auth=True)
    assert missing.data is None
    assert missing.errors[0]["detail"] == "Could not find user with username: [nobody_here]."
    assert missing.errors[0]["type"].endswith("/resource-not-found")
    with pytest.raises(tweepy.BadRequest) as bad:
        brand.client.get_user(username="far_too_long_a_handle", user_auth=True)
    assert "^[A-Za-z0-9_]{1,15}$" in str(bad.value)


@pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")
def test_timeline_media_expansion_as_lookup_answers_it(
    served: tuple[XEmulator, str], brand: Brand
) -> None:
    """``get_users_tweets`` with ``attachments.media_keys`` and ``media_fields`` brings the
    photo's media object (its alt text) in ``includes.media``, as ``get_tweet`` does; a
    media field X does not know is tweepy.BadRequest naming it."""
    me = brand.client.get_me().data
    image = brand.api.media_upload("banner.png", file=io.BytesIO(tiny_png()))
    brand.api.create_media_metadata(image.media_id, "Our new banner")
    brand.client.create_tweet(text="Launch day!", media_ids=[image.media_id])
    brand.client.create_tweet(text="No picture here")
    page = brand.client.get_users_tweets(
        me.id,
        expansions=["attachments.media_keys"],
        media_fields=["alt_text", "type"],
        user_auth=True,
    )
    assert [t.text.split(" https://")[0] for t in page.data] == ["No picture here", "Launch day!"]
    (photo,) = page.includes["media"]
    assert photo.alt_text == "Our new banner" and photo.type == "photo"
    assert page.data[1].attachments["media_keys"] == [photo.media_key]
    with pytest.raises(tweepy.BadRequest) as bad:
        brand.client.get_users_tweets(me.id, media_fields=["colour"], user_auth=True)
    assert "[colour]" in str(bad.value) and "media.fields" in str(bad.value)
