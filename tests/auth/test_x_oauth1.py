"""Connecting an X account with OAuth 1.0a 3-legged (issue 15): request token, the user's
consent, the access-token exchange with the verifier, all signed with HMAC-SHA1 and checked
by the X emulator over a socket; every replay, forgery and bad signature is refused with a
typed error, and nothing secret reaches a repr or a log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.auth import CallbackError, ConsentDenied, GrantRefused
from brandkit.auth.x import OAuth1Start, XOAuth1Credentials
from brandkit.errors import ConfigurationError, PlatformError
from brandkit.testing.x import OAuth1App, XEmulator

from .conftest import REDIRECT, consent, leaks

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)


@pytest.fixture
def emu() -> Iterator[XEmulator]:
    emulator = XEmulator()
    with emulator.serve():
        yield emulator


@pytest.fixture
def app(emu: XEmulator) -> OAuth1App:
    return emu.oauth1_app(callback=REDIRECT)


def begin(emu: XEmulator, app: OAuth1App) -> OAuth1Start:
    return auth.x.start_oauth1(
        app.consumer_key, app.consumer_secret, REDIRECT, base_url=emu.base_url
    )


def post(account: Account, text: str) -> tuple[DeliveryStatus, str | None]:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text), account)
    return delivery.status, str(delivery.error) if delivery.error else None


def test_connect_and_post(emu: XEmulator, app: OAuth1App) -> None:
    """Request token, consent (302 to the callback with the token and verifier), access
    token; the new keys sign a post that the emulator checks and accepts."""
    start = begin(emu, app)
    assert urlsplit(start.url).path == "/oauth/authorize"
    assert parse_qs(urlsplit(start.url).query) == {"oauth_token": [start.request_token]}
    callback = consent(start.url)
    query = parse_qs(urlsplit(callback).query)
    assert query["oauth_token"] == [start.request_token]
    creds = auth.x.finish_oauth1(start, callback, consumer_secret=app.consumer_secret)
    assert creds.user_id == emu.user("brand").id
    assert creds.screen_name == "brand"
    assert creds.expires_at is None

    account = auth.account_from(creds, name="brand", client_secret=app.consumer_secret)
    assert post(account, "Signed with OAuth 1.0a") == (DeliveryStatus.SENT, None)
    assert emu.post_texts() == ["Signed with OAuth 1.0a"]


def test_start_survives_a_session_and_credentials_a_store(emu: XEmulator, app: OAuth1App) -> None:
    """The start is kept as plain data between the two requests of a web app; the
    credentials as plain data in a store: both come back whole."""
    start = OAuth1Start.from_dict(begin(emu, app).to_dict())
    creds = auth.x.finish_oauth1(start, consent(start.url), consumer_secret=app.consumer_secret)
    again = XOAuth1Credentials.from_dict(creds.to_dict())
    assert again == creds
    with pytest.raises(ConfigurationError, match="oauth"):
        XOAuth1Credentials.from_dict({**creds.to_dict(), "oauth": "2"})
    with pytest.raises(ConfigurationError, match="request_token"):
        OAuth1Start.from_dict({"url": "x"})


def test_replayed_verifier_is_refused(emu: XEmulator, app: OAuth1App) -> None:
    """A request token and its verifier are spent by the first exchange: a replay of the
    same callback is refused with X's code 89, and no second access token is issued."""
    start = begin(emu, app)
    callback = consent(start.url)
    auth.x.finish_oauth1(start, callback, consumer_secret=app.consumer_secret)
    tokens = len(emu._oauth1)
    with pytest.raises(GrantRefused) as caught:
        auth.x.finish_oauth1(start, callback, consumer_secret=app.consumer_secret)
    assert caught.value.status_code == 401
    assert caught.value.code == "89"
    assert len(emu._oauth1) == tokens


def test_wrong_verifier_spends_the_request_token(emu: XEmulator, app: OAuth1App) -> None:
    """A wrong verifier is refused, and the request token cannot be tried again with the
    right one (no guessing)."""
    start = begin(emu, app)
    callback = consent(start.url)
    with pytest.raises(GrantRefused) as caught:
        auth.x.finish_oauth1(start, verifier="guessed", consumer_secret=app.consumer_secret)
    assert caught.value.code == "oauth_verifier"
    with pytest.raises(GrantRefused) as again:
        auth.x.finish_oauth1(start, callback, consumer_secret=app.consumer_secret)
    assert again.value.code == "89"


