"""A status whose time no UTC datetime holds is a malformed answer, as a status whose
time is not a time is: a typed error that says what came back, never an OverflowError."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from brandkit import Account, Client, MalformedResponse
from brandkit.testing.mastodon import MastodonEmulator
from tests.mastodon.conftest import FAST


@pytest.fixture
def emu() -> Iterator[MastodonEmulator]:
    """An emulator served on 127.0.0.1."""
    emu = MastodonEmulator()
    with emu.serve():
        yield emu


@pytest.mark.parametrize("field", ["created_at", "edited_at"])
def test_a_status_time_past_year_9999_in_utc_is_a_malformed_answer(
    emu: MastodonEmulator, field: str
) -> None:
    """``9999-12-31T23:59:59-01:00`` is past year 9999 once written in UTC: the read used to
    end in an ``OverflowError`` while the message wrote it in UTC."""
    account: Account = emu.account(username="brand")
    emu.audience("fan").mention("have you seen this?")
    headers = {"authorization": f"Bearer {account.secret('token')}"}
    body = httpx.get(emu.base_url + "/api/v1/notifications", headers=headers).json()
    (item,) = body
    item["status"][field] = "9999-12-31T23:59:59-01:00"
    emu.fault(method="GET", path=r"/api/v1/notifications", status=200, body=body, times=5)
    with Client(retry=FAST) as client, pytest.raises(MalformedResponse) as caught:
        client.inbox(account)
    assert field in str(caught.value)
