"""LinkedIn mentions of a page: the emulator's Organization Social Action Notifications
finder and the inbox flow that reads it (`brandkit.platforms._linkedin_mentions`), over
loopback. Until linkedin.py routes to them, a small adapter and emulator subclass do."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from brandkit import Client, ConfigurationError, DeliveryStatus, Post
from brandkit._flow import run_flow
from brandkit.platforms.linkedin import LinkedInAdapter
from brandkit.testing.linkedin import LinkedInEmulator
from tests.linkedin.conftest import FAST, ORG, Canned, answer, make_account

FINDER = "/rest/organizationalEntityNotifications"


@pytest.fixture
def emu() -> Iterator[LinkedInEmulator]:
    emulator = LinkedInEmulator()
    with emulator.serve():
        yield emulator


def finder(emu: LinkedInEmulator, token: str, version: str, query: str) -> httpx.Response:
    headers = {
        "authorization": f"Bearer {token}",
        "linkedin-version": version,
        "x-restli-protocol-version": "2.0.0",
    }
    return httpx.get(f"{emu.base_url}{FINDER}?{query}", headers=headers, timeout=10)


def test_mentions_come_once_with_the_comments(emu: LinkedInEmulator) -> None:
    """Members' posts that mention the page come as mentions (author, visible text, post
    URL) beside the comments, once each, for one more request a read; a later one alone
    comes next."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Launch day"), account)
        comment = emu.audience("fan1").comment(d.ids[0], "congrats")
        said = [emu.audience(f"caller{i}").mention(f"love it (really) #{i}") for i in range(3)]
        before = len(emu.requests)
        page = client.inbox(account)
        assert page.requests == len(emu.requests) - before == 3  # posts, comments, finder
        got = {m.id: m for m in page.messages}
        assert set(got) == {comment, *said}
        for i, urn in enumerate(said):
            m = got[urn]
            assert m.kind == "mention" and m.author.handle == f"caller{i}"
            assert m.author.id == f"urn:li:person:caller{i}"
            assert m.text == f"Brand 1 love it (really) #{i}"
            assert m.url == f"https://www.linkedin.com/feed/update/{urn}/"
            assert m.our_post is None and m.extra["post"] == urn
        assert got[comment].kind == "comment"
        again = client.inbox(account, since=page.cursor)
        assert again.messages == () and again.requests == 3
        emu.clock.advance(timedelta(minutes=3))
        late = emu.audience("late").mention("one more")
        third = client.inbox(account, since=again.cursor)
        assert [m.id for m in third.messages] == [late]
        (finder_request,) = [r for r in emu.requests[-3:] if r.url.path == FINDER]
        query = finder_request.url.query.decode()
        assert "q=criteria&actions=List(SHARE_MENTION)" in query
        assert f"organizationalEntity={quote(account.settings['author'], safe='')}" in query
        assert "timeRange=(start:" in query


