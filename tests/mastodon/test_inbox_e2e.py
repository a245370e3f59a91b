"""Conversations on Mastodon end to end: brandkit's clients against the emulator served on
127.0.0.1 (and Mastodon.py, a real client, against the same endpoints)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Account, Client, DeliveryStatus, Post, Rejected, Unsupported
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import FAST


@pytest.fixture
def emu() -> Iterator[MastodonEmulator]:
    """An emulator served on 127.0.0.1."""
    emu = MastodonEmulator()
    with emu.serve():
        yield emu


@pytest.fixture
def account(emu: MastodonEmulator) -> Account:
    """The brand's account on it."""
    return emu.account(username="brand")


def test_a_conversation(emu: MastodonEmulator, account: Account) -> None:
    """Replies, mentions and quotes come in with their kinds; the answer is threaded under
    the message with the author's handle first; like favourites; hiding is refused before
    any request; the post's replies include one that did not mention the brand."""
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="What should we make next?"), account)
        assert d.ok, d.error
        post = d.ids[0]
        asked = emu.audience("fan1@other.example").reply(post, "More colours please")
        mentioned = emu.audience("fan2").mention("have you seen this?")
        quoted = emu.audience("fan3").quote(post, "Good question")
        aside = emu.audience("fan4").reply(asked, "yes, green!")  # mentions fan1 only
        page = client.inbox(account)
        got = {m.id: m for m in page.messages}
        assert set(got) == {asked, mentioned, quoted}
        assert (got[asked].kind, got[asked].our_post, got[asked].in_reply_to) == (
            "reply",
            post,
            post,
        )
        assert got[asked].text == "@brand More colours please"
        assert got[asked].author.handle == "fan1@other.example"
        assert (got[mentioned].kind, got[mentioned].our_post) == ("mention", None)
        assert (got[quoted].kind, got[quoted].our_post) == ("quote", post)

        answer = client.reply(got[asked], Post(text="Noted, thank you!"))
        assert answer.status is DeliveryStatus.SENT, answer.error
        stored = emu.status(answer.ids[0])
        assert stored["text"] == "@fan1@other.example Noted, thank you!"
        assert stored["in_reply_to_id"] == asked
        assert emu.answers(asked) == ["Noted, thank you!"]

        client.like(got[mentioned])
        assert emu.status(mentioned)["favourites_count"] >= 1
        before = len(emu.requests)
        with pytest.raises(Unsupported):
            client.hide(got[asked])
        with pytest.raises(Unsupported):
            client.delete_comment(got[asked])
        assert len(emu.requests) == before

        under = client.replies(d)
        assert [m.id for m in under] == [asked, aside]
        assert {m.our_post for m in under} == {post}
        assert client.inbox(account, since=page.cursor).messages == ()


def test_what_a_sync_costs(emu: MastodonEmulator, account: Account) -> None:
    """A first read in a new process: the instance, who we are, then one page per 80;
    later reads from the cursor in new processes: one request when nothing is new."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hi"), account)
    for i in range(100):
        emu.audience(f"fan{i}").reply(d.ids[0], f"hello {i}")
    before = len(emu.requests)
    with Client(retry=FAST) as client:
        first = client.inbox(account)
    paths = [r.url.path for r in emu.requests[before:]]
    assert paths == [
        "/api/v2/instance",
        "/api/v1/accounts/verify_credentials",
        "/api/v1/notifications",
        "/api/v1/notifications",
    ]
    assert first.requests == 4 and len(first.messages) == 100
    with Client(retry=FAST) as client:
        again = client.inbox(account, since=first.cursor)
    assert again.requests == 1 and again.messages == ()


def test_limit_over_the_socket(emu: MastodonEmulator, account: Account) -> None:
    """A read bounded by ``limit`` says there is more and continues where it stopped."""
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hi"), account)
        said = [emu.audience(f"fan{i}").reply(d.ids[0], f"n{i}") for i in range(90)]
        first = client.inbox(account, limit=50)
        assert first.more and first.requests == 1 and len(first.messages) == 50
        rest = client.inbox(account, since=first.cursor)
        assert not rest.more and rest.requests == 1
        assert [m.id for m in first.messages + rest.messages] == said


def test_answering_a_deleted_message(emu: MastodonEmulator, account: Account) -> None:
    """The fan deleted their reply before the brand answered: the answer fails with
    Mastodon's reason, and nothing is posted."""
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="hi"), account)
        said = emu.audience("fan1").reply(d.ids[0], "never mind")
        (message,) = client.inbox(account).messages
        emu.delete(said)
        answer = client.reply(message, Post(text="Too late?"))
        assert answer.status is DeliveryStatus.FAILED
        assert isinstance(answer.error, Rejected)
        assert "deleted" in str(answer.error)
        assert emu.post_texts() == ["hi"]


