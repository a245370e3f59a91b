"""Connecting a Threads account (issue 15): Meta's login against the Threads emulator over a
socket, the short-lived token for a long-lived one, expiry and refresh on the emulator
clock, and every way a callback or a code is refused."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.auth import CallbackError, ConsentDenied, GrantRefused, Start, ThreadsCredentials
from brandkit.errors import AuthError, ConfigurationError
from brandkit.testing._graph import MetaOAuthApp
from brandkit.testing.threads import ThreadsEmulator

from .conftest import REDIRECT, consent, forget_finished, leaks

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
SCOPES = ["threads_basic", "threads_content_publish"]
HOUR = 3600.0
DAY = 86_400.0


@pytest.fixture
def emu() -> Iterator[ThreadsEmulator]:
    emulator = ThreadsEmulator()
    with emulator.serve():
        yield emulator


@pytest.fixture
def app(emu: ThreadsEmulator) -> MetaOAuthApp:
    return emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)


def begin(emu: ThreadsEmulator, app: MetaOAuthApp, redirect: str = REDIRECT) -> Start:
    return auth.threads.start(app.client_id, redirect, SCOPES, base_url=emu.base_url)


def post(account: Account, text: str) -> DeliveryStatus:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text), account)
    return delivery.status


def test_connect_post_expire_refresh_post(emu: ThreadsEmulator, app: MetaOAuthApp) -> None:
    """Connect (code → 1-hour token → 60-day token), post, refresh after a day, the old
    token's 60 days run out on the emulator clock, post again with the refreshed one."""
    start = begin(emu, app)
    query = parse_qs(urlsplit(start.url).query)
    assert urlsplit(start.url).path == "/oauth/authorize"
    assert query["scope"] == ["threads_basic,threads_content_publish"]
    assert query["response_type"] == ["code"]
    assert start.verifier is None
    creds = auth.threads.finish(
        start, consent(start.url), client_secret=app.client_secret, clock=emu.clock.time
    )
    assert creds.long_lived
    assert creds.expires_at is not None
    assert 59 * DAY < creds.expires_at - emu.clock.time() <= 60 * DAY
    info = emu.token_info(creds.access_token.get_secret_value())
    assert info.owner == creds.user_id and info.kind == "threads"
    # The code exchange went as Meta documents it: a form POST with the app secret.
    (exchange,) = [r for r in emu.requests if r.url.path == "/oauth/access_token"]
    form = parse_qs(exchange.content.decode())
    assert form["grant_type"] == ["authorization_code"]
    assert form["redirect_uri"] == [REDIRECT]
    (long,) = [r for r in emu.requests if r.url.path == "/access_token"]
    assert long.url.params["grant_type"] == "th_exchange_token"
    # The token travels in the header, never in a URL an HTTP library would log.
    assert "access_token" not in long.url.params
    assert long.headers["authorization"].startswith("Bearer ")

    account = auth.account_from(creds, name="brand")
    assert post(account, "Connected!") is DeliveryStatus.SENT
    assert emu.post_texts() == ["Connected!"]

    # Too early: Meta refreshes only tokens at least 24 hours old.
    assert not creds.refreshable(emu.clock.time())
    with pytest.raises(GrantRefused) as early:
        auth.threads.refresh(creds, clock=emu.clock.time)
    assert "24 hours" in (early.value.platform_message or "")

    emu.clock.advance(timedelta(days=1, seconds=1))
    assert creds.refreshable(emu.clock.time())
    new = auth.threads.refresh(creds, clock=emu.clock.time)
    assert new.access_token != creds.access_token
    assert new.user_id == creds.user_id
    assert new.expires_at is not None and new.expires_at > creds.expires_at

    # The old token dies at its own 60 days; the refreshed one lives on.
    emu.clock.advance(timedelta(days=59))
    assert creds.expired(emu.clock.time())
    with pytest.raises(GrantRefused) as dead:
        auth.threads.refresh(creds, clock=emu.clock.time)
    assert dead.value.code == "190/463"
    assert post(Account.from_credentials(new, name="brand"), "Still here") is DeliveryStatus.SENT
    assert emu.post_texts() == ["Connected!", "Still here"]


def test_short_lived_token_expires_in_an_hour_and_is_exchanged(
    emu: ThreadsEmulator, app: MetaOAuthApp
) -> None:
    start = begin(emu, app)
    short = auth.threads.finish(
        start,
        consent(start.url),
        client_secret=app.client_secret,
        long_lived=False,
        clock=emu.clock.time,
    )
    assert not short.long_lived
    assert short.expires_at == pytest.approx(emu.clock.time() + HOUR)
    with pytest.raises(ConfigurationError, match="exchange"):
        auth.threads.refresh(short)
    long = auth.threads.exchange(short, client_secret=app.client_secret, clock=emu.clock.time)
    assert long.long_lived and long.expires_at is not None
    assert long.expires_at - emu.clock.time() > 59 * DAY
    # An hour on, the short-lived token can no longer be exchanged.
    other = begin(emu, app)
    late = auth.threads.finish(
        other, consent(other.url), client_secret=app.client_secret, long_lived=False
    )
    emu.clock.advance(timedelta(hours=1, seconds=1))
    with pytest.raises(GrantRefused) as refused:
        auth.threads.exchange(late, client_secret=app.client_secret)
    assert refused.value.code == "190/463"
    # A wrong app secret is refused too.
    with pytest.raises(GrantRefused):
        auth.threads.exchange(long, client_secret="not-the-secret")