def test_finder_pages_filters_and_refusals(emu: LinkedInEmulator) -> None:
    """The finder pages by start/count, filters by timeRange and by the 60 days LinkedIn
    keeps, and refuses an undocumented action, another finder, and a token without
    rw_organization_admin or a member who is not an administrator."""
    emu.token_lifetime = 90 * 86_400.0  # outlives the 60 days looked past below
    account = emu.account()
    token, version = str(account.secret("token")), str(account.settings["version"])
    org = quote(str(account.settings["author"]), safe="")
    for i in range(150):
        emu.audience(f"m{i}").mention(f"hi {i}")
    base = f"q=criteria&actions=List(SHARE_MENTION)&organizationalEntity={org}"
    first = finder(emu, token, version, f"{base}&count=100").json()
    assert len(first["elements"]) == 100 and first["paging"]["total"] == 150
    assert [link["rel"] for link in first["paging"]["links"]] == ["next"]
    second = finder(emu, token, version, f"{base}&start=100&count=100").json()
    assert len(second["elements"]) == 50
    ids = {e["notificationId"] for e in first["elements"] + second["elements"]}
    assert len(ids) == 150
    element = first["elements"][0]
    assert (
        element["action"] == "SHARE_MENTION"
        and element["organizationalEntity"] == (account.settings["author"])
    )
    assert (
        element["decoratedGeneratedActivity"]["share"]["entity"] == (element["generatedActivity"])
    )
    now = int(emu.clock.time() * 1000)
    emu.clock.advance(timedelta(hours=1))
    emu.audience("newer").mention("later")
    ranged = finder(
        emu, token, version, f"{base}&timeRange=(start:{now + 1},end:{now + 7_200_000})"
    )
    assert [
        e["decoratedGeneratedActivity"]["share"]["owner"] for e in ranged.json()["elements"]
    ] == ["urn:li:person:newer"]
    comments_only = finder(emu, token, version, f"{base.replace('SHARE_MENTION', 'COMMENT')}")
    assert comments_only.json()["elements"] == []
    bad = finder(
        emu, token, version, base.replace("SHARE_MENTION", "SHARE_MENTION,COMMENT_MENTION")
    )
    assert bad.status_code == 400 and "COMMENT_MENTION" in bad.json()["message"]
    assert finder(emu, token, version, base.replace("criteria", "x")).status_code == 400
    assert finder(emu, token, version, f"{base}&timeRange=(start:5,end:1)").status_code == 400
    weak = emu.account(scopes=["r_organization_social", "w_organization_social"])
    denied = finder(emu, str(weak.secret("token")), version, base)
    assert denied.status_code == 403 and denied.json()["code"] == "ACCESS_DENIED"
    other = quote(str(weak.settings["author"]), safe="")
    assert finder(emu, token, version, base.replace(org, other)).status_code == 403
    emu.clock.advance(timedelta(days=60, minutes=-30))  # the first 150 are 60 days old
    kept = finder(emu, token, version, base).json()["elements"]
    texts = [e["decoratedGeneratedActivity"]["share"]["text"] for e in kept]
    assert texts == ["@[Brand 1](urn:li:organization:100001) later"]


def test_many_mentions_stop_at_the_limit_and_go_on(emu: LinkedInEmulator) -> None:
    """150 mentions over two pages of the finder: a read of 100 takes the oldest 100 with
    more=True, the next read the other 50, and nothing comes twice or is lost."""
    account = emu.account()
    said = []
    for i in range(150):
        said.append(emu.audience(f"m{i}").mention(f"hi {i}"))
        emu.clock.advance(timedelta(seconds=1))
    with Client(retry=FAST) as client:
        first = client.inbox(account, limit=100)
        assert first.more and [m.id for m in first.messages] == said[:100]
        second = client.inbox(account, since=first.cursor, limit=100)
        assert not second.more and [m.id for m in second.messages] == said[100:]
        assert client.inbox(account, since=second.cursor).messages == ()


@pytest.mark.parametrize("field", ["generatedActivity", "sourcePost"])
def test_a_mention_without_its_text_is_read_back(emu: LinkedInEmulator, field: str) -> None:
    """When the notification carries no text, the post is read back (GET /rest/posts/{urn},
    one request a mention), wherever the notification names it."""
    emu.mention_field = field
    emu.mention_decorated = False
    account = emu.account()
    urn = emu.audience("ada").mention("what a launch")
    with Client(retry=FAST) as client:
        page = client.inbox(account)
    (m,) = page.messages
    assert (m.id, m.author.handle, m.text) == (urn, "ada", "Brand 1 what a launch")
    assert emu.count("GET", f"/rest/posts/{urn}") == 1
    assert page.requests == 3  # finder, the post read back, posts (none: no comments)


def test_a_post_the_page_may_not_read_leaves_the_mention(emu: LinkedInEmulator) -> None:
    """A read-back LinkedIn refuses (403) keeps the mention, without text or author, and
    the inbox goes on; the next read does not bring it again."""
    emu.mention_decorated = False
    emu.mention_posts_readable = False
    account = emu.account()
    urn = emu.audience("ada").mention("hello")
    with Client(retry=FAST) as client:
        page = client.inbox(account)
        (m,) = page.messages
        assert (m.id, m.kind, m.text, m.author.id) == (urn, "mention", "", "")
        assert client.inbox(account, since=page.cursor).messages == ()