def test_bad_signatures_are_refused(emu: XEmulator, app: OAuth1App) -> None:
    """A request token asked for with the wrong consumer secret, and an exchange signed
    with the wrong one, are refused with X's 401 code 32."""
    with pytest.raises(GrantRefused) as caught:
        auth.x.start_oauth1(app.consumer_key, "not-the-secret", REDIRECT, base_url=emu.base_url)
    assert (caught.value.status_code, caught.value.code) == (401, "32")
    assert "Could not authenticate you" in (caught.value.platform_message or "")

    start = begin(emu, app)
    callback = consent(start.url)
    with pytest.raises(GrantRefused) as bad:
        auth.x.finish_oauth1(start, callback, consumer_secret="not-the-secret")
    assert bad.value.code == "32"
    # A forged exchange does not spend the user's request token.
    creds = auth.x.finish_oauth1(start, callback, consumer_secret=app.consumer_secret)
    assert creds.screen_name == "brand"


def test_tampered_request_is_refused_by_the_emulator(emu: XEmulator, app: OAuth1App) -> None:
    """The emulator checks the signature over the whole request: a signed request token
    call whose callback was changed after signing is refused."""
    from brandkit._flow import Send
    from brandkit.auth.x import start_oauth1_flow

    flow = start_oauth1_flow(app.consumer_key, app.consumer_secret, REDIRECT, base_url=emu.base_url)
    step = next(flow)
    assert isinstance(step, Send)
    header = step.request.headers["authorization"].replace("app.example", "evil.example")
    with httpx.Client(timeout=10) as http:
        answer = http.post(step.request.url, headers={"authorization": header})
    assert answer.status_code == 401
    assert answer.json() == {"errors": [{"code": 32, "message": "Could not authenticate you."}]}


def test_unregistered_callback_and_forged_callback(emu: XEmulator, app: OAuth1App) -> None:
    """X refuses a callback the app did not register (403, code 415); a callback carrying
    another request token is refused before any request."""
    with pytest.raises(GrantRefused) as caught:
        auth.x.start_oauth1(
            app.consumer_key, app.consumer_secret, "https://evil.example/cb", base_url=emu.base_url
        )
    assert (caught.value.status_code, caught.value.code) == (403, "415")

    start = begin(emu, app)
    other = begin(emu, app)
    with pytest.raises(CallbackError, match="request token"):
        auth.x.finish_oauth1(start, consent(other.url), consumer_secret=app.consumer_secret)
    with pytest.raises(CallbackError, match="oauth_verifier"):
        auth.x.finish_oauth1(
            start, f"{REDIRECT}?oauth_token={start.request_token}", consumer_secret="s"
        )


def test_denied_consent(emu: XEmulator, app: OAuth1App) -> None:
    """The user refuses: X redirects with ``denied``, a ConsentDenied."""
    emu.deny_consent()
    start = begin(emu, app)
    with pytest.raises(ConsentDenied):
        auth.x.finish_oauth1(start, consent(start.url), consumer_secret=app.consumer_secret)


def test_pin_flow(emu: XEmulator, app: OAuth1App) -> None:
    """``oob``: X shows the PIN instead of redirecting; finishing with it connects."""
    start = auth.x.start_oauth1(
        app.consumer_key, app.consumer_secret, auth.x.OOB, base_url=emu.base_url
    )
    with httpx.Client(timeout=10) as http:
        page = http.get(start.url)
    assert page.status_code == 200
    pin = page.text.split("<code>")[1].split("</code>")[0]
    creds = auth.x.finish_oauth1(start, verifier=pin, consumer_secret=app.consumer_secret)
    assert creds.screen_name == "brand"


