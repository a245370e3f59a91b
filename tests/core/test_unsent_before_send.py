"""A granted request that fails before anything is sent gives its units back.

The budget is reserved, then the driver prepares the request (an adapter's repeat is made
anew: a fresh nonce, the current token) and writes the "sending" state. When either fails,
nothing reached the server; the governor was told "unanswered" (the request may have been
counted by the platform) instead of "unsent", and its units stayed spent in the shared log.
"""

from __future__ import annotations

import httpx
import pytest

from brandkit import AsyncClient, Client, RetryPolicy
from brandkit._hooks import BucketKey, NullGovernor
from brandkit.errors import AuthError
from brandkit.platforms.mastodon import MastodonAdapter
from brandkit.testing.mastodon import MastodonEmulator


class Recording(NullGovernor):
    def __init__(self) -> None:
        self.settled: list[str] = []

    def unsent(self, key: BucketKey) -> None:
        self.settled.append("unsent")

    def unanswered(self, key: BucketKey) -> None:
        self.settled.append("unanswered")


def _refuse(self: MastodonAdapter, request: httpx.Request) -> httpx.Request:
    raise AuthError("the token was revoked while the request waited", platform="mastodon")


def test_a_repeat_that_cannot_be_prepared_is_unsent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MastodonAdapter, "prepare_retry", _refuse)
    governor = Recording()
    emu = MastodonEmulator()
    with emu.serve():
        account = emu.account()
        with Client(governor=governor, retry=RetryPolicy(initial=0.001)) as client:
            client.collect_account(account)  # the instance's version and the account's id
            emu.fault(method="GET", path=r"/api/v1/accounts/verify_credentials", status=503)
            with pytest.raises(AuthError):
                client.collect_account(account)
    # The first attempt was answered (503, observed); the repeat never left.
    assert governor.settled == ["unsent"]


@pytest.mark.anyio
async def test_the_async_client_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(MastodonAdapter, "prepare_retry", _refuse)
    governor = Recording()
    emu = MastodonEmulator()
    with emu.serve():
        account = emu.account()
        async with AsyncClient(governor=governor, retry=RetryPolicy(initial=0.001)) as client:
            await client.collect_account(account)
            emu.fault(method="GET", path=r"/api/v1/accounts/verify_credentials", status=503)
            with pytest.raises(AuthError):
                await client.collect_account(account)
    assert governor.settled == ["unsent"]