def test_without_the_admin_permission_the_comments_still_come(
    emu: LinkedInEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A token without rw_organization_admin gets the finder's 403: the comments are read
    as before, the warning names the permission, and mentions come once it is granted."""
    account = emu.account(scopes=["r_organization_social", "w_organization_social"])
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Hello"), account)
        said = emu.audience("fan").comment(d.ids[0], "nice")
        emu.audience("ada").mention("hello")
        with caplog.at_level(logging.WARNING, "brandkit.platforms._linkedin_mentions"):
            page = client.inbox(account)
        assert [m.id for m in page.messages] == [said]
        assert "rw_organization_admin" in caplog.text
        assert json.loads(str(page.cursor))["m"]["t"] == -1
        # Not asked again, nor warned of, at every sync: a day later.
        caplog.clear()
        asked = emu.count("GET", FINDER)
        with caplog.at_level(logging.WARNING, "brandkit.platforms._linkedin_mentions"):
            again = client.inbox(account, since=page.cursor)
        assert again.messages == () and emu.count("GET", FINDER) == asked
        assert "rw_organization_admin" not in caplog.text


def test_a_finder_request_linkedin_does_not_take_leaves_the_comments(
    emu: LinkedInEmulator, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LinkedIn documents the finder least: a 400 to it (a request shape it does not take)
    must not stop the comment inbox that works. The comments come, the refusal is logged,
    and the finder is asked again a day later, when the mentions come."""
    import brandkit.platforms.linkedin as linkedin_module

    account = emu.account()
    emu.fault(method="GET", path=FINDER, status=400, times=1)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="Hello"), account)
        said = emu.audience("fan").comment(d.ids[0], "nice")
        mention = emu.audience("ada").mention("hello")
        with caplog.at_level(logging.WARNING, "brandkit.platforms._linkedin_mentions"):
            page = client.inbox(account)
        assert [m.id for m in page.messages] == [said]
        assert "400" in caplog.text
        again = client.inbox(account, since=page.cursor)
        assert again.messages == () and emu.count("GET", FINDER) == 1

        real = linkedin_module.datetime

        class _DayLater(real):  # type: ignore[valid-type,misc]
            @classmethod
            def now(cls, tz: Any = None) -> Any:
                return real.now(tz) + timedelta(days=1, minutes=1)

        monkeypatch.setattr(linkedin_module, "datetime", _DayLater)
        later = client.inbox(account, since=again.cursor)
    assert [m.id for m in later.messages] == [mention]
    assert emu.count("GET", FINDER) == 2


def test_a_member_account_asks_for_no_notifications(emu: LinkedInEmulator) -> None:
    """Notifications are for pages: a member's inbox reads its comments alone."""
    account = emu.account(author="person", scopes=["w_member_social", "r_member_social"])
    with Client(retry=FAST) as client:
        client.inbox(account)
    assert emu.count("GET", FINDER) == 0


def test_a_mention_mark_brandkit_did_not_make_is_refused(emu: LinkedInEmulator) -> None:
    """A cursor whose mention mark was altered is a ConfigurationError saying what to do."""
    account = emu.account()
    with Client(retry=FAST) as client:
        cursor: dict[str, Any] = json.loads(str(client.inbox(account).cursor))
        cursor["m"]["seen"] = ["x"]
        with pytest.raises(ConfigurationError, match="since=None"):
            client.inbox(account, since=json.dumps(cursor))


def test_mentions_are_read_once_a_round_after_its_first_comments(emu: LinkedInEmulator) -> None:
    """With a small limit the comment inbox goes on post by post: the mentions come with
    the round's first read (at least one, past the limit), and the reads that go on with
    the posts left ask the finder no more."""
    account = emu.account()
    with Client(retry=FAST) as client:
        (a,) = client.publish(Post(text="first"), account)
        (b,) = client.publish(Post(text="second"), account)
        on_a = emu.audience("fan").comment(a.ids[0], "on a")
        on_b = emu.audience("fan").comment(b.ids[0], "on b")
        said = emu.audience("ada").mention("hello")
        first = client.inbox(account, limit=1)
        assert first.more and {m.id for m in first.messages} == {said, on_b}
        assert emu.count("GET", FINDER) == 1
        second = client.inbox(account, since=first.cursor, limit=1)
        assert not second.more and [m.id for m in second.messages] == [on_a]
        assert emu.count("GET", FINDER) == 1


