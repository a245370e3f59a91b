"""Mastodon.py reading and moderating the conversation an audience made on the Mastodon
emulator, over a real socket, exactly as a brand's tool does: mentions paged with ``min_id``
and the Link headers, a status's context, favourites, and the fields the client parses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import requests

from brandkit.testing.mastodon import MastodonEmulator
from tests.fidelity.test_mastodon_py import connect

mastodon = pytest.importorskip("mastodon")


@pytest.fixture
def served() -> Iterator[tuple[MastodonEmulator, str]]:
    """The emulator on a socket, engagement only as the audience makes it."""
    emu = MastodonEmulator(engagement_rate=0)
    with emu.serve() as url:
        yield emu, url


@pytest.fixture
def api(served: tuple[MastodonEmulator, str]) -> Any:
    """The brand's Mastodon.py client."""
    emu, url = served
    return connect(url, emu.account(username="brand").secret("token"))


def test_mentions_page_forward_with_min_id_and_fields_parse(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """Replies and a mention make mention notifications; ``notifications(types=["mention"],
    min_id=..., limit=...)`` reads those after a cursor, newest first, with ids as the
    client keeps them and dates as aware datetimes; a favourite is not a mention."""
    emu, _ = served
    post = api.status_post("What should we make next?")
    fan, other = emu.audience("fan1"), emu.audience("fan2@other.example")
    first = fan.reply(post.id, "More boots!")
    cursor = api.notifications(types=["mention"])[0]
    assert cursor.type == "mention" and cursor.status.id == first
    assert isinstance(cursor.created_at, datetime) and cursor.created_at.tzinfo is not None
    assert isinstance(cursor.status.created_at, datetime)
    assert cursor.account.acct == "fan1" and cursor.status.in_reply_to_id == post.id

    second = other.reply(post.id, "And hats")
    third = fan.mention("are you open on Sundays?")
    api.status_favourite(first)  # the brand's own favourite notifies the fan, not the brand
    newer = api.notifications(types=["mention"], min_id=cursor.id, limit=80)
    assert [n.status.id for n in newer] == [third, second]
    assert newer[1].account.acct == "fan2@other.example"
    assert "@brand" in newer[0].status.content
    assert all(n.id > cursor.id for n in newer)  # Mastodon.py compares ids as ints

    single = api.notifications(id=newer[0].id)
    assert single.id == newer[0].id and single.status.id == third


def test_pagination_helpers_follow_link_headers(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """Twelve mentions read five at a time: ``fetch_next`` follows the Link header's
    ``max_id`` down to the end (where there is no next page), ``fetch_previous`` its
    ``min_id`` back up, and ``fetch_remaining`` gathers them all, each once."""
    emu, _ = served
    api.status_post("hello")
    fan = emu.audience("fan1")
    made = [fan.mention(f"question {i}") for i in range(12)]
    page = api.notifications(types=["mention"], limit=5)
    seen = [n.status.id for n in page]
    first_page = page
    while True:
        page = api.fetch_next(page)
        if not page:
            break
        seen.extend(n.status.id for n in page)
    assert seen == made[::-1]
    back = api.fetch_previous(api.fetch_next(first_page))
    assert [n.status.id for n in back] == made[::-1][:5]
    everything = api.fetch_remaining(api.notifications(types=["mention"], limit=5))
    assert [n.status.id for n in everything] == made[::-1]


def test_context_shows_the_conversation_and_favourite_counts(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """``status_context`` lists the audience's replies (and replies to them) as descendants
    and the brand's post as the ancestor of a reply; ``status_favourite`` answers the status
    favourited, with its count, and ``status_unfavourite`` takes it back."""
    emu, _ = served
    post = api.status_post("Launch day")
    fan = emu.audience("fan1")
    reply = fan.reply(post.id, "Congrats!")
    answer = api.status_post("@fan1 thanks!", in_reply_to_id=reply)
    nested = emu.audience("fan2").reply(answer.id, "Same here")

    context = api.status_context(post.id)
    assert context.ancestors == []
    assert [s.id for s in context.descendants] == [reply, answer.id, nested]
    assert context.descendants[0].account.acct == "fan1"
    # Who wrote with which app: the brand through its own, a local fan on the web; a status
    # from another server names none (Mastodon shows no application for it).
    assert context.descendants[1].application.name == "brandkit"
    assert context.descendants[0].application.name == "Web"
    remote = emu.audience("fan3@other.example").reply(post.id, "from afar")
    assert api.status(remote).application is None
    assert isinstance(context.descendants[0].created_at, datetime)
    up = api.status_context(nested)
    assert [s.id for s in up.ancestors] == [post.id, reply, answer.id]

    liked = api.status_favourite(reply)
    assert liked.id == reply and liked.favourited is True and liked.favourites_count == 1
    assert api.status(reply).favourited is True  # reads show the viewer's own favourite
    assert api.status_context(post.id).descendants[0].favourited is True
    unliked = api.status_unfavourite(reply)
    assert unliked.favourited is False and unliked.favourites_count == 0
    with pytest.raises(mastodon.MastodonNotFoundError):
        api.status_favourite("999999999999999999")


def test_muting_a_conversation_stops_its_notifications(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """``status_mute`` on a fan's reply mutes the whole conversation (the status answers
    ``muted``): later replies and favourites in it notify no one, while other conversations
    still do; ``status_unmute`` lets them through again."""
    emu, _ = served
    post = api.status_post("Launch day")
    other = api.status_post("Opening hours")
    fan = emu.audience("fan1")
    rude = fan.reply(post.id, "meh")
    muted = api.status_mute(rude)
    assert muted.id == rude and muted.muted is True
    assert api.status(post.id).muted is True  # the same conversation
    assert api.status(other.id).muted is False

    fan.reply(rude, "still meh")
    emu.audience("fan2").reply(post.id, "agreed, meh")
    kept = fan.reply(other.id, "nice hours")
    mentions = api.notifications(types=["mention"])
    assert [n.status.id for n in mentions] == [kept, rude]

    assert api.status_unmute(post.id).muted is False
    later = fan.reply(post.id, "ok, it grew on me")
    assert api.notifications(types=["mention"])[0].status.id == later


def test_dismissing_handled_notifications(served: tuple[MastodonEmulator, str], api: Any) -> None:
    """A handled mention is dismissed with ``notifications_dismiss`` (gone from the list and
    404 by id), another user's notification cannot be, and ``notifications_clear`` empties
    the list."""
    emu, url = served
    api.status_post("hello")
    fan = emu.audience("fan1")
    first, second = fan.mention("first question"), fan.mention("second question")
    listed = api.notifications(types=["mention"])
    assert [n.status.id for n in listed] == [second, first]
    assert api.notifications_dismiss(listed[1]) is None
    assert [n.status.id for n in api.notifications(types=["mention"])] == [second]
    with pytest.raises(mastodon.MastodonNotFoundError):
        api.notifications(id=listed[1].id)

    other = connect(url, emu.account(username="other").secret("token"))
    with pytest.raises(mastodon.MastodonNotFoundError):
        other.notifications_dismiss(listed[0].id)
    api.notifications_clear()
    assert api.notifications() == []


def test_signed_out_reads_carry_no_viewer_fields(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """StatusSerializer sends ``favourited``, ``reblogged``, ``muted``, ``bookmarked`` and
    ``filtered`` only to a signed-in user and ``pinned`` only to the status's author (its
    ``pinnable?``): a tool reading a thread without a token sees none of them (and
    ``quote_approval.current_user`` is ``denied``); the brand sees its own status's
    ``pinned`` but not a fan's."""
    emu, url = served
    post = api.status_post("What should we make next?")
    reply = emu.audience("fan1").reply(post.id, "More boots!")
    anon = connect(url, None)
    viewer_only = ("favourited", "reblogged", "muted", "bookmarked", "pinned", "filtered")
    # Mastodon.py fills a field the server left out with None.
    read = anon.status(post.id)
    assert read.id == post.id and read.content
    assert [read.get(k) for k in viewer_only] == [None] * len(viewer_only)
    assert read.quote_approval.current_user == "denied"
    context = anon.status_context(post.id)
    assert [s.id for s in context.descendants] == [reply]
    assert [context.descendants[0].get(k) for k in viewer_only] == [None] * len(viewer_only)
    with requests.Session() as http:
        http.trust_env = False  # loopback only, never an environment proxy
        raw = http.get(f"{url}/api/v1/statuses/{post.id}", timeout=5).json()
    assert set(viewer_only).isdisjoint(raw)

    mine, theirs = api.status(post.id), api.status(reply)
    assert mine.pinned is False and mine.favourited is False and mine.filtered == []
    assert theirs.pinned is None and theirs.bookmarked is False and theirs.muted is False


def test_unread_count_follows_the_notifications_marker(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """An inbox that keeps its place on the server: ``markers_set`` stores the newest
    notification read (``version`` counts changes, ``updated_at`` when), ``markers_get``
    answers only the timelines asked for, and ``notifications_unread_count`` counts the
    notifications newer than the ``notifications`` marker (all of them before one is set;
    ``types`` narrows the count as it narrows the list)."""
    emu, _ = served
    post = api.status_post("What should we make next?")
    fan = emu.audience("fan1")
    fan.reply(post.id, "More boots!")
    second = fan.reply(post.id, "And hats")
    assert api.markers_get(["notifications"]) == {}
    assert api.notifications_unread_count().count == 2

    newest = api.notifications(types=["mention"])[0]
    assert newest.status.id == second
    made = api.markers_set(["notifications"], [newest.id])
    marker = made["notifications"]
    assert marker.last_read_id == newest.id and marker.version == 1
    assert isinstance(marker.updated_at, datetime)
    assert api.notifications_unread_count().count == 0
    third = fan.mention("are you open on Sundays?")
    assert api.notifications_unread_count().count == 1

    again = api.markers_set(["notifications"], [newest.id])["notifications"]
    assert again.version == 1  # unchanged: the row is not updated
    both = api.markers_set(["home", "notifications"], [third, api.notifications()[0].id])
    assert str(both["home"].last_read_id) == third and both["home"].version == 1
    assert both["notifications"].version == 2
    assert api.notifications_unread_count().count == 0
    got = api.markers_get(["home", "notifications"])
    assert list(got) == ["notifications", "home"]  # in the order they were made
    assert str(api.markers_get("home")["home"].last_read_id) == third


def test_markers_by_form_and_refusals(served: tuple[MastodonEmulator, str]) -> None:
    """``POST /api/v1/markers`` as a form (``home[last_read_id]=``), as Rails reads it; a
    blank id is the model's 422 "Last read can't be blank"; a timeline Mastodon has no
    marker for is ignored."""
    emu, url = served
    token = emu.account(username="brand").secret("token")
    with requests.Session() as http:
        http.trust_env = False  # loopback only, never an environment proxy

        def post(data: dict[str, str]) -> requests.Response:
            auth = {"Authorization": f"Bearer {token}"}
            return http.post(f"{url}/api/v1/markers", data=data, headers=auth, timeout=5)

        made = post({"home[last_read_id]": "1234", "lists[last_read_id]": "9"})
        blank = post({"notifications[last_read_id]": ""})
    assert made.status_code == 200 and list(made.json()) == ["home"]
    assert made.json()["home"]["last_read_id"] == "1234"
    assert made.json()["home"]["version"] == 1
    assert blank.status_code == 422
    assert blank.json() == {"error": "Validation failed: Last read can't be blank"}


def test_grouped_notifications_fold_favourites_and_page(
    served: tuple[MastodonEmulator, str], api: Any
) -> None:
    """``grouped_notifications`` (4.3+): three fans' favourites of one post are one group
    (``favourite-<status>-<hour>``, the same key v1 shows) with its count, sample
    accounts newest first and the post once in ``statuses``; a reply is its own
    ``ungrouped-<id>`` group; ``partial_avatars`` (Mastodon.py's default) renders only each
    group's newest account in full; ``grouped_types`` without favourites splits them;
    ``limit`` pages by groups with ``max_id``; a favourite 13 hours later starts a new
    group; ``grouped_notification`` reads a group whole, ``grouped_notification_accounts``
    lists who made it, newest first, and ``dismiss_grouped_notification`` drops it."""
    emu, url = served
    post = api.status_post("What should we make next?")
    fans = [connect(url, emu.account(username=f"fav{i}").secret("token")) for i in range(3)]
    for fan in fans:
        fan.status_favourite(post.id)
    reply = emu.audience("fan1").reply(post.id, "More boots!")

    got = api.grouped_notifications()
    mention, favs = got.notification_groups
    assert mention.type == "mention" and mention.group_key.startswith("ungrouped-")
    assert mention.notifications_count == 1 and mention.status_id == reply
    assert favs.type == "favourite" and favs.notifications_count == 3
    assert favs.group_key.startswith(f"favourite-{post.id}-")
    ids = [f.me().id for f in fans]
    assert [str(i) for i in favs.sample_account_ids] == [str(i) for i in ids[::-1]]
    assert favs.status_id == post.id
    assert {s.id for s in got.statuses} == {post.id, reply}
    # partial_avatars: the newest account of each group in full, the rest partial.
    assert {str(a.id) for a in got.accounts} >= {str(ids[2])}
    assert {str(a.id) for a in got.partial_accounts} == {str(ids[0]), str(ids[1])}
    with requests.Session() as http:
        http.trust_env = False  # loopback only, never an environment proxy
        auth = {"Authorization": f"Bearer {api.access_token}"}
        raw = http.get(
            f"{url}/api/v2/notifications",
            params={"expand_accounts": "partial_avatars"},
            headers=auth,
            timeout=5,
        ).json()
        bad = http.get(
            f"{url}/api/v2/notifications",
            params={"expand_accounts": "some"},
            headers=auth,
            timeout=5,
        )
        unread = http.get(f"{url}/api/v2/notifications/unread_count", headers=auth, timeout=5)
    assert list(raw) == ["accounts", "partial_accounts", "statuses", "notification_groups"]
    partial_keys = ["id", "acct", "locked", "bot", "url", "avatar", "avatar_static"]
    assert [list(a) for a in raw["partial_accounts"]] == [partial_keys] * 2
    assert isinstance(raw["notification_groups"][1]["most_recent_notification_id"], int)
    assert bad.status_code == 400 and "allowed values are 'full'" in bad.json()["error"]
    # Unread groups (v2) against unread notifications (v1): the favourites count once.
    assert unread.json() == {"count": 2} and api.notifications_unread_count().count == 4
    v1 = [n for n in api.notifications() if n.type == "favourite"]
    assert {n.group_key for n in v1} == {favs.group_key}
    assert str(favs.most_recent_notification_id) == str(v1[0].id)
    assert str(favs.page_max_id) == str(v1[0].id) and str(favs.page_min_id) == str(v1[-1].id)

    full = api.grouped_notifications(expand_accounts="full")
    assert {str(a.id) for a in full.accounts} >= {str(i) for i in ids}
    assert full.get("partial_accounts") is None
    split = api.grouped_notifications(grouped_types=["follow"])
    assert [g.type for g in split.notification_groups] == ["mention"] + ["favourite"] * 3
    first = api.grouped_notifications(limit=1)
    assert [g.type for g in first.notification_groups] == ["mention"]
    second = api.fetch_next(first)
    assert [g.group_key for g in second.notification_groups] == [favs.group_key]

    emu.clock.advance(13 * 3600)
    late = connect(url, emu.account(username="late").secret("token"))
    late.status_favourite(post.id)
    groups = api.grouped_notifications().notification_groups
    assert [g.type for g in groups] == ["favourite", "mention", "favourite"]
    assert groups[0].group_key != favs.group_key and groups[0].notifications_count == 1

    whole = api.grouped_notification(favs.group_key)
    (group,) = whole.notification_groups
    assert group.notifications_count == 3 and group.get("page_min_id") is None
    who = api.grouped_notification_accounts(favs.group_key)
    assert [str(a.id) for a in who] == [str(i) for i in ids[::-1]]
    assert api.grouped_notification_accounts(mention.group_key) == []
    with requests.Session() as http:
        http.trust_env = False  # loopback only, never an environment proxy
        paged = http.get(
            f"{url}/api/v2/notifications/{favs.group_key}/accounts",
            params={"limit": 2},
            headers={"Authorization": f"Bearer {api.access_token}"},
            timeout=5,
        )
    assert [a["id"] for a in paged.json()] == [str(i) for i in ids[:0:-1]]
    assert 'rel="next"' in paged.headers["link"] and "limit=2" in paged.headers["link"]
    api.dismiss_grouped_notification(favs.group_key)
    left = [g.group_key for g in api.grouped_notifications().notification_groups]
    assert favs.group_key not in left and len(left) == 2


URL_FIELDS = ("url", "uri", "avatar", "avatar_static", "header", "header_static")


def test_one_instance_answers_under_one_domain_whatever_made_its_statuses() -> None:
    """One instance, one domain: Mastodon builds every URL of its answers from its own
    domain. Reached by another name of the same socket (``localhost``), with a mention made
    before the emulator was served and a reply made while served, every notification shows
    its account as ``GET /api/v1/accounts/:id`` does (the same avatar and URL as the account
    of its status), and every status address is under the name the client uses."""
    emu = MastodonEmulator(engagement_rate=0)
    token = emu.account(username="brand").secret("token")
    early = emu.audience("fan").mention("hello before you were up")
    with emu.serve() as url:
        other = url.replace("127.0.0.1", "localhost")
        assert other != url
        api = connect(other, token)
        post = api.status_post("Launch day")
        reply = emu.audience("fan").reply(post.id, "congrats")
        emu.audience("fan2").favourite(post.id)
        notes = api.notifications()
        assert sorted((n.type, n.status.id) for n in notes) == sorted(
            [("mention", early), ("mention", reply), ("favourite", post.id)]
        )
        for n in notes:
            shown = api.account(n.account.id)
            assert {f: n.account[f] for f in URL_FIELDS} == {f: shown[f] for f in URL_FIELDS}
            author = api.account(n.status.account.id)
            assert {f: n.status.account[f] for f in URL_FIELDS} == {
                f: author[f] for f in URL_FIELDS
            }
            assert all(shown[f].startswith(other + "/") for f in URL_FIELDS)
            assert n.status.url.startswith(other + "/") and n.status.uri.startswith(other + "/")
        fan = next(n for n in notes if n.status.id == reply)
        assert fan.account == fan.status.account
