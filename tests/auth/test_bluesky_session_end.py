"""A Bluesky OAuth session ends two weeks after the sign-in, however often it is refreshed
(the reference ``@atproto/oauth-provider`` refuses a public client's refresh past its
``SESSION_LIFETIME``: "Session expired"). brandkit keeps that end (``refresh_expires_at``)
and reports a session past it dead, as it does a LinkedIn refresh token past its 365 days:
`refresh` raises `SessionExpired` (a `GrantRefused`) saying to connect again, with nothing
sent; `expiry_of` says dead, ``brandkit accounts refresh`` exits 1 with the command that
connects it again, and an account loaded from the store fails its post with that error.
Before, the end was not recorded: the record stayed "refreshable", and the refresh was
sent and refused with a bare "Session expired". The emulator over a socket, a real store
file."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from brandkit import Client, Post, RetryPolicy, auth
from brandkit.auth import EncryptedStore, GrantRefused, load_account
from brandkit.auth import bluesky as bsky
from brandkit.auth.store import new_key
from brandkit.cli import main
from brandkit.testing.bluesky import BlueskyEmulator

from .conftest import bluesky_session

DAY = 86_400.0
TWO_WEEKS = 14 * DAY
HANDLE = "brand.test"


@pytest.fixture
def emu() -> Iterator[BlueskyEmulator]:
    emulator = BlueskyEmulator()
    with emulator.serve():
        emulator.add_user(HANDLE)
        yield emulator


def token_requests(emu: BlueskyEmulator) -> int:
    return sum(1 for r in emu.requests if r.url.path == "/oauth/token")


def test_the_session_end_is_kept_and_a_refresh_past_it_is_not_sent(emu: BlueskyEmulator) -> None:
    before = emu.clock.time()
    creds = bluesky_session(emu)
    ends = creds.refresh_expires_at
    assert ends is not None
    assert bsky.SESSION_LIFETIME == TWO_WEEKS
    assert before + TWO_WEEKS <= ends <= emu.clock.time() + TWO_WEEKS
    # Saved and read back, and kept by a refresh (which never extends the session).
    assert bsky.BlueskyCredentials.from_dict(creds.to_dict()).refresh_expires_at == ends
    emu.clock.advance(3 * DAY)
    renewed = bsky.refresh(creds, clock=emu.clock.time)
    assert renewed.refresh_expires_at == ends
    assert "refresh_expires_at=" in repr(renewed)

    emu.clock.advance(TWO_WEEKS)
    sent = token_requests(emu)
    with pytest.raises(GrantRefused) as caught:
        bsky.refresh(renewed, clock=emu.clock.time)
    assert type(caught.value).__name__ == "SessionExpired"
    message = str(caught.value)
    assert "connect the account again" in message and HANDLE in message
    assert renewed.refresh_token is not None
    assert renewed.refresh_token.get_secret_value() not in message
    assert token_requests(emu) == sent  # nothing was sent


def dead_record(emu: BlueskyEmulator, store: EncryptedStore) -> dict[str, object]:
    """A stored session whose two weeks ended yesterday (by this machine's clock, which
    the command line and the adapter read), at the emulator too."""
    record = auth.record_of(bluesky_session(emu))
    record["expires_at"] = time.time() - 60
    record["refresh_expires_at"] = time.time() - DAY
    store.put("brand", record)
    emu.clock.advance(TWO_WEEKS + DAY)
    return record


def test_a_stored_session_past_its_end_is_dead(
    emu: BlueskyEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRANDKIT_STORE_KEY", new_key())
    monkeypatch.delenv("BRANDKIT_STORE", raising=False)
    path = tmp_path / "credentials.db"
    with EncryptedStore(path) as store:
        record = dead_record(emu, store)
        expiry = auth.expiry_of(record)
        assert expiry.dead and not expiry.refreshable
        assert "connect again" in expiry.why
        # The day before its end, the same session still refreshes.
        assert auth.expiry_of(record, now=time.time() - 2 * DAY).refreshable
        sent = token_requests(emu)
        assert auth.refresh_due(store, force=True)["brand"].startswith("expired: ")

    out = io.StringIO()
    assert main(["accounts", "refresh", "--store", str(path)], out) == 1, out.getvalue()
    assert f"brandkit connect bluesky {HANDLE} --key brand --replace" in out.getvalue()
    assert token_requests(emu) == sent
    assert str(record["refresh_token"]) not in out.getvalue()


def test_an_account_loaded_past_its_end_fails_saying_to_connect_again(
    emu: BlueskyEmulator, store: EncryptedStore
) -> None:
    dead_record(emu, store)
    account = load_account(store, "brand")
    sent = token_requests(emu)
    with Client(retry=RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=5)) as client:
        (delivery,) = client.publish(Post(text="hello"), account)
    assert type(delivery.error).__name__ == "SessionExpired", delivery.error
    assert "connect the account again" in str(delivery.error)
    assert token_requests(emu) == sent
    assert emu.posts(HANDLE) == []


def test_a_session_the_server_says_has_ended_is_reported_so(emu: BlueskyEmulator) -> None:
    """Credentials saved before brandkit kept the end: the refresh is sent, and the
    server's "Session expired" is read as the same typed error, saying to connect again."""
    saved = {**bluesky_session(emu).to_dict(), "refresh_expires_at": None}
    creds = bsky.BlueskyCredentials.from_dict(saved)
    emu.clock.advance(TWO_WEEKS + DAY)
    with pytest.raises(GrantRefused) as caught:
        bsky.refresh(creds, clock=emu.clock.time)
    assert type(caught.value).__name__ == "SessionExpired"
    assert caught.value.platform_message == "Session expired"
    assert "connect the account again" in str(caught.value) and HANDLE in str(caught.value)


def test_an_end_no_calendar_holds_is_still_reported_as_the_typed_error(
    emu: BlueskyEmulator,
) -> None:
    saved = {**bluesky_session(emu).to_dict(), "refresh_expires_at": -1e300}
    creds = bsky.BlueskyCredentials.from_dict(saved)
    sent = token_requests(emu)
    with pytest.raises(GrantRefused) as caught:
        bsky.refresh(creds, clock=emu.clock.time)
    assert type(caught.value).__name__ == "SessionExpired"
    assert token_requests(emu) == sent
