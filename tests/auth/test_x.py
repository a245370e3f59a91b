"""Connecting an X account (issue 15): OAuth 2.0 with PKCE against the X emulator over a
socket, the token's expiry on the emulator clock, rotating refresh tokens, and every way a
callback or a code is refused."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit._flow import run_flow
from brandkit.auth import CallbackError, ConsentDenied, GrantRefused, Start, XCredentials
from brandkit.errors import AuthError, ConfigurationError
from brandkit.testing.x import OAuthApp, XEmulator

from .conftest import REDIRECT, consent, forget_finished, leaks

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]
EMULATOR = XEmulator  # served as the emu fixture (conftest), with the app of SCOPES


def connect(emu: XEmulator, app: OAuthApp) -> XCredentials:
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    return auth.x.finish(start, consent(start.url), client_secret=app.client_secret)


def post(account: Account, text: str) -> DeliveryStatus:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text), account)
    return delivery.status


def me(emu: XEmulator, token: str) -> int:
    with httpx.Client(timeout=10) as http:
        return http.get(
            emu.base_url + "/2/users/me", headers={"authorization": f"Bearer {token}"}
        ).status_code


def test_connect_post_expire_refresh_post(emu: XEmulator, app: OAuthApp) -> None:
    """The whole life of a connected account: connect, post, the token expires two hours
    later on the emulator clock, refresh (the refresh token rotates), post again."""
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    query = parse_qs(urlsplit(start.url).query)
    assert urlsplit(start.url).path == "/i/oauth2/authorize"
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == [" ".join(SCOPES)]
    creds = auth.x.finish(
        start, consent(start.url), client_secret=app.client_secret, clock=emu.clock.time
    )
    assert set(creds.scopes) == set(SCOPES)
    assert creds.refresh_token is not None
    assert creds.expires_at is not None
    assert 7_100 < creds.expires_at - emu.clock.time() <= 7_200
    assert emu.user("brand").id in {t.user_id for t in emu._tokens.values()}

    assert post(auth.account_from(creds, name="brand"), "Connected!") is DeliveryStatus.SENT
    assert emu.post_texts() == ["Connected!"]

    emu.clock.advance(timedelta(hours=2, seconds=1))
    assert creds.expired(emu.clock.time())
    assert me(emu, creds.access_token.get_secret_value()) == 401

    new = auth.x.refresh(creds, client_secret=app.client_secret, clock=emu.clock.time)
    assert new.access_token != creds.access_token
    assert set(new.scopes) == set(SCOPES)  # a refresh keeps the granted scopes
    assert new.refresh_token is not None and new.refresh_token != creds.refresh_token
    assert not new.expired(emu.clock.time())
    assert post(Account.from_credentials(new, name="brand"), "Still here") is DeliveryStatus.SENT
    assert emu.post_texts() == ["Connected!", "Still here"]

    # Rotation: the spent refresh token is refused with X's own error body.
    with pytest.raises(GrantRefused) as refused:
        auth.x.refresh(creds, client_secret=app.client_secret)
    assert refused.value.status_code == 400
    assert refused.value.code == "invalid_request"
    assert refused.value.platform_message == "Value passed for the token was invalid."
    assert isinstance(refused.value, AuthError)


def test_the_adapter_refreshes_a_connected_account_by_itself(emu: XEmulator, app: OAuthApp) -> None:
    """An account made of connected credentials and the app's secret refreshes on its
    own after expiry and hands the rotated tokens to ``on_credentials_changed``."""
    creds = connect(emu, app)
    changes: list[Mapping[str, str]] = []
    account = auth.account_from(
        creds,
        name="brand",
        client_secret=app.client_secret,
        on_credentials_changed=lambda a, c: changes.append(dict(c)),
    )
    emu.clock.advance(timedelta(hours=3))
    assert post(account, "After the weekend") is DeliveryStatus.SENT
    (change,) = changes
    assert set(change) == {"user_token", "refresh_token"}
    assert creds.refresh_token is not None
    assert change["refresh_token"] != creds.refresh_token.get_secret_value()


def test_public_client_sends_its_client_id_and_no_secret(emu: XEmulator) -> None:
    public = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES, confidential=False)
    assert public.client_secret is None
    start = auth.x.start(public.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    creds = auth.x.finish(start, consent(start.url))
    assert me(emu, creds.access_token.get_secret_value()) == 200
    token_request = [r for r in emu.requests if r.url.path == "/2/oauth2/token"][-1]
    assert "authorization" not in token_request.headers
    assert parse_qs(token_request.content.decode())["client_id"] == [public.client_id]
    assert post(auth.account_from(auth.x.refresh(creds)), "Public") is DeliveryStatus.SENT


def test_without_offline_access_there_is_no_refresh_token(emu: XEmulator, app: OAuthApp) -> None:
    start = auth.x.start(app.client_id, REDIRECT, "tweet.read users.read", base_url=emu.base_url)
    creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
    assert creds.refresh_token is None
    assert creds.scopes == ("tweet.read", "users.read")
    with pytest.raises(ConfigurationError, match=r"offline\.access"):
        auth.x.refresh(creds, client_secret=app.client_secret)


def test_a_replayed_code_is_refused(emu: XEmulator, app: OAuthApp) -> None:
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    callback = consent(start.url)
    auth.x.finish(start, callback, client_secret=app.client_secret)
    forget_finished()  # another process: this one refuses a second finish itself
    with pytest.raises(GrantRefused) as refused:
        auth.x.finish(start, callback, client_secret=app.client_secret)
    assert refused.value.platform_message == "Value passed for the authorization code was invalid."


def test_a_wrong_verifier_is_refused_and_spends_the_code(emu: XEmulator, app: OAuthApp) -> None:
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    callback = consent(start.url)
    other = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    forged = Start.from_dict({**start.to_dict(), "verifier": other.to_dict()["verifier"]})
    with pytest.raises(GrantRefused) as refused:
        auth.x.finish(forged, callback, client_secret=app.client_secret)
    assert refused.value.platform_message == (
        "Value passed for the code verifier did not match the code challenge."
    )
    # Whoever stole the code and guessed wrong has burnt it for everyone.
    with pytest.raises(GrantRefused):
        auth.x.finish(start, callback, client_secret=app.client_secret)


def test_a_wrong_state_is_refused_before_any_request(emu: XEmulator, app: OAuthApp) -> None:
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    callback = consent(start.url)
    other = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    with pytest.raises(CallbackError, match="state"):
        auth.x.finish(other, callback, client_secret=app.client_secret)
    forged = callback.replace("state=", "state=x")
    with pytest.raises(CallbackError, match="state"):
        auth.x.finish(start, forged, client_secret=app.client_secret)
    assert emu.count("POST", r"/2/oauth2/token") == 0
    # The code was not spent: the real callback still finishes.
    assert auth.x.finish(start, callback, client_secret=app.client_secret).access_token


def test_a_wrong_redirect_is_refused(emu: XEmulator, app: OAuthApp) -> None:
    # At the authorize endpoint: no redirect to a callback the app did not register.
    start = auth.x.start(app.client_id, "https://evil.example/cb", SCOPES, base_url=emu.base_url)
    with httpx.Client(timeout=10) as http:
        answer = http.get(start.url, follow_redirects=False)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    # At the token endpoint: the redirect URI must be the authorization request's.
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    callback = consent(start.url)
    moved = Start.from_dict({**start.to_dict(), "redirect_uri": REDIRECT + "/other"})
    with pytest.raises(GrantRefused) as refused:
        auth.x.finish(moved, callback, client_secret=app.client_secret)
    assert "redirect uri" in (refused.value.platform_message or "")


def test_refused_consent_missing_code_and_expired_code(emu: XEmulator, app: OAuthApp) -> None:
    emu.deny_consent()
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    callback = consent(start.url)
    assert parse_qs(urlsplit(callback).query)["error"] == ["access_denied"]
    with pytest.raises(ConsentDenied) as denied:
        auth.x.finish(start, callback, client_secret=app.client_secret)
    assert denied.value.code == "access_denied"

    state = start.to_dict()["state"]
    with pytest.raises(CallbackError, match="no authorization code"):
        auth.x.finish(start, f"{REDIRECT}?state={state}", client_secret=app.client_secret)

    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    callback = consent(start.url)
    emu.clock.advance(31)  # X: "This code is only valid for 30 seconds"
    with pytest.raises(GrantRefused):
        auth.x.finish(start, callback, client_secret=app.client_secret)


def test_a_wrong_client_secret_is_refused(emu: XEmulator, app: OAuthApp) -> None:
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    with pytest.raises(GrantRefused) as refused:
        auth.x.finish(start, consent(start.url), client_secret="not-the-secret")
    assert refused.value.status_code == 401
    assert refused.value.code == "unauthorized_client"


def test_start_and_credentials_survive_a_session(emu: XEmulator, app: OAuthApp) -> None:
    """A web app keeps the start in its session (JSON) and the credentials in its store."""
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    kept = json.loads(json.dumps(start.to_dict()))
    restored = Start.from_dict(kept)
    assert restored == start
    creds = auth.x.finish(restored, consent(start.url), client_secret=app.client_secret)
    again = XCredentials.from_dict(json.loads(json.dumps(creds.to_dict())))
    assert again == creds
    with pytest.raises(ConfigurationError) as bad:
        XCredentials.from_dict({**creds.to_dict(), "access_token": 5})
    assert "access_token" in str(bad.value)
    assert creds.access_token.get_secret_value() not in str(bad.value)
    with pytest.raises(ConfigurationError):
        Start.from_dict({"url": start.url})


def test_nothing_secret_in_reprs_errors_or_logs(
    emu: XEmulator, app: OAuthApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    callback = consent(start.url)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    caplog.clear()  # the browser's own request (in consent) shows the state in its URL
    creds = auth.x.finish(start, callback, client_secret=app.client_secret)
    errors: list[Exception] = []
    for attempt in (
        lambda: auth.x.finish(start, callback, client_secret=app.client_secret),
        lambda: auth.x.finish(start, callback + "x", client_secret=app.client_secret),
        lambda: auth.x.refresh(creds, client_secret="wrong"),
    ):
        try:
            attempt()
        except AuthError as exc:
            errors.append(exc)
    assert len(errors) == 3
    assert creds.refresh_token is not None
    secrets = [
        creds.access_token.get_secret_value(),
        creds.refresh_token.get_secret_value(),
        start.to_dict()["state"],
        start.to_dict()["verifier"],
        code,
        str(app.client_secret),
    ]
    texts = [repr(start), str(start), repr(creds), str(creds), repr(app), caplog.text]
    for exc in errors:
        texts += [str(exc), repr(exc), json.dumps(exc.to_dict())]  # type: ignore[attr-defined]
    assert leaks(texts, secrets) == []


def test_the_exchange_is_sans_io() -> None:
    """``finish_flow`` yields the token request X documents and reads the answer it is
    given: no socket."""
    start = auth.x.start("cid", REDIRECT, SCOPES)
    assert start.url.startswith("https://x.com/i/oauth2/authorize?")
    state = start.to_dict()["state"]
    seen: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "token_type": "bearer",
                "expires_in": 7200,
                "access_token": "AT",
                "scope": "tweet.read",
                "refresh_token": "RT",
            },
        )

    flow = auth.x.finish_flow(
        start, f"{REDIRECT}?state={state}&code=C0DE", client_secret="s3cret", clock=lambda: 1000.0
    )
    creds = run_flow(flow, respond)
    (request,) = seen
    assert str(request.url) == "https://api.x.com/2/oauth2/token"
    form = parse_qs(request.content.decode())
    assert form == {
        "grant_type": ["authorization_code"],
        "code": ["C0DE"],
        "redirect_uri": [REDIRECT],
        "code_verifier": [start.to_dict()["verifier"]],
    }
    assert (
        request.headers["authorization"]
        == "Basic " + __import__("base64").b64encode(b"cid:s3cret").decode()
    )
    assert creds.expires_at == 8200.0
    assert creds.scopes == ("tweet.read",)


@pytest.mark.anyio
async def test_async_finish_and_refresh(emu: XEmulator, app: OAuthApp) -> None:
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    creds = await auth.x.finish_async(start, consent(start.url), client_secret=app.client_secret)
    new = await auth.x.refresh_async(creds, client_secret=app.client_secret)
    assert me(emu, new.access_token.get_secret_value()) == 200


def test_an_unreachable_token_endpoint_is_a_transport_error() -> None:
    """A refused connection is a `TransportError` that says nothing was sent."""
    from brandkit.errors import TransportError

    emulator = XEmulator()
    with emulator.serve():
        base = emulator.base_url
        app = emulator.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
        start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=base)
        callback = consent(start.url)
    with pytest.raises(TransportError) as failed:
        auth.x.finish(start, callback, client_secret=app.client_secret)
    assert failed.value.maybe_delivered is False


def test_a_refresh_answer_without_refresh_token_keeps_the_old_one() -> None:
    emulator = XEmulator(return_refresh_token=False)
    with emulator.serve():
        app = emulator.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
        creds = connect(emulator, app)
        new = auth.x.refresh(creds, client_secret=app.client_secret)
        assert new.refresh_token == creds.refresh_token
        assert new.access_token != creds.access_token
        assert me(emulator, new.access_token.get_secret_value()) == 200


def test_the_emulator_requires_pkce_and_registered_scopes(emu: XEmulator, app: OAuthApp) -> None:
    """X's authorize endpoint sends the user back with an error, not a code, when the
    request has no code challenge or asks for a scope the app does not have."""
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    no_pkce = start.url.replace("code_challenge=", "ignored=")
    assert parse_qs(urlsplit(consent(no_pkce)).query)["error"] == ["invalid_request"]
    other = auth.x.start(app.client_id, REDIRECT, ["dm.write"], base_url=emu.base_url)
    assert parse_qs(urlsplit(consent(other.url)).query)["error"] == ["invalid_scope"]
    assert emu.codes_outstanding == 0
