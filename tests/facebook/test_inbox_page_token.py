"""The inbox reads with the Page token as every other call does: an account given only its
admin's user token fetches the Page token first, and one Meta refuses (code 190) is
fetched again, instead of the read going out with an empty or dead token."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Account, Client, DeliveryStatus, Post
from brandkit.testing.facebook import FacebookEmulator
from tests.facebook.conftest import FAST


@pytest.fixture
def emu() -> Iterator[FacebookEmulator]:
    """A Facebook emulator served on 127.0.0.1."""
    emu = FacebookEmulator()
    with emu.serve():
        yield emu


def _user_token_only(emu: FacebookEmulator, page: Account, changed: list[str]) -> Account:
    """The Page of ``page`` as a process that starts from the configuration gets it: its
    admin's user token, no Page token yet."""
    return Account.facebook(
        page_id=page.settings["page_id"],
        user_token=page.secret("user_token"),
        base_url=emu.base_url,
        api_version=emu.version,
        on_credentials_changed=lambda _, secrets: changed.extend(secrets),
    )


def _commented(emu: FacebookEmulator) -> tuple[Account, str]:
    """A Page with a post of the brand that a fan commented on; the post's id."""
    page = emu.account(tokens="user")
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="hello"), page)
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    emu.audience("fan1").comment(delivery.ids[0], "nice")
    return page, delivery.ids[0]


def test_an_account_with_only_a_user_token_reads_its_inbox(emu: FacebookEmulator) -> None:
    page, post = _commented(emu)
    changed: list[str] = []
    fresh = _user_token_only(emu, page, changed)
    with Client(retry=FAST) as client:
        read = client.inbox(fresh)
    assert [(m.text, m.our_post) for m in read.messages] == [("nice", post)]
    # The Page token it fetched is kept for the next calls and handed to the hook.
    assert fresh.has_secret("page_token") and "page_token" in changed


def test_a_page_token_meta_refuses_is_fetched_again_for_the_inbox(
    emu: FacebookEmulator,
) -> None:
    page, post = _commented(emu)
    fresh = _user_token_only(emu, page, [])
    with Client(retry=FAST) as client:
        first = client.inbox(fresh)
        assert len(first.messages) == 1
        used = fresh.secret("page_token")
        emu.revoke_tokens(kind="page")
        emu.audience("fan2").comment(post, "hi again")
        then = client.inbox(fresh, since=first.cursor)
    assert [m.text for m in then.messages] == ["hi again"]
    assert fresh.secret("page_token") != used
