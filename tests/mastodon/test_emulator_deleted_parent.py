"""A reply whose parent is deleted, on the Mastodon emulator: Mastodon destroys the status
(RemoveStatusService: ``@status.destroy! if permanently?``) and db/schema.rb's
``add_foreign_key "statuses", "statuses", column: "in_reply_to_id", on_delete: :nullify``
empties the ``in_reply_to_id`` of its direct replies, while ``in_reply_to_account_id``
(no foreign key) still names the deleted status's author. Read through Mastodon.py, a real
client, and through brandkit's own inbox."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Account, Client, Post
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import FAST, mastodon_py

mastodon = pytest.importorskip("mastodon")


@pytest.fixture
def served() -> Iterator[tuple[MastodonEmulator, str]]:
    """The emulator on 127.0.0.1, with no made-up engagement."""
    emu = MastodonEmulator(engagement_rate=0)
    with emu.serve() as url:
        yield emu, url


def test_replies_to_a_deleted_status_lose_in_reply_to_id_everywhere(
    served: tuple[MastodonEmulator, str],
) -> None:
    """Every read that renders the reply (the status, its notification, its context, the
    author's statuses, the tag timeline, search) shows ``in_reply_to_id: null``; a reply to
    the reply keeps its own parent."""
    emu, url = served
    account = emu.account(username="brand")
    api = mastodon_py(url, account.secret("token"))
    me = api.account_verify_credentials().id
    post = api.status_post("hello #brandkit")
    fan = emu.audience("fan")
    emu.set_indexable("fan")
    reply = fan.reply(post.id, "nice #brandkit")
    nested = emu.audience("other").reply(reply, "agreed @brand")

    api.status_delete(post.id)

    shown = api.status(reply)
    assert shown.in_reply_to_id is None
    assert shown.in_reply_to_account_id == me
    assert api.status(nested).in_reply_to_id == reply

    mentions = {n.status.id: n.status for n in api.notifications(types=["mention"])}
    assert mentions[reply].in_reply_to_id is None
    assert mentions[reply].in_reply_to_account_id == me
    assert mentions[nested].in_reply_to_id == reply

    context = api.status_context(reply)
    assert context.ancestors == []
    assert [s.id for s in context.descendants] == [nested]

    fan_id = emu.account_id("fan")
    by_fan = {s.id: s for s in api.account_statuses(fan_id)}
    assert by_fan[reply].in_reply_to_id is None
    tagged = {s.id: s for s in api.timeline_hashtag("brandkit")}
    assert tagged[reply].in_reply_to_id is None
    found = {s.id: s for s in api.search_v2("nice", result_type="statuses").statuses}
    assert found[reply].in_reply_to_id is None
    assert emu.status(reply)["in_reply_to_id"] is None


def test_a_deleted_audience_status_unlinks_the_brands_answer(
    served: tuple[MastodonEmulator, str],
) -> None:
    """An audience member taking a status back (``emu.delete``) empties the parent of the
    brand's answer to it as well."""
    emu, url = served
    account = emu.account(username="brand")
    api = mastodon_py(url, account.secret("token"))
    asked = emu.audience("fan").mention("a question")
    answer = api.status_post("@fan an answer", in_reply_to_id=asked)
    assert answer.in_reply_to_id == asked

    emu.delete(asked)

    again = api.status(answer.id)
    assert again.in_reply_to_id is None
    assert again.in_reply_to_account_id == emu.account_id("fan")
    assert emu.answers(asked) == []


def test_inbox_files_a_reply_to_a_deleted_post_as_a_mention(
    served: tuple[MastodonEmulator, str],
) -> None:
    """The reply still notifies the brand (its text mentions it) but points at nothing:
    brandkit files it as the ``mention`` the platform reports, with no ``our_post``."""
    emu, _ = served
    account: Account = emu.account(username="brand")
    with Client(retry=FAST, accounts=[account]) as client:
        (d,) = client.publish(Post(text="What should we make next?"), account)
        assert d.ok, d.error
        post = d.ids[0]
        kept = client.publish(Post(text="And this?"), account)[0].ids[0]
        orphan = emu.audience("fan1").reply(post, "More colours please")
        answered = emu.audience("fan2").reply(kept, "Yes")
        client.delete(d)
        assert emu.status(post)["deleted"]

        page = client.inbox(account)
        got = {m.id: m for m in page.messages}
        assert set(got) == {orphan, answered}
        assert (got[orphan].kind, got[orphan].in_reply_to, got[orphan].our_post) == (
            "mention",
            None,
            None,
        )
        assert (got[answered].kind, got[answered].our_post) == ("reply", kept)
