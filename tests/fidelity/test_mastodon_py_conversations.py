"""Mastodon.py reading a brand's direct-message conversations on the Mastodon emulator, over
a real socket: ``conversations`` (AccountConversation rows, newest last status first, paged
by it), ``conversations_read`` and ``conversations_delete``; a direct status makes one for
its author and for each local account it mentions whose notification is not dismissed or
filtered (NotifyService), and deleting the status takes it out again."""

from __future__ import annotations

from collections.abc import Iterator

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


def test_a_fans_direct_message_is_a_conversation_the_brand_reads_and_answers(
    served: tuple[MastodonEmulator, str],
) -> None:
    """A followed fan's DM is an unread conversation with the fan as its account; the
    brand's direct answer joins it (read again, as the brand wrote last); marking it read
    and deleting it work; another account's conversation is 404."""
    emu, url = served
    token = emu.account(username="brand").secret("token")
    api = connect(url, token)
    fan = emu.audience("fan")
    fan.post("hello")
    api.account_follow(emu.account_id("fan"))
    dm = fan.direct("Hi, my order never came")
    assert emu.status(dm)["visibility"] == "direct"

    (conv,) = api.conversations()
    assert conv.unread is True and [a.acct for a in conv.accounts] == ["fan"]
    assert conv.last_status.id == dm and conv.last_status.visibility == "direct"
    assert [(n.type, n.status.id) for n in api.notifications()] == [("mention", dm)]

    answer = api.status_post("@fan Sorry! Sending another", in_reply_to_id=dm, visibility="direct")
    (again,) = api.conversations()
    assert again.id == conv.id and again.last_status.id == answer.id and again.unread is False
    later = fan.direct("Thanks!", in_reply_to=answer.id)
    (conv,) = api.conversations()
    assert conv.unread is True and conv.last_status.id == later
    read = api.conversations_read(conv.id)
    assert read.unread is False and read.id == conv.id
    assert api.conversations()[0].unread is False

    api.status_delete(answer.id)
    fan_deleted = api.conversations()[0]
    assert fan_deleted.last_status.id == later
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        raw = http.get("/api/v1/conversations")
        assert list(raw.json()[0]) == ["id", "unread", "accounts", "last_status"]
        assert schema_errors("Conversation", raw.json()[0]) == []
        other = connect(url, emu.account(username="other").secret("token"))
        with pytest.raises(mastodon.MastodonNotFoundError):
            other.conversations_read(conv.id)
        assert http.delete(f"/api/v1/conversations/{conv.id}").json() == {}
        assert http.delete(f"/api/v1/conversations/{conv.id}").status_code == 404
        assert http.post("/api/v1/conversations/nope/read").json() == {"error": "Record not found"}
    assert api.conversations() == []


def test_an_unsolicited_dm_is_filtered_as_mastodon_4_3_filters_private_mentions(
    served: tuple[MastodonEmulator, str],
) -> None:
    """NotificationPolicy's default ``for_private_mentions: filter``: a DM from an account
    the brand does not follow, not in answer to the brand's own DM to it, makes a filtered
    notification (shown only with ``include_filtered``) and no conversation; a DM in
    answer to the brand's DM is let through."""
    emu, url = served
    token = emu.account(username="brand").secret("token")
    api = connect(url, token)
    stranger = emu.audience("stranger")
    cold = stranger.direct("psst, cheap followers")
    assert api.conversations() == [] and api.notifications() == []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        shown = http.get("/api/v1/notifications", params={"include_filtered": "true"})
        assert [n["status"]["id"] for n in shown.json()] == [cold]
        # NotificationsController#pagination_params keeps include_filtered for the next page.
        assert shown.headers["link"].count("include_filtered=true") == 2

    ask = api.status_post("@stranger can you DM us your order number?", visibility="direct")
    (mine,) = api.conversations()
    assert mine.unread is False and [a.acct for a in mine.accounts] == ["stranger"]
    reply = stranger.direct("It is 1234", in_reply_to=ask.id)
    (conv,) = api.conversations()
    assert conv.id == mine.id and conv.last_status.id == reply and conv.unread is True


def test_conversations_page_by_last_status_with_link_headers(
    served: tuple[MastodonEmulator, str],
) -> None:
    """``limit`` is 20 by default and at most 40 (ConversationsController::LIMIT); ``next``
    (``max_id``, the page's oldest last status) comes with a full page, ``prev``
    (``min_id``, its newest) with any; ``min_id`` reads the page just newer."""
    emu, url = served
    token = emu.account(username="brand").secret("token")
    api = connect(url, token)
    sent = []
    for i in range(45):
        name = f"fan{i}"
        emu.audience(name).post("hello")
        api.account_follow(emu.account_id(name))
        sent.append(emu.audience(name).direct(f"message {i}"))
    newest_first = sent[::-1]
    assert [c.last_status.id for c in api.conversations()] == newest_first[:20]
    first = api.conversations(limit=3)
    assert [c.last_status.id for c in api.fetch_next(first)] == newest_first[3:6]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        assert len(http.get("/api/v1/conversations", params={"limit": 99}).json()) == 40
        page = http.get("/api/v1/conversations", params={"limit": 2, "max_id": sent[10]})
        assert [c["last_status"]["id"] for c in page.json()] == [sent[9], sent[8]]
        assert page.headers["link"] == (
            f'<{url}/api/v1/conversations?limit=2&max_id={sent[8]}>; rel="next", '
            f'<{url}/api/v1/conversations?limit=2&min_id={sent[9]}>; rel="prev"'
        )
        newer = http.get("/api/v1/conversations", params={"limit": 2, "min_id": sent[9]})
        assert [c["last_status"]["id"] for c in newer.json()] == [sent[11], sent[10]]
        assert http.get("/api/v1/conversations").status_code == 200
    assert httpx.get(f"{url}/api/v1/conversations").status_code == 401
