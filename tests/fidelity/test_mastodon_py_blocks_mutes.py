"""Mastodon.py moderating an audience on the Mastodon emulator, over a real socket, as a
brand's tool does: ``account_block`` drops the blocked account's notifications (Mastodon's
AfterBlockService#clear_notifications!) and any it would make later (NotifyService's
DropCondition), ends its follow, and leaves its statuses out of a status's context
(StatusFilter); ``account_mute`` leaves them out of the context and, with
``notifications=True`` (the default), drops its later notifications; ``duration`` ends a
mute by the clock; ``account_relationships`` reads it all back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from brandkit.testing.mastodon import MastodonEmulator
from tests.fidelity.test_mastodon_py import connect
from tests.mastodon.conftest import schema_errors

mastodon = pytest.importorskip("mastodon")


@pytest.fixture
def served() -> Iterator[tuple[MastodonEmulator, str]]:
    """The emulator on a socket, engagement only as the audience makes it."""
    emu = MastodonEmulator(engagement_rate=0)
    with emu.serve() as url:
        yield emu, url


def test_block_clears_and_drops_a_trolls_notifications(
    served: tuple[MastodonEmulator, str],
) -> None:
    """A blocked troll's mention, favourite and follow are gone, its later reply notifies
    no one and is left out of the context; unblocking lets new ones through."""
    emu, url = served
    api = connect(url, emu.account(username="brand").secret("token"))
    post = api.status_post("Our new opening hours")
    troll, fan = emu.audience("troll"), emu.audience("fan")
    boo = troll.reply(post.id, "boo")
    troll.favourite(post.id)
    troll.follow("brand")
    kind = fan.reply(post.id, "Great news")
    troll_id = emu.account_id("troll")
    assert api.me().followers_count == 1 and len(api.notifications()) == 4

    rel = api.account_block(troll_id)
    assert rel.blocking is True and rel.followed_by is False and rel.id == troll_id
    assert [(n.type, n.account.acct) for n in api.notifications()] == [("mention", "fan")]
    assert api.me().followers_count == 0
    later = troll.reply(post.id, "still here")
    assert [n.status.id for n in api.notifications()] == [kind]
    assert [s.id for s in api.status_context(post.id).descendants] == [kind]
    assert [g.type for g in api.grouped_notifications().notification_groups] == ["mention"]

    (again,) = api.account_relationships(troll_id)
    assert again.blocking is True and again.muting is False
    assert api.account_unblock(troll_id).blocking is False
    assert sorted(str(s.id) for s in api.status_context(post.id).descendants) == sorted(
        [boo, kind, later]
    )
    newest = troll.reply(post.id, "hello again")
    assert api.notifications()[0].status.id == newest


def test_mute_hides_from_context_and_drops_notifications_until_it_ends(
    served: tuple[MastodonEmulator, str],
) -> None:
    """A mute keeps the notifications already there, drops later ones (unless
    ``notifications=False``) and hides the account's replies from the context; a mute with
    a duration ends with the clock."""
    emu, url = served
    api = connect(url, emu.account(username="brand").secret("token"))
    post = api.status_post("Ask us anything")
    loud, chatty = emu.audience("loud"), emu.audience("chatty")
    first = loud.reply(post.id, "first!")
    chatty.favourite(post.id)
    loud_id, chatty_id = emu.account_id("loud"), emu.account_id("chatty")

    rel = api.account_mute(loud_id)
    assert rel.muting is True and rel.muting_notifications is True
    quiet = api.account_mute(chatty_id, notifications=False, duration=60)
    assert quiet.muting is True and quiet.muting_notifications is False
    loud.reply(post.id, "second!")
    said = chatty.reply(post.id, "me too")
    assert [n.type for n in api.notifications()] == ["mention", "favourite", "mention"]
    assert api.notifications()[2].status.id == first
    assert api.status_context(post.id).descendants == []

    emu.clock.advance(timedelta(seconds=61))
    assert api.account_relationships(chatty_id)[0].muting is False
    assert [s.id for s in api.status_context(post.id).descendants] == [said]
    assert api.account_unmute(loud_id).muting is False
    assert len(api.status_context(post.id).descendants) == 3


def test_blocked_and_muted_accounts_leave_listening(
    served: tuple[MastodonEmulator, str],
) -> None:
    """A hashtag timeline and full-text search read by the brand leave out the statuses of
    accounts it blocked or muted (TagFeed's and StatusesSearchService's filters); an
    anonymous tag timeline still has them; unblocking and unmuting brings them back."""
    emu, url = served
    api = connect(url, emu.account(username="brand").secret("token"))
    anonymous = connect(url, None)
    said = {}
    for name in ("fan", "troll", "bore"):
        emu.set_indexable(name)
        said[name] = emu.audience(name).post(f"I love #kopi says {name}", lang="en")

    def tagged(client: Any) -> list[str]:
        return sorted(str(s.id) for s in client.timeline_hashtag("kopi"))

    def searched() -> list[str]:
        return sorted(str(s.id) for s in api.search_v2("kopi", result_type="statuses").statuses)

    assert tagged(api) == sorted(said.values()) == searched()
    api.account_block(emu.account_id("troll"))
    api.account_mute(emu.account_id("bore"))
    assert tagged(api) == [said["fan"]] == searched()
    assert tagged(anonymous) == sorted(said.values())
    api.account_unblock(emu.account_id("troll"))
    api.account_unmute(emu.account_id("bore"))
    assert tagged(api) == sorted(said.values()) == searched()


def test_report_a_troll(served: tuple[MastodonEmulator, str]) -> None:
    """``report`` files a Report as the docs show it: category ``other`` by default, the
    troll's own statuses kept (another account's dropped), forwarded only for a remote
    account; ``violation`` (or any ``rule_ids``) on an instance without rules is 422
    "Rule ids does not reference valid rules"; an unknown account is 404."""
    emu, url = served
    api = connect(url, emu.account(username="brand").secret("token"))
    post = api.status_post("Hello")
    troll, remote = emu.audience("troll"), emu.audience("spam@bad.example")
    nasty = troll.reply(post.id, "boo")
    friendly = emu.audience("fan").reply(post.id, "hi")
    troll_id = emu.account_id("troll")

    filed = api.report(troll_id, status_ids=[nasty, friendly], comment="Harassment")
    assert filed.category == "other" and filed.comment == "Harassment"
    assert [str(i) for i in filed.status_ids] == [nasty] and filed.rule_ids is None
    assert filed.action_taken is False and filed.forwarded is False
    assert filed.target_account.acct == "troll"
    ad = remote.reply(post.id, "buy now")
    spam = api.report(
        emu.account_id("spam@bad.example"), status_ids=[ad], category="spam", forward=True
    )
    assert spam.category == "spam" and spam.forwarded is True
    assert [r["comment"] for r in emu.reports()] == ["Harassment", ""]

    with pytest.raises(mastodon.MastodonAPIError, match="does not reference valid rules"):
        api.report(troll_id, category="violation")
    with pytest.raises(mastodon.MastodonAPIError, match="does not reference valid rules"):
        api.report(troll_id, rule_ids=["1"])
    with pytest.raises(mastodon.MastodonNotFoundError):
        api.report("999999")


def test_follow_a_fan_and_read_accounts(served: tuple[MastodonEmulator, str]) -> None:
    """``account_follow`` follows a fan (a Relationship with ``following``, the fan notified
    and the counts of both moved), ``account_unfollow`` takes it back; one's own account is
    404 and a blocked one 403; ``account`` and ``account_lookup`` read any account, and a
    fan's own follow shows in its ``following_count``."""
    emu, url = served
    api = connect(url, emu.account(username="brand").secret("token"))
    fan = emu.audience("fan")
    fan.follow("brand")
    fan_id, me = emu.account_id("fan"), api.me()
    assert api.account(fan_id).following_count == 1 and me.followers_count == 1

    rel = api.account_follow(fan_id, reblogs=False)
    assert rel.following is True and rel.followed_by is True and rel.showing_reblogs is False
    assert api.account(fan_id).followers_count == 1 and api.me().following_count == 1
    assert [n["type"] for n in emu.notifications(fan_id)] == ["follow"]
    assert api.account_lookup("fan").id == fan_id
    assert api.account_unfollow(fan_id).following is False
    assert emu.notifications(fan_id) == [] and api.me().following_count == 0

    with pytest.raises(mastodon.MastodonNotFoundError):
        api.account_follow(me.id)
    with pytest.raises(mastodon.MastodonNotFoundError):
        api.account_lookup("nobody")
    api.account_block(fan_id)
    with pytest.raises(mastodon.MastodonAPIError, match="not allowed"):
        api.account_follow(fan_id)
    with pytest.raises(ValueError, match="blocked"):
        fan.follow("brand")


