"""A token Meta invalidated (code 190, subcode 460: a password change) is not an expired
one: the error says what happened, not to set token_expires_at."""

from __future__ import annotations

import pytest

from brandkit import AuthError, Client, DeliveryStatus, Media, Post
from brandkit.testing import TINY_JPEG
from brandkit.testing._graph import MediaFetchingEmulator
from brandkit.testing.instagram import InstagramEmulator
from brandkit.testing.threads import ThreadsEmulator
from tests.facebook.conftest import FAST


@pytest.mark.parametrize("make", [ThreadsEmulator, InstagramEmulator])
def test_a_password_change_is_not_reported_as_an_expiry(
    make: type[MediaFetchingEmulator],
) -> None:
    """After revoke_tokens (Meta's 190/460), the delivery fails with an AuthError that
    names the invalidated session and the fix (authorise again), without the 60-day and
    token_expires_at advice that is about expiry."""
    emu = make()
    with emu.serve():
        account = emu.account(username="brand")
        emu.revoke_tokens()
        post = Post(text="hello", media=(Media.from_bytes(TINY_JPEG, alt="grey"),))
        with Client(retry=FAST) as client:
            (d,) = client.publish(post, account)
    assert d.status is DeliveryStatus.FAILED
    assert isinstance(d.error, AuthError), d.error
    text = str(d.error)
    assert "password" in text and "authorise the app again" in text, text
    assert "token_expires_at" not in text and "60 days" not in text, text
