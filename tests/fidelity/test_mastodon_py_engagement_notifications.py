"""Mastodon.py reading the favourites, reblogs and follows an audience made, over a real
socket, in plain (``/api/v1/notifications``) and grouped (``/api/v2/notifications``)
notifications, as Mastodon 4.3+ answers them: favourites and reblogs of one status and
follows share a group (``favourite-<status>-<hour>``, ``reblog-<status>-<hour>``,
``follow-<hour>``, as ``Notification::Groups#set_group_key!`` makes them), other types are
``ungrouped-<id>``; ``grouped_types[]``, ``types[]`` and ``exclude_types[]`` filter; an act
taken back takes its notification with it (``dependent: :destroy``)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from brandkit.testing.mastodon import MastodonEmulator
from tests.fidelity.test_mastodon_py import connect

mastodon = pytest.importorskip("mastodon")


@pytest.fixture
def served() -> Iterator[tuple[MastodonEmulator, str]]:
    """The emulator on a socket, engagement only as the audience makes it."""
    emu = MastodonEmulator(engagement_rate=0)
    with emu.serve() as url:
        yield emu, url


def test_favourites_reblogs_follows_grouped_and_filtered(
    served: tuple[MastodonEmulator, str],
) -> None:
    """Three favourites, two reblogs and two follows read as three groups with their
    counts, newest sample accounts first and the status they are about (none for
    follows), beside an ungrouped mention; v1 shows each notification with its
    ``group_key``; the type filters of both versions hold."""
    emu, url = served
    api = connect(url, emu.account(username="brand").secret("token"))
    post = api.status_post("We are open on Sundays now")
    fans = [emu.audience(f"fan{i}") for i in range(3)]
    for fan in fans:
        assert fan.favourite(post.id) == post.id
    ids = {f.name: emu.account_id(f.name) for f in fans}
    boost = fans[0].reblog(post.id)
    assert fans[0].reblog(post.id) == boost  # one reblog a member
    fans[1].reblog(post.id)
    brand_id = api.me().id
    assert fans[0].follow() == brand_id and fans[2].follow("brand") == brand_id
    mention = fans[1].mention("great news")

    status = api.status(post.id)
    assert status.favourites_count == 3 and status.reblogs_count == 2
    assert api.me().followers_count == 2

    grouped = api.grouped_notifications()
    groups = {g.type: g for g in grouped.notification_groups}
    assert [g.type for g in grouped.notification_groups] == [
        "mention",
        "follow",
        "reblog",
        "favourite",
    ]
    fav, reb, fol = groups["favourite"], groups["reblog"], groups["follow"]
    assert fav.notifications_count == 3 and fav.status_id == post.id
    assert fav.sample_account_ids == [ids["fan2"], ids["fan1"], ids["fan0"]]
    assert fav.group_key.startswith(f"favourite-{post.id}-")
    assert reb.notifications_count == 2 and reb.status_id == post.id
    assert reb.group_key.startswith(f"reblog-{post.id}-")
    assert reb.sample_account_ids == [ids["fan1"], ids["fan0"]]
    assert fol.notifications_count == 2 and fol.group_key.startswith("follow-")
    assert fol.get("status_id") is None
    assert groups["mention"].group_key == f"ungrouped-{groups['mention'].page_min_id}"
    assert [s.id for s in grouped.statuses] == [mention, post.id]

    only_favourites = api.grouped_notifications(grouped_types=["favourite"])
    kinds = [(g.type, g.notifications_count) for g in only_favourites.notification_groups]
    assert kinds == [
        ("mention", 1),
        ("follow", 1),
        ("follow", 1),
        ("reblog", 1),
        ("reblog", 1),
        ("favourite", 3),
    ]
    assert all(
        g.group_key == f"ungrouped-{g.most_recent_notification_id}"
        for g in only_favourites.notification_groups
        if g.type != "favourite"
    )
    follows = api.grouped_notifications(types=["follow"])
    assert [g.type for g in follows.notification_groups] == ["follow"]
    no_engagement = api.grouped_notifications(exclude_types=["favourite", "reblog", "follow"])
    assert [g.type for g in no_engagement.notification_groups] == ["mention"]

    plain = api.notifications(types=["reblog", "follow"])
    assert [n.type for n in plain] == ["follow", "follow", "reblog", "reblog"]
    assert plain[0].account.acct == "fan2" and plain[0].group_key == fol.group_key
    assert plain[2].status.id == post.id and plain[2].group_key == reb.group_key
    assert plain[0].status is None  # Mastodon.py's None for the key the server leaves out
    assert "status" not in emu.notifications()[-2] and emu.notifications()[-2]["type"] == "follow"
    assert [n.type for n in api.notifications(exclude_types=["favourite", "mention"])] == [
        "follow",
        "follow",
        "reblog",
        "reblog",
    ]


def test_taking_an_act_back_takes_its_notification(
    served: tuple[MastodonEmulator, str],
) -> None:
    """An unfavourite, unreblog and unfollow (the audience's, and the API's unfavourite)
    remove the notification the act made, and the counts drop back."""
    emu, url = served
    api = connect(url, emu.account(username="brand").secret("token"))
    other = connect(url, emu.account(username="partner").secret("token"))
    post = api.status_post("Hello")
    fan = emu.audience("fan1")
    fan.favourite(post.id)
    fan.reblog(post.id)
    fan.follow("brand")
    other.status_favourite(post.id)
    assert sorted(n.type for n in api.notifications()) == [
        "favourite",
        "favourite",
        "follow",
        "reblog",
    ]
    fan.unfavourite(post.id)
    fan.unreblog(post.id)
    fan.unfollow("brand")
    assert [(n.type, n.account.acct) for n in api.notifications()] == [("favourite", "partner")]
    other.status_unfavourite(post.id)
    assert api.notifications() == []
    assert api.grouped_notifications().notification_groups == []
    status = api.status(post.id)
    assert status.favourites_count == 0 and status.reblogs_count == 0
    assert api.me().followers_count == 0


def test_who_favourited_and_reblogged(served: tuple[MastodonEmulator, str]) -> None:
    """``status_favourited_by`` and ``status_reblogged_by`` list the accounts newest first
    (an account the brand muted left out); pages of ``limit`` follow the Link header's
    ``next`` (by the favourite's own id) to the end, and an unfavourite leaves the list."""
    emu, url = served
    brand = emu.account(username="brand")
    api = connect(url, brand.secret("token"))
    partner = connect(url, emu.account(username="partner").secret("token"))
    post = api.status_post("Vote for our next colour")
    fans = [emu.audience(f"fan{i}") for i in range(4)]
    for fan in fans:
        fan.favourite(post.id)
    partner.status_favourite(post.id)
    fans[1].reblog(post.id)
    fans[3].reblog(post.id)
    ids = {name: emu.account_id(name) for name in ("fan0", "fan1", "fan2", "fan3", "partner")}

    liked = [a.acct for a in api.status_favourited_by(post.id)]
    assert liked == ["partner", "fan3", "fan2", "fan1", "fan0"]
    assert [a.acct for a in api.status_reblogged_by(post.id)] == ["fan3", "fan1"]
    api.account_mute(ids["fan2"])
    assert [a.acct for a in api.status_favourited_by(post.id)] == [
        "partner",
        "fan3",
        "fan1",
        "fan0",
    ]
    api.account_unmute(ids["fan2"])

    auth = {"authorization": f"Bearer {brand.secret('token')}"}
    seen: list[str] = []
    with httpx.Client(headers=auth, timeout=10) as http:
        page = http.get(f"{url}/api/v1/statuses/{post.id}/favourited_by", params={"limit": 2})
        for _ in range(5):
            seen.extend(a["acct"] for a in page.json())
            if "next" not in page.links:
                break
            assert page.links["next"]["url"].startswith(f"{url}/api/v1/statuses/{post.id}/")
            page = http.get(page.links["next"]["url"])
    assert seen == liked
    fans[3].unfavourite(post.id)
    assert [a.acct for a in api.status_favourited_by(post.id)] == [
        "partner",
        "fan2",
        "fan1",
        "fan0",
    ]


def test_the_brand_reblogs_a_fans_status() -> None:
    """``status_reblog`` boosts a status as ReblogsController answers it (the reblog, with
    the original inside, ``reblogged`` for the booster, the same reblog again when
    repeated), the fan is notified and the booster listed in ``reblogged_by``;
    ``status_unreblog`` answers the original and takes it all back. A direct status is 403
    "This action is not allowed" and an unknown one 404."""
    emu = MastodonEmulator(engagement_rate=0)
    with emu.serve() as url:
        api = connect(url, emu.account(username="brand").secret("token"))
        said = emu.audience("fan").post("Loving the new menu!")
        fan_id = emu.account_id("fan")

        boost = api.status_reblog(said)
        assert boost.reblogged is True and boost.content == "" and boost.account.acct == "brand"
        assert boost.reblog.id == said and boost.reblog.reblogged is True
        assert boost.reblog.reblogs_count == 1
        assert boost.url == f"{url}/users/brand/statuses/{boost.id}/activity"
        assert api.status(said).reblogged is True
        assert api.status_reblog(said).id == boost.id
        assert [a.acct for a in api.status_reblogged_by(said)] == ["brand"]
        assert [n["type"] for n in emu.notifications(fan_id)] == ["reblog"]

        back = api.status_unreblog(said)
        assert back.id == said and back.reblogged is False and back.reblogs_count == 0
        assert emu.notifications(fan_id) == [] and api.status_reblogged_by(said) == []
        direct = api.status_post("@fan psst", visibility="direct")
        with pytest.raises(mastodon.MastodonAPIError, match="not allowed"):
            api.status_reblog(direct.id)
        # ReblogService: a hidden (private) status's reblog keeps its visibility.
        own = api.status_post("followers only", visibility="private")
        assert api.status_reblog(own.id, visibility="public").visibility == "private"
        assert api.status_reblog(said).visibility == "public"
        with pytest.raises(mastodon.MastodonNotFoundError):
            api.status_reblog("999")


def test_the_brand_reads_back_what_it_favourited() -> None:
    """``favourites`` lists the statuses the account favourited, newest favourite first,
    paged by the Favourite's own id (FavouritesController: limit 20, at most 40, ``next``
    with ``max_id`` for a full page, ``prev`` with ``min_id``); an unfavourite or a deleted
    status leaves it."""
    emu = MastodonEmulator(engagement_rate=0)
    with emu.serve() as url:
        token = emu.account(username="brand").secret("token")
        api = connect(url, token)
        said = [emu.audience(f"fan{i}").post(f"post {i}") for i in range(4)]
        for status_id in said:
            api.status_favourite(status_id)
        assert [s.id for s in api.favourites()] == said[::-1]
        first = api.favourites(limit=3)
        assert [s.id for s in first] == said[:0:-1]
        assert [s.id for s in api.fetch_next(first)] == [said[0]]
        assert int(first._pagination_next["max_id"]) < 1000
        api.status_unfavourite(said[1])
        assert [s.id for s in api.favourites()] == [said[3], said[2], said[0]]
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
            page = http.get("/api/v1/favourites", params={"limit": 99})
            assert len(page.json()) == 3 and all(s["favourited"] for s in page.json())
            assert (
                page.headers["link"] == f'<{url}/api/v1/favourites?limit=99&min_id=4>; rel="prev"'
            )


def test_the_brand_bookmarks_statuses() -> None:
    """``status_bookmark`` answers the status ``bookmarked`` (Statuses::BookmarksController),
    ``bookmarks`` lists them newest bookmark first, paged by the Bookmark's id (limit 20,
    at most 40, Link headers); ``status_unbookmark`` takes one back; nobody is notified."""
    emu = MastodonEmulator(engagement_rate=0)
    with emu.serve() as url:
        api = connect(url, emu.account(username="brand").secret("token"))
        said = [emu.audience(f"fan{i}").post(f"idea {i}") for i in range(3)]
        marked = api.status_bookmark(said[0])
        assert marked.id == said[0] and marked.bookmarked is True
        assert api.status(said[0]).bookmarked is True
        api.status_bookmark(said[2])
        api.status_bookmark(said[1])
        assert [s.id for s in api.bookmarks()] == [said[1], said[2], said[0]]
        first = api.bookmarks(limit=2)
        assert [s.id for s in api.fetch_next(first)] == [said[0]]
        assert api.status_unbookmark(said[2]).bookmarked is False
        assert [s.id for s in api.bookmarks()] == [said[1], said[0]]
        assert emu.notifications(emu.account_id("fan0")) == []
        with pytest.raises(mastodon.MastodonNotFoundError):
            api.status_bookmark("999")