def test_mastodon_py_reads_the_same_notifications(emu: MastodonEmulator) -> None:
    """Mastodon.py pages the emulator's notifications by their Link headers and writes a
    reply the way brandkit does (the author's handle first)."""
    mastodon = pytest.importorskip("mastodon")
    account = emu.account(username="brand")
    api = mastodon.Mastodon(
        access_token=account.secret("token"), api_base_url=emu.base_url, version_check_mode="none"
    )
    post = api.status_post("Ask me")
    said = [emu.audience(f"fan{i}").reply(str(post.id), f"q{i}") for i in range(5)]
    page = api.notifications(types=["mention"], limit=2)
    seen = [n.status.id for n in page]
    while (page := api.fetch_next(page)) is not None and len(seen) < 10:
        seen.extend(n.status.id for n in page)
    assert sorted(str(s) for s in seen) == sorted(said)
    target = api.status(said[0])
    reply = api.status_reply(target, "Thanks")
    assert emu.status(str(reply.id))["text"] == "@fan0 Thanks"


def test_a_customer_direct_message_reaches_the_inbox(
    emu: MastodonEmulator, account: Account
) -> None:
    """From Mastodon 4.3 the default notification policy files a direct message from an
    account the brand does not follow as filtered, listed only with ``include_filtered``:
    a customer writing to the brand privately (the brand follows no customer) must still
    reach the inbox, and the answer must stay private."""
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="Questions? Write to us."), account)
        assert d.ok, d.error
        dm = emu.audience("customer").direct("@brand my order 1234 never arrived")
        page = client.inbox(account)
        got = {m.id: m for m in page.messages}
        assert set(got) == {dm}
        assert got[dm].kind == "mention"
        assert got[dm].author.handle == "customer"
        assert "order 1234" in got[dm].text

        answer = client.reply(got[dm], Post(text="Sorry! Sending a new one today."))
        assert answer.status is DeliveryStatus.SENT, answer.error
        stored = emu.status(answer.ids[0])
        assert stored["visibility"] == "direct"
        assert stored["in_reply_to_id"] == dm
        assert client.inbox(account, since=page.cursor).messages == ()


def test_an_edit_of_a_boosted_status_comes_again_only_when_it_is_to_the_brand(
    emu: MastodonEmulator, account: Account
) -> None:
    """Mastodon tells of an edit only those who boosted the status (an ``update``
    notification): a mention the brand boosted comes again as edited, with ``edited_at``; a
    fan's own post the brand boosted, which names no brand, is no message."""
    with Client(retry=FAST, accounts=[account]) as client:
        page = client.inbox(account, since=None)
        praise = emu.audience("fan1").mention("the new boots from @brand are great")
        own = emu.audience("fan2").post("my hiking trip, in pictures")
        brand = emu.audience("brand")
        brand.reblog(praise)
        brand.reblog(own)
        page = client.inbox(account, since=page.cursor)
        assert [(m.id, m.edited_at) for m in page.messages] == [(praise, None)]
        emu.audience("fan1").edit(praise, "the new boots from @brand are great, but run small")
        emu.audience("fan2").edit(own, "my hiking trip, in 40 pictures")
        edited = client.inbox(account, since=page.cursor)
        assert [(m.id, m.kind, m.text) for m in edited.messages] == [
            (praise, "mention", "the new boots from @brand are great, but run small")
        ]
        assert edited.messages[0].edited_at is not None
        assert edited.messages[0].edited_at > edited.messages[0].created_at
        assert client.inbox(account, since=edited.cursor).messages == ()
