"""A token endpoint that says "not now" (429, 5xx) is a `RateLimited` or a
`PlatformUnavailable`, the types brandkit's worker retries, never a `GrantRefused` that
tells the user to connect the account again nor a `MalformedResponse`: the credentials are
fine, and the refresh token is still good once the endpoint answers again. Against the
emulators over a socket, their token endpoints answering with a scripted fault."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from brandkit import auth
from brandkit.auth import EncryptedStore, GrantRefused
from brandkit.auth.store import new_key
from brandkit.errors import MalformedResponse, PlatformUnavailable, RateLimited
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.threads import ThreadsEmulator
from brandkit.testing.x import XEmulator

from .conftest import REDIRECT, bluesky_session, consent

X_SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]


@pytest.fixture
def x_emu() -> Iterator[XEmulator]:
    emulator = XEmulator()
    with emulator.serve():
        yield emulator


def connect_x(emu: XEmulator) -> tuple[auth.XCredentials, str]:
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=X_SCOPES)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=emu.base_url)
    assert app.client_secret is not None
    creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
    return creds, app.client_secret


def test_x_refresh_rate_limited_then_the_same_refresh_token_works(x_emu: XEmulator) -> None:
    creds, secret = connect_x(x_emu)
    x_emu.fault(path="/2/oauth2/token", status=429, headers={"retry-after": "7"})
    with pytest.raises(RateLimited) as limited:
        auth.x.refresh(creds, client_secret=secret)
    assert not isinstance(limited.value, GrantRefused)
    assert limited.value.retry_after == 7.0
    assert limited.value.status_code == 429
    assert "connect" not in str(limited.value)
    # Nothing was spent: the same refresh token refreshes once the limit is over.
    assert auth.x.refresh(creds, client_secret=secret).access_token != creds.access_token


def test_x_refresh_limited_without_retry_after_waits_for_the_windows_reset(
    x_emu: XEmulator,
) -> None:
    """X says when a spent window resets in x-rate-limit-reset (epoch seconds), not in
    Retry-After: that reset is the wait (it was None, so a caller could only guess)."""
    creds, secret = connect_x(x_emu)
    reset = int(time.time()) + 600
    headers = {"x-rate-limit-limit": "5", "x-rate-limit-remaining": "0"}
    x_emu.fault(
        path="/2/oauth2/token", status=429, headers={**headers, "x-rate-limit-reset": str(reset)}
    )
    with pytest.raises(RateLimited) as limited:
        auth.x.refresh(creds, client_secret=secret)
    assert limited.value.retry_after == pytest.approx(600, abs=5)
    x_emu.fault(
        path="/2/oauth2/token", status=429, headers={**headers, "x-rate-limit-reset": "1e400"}
    )
    with pytest.raises(RateLimited) as garbled:
        auth.x.refresh(creds, client_secret=secret)
    assert garbled.value.retry_after is None


def test_x_code_exchange_on_a_server_error_is_platform_unavailable(x_emu: XEmulator) -> None:
    app = x_emu.oauth_app(redirect_uri=REDIRECT, scopes=X_SCOPES)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    callback = consent(start.url)
    x_emu.fault(path="/2/oauth2/token", status=503)
    with pytest.raises(PlatformUnavailable) as down:
        auth.x.finish(start, callback, client_secret=app.client_secret)
    assert not isinstance(down.value, MalformedResponse)
    assert down.value.status_code == 503


def test_refresh_due_reports_a_rate_limit_and_keeps_the_record(
    x_emu: XEmulator, tmp_path: Path
) -> None:
    creds, secret = connect_x(x_emu)
    store = EncryptedStore(tmp_path / "credentials.db", key=new_key())
    try:
        record = auth.record_of(creds, client_secret=secret)
        store.put("acme-x", record)
        x_emu.fault(path="/2/oauth2/token", status=429)
        outcome = auth.refresh_due(store, force=True)
        assert outcome["acme-x"].startswith("failed: RateLimited:")
        assert store.get("acme-x") == record
        assert auth.refresh_due(store, force=True) == {"acme-x": "refreshed"}
    finally:
        store.close()


def connect_threads(emu: ThreadsEmulator) -> auth.ThreadsCredentials:
    """A Threads account connected through the served ``emu``, two days ago (Meta refreshes
    a token only once it is a day old)."""
    scopes = ["threads_basic", "threads_content_publish"]
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=scopes)
    start = auth.threads.start(app.client_id, REDIRECT, scopes, base_url=emu.base_url)
    creds = auth.threads.finish(
        start, consent(start.url), client_secret=app.client_secret, clock=emu.clock.time
    )
    emu.clock.advance(timedelta(days=2))
    return creds


def test_threads_refresh_on_a_server_error_is_platform_unavailable() -> None:
    emu = ThreadsEmulator()
    with emu.serve():
        creds = connect_threads(emu)
        emu.fault(path="/refresh_access_token", status=500)
        with pytest.raises(PlatformUnavailable):
            auth.threads.refresh(creds, clock=emu.clock.time)
        emu.fault(path="/refresh_access_token", status=429)
        with pytest.raises(RateLimited):
            auth.threads.refresh(creds, clock=emu.clock.time)
        assert auth.threads.refresh(creds, clock=emu.clock.time).long_lived


def test_mastodon_registration_rate_limited() -> None:
    emu = MastodonEmulator()
    with emu.serve():
        emu.fault(method="POST", path="/api/v1/apps", status=429, headers={"retry-after": "300"})
        with pytest.raises(RateLimited) as limited:
            auth.mastodon.register_app(
                emu.base_url, REDIRECT, ["read"], "Acme", cache=auth.mastodon.AppCache()
            )
        assert limited.value.retry_after == 300.0


def test_bluesky_refresh_on_a_server_error_is_platform_unavailable() -> None:
    emu = BlueskyEmulator()
    with emu.serve():
        emu.add_user("brand.test")
        creds = bluesky_session(emu)
        emu.fault(path="/oauth/token", status=502)
        with pytest.raises(PlatformUnavailable):
            auth.bluesky.refresh(creds, clock=emu.clock.time)
        assert auth.bluesky.refresh(creds, clock=emu.clock.time).refresh_token is not None


@pytest.mark.parametrize(
    ("code", "message", "error"),
    [
        (4, "(#4) Application request limit reached", RateLimited),
        (17, "(#17) User request limit reached", RateLimited),
        (2, "Service temporarily unavailable", PlatformUnavailable),
    ],
)
def test_meta_throttling_in_its_error_envelope_is_not_a_refused_grant(
    code: int, message: str, error: type[Exception]
) -> None:
    """Meta answers throttling and its transient failures with a 4xx and a code in its
    error envelope (4, 17, 32, 613, 8000x; 1, 2), as the Graph adapters read them."""
    emu = ThreadsEmulator()
    with emu.serve():
        creds = connect_threads(emu)
        body = {"error": {"message": message, "type": "OAuthException", "code": code}}
        emu.fault(path="/refresh_access_token", status=400, body=body)
        with pytest.raises(error) as raised:
            auth.threads.refresh(creds, clock=emu.clock.time)
        assert not isinstance(raised.value, GrantRefused)
        assert auth.threads.refresh(creds, clock=emu.clock.time).long_lived


def test_mastodon_metadata_unavailable_does_not_register_an_app_without_pkce() -> None:
    """Only a missing metadata document (404: Mastodon before 4.3) means no PKCE; a server
    error there must not register (and cache) the app without it."""
    emu = MastodonEmulator()
    with emu.serve():
        meta = "/.well-known/oauth-authorization-server"
        emu.fault(method="GET", path=meta, status=503)
        cache = auth.mastodon.AppCache()
        with pytest.raises(PlatformUnavailable):
            auth.mastodon.register_app(emu.base_url, REDIRECT, ["read"], "Acme", cache=cache)
        assert len(cache) == 0
        assert emu.count("POST", "/api/v1/apps") == 0
        app = auth.mastodon.register_app(emu.base_url, REDIRECT, ["read"], "Acme", cache=cache)
        assert app.pkce


def test_bluesky_discovery_on_a_server_error_is_platform_unavailable() -> None:
    """A PDS that answers its metadata with a 503 is down for now, not an account that
    cannot be found (ResolutionError says to check the handle)."""
    emu = BlueskyEmulator()
    with emu.serve():
        emu.add_user("brand.test")
        client = auth.bluesky.loopback_client("http://127.0.0.1:8765/callback")
        emu.fault(method="GET", path="/.well-known/oauth-protected-resource", status=503)
        with pytest.raises(PlatformUnavailable):
            auth.bluesky.start("brand.test", client, plc_url=emu.base_url, resolver=emu.base_url)
        emu.fault(method="GET", path="/.well-known/oauth-authorization-server", status=429)
        with pytest.raises(RateLimited):
            auth.bluesky.start("brand.test", client, plc_url=emu.base_url, resolver=emu.base_url)
        assert auth.bluesky.start(
            "brand.test", client, plc_url=emu.base_url, resolver=emu.base_url
        ).url
