"""A user token given as ``page_token`` (the most common Facebook set-up mistake): Graph
refuses every Page write with code 200, which reads like a missing permission."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from brandkit import Account, AuthError, Client, DeliveryStatus, Post
from brandkit.testing.facebook import FacebookEmulator
from tests.facebook.conftest import FAST


@pytest.fixture
def emu() -> Iterator[FacebookEmulator]:
    """A Facebook emulator served on 127.0.0.1."""
    emu = FacebookEmulator()
    with emu.serve():
        yield emu


def _swapped(emu: FacebookEmulator, *, keep_user_token: bool, **kwargs: Any) -> Account:
    """An account whose page_token is its Page admin's user token."""
    real = emu.account(tokens="user")
    user_token = real.secret("user_token")
    return Account.facebook(
        page_id=real.settings["page_id"],
        page_token=user_token,
        user_token=user_token if keep_user_token else None,
        base_url=emu.base_url,
        api_version=emu.version,
        **kwargs,
    )


def test_a_user_token_as_page_token_says_so(emu: FacebookEmulator) -> None:
    """Without a user token to fetch the Page's own from, the error names the mix-up and
    its fix instead of asking to authorise the app again (which changes nothing)."""
    account = _swapped(emu, keep_user_token=False)
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), account)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, AuthError), d.error
    text = str(d.error)
    assert "not the token of Page" in text and "user_token" in text, text
    assert "authorise the app again" not in text
    assert str(account.secret("page_token")) not in text
    assert emu.post_texts() == []


def test_with_the_user_token_too_the_page_token_is_fetched(emu: FacebookEmulator) -> None:
    """With the user token at hand, the Page's own token is fetched, handed to
    on_credentials_changed, and the post is published once."""
    changed: list[dict[str, str]] = []
    account = _swapped(
        emu, keep_user_token=True, on_credentials_changed=lambda a, c: changed.append(c)
    )
    user_token = account.secret("user_token")
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), account)
    assert d.status is DeliveryStatus.SENT, d.error
    assert emu.post_texts() == ["hello"]
    assert account.secret("page_token") not in (None, user_token)
    assert [set(c) for c in changed] == [{"page_token"}]


def test_a_page_token_without_the_permission_still_says_permission(
    emu: FacebookEmulator,
) -> None:
    """The Page's own token, granted without pages_manage_posts: the refusal is the
    missing permission, as before."""
    real = emu.account(tokens="page")
    page_id = real.settings["page_id"]
    token = emu.issue_token(page_id, "page", scopes=("pages_read_engagement",))
    account = Account.facebook(
        page_id=page_id, page_token=token, base_url=emu.base_url, api_version=emu.version
    )
    with Client(retry=FAST) as client:
        (d,) = client.publish(Post(text="hello"), account)
    assert isinstance(d.error, AuthError), d.error
    assert "lacks a permission" in str(d.error)
    assert "not the token of Page" not in str(d.error)