def test_blocks_and_mutes_are_listed_newest_first_and_paged_by_their_own_ids(
    served: tuple[MastodonEmulator, str],
) -> None:
    """``blocks`` and ``mutes`` list the accounts (newest block or mute first; a mute with
    its ``mute_expires_at``), ``limit`` pages them and ``fetch_next`` follows the ``Link``
    header, whose ids are the Block's and Mute's own (BlocksController, MutesController:
    ``paginate_by_max_id`` on the rows), not the accounts'."""
    emu, url = served
    api = connect(url, emu.account(username="brand").secret("token"))
    names = ["a1", "a2", "a3"]
    for name in names:
        emu.audience(name).post(f"hi from {name}")
    ids = {name: emu.account_id(name) for name in names}
    for name in names:
        api.account_block(ids[name])
    api.account_mute(ids["a1"], duration=3600)
    api.account_mute(ids["a2"])

    assert [a.acct for a in api.blocks()] == ["a3", "a2", "a1"]
    first = api.blocks(limit=2)
    assert [a.acct for a in first] == ["a3", "a2"]
    rest = api.fetch_next(first)
    assert [a.acct for a in rest] == ["a1"]
    # The Link header's max_id is the block's row id, far below any account's id.
    assert int(first._pagination_next["max_id"]) < 1000 < int(ids["a1"])
    assert api.fetch_next(rest) is None

    muted = api.mutes()
    assert [(a.acct, a.mute_expires_at is None) for a in muted] == [("a2", True), ("a1", False)]
    assert api.account_unblock(ids["a2"]).blocking is False
    assert [a.acct for a in api.blocks()] == ["a3", "a1"]
    emu.clock.advance(timedelta(seconds=3601))
    assert [a.acct for a in api.mutes()] == ["a2"]


