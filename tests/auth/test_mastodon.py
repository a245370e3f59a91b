"""Connecting a Mastodon account (issue 15): app registration once per instance, the code
flow with PKCE where the server offers it (4.3+) and without before, against the Mastodon
emulator over a socket; every way a callback or a code is refused."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from brandkit import Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.auth import CallbackError, ConsentDenied, GrantRefused, Start
from brandkit.auth.mastodon import AppCache, MastodonApp, MastodonCredentials
from brandkit.errors import AuthError, ConfigurationError, PlatformError
from brandkit.testing.mastodon import MastodonEmulator

from .conftest import REDIRECT, consent, forget_finished, leaks

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
SCOPES = ["read", "write"]
INVALID_GRANT = (
    "The provided authorization grant is invalid, expired, revoked, does not match the "
    "redirection URI used in the authorization request, or was issued to another client."
)


@pytest.fixture
def emu() -> Iterator[MastodonEmulator]:
    emulator = MastodonEmulator()
    with emulator.serve():
        yield emulator


@pytest.fixture
def app(emu: MastodonEmulator) -> MastodonApp:
    return auth.mastodon.register_app(
        emu.base_url, REDIRECT, SCOPES, "Acme social", cache=AppCache()
    )


def post(creds: MastodonCredentials, text: str) -> DeliveryStatus:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text), auth.account_from(creds, name="acme"))
    return delivery.status


def test_connect_post_and_the_token_does_not_expire(emu: MastodonEmulator) -> None:
    """Register the app once, connect, post; a year later on the emulator clock the token
    still posts (Mastodon tokens carry no expiry, so there is nothing to refresh)."""
    cache = AppCache()
    app = auth.mastodon.register_app(emu.base_url, REDIRECT, SCOPES, "Acme social", cache=cache)
    again = auth.mastodon.register_app(emu.base_url + "/", REDIRECT, SCOPES, "Acme", cache=cache)
    assert again is app
    assert emu.count("POST", r"/api/v1/apps") == 1
    assert app.pkce  # the emulator is 4.5: the metadata document lists S256

    start = auth.mastodon.start(app)
    query = parse_qs(urlsplit(start.url).query)
    assert urlsplit(start.url).path == "/oauth/authorize"
    assert query["code_challenge_method"] == ["S256"]
    creds = auth.mastodon.finish(start, consent(start.url), client_secret=app.client_secret)
    assert creds.expires_at is None
    assert creds.scopes == ("read", "write")
    assert creds.instance_url == emu.base_url
    assert post(creds, "Connected!") is DeliveryStatus.SENT
    assert emu.post_texts() == ["Connected!"]

    emu.clock.advance(timedelta(days=365))
    assert post(creds, "A year on") is DeliveryStatus.SENT
    assert emu.post_texts() == ["Connected!", "A year on"]


def test_without_pkce_before_4_3() -> None:
    """A 4.2 server has no metadata document: the flow goes without PKCE and works."""
    emu = MastodonEmulator(version="4.2.10")
    with emu.serve():
        app = auth.mastodon.register_app(emu.base_url, REDIRECT, SCOPES, "Acme", cache=AppCache())
        assert not app.pkce
        start = auth.mastodon.start(app, scopes=["write"])
        assert "code_challenge" not in parse_qs(urlsplit(start.url).query)
        assert start.verifier is None
        creds = auth.mastodon.finish(start, consent(start.url), client_secret=app.client_secret)
        token_request = [r for r in emu.requests if r.url.path == "/oauth/token"][-1]
        assert "code_verifier" not in parse_qs(token_request.content.decode())
        assert creds.scopes == ("write",)
        assert post(creds, "Old server, new account") is DeliveryStatus.SENT


def test_emulator_app_without_registration(emu: MastodonEmulator) -> None:
    """``emu.oauth_app`` registers an app directly; a `MastodonApp` can be built of it."""
    registered = emu.oauth_app(redirect_uri=REDIRECT, scopes="read write")
    app = MastodonApp(
        instance_url=emu.base_url,
        client_id=registered.client_id,
        client_secret=SecretStr(registered.client_secret),
        redirect_uri=REDIRECT,
        scopes=("read", "write"),
        pkce=True,
    )
    start = auth.mastodon.start(app)
    creds = auth.mastodon.finish(start, consent(start.url), client_secret=registered.client_secret)
    assert post(creds, "Hello") is DeliveryStatus.SENT


def test_a_replayed_code_is_refused(emu: MastodonEmulator, app: MastodonApp) -> None:
    start = auth.mastodon.start(app)
    callback = consent(start.url)
    auth.mastodon.finish(start, callback, client_secret=app.client_secret)
    forget_finished()  # another process: this one refuses a second finish itself
    with pytest.raises(GrantRefused) as refused:
        auth.mastodon.finish(start, callback, client_secret=app.client_secret)
    assert refused.value.code == "invalid_grant"
    assert refused.value.platform_message == INVALID_GRANT


def test_a_wrong_verifier_is_refused(emu: MastodonEmulator, app: MastodonApp) -> None:
    start = auth.mastodon.start(app)
    callback = consent(start.url)
    other = auth.mastodon.start(app)
    forged = Start.from_dict({**start.to_dict(), "verifier": other.to_dict()["verifier"]})
    with pytest.raises(GrantRefused) as refused:
        auth.mastodon.finish(forged, callback, client_secret=app.client_secret)
    assert refused.value.code == "invalid_grant"
    # Leaving the verifier out is refused too, once a challenge was sent.
    start2 = auth.mastodon.start(app)
    callback2 = consent(start2.url)
    without = Start.from_dict({**start2.to_dict(), "verifier": None})
    with pytest.raises(GrantRefused):
        auth.mastodon.finish(without, callback2, client_secret=app.client_secret)


def test_a_wrong_state_is_refused_before_any_request(
    emu: MastodonEmulator, app: MastodonApp
) -> None:
    start = auth.mastodon.start(app)
    callback = consent(start.url)
    with pytest.raises(CallbackError, match="state"):
        auth.mastodon.finish(auth.mastodon.start(app), callback, client_secret=app.client_secret)
    assert emu.count("POST", r"/oauth/token") == 0
    assert auth.mastodon.finish(start, callback, client_secret=app.client_secret).access_token


def test_a_wrong_redirect_is_refused(emu: MastodonEmulator, app: MastodonApp) -> None:
    elsewhere = MastodonApp.from_dict({**app.to_dict(), "redirect_uri": "https://evil.example/"})
    with httpx.Client(timeout=10) as http:
        answer = http.get(auth.mastodon.start(elsewhere).url, follow_redirects=False)
    assert answer.status_code == 400
    assert "location" not in answer.headers

    start = auth.mastodon.start(app)
    callback = consent(start.url)
    moved = Start.from_dict({**start.to_dict(), "redirect_uri": REDIRECT + "/other"})
    with pytest.raises(GrantRefused) as refused:
        auth.mastodon.finish(moved, callback, client_secret=app.client_secret)
    assert refused.value.code == "invalid_grant"


def test_refused_consent_expired_code_and_wrong_secret(
    emu: MastodonEmulator, app: MastodonApp
) -> None:
    emu.deny_consent()
    start = auth.mastodon.start(app)
    with pytest.raises(ConsentDenied):
        auth.mastodon.finish(start, consent(start.url), client_secret=app.client_secret)

    start = auth.mastodon.start(app)
    callback = consent(start.url)
    emu.clock.advance(601)  # Doorkeeper's codes live 10 minutes
    with pytest.raises(GrantRefused):
        auth.mastodon.finish(start, callback, client_secret=app.client_secret)

    start = auth.mastodon.start(app)
    with pytest.raises(GrantRefused) as refused:
        auth.mastodon.finish(start, consent(start.url), client_secret="wrong")
    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_client"


def test_registration_refusal_and_scope_outside_the_app(emu: MastodonEmulator) -> None:
    with pytest.raises(PlatformError, match="Redirect URI must be an absolute URI"):
        auth.mastodon.register_app(emu.base_url, "not a uri", SCOPES, "Acme", cache=AppCache())
    app = auth.mastodon.register_app(emu.base_url, REDIRECT, ["read"], "Acme", cache=AppCache())
    with pytest.raises(ConfigurationError, match="write"):
        auth.mastodon.start(app, scopes=["read", "write"])


def test_app_cache_and_credentials_survive_a_restart(
    emu: MastodonEmulator, app: MastodonApp
) -> None:
    cache = AppCache([app])
    restored = AppCache.from_dict(json.loads(json.dumps(cache.to_dict())))
    assert restored.get(emu.base_url, REDIRECT, ["write", "read"]) == app
    start = auth.mastodon.start(app)
    creds = auth.mastodon.finish(
        Start.from_dict(json.loads(json.dumps(start.to_dict()))),
        consent(start.url),
        client_secret=app.client_secret,
    )
    assert MastodonCredentials.from_dict(json.loads(json.dumps(creds.to_dict()))) == creds
    with pytest.raises(ConfigurationError):
        MastodonCredentials.from_dict({**creds.to_dict(), "platform": "x"})


def test_nothing_secret_in_reprs_errors_or_logs(
    emu: MastodonEmulator, app: MastodonApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    start = auth.mastodon.start(app)
    callback = consent(start.url)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    caplog.clear()  # the browser's own request (in consent) shows the state in its URL
    creds = auth.mastodon.finish(start, callback, client_secret=app.client_secret)
    errors: list[AuthError] = []
    for url in (callback, callback + "x"):
        try:
            auth.mastodon.finish(start, url, client_secret=app.client_secret)
        except AuthError as exc:
            errors.append(exc)
    assert len(errors) == 2
    secrets = [
        creds.access_token.get_secret_value(),
        app.client_secret.get_secret_value(),
        start.to_dict()["state"],
        start.to_dict()["verifier"],
        code,
    ]
    texts = [repr(start), repr(creds), str(creds), repr(app), repr(AppCache([app])), caplog.text]
    for exc in errors:
        texts += [str(exc), repr(exc), json.dumps(exc.to_dict())]
    assert leaks(texts, secrets) == []


@pytest.mark.anyio
async def test_async_register_and_finish(emu: MastodonEmulator) -> None:
    app = await auth.mastodon.register_app_async(
        emu.base_url, REDIRECT, SCOPES, "Acme", cache=AppCache()
    )
    start = auth.mastodon.start(app)
    creds = await auth.mastodon.finish_async(
        start, consent(start.url), client_secret=app.client_secret
    )
    assert post(creds, "Async") is DeliveryStatus.SENT