def test_a_mention_stamped_a_little_before_the_last_one_still_comes_once(
    emu: LinkedInEmulator,
) -> None:
    """A notification LinkedIn stamps up to 10 minutes before the newest one seen (indexed
    late) is in the next range, and the one seen already is not taken again."""
    account = emu.account()
    with Client(retry=FAST) as client:
        seen = emu.audience("ada").mention("first")
        page = client.inbox(account)
        assert [m.id for m in page.messages] == [seen]
        emu.clock.advance(-300)
        late = emu.audience("bob").mention("stamped earlier")
        emu.clock.advance(300)
        again = client.inbox(account, since=page.cursor)
        assert [m.id for m in again.messages] == [late]
        assert client.inbox(account, since=again.cursor).messages == ()


def test_a_mention_named_by_an_activity_is_not_read_back() -> None:
    """The Posts API takes share and ugcPost URNs: a mention named only by an activity URN
    (no text in the notification) comes without text, for no read-back request; one whose
    post is a share is read back."""
    adapter = LinkedInAdapter(make_account())
    notes = {
        "paging": {"start": 0, "count": 100, "links": []},
        "elements": [
            {
                "notificationId": 1,
                "organizationalEntity": ORG,
                "action": "SHARE_MENTION",
                "lastModifiedAt": 1_790_000_000_000,
                "sourcePost": "urn:li:activity:71",
            },
            {
                "notificationId": 2,
                "organizationalEntity": ORG,
                "action": "SHARE_MENTION",
                "lastModifiedAt": 1_790_000_000_001,
                "generatedActivity": "urn:li:share:72",
            },
        ],
    }
    post = {"id": "urn:li:share:72", "author": "urn:li:person:ada", "commentary": "hi \\(you\\)"}
    canned = Canned(
        ("GET", "/rest/posts", answer(200, {"elements": []})),
        ("GET", FINDER, answer(200, notes)),
        ("GET", "/rest/posts/urn:li:share:72", answer(200, post)),
    )
    page = run_flow(adapter.inbox(None, limit=10), canned)
    assert [(m.id, m.text, m.author.id) for m in page.messages] == [
        ("urn:li:activity:71", "", ""),
        ("urn:li:share:72", "hi (you)", "urn:li:person:ada"),
    ]
    assert not canned.answers


def test_a_mention_is_answered_and_liked_on_the_members_post(emu: LinkedInEmulator) -> None:
    """The page answers a mention with a comment on the member's post (as the page, once)
    and likes that post; reading the member's post's comments is refused as for any
    member's post."""
    account = emu.account()
    with Client(retry=FAST) as client:
        urn = emu.audience("ada").mention("do you ship to Oslo?")
        (m,) = client.inbox(account).messages
        d = client.reply(m, Post(text="We do!"))
        assert d.ok, d.error
        assert emu.answers(urn) == ["We do!"]
        (comment,) = emu.comments(urn)
        assert (comment.object, comment.actor) == (urn, account.settings["author"])
        client.like(m)
        assert emu.reactions(urn) == {account.settings["author"]: "LIKE"}
        assert emu.posts == []  # the member's post is not one of the page's
        token, version = str(account.secret("token")), str(account.settings["version"])
        listed = httpx.get(
            f"{emu.base_url}/rest/socialActions/{quote(urn, safe='')}/comments",
            headers={
                "authorization": f"Bearer {token}",
                "linkedin-version": version,
                "x-restli-protocol-version": "2.0.0",
            },
            timeout=10,
        )
        assert listed.status_code == 403


def test_a_lost_answer_to_a_mention_stays_unknown_and_is_not_sent_again(
    emu: LinkedInEmulator,
) -> None:
    """An answer whose create answer was lost cannot be looked up where the member's post's
    comments are refused: it stays unknown, and asking again sends nothing."""
    account = emu.account()
    with Client(retry=FAST) as client:
        urn = emu.audience("ada").mention("hello")
        (m,) = client.inbox(account).messages
        emu.fault(method="POST", path=r"/rest/socialActions/.+/comments", drop="after")
        d = client.reply(m, Post(text="thanks!"))
        assert d.status is DeliveryStatus.UNKNOWN and d.error is not None
        assert client.reply(m, Post(text="thanks!")).status is DeliveryStatus.UNKNOWN
        assert emu.answers(urn) == ["thanks!"]