def test_read_only_app_cannot_post(emu: XEmulator) -> None:
    """A token of an app with read permission (or asked with x_auth_access_type=read) is
    refused when it posts: X's 403 oauth1-permissions problem, a typed error."""
    for app, access in (
        (emu.oauth1_app(callback=REDIRECT, access="read"), None),
        (emu.oauth1_app(callback=REDIRECT), "read"),
    ):
        start = auth.x.start_oauth1(
            app.consumer_key,
            app.consumer_secret,
            REDIRECT,
            base_url=emu.base_url,
            access_type=access,
        )
        creds = auth.x.finish_oauth1(start, consent(start.url), consumer_secret=app.consumer_secret)
        account = auth.account_from(creds, client_secret=app.consumer_secret)
        status, error = post(account, "not allowed")
        assert status is DeliveryStatus.FAILED
        assert error is not None and "oauth1 app permissions" in error
    assert emu.post_texts() == []


def test_account_needs_the_consumer_secret(emu: XEmulator, app: OAuth1App) -> None:
    """Without the consumer secret there is no way to sign: refused up front."""
    start = begin(emu, app)
    creds = auth.x.finish_oauth1(start, consent(start.url), consumer_secret=app.consumer_secret)
    with pytest.raises(ConfigurationError, match="consumer secret"):
        auth.account_from(creds)


def test_nothing_secret_in_reprs_errors_or_logs(
    emu: XEmulator, app: OAuth1App, caplog: pytest.LogCaptureFixture
) -> None:
    """Reprs, error messages and every log line (httpx's included) hold no token, secret
    or verifier."""
    caplog.set_level(logging.DEBUG)
    start = begin(emu, app)
    records = list(caplog.records)
    # The test's own browser logs the redirect (with the verifier) at DEBUG: not brandkit.
    callback = consent(start.url)
    caplog.clear()
    verifier = parse_qs(urlsplit(callback).query)["oauth_verifier"][0]
    creds = auth.x.finish_oauth1(start, callback, consumer_secret=app.consumer_secret)
    errors: list[str] = []
    try:
        auth.x.finish_oauth1(start, callback, consumer_secret=app.consumer_secret)
    except PlatformError as exc:
        errors.append(str(exc))
    secrets = [
        app.consumer_secret,
        start.request_token_secret.get_secret_value(),
        verifier,
        creds.access_token.get_secret_value(),
        creds.access_token_secret.get_secret_value(),
    ]
    texts = [repr(start), str(start), repr(creds), str(creds), *errors]
    texts += [r.getMessage() for r in [*records, *caplog.records]]
    assert errors
    assert leaks(texts, secrets) == []


def test_a_forged_refusal_does_not_end_the_authorization(emu: XEmulator, app: OAuth1App) -> None:
    """A ``denied`` callback counts only with this start's request token (as an OAuth 2
    refusal counts only with the start's ``state``): a forged one (CSRF to the callback URL)
    is a `CallbackError`, not the user's refusal, and the real callback still connects."""
    start = begin(emu, app)
    with pytest.raises(CallbackError) as forged:
        auth.x.finish_oauth1(
            start, f"{REDIRECT}?denied=someone-elses-token", consumer_secret=app.consumer_secret
        )
    assert not isinstance(forged.value, ConsentDenied)
    creds = auth.x.finish_oauth1(start, consent(start.url), consumer_secret=app.consumer_secret)
    assert creds.user_id


def test_a_refusal_with_this_request_token_is_consent_denied(
    emu: XEmulator, app: OAuth1App
) -> None:
    start = begin(emu, app)
    with pytest.raises(ConsentDenied):
        auth.x.finish_oauth1(
            start, f"{REDIRECT}?denied={start.request_token}", consumer_secret=app.consumer_secret
        )


def test_app_keys_look_like_x_s(emu: XEmulator) -> None:
    """X's API keys are 25 letters and digits and their secrets 50: the emulator's too, so a
    key never starts with "-" (which `brandkit connect --client-id KEY` reads as an
    option: one app in 64 failed so)."""
    for _ in range(20):
        app = emu.oauth1_app(callback=REDIRECT)
        assert re.fullmatch(r"[A-Za-z0-9]{25}", app.consumer_key)
        assert re.fullmatch(r"[A-Za-z0-9]{50}", app.consumer_secret)