def test_a_replayed_code_is_refused(emu: ThreadsEmulator, app: MetaOAuthApp) -> None:
    start = begin(emu, app)
    callback = consent(start.url)
    auth.threads.finish(start, callback, client_secret=app.client_secret)
    forget_finished()  # another process: this one refuses a second finish itself
    with pytest.raises(GrantRefused) as refused:
        auth.threads.finish(start, callback, client_secret=app.client_secret)
    assert refused.value.code == "100/36009"
    assert refused.value.platform_message == "This authorization code has been used."
    assert isinstance(refused.value, AuthError)


def test_an_expired_code_is_refused(emu: ThreadsEmulator, app: MetaOAuthApp) -> None:
    start = begin(emu, app)
    callback = consent(start.url)
    emu.clock.advance(timedelta(minutes=11))
    with pytest.raises(GrantRefused) as refused:
        auth.threads.finish(start, callback, client_secret=app.client_secret)
    assert refused.value.code == "100/36007"


def test_a_wrong_state_is_refused_before_any_request(
    emu: ThreadsEmulator, app: MetaOAuthApp
) -> None:
    start = begin(emu, app)
    callback = consent(start.url)
    other = begin(emu, app)
    with pytest.raises(CallbackError, match="state"):
        auth.threads.finish(other, callback, client_secret=app.client_secret)
    assert emu.count("POST", r"/oauth/access_token") == 0
    assert auth.threads.finish(start, callback, client_secret=app.client_secret).long_lived


def test_a_wrong_redirect_is_refused(emu: ThreadsEmulator, app: MetaOAuthApp) -> None:
    # The window never redirects to a URI the app did not register.
    with httpx.Client(timeout=10) as http:
        answer = http.get(begin(emu, app, "https://evil.example/cb").url, follow_redirects=False)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    # The code exchange needs the authorization request's redirect URI.
    start = begin(emu, app)
    callback = consent(start.url)
    moved = Start.from_dict({**start.to_dict(), "redirect_uri": REDIRECT + "/other"})
    with pytest.raises(GrantRefused) as refused:
        auth.threads.finish(moved, callback, client_secret=app.client_secret)
    assert refused.value.code == "100/36008"
    assert "redirect_uri" in (refused.value.platform_message or "")


def test_refused_consent_and_wrong_secret(emu: ThreadsEmulator, app: MetaOAuthApp) -> None:
    emu.deny_consent()
    start = begin(emu, app)
    callback = consent(start.url)
    assert parse_qs(urlsplit(callback).query)["error"] == ["access_denied"]
    with pytest.raises(ConsentDenied):
        auth.threads.finish(start, callback, client_secret=app.client_secret)
    start = begin(emu, app)
    with pytest.raises(GrantRefused) as refused:
        auth.threads.finish(start, consent(start.url), client_secret="wrong")
    assert refused.value.code == "101"


def test_a_start_of_another_platform_is_refused(emu: ThreadsEmulator, app: MetaOAuthApp) -> None:
    start = auth.x.start("client", REDIRECT, ["tweet.read"])
    with pytest.raises(ConfigurationError, match="x authorization start"):
        auth.threads.finish(start, REDIRECT + "?code=a&state=b", client_secret=app.client_secret)


def test_credentials_round_trip_and_keep_secrets_out(
    emu: ThreadsEmulator, app: MetaOAuthApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    start = begin(emu, app)
    callback = consent(start.url)
    creds = auth.threads.finish(start, callback, client_secret=app.client_secret)
    assert ThreadsCredentials.from_dict(creds.to_dict()) == creds
    with pytest.raises(ConfigurationError) as wrong:
        ThreadsCredentials.from_dict({**creds.to_dict(), "platform": "x"})
    token = creds.access_token.get_secret_value()
    code = parse_qs(urlsplit(callback).query)["code"][0]
    secrets = [token, app.client_secret, code, start.state.get_secret_value()]
    # brandkit's own logs (httpx/httpcore log the test's browser, which sees the code, and
    # the URL of Meta's long-lived exchange, whose query carries the app secret as Meta
    # documents it).
    logged = [r.getMessage() for r in caplog.records if r.name.startswith("brandkit")]
    texts = [repr(creds), str(creds), repr(start), repr(app), str(wrong.value), *logged]
    secrets_in_urls = [s for s in (token, code) if any(s in str(r.url) for r in emu.requests)]
    assert secrets_in_urls == []
    forget_finished()  # another process replays the code: Meta's refusal is read
    try:
        auth.threads.finish(start, callback, client_secret=app.client_secret)
    except GrantRefused as exc:
        texts += [str(exc), repr(exc)]
    assert leaks(texts, secrets) == []


@pytest.mark.anyio
async def test_async_finish_and_refresh(emu: ThreadsEmulator, app: MetaOAuthApp) -> None:
    start = begin(emu, app)
    callback = consent(start.url)
    creds = await auth.threads.finish_async(
        start, callback, client_secret=app.client_secret, clock=emu.clock.time
    )
    emu.clock.advance(timedelta(days=2))
    new = await auth.threads.refresh_async(creds, clock=emu.clock.time)
    assert emu.token_info(new.access_token.get_secret_value()).owner == creds.user_id
