"""A token refresh that the client's driver sends again (its connection dropped before X
read it, or X answered 429) goes again as it was: authenticated as the app (HTTP Basic for a
confidential client, the client_id in the form for a public one), never with the user's
access token. Sent again with the user's token, X refuses it with a 401 and the post fails
with "authorize the app again", though the refresh token was never spent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import Client, DeliveryStatus, Post, RetryPolicy
from brandkit.testing.x import XEmulator

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5)
TOKEN = "/2/oauth2/token"


@pytest.fixture
def emu() -> Iterator[XEmulator]:
    emulator = XEmulator()
    with emulator.serve():
        yield emulator


def token_auth(emu: XEmulator) -> list[str]:
    """The Authorization header of each token request, by scheme ("" when none)."""
    return [
        r.headers.get("authorization", "").split(" ")[0]
        for r in emu.requests
        if r.url.path == TOKEN
    ]


@pytest.mark.parametrize(
    "fault",
    [
        {"drop": "before"},  # the connection dropped before X read the request
        {"status": 429, "headers": {"retry-after": "0"}},  # X refused it for rate
    ],
    ids=["dropped", "rate-limited"],
)
def test_a_refresh_sent_again_authenticates_the_app(
    emu: XEmulator, fault: dict[str, object]
) -> None:
    account = emu.account(name="brand")
    emu.clock.advance(7300)  # the 2-hour access token has expired: the post gets a 401
    emu.fault(method="POST", path=TOKEN, **fault)

    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="hello after a refresh"), account)

    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert token_auth(emu) == ["Basic", "Basic"]
    assert emu.post_texts() == ["hello after a refresh"]


def test_a_public_clients_refresh_sent_again_carries_no_user_token(emu: XEmulator) -> None:
    account = emu.account(name="brand", confidential=False)
    used = account.secret("user_token")
    emu.clock.advance(7300)
    emu.fault(method="POST", path=TOKEN, drop="before")

    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text="hello, public client"), account)

    assert delivery.status is DeliveryStatus.SENT, delivery.error
    assert token_auth(emu) == ["", ""]
    sent = [r for r in emu.requests if r.url.path == TOKEN]
    assert used is not None
    assert not any(used in r.headers.get("authorization", "") for r in sent)