def test_blocks_and_mutes_link_headers_and_limits(served: tuple[MastodonEmulator, str]) -> None:
    """Over raw HTTP: the default page is 40 and ``limit`` is capped at 80 (limit_param);
    ``next`` (``max_id``) comes only with a full page and ``prev`` (``since_id``) with any,
    keeping only ``limit``; no token is 401."""
    emu, url = served
    token = emu.account(username="brand").secret("token")
    api = connect(url, token)
    for i in range(85):
        emu.audience(f"f{i}").post("hello")
        api.account_mute(emu.account_id(f"f{i}"))
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        page = http.get("/api/v1/mutes")
        assert page.status_code == 200 and len(page.json()) == 40
        assert schema_errors("MutedAccount", page.json()[0]) == []
        assert len(http.get("/api/v1/mutes", params={"limit": 500}).json()) == 80
        small = http.get("/api/v1/mutes", params={"limit": 5, "only_media": "1"})
        assert small.headers["link"] == (
            f'<{url}/api/v1/mutes?limit=5&max_id=81>; rel="next", '
            f'<{url}/api/v1/mutes?limit=5&since_id=85>; rel="prev"'
        )
        last = http.get("/api/v1/mutes", params={"max_id": 3})
        assert [a["acct"] for a in last.json()] == ["f1", "f0"]
        assert last.headers["link"] == f'<{url}/api/v1/mutes?since_id=2>; rel="prev"'
        assert "link" not in http.get("/api/v1/blocks").headers
        assert http.get("/api/v1/blocks").json() == []
    assert httpx.get(f"{url}/api/v1/blocks").status_code == 401


def test_followers_and_following_are_listed_by_follow(
    served: tuple[MastodonEmulator, str],
) -> None:
    """``account_followers`` and ``account_following`` list the accounts of real follows
    (the audience's, the brand's), newest follow first, paged by the Follow row's id
    (FollowerAccountsController, FollowingAccountsController) with ``limit`` 40/80 and the
    Link header; a blocked follower is gone with its follow; an unknown account is 404."""
    emu, url = served
    api = connect(url, emu.account(username="brand").secret("token"))
    me = api.me().id
    for name in ("a1", "a2", "a3"):
        emu.audience(name).follow("brand")
    api.account_follow(emu.account_id("a2"))

    assert [a.acct for a in api.account_followers(me)] == ["a3", "a2", "a1"]
    first = api.account_followers(me, limit=2)
    assert [a.acct for a in first] == ["a3", "a2"]
    assert [a.acct for a in api.fetch_next(first)] == ["a1"]
    assert int(first._pagination_next["max_id"]) < 1000
    assert [a.acct for a in api.account_following(me)] == ["a2"]
    assert [a.acct for a in api.account_following(emu.account_id("a1"))] == ["brand"]

    api.account_block(emu.account_id("a3"))
    assert [a.acct for a in api.account_followers(me)] == ["a2", "a1"]
    with httpx.Client(base_url=url) as http:
        anonymous = http.get(f"/api/v1/accounts/{me}/followers", params={"limit": 1})
        assert [a["acct"] for a in anonymous.json()] == ["a2"]
        assert 'rel="next"' in anonymous.headers["link"]
        assert http.get("/api/v1/accounts/0/followers").status_code == 404
