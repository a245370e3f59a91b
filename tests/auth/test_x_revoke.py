"""Revoking an X account's tokens (``accounts remove`` forgets nothing X still honours):
OAuth 2.0 ``POST /2/oauth2/revoke`` (RFC 7009) for public and confidential clients, OAuth
1.0a ``POST /1.1/oauth/invalidate_token``, against the X emulator over a socket. Afterwards
X refuses the tokens; a token dead already counts as revoked; every refusal is a typed
error that names no secret."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.auth import GrantRefused, XCredentials, XOAuth1Credentials
from brandkit.errors import (
    AuthError,
    MalformedResponse,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
)
from brandkit.testing.x import OAuth1App, OAuthApp, XEmulator

from .conftest import REDIRECT, consent, leaks

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]
EMULATOR = XEmulator  # served as the emu fixture (conftest), with the app of SCOPES
REVOKE = r"/2/oauth2/revoke"
INVALIDATE = r"/1\.1/oauth/invalidate_token"


def connect(emu: XEmulator, app: OAuthApp) -> XCredentials:
    start = auth.x.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    return auth.x.finish(start, consent(start.url), client_secret=app.client_secret)


def me(emu: XEmulator, token: SecretStr) -> int:
    with httpx.Client(timeout=10) as http:
        return http.get(
            emu.base_url + "/2/users/me",
            headers={"authorization": f"Bearer {token.get_secret_value()}"},
        ).status_code


def post(account: Account, text: str) -> DeliveryStatus:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text), account)
    return delivery.status


def assert_dead(emu: XEmulator, creds: XCredentials, client_secret: str | None) -> None:
    """X refuses both tokens: the access token with its 401 problem, the refresh token at
    the token endpoint with the error of a spent one."""
    with httpx.Client(timeout=10) as http:
        answer = http.get(
            emu.base_url + "/2/users/me",
            headers={"authorization": f"Bearer {creds.access_token.get_secret_value()}"},
        )
    assert answer.status_code == 401
    assert answer.json() == {
        "title": "Unauthorized",
        "detail": "Unauthorized",
        "type": "about:blank",
        "status": 401,
    }
    with pytest.raises(GrantRefused) as refused:
        auth.x.refresh(creds, client_secret=client_secret)
    assert refused.value.status_code == 400
    assert refused.value.code == "invalid_request"
    assert refused.value.platform_message == "Value passed for the token was invalid."


def test_a_confidential_client_revokes_both_tokens(emu: XEmulator, app: OAuthApp) -> None:
    """The refresh token is revoked first, then the access token, each with the app's
    HTTP Basic credentials; afterwards X refuses both and a post with them fails."""
    creds = connect(emu, app)
    assert creds.refresh_token is not None
    assert me(emu, creds.access_token) == 200

    auth.x.revoke(creds, client_secret=app.client_secret)

    sent = [r for r in emu.requests if r.url.path == REVOKE]
    forms = [parse_qs(r.content.decode()) for r in sent]
    assert forms == [
        {
            "token": [creds.refresh_token.get_secret_value()],
            "token_type_hint": ["refresh_token"],
        },
        {"token": [creds.access_token.get_secret_value()], "token_type_hint": ["access_token"]},
    ]
    assert all(r.headers["authorization"].startswith("Basic ") for r in sent)
    assert_dead(emu, creds, app.client_secret)
    account = auth.account_from(creds, name="brand", client_secret=app.client_secret)
    assert post(account, "after removal") is DeliveryStatus.FAILED
    assert emu.post_texts() == []


def test_a_public_client_revokes_with_its_client_id(emu: XEmulator) -> None:
    public = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES, confidential=False)
    creds = connect(emu, public)
    assert me(emu, creds.access_token) == 200

    auth.x.revoke(creds)

    sent = [r for r in emu.requests if r.url.path == REVOKE]
    assert len(sent) == 2
    for request in sent:
        assert "authorization" not in request.headers
        assert parse_qs(request.content.decode())["client_id"] == [public.client_id]
    assert_dead(emu, creds, None)


def test_the_emulator_answers_as_x_does(emu: XEmulator, app: OAuthApp) -> None:
    """X's answer bodies: ``{"revoked": true}`` for a token revoked now and, RFC 7009
    §2.2, for one unknown; the token endpoint's 401 for a client that does not
    authenticate."""
    creds = connect(emu, app)
    url = emu.base_url + REVOKE
    token = creds.access_token.get_secret_value()
    with httpx.Client(timeout=10) as http:
        done = http.post(url, data={"token": token}, auth=(app.client_id, str(app.client_secret)))
        again = http.post(url, data={"token": token}, auth=(app.client_id, str(app.client_secret)))
        anonymous = http.post(url, data={"token": token, "client_id": app.client_id})
    assert (done.status_code, done.json()) == (200, {"revoked": True})
    assert (again.status_code, again.json()) == (200, {"revoked": True})
    assert done.headers["content-type"].startswith("application/json")
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "error": "unauthorized_client",
        "error_description": "Missing valid authorization header",
    }
    assert me(emu, creds.access_token) == 401


def test_credentials_without_refresh_token_revoke_the_access_token(
    emu: XEmulator, app: OAuthApp
) -> None:
    start = auth.x.start(app.client_id, REDIRECT, "tweet.read users.read", base_url=emu.base_url)
    creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
    assert creds.refresh_token is None
    auth.x.revoke(creds, client_secret=app.client_secret)
    assert emu.count("POST", REVOKE) == 1
    assert me(emu, creds.access_token) == 401


def test_tokens_dead_already_count_as_revoked(emu: XEmulator, app: OAuthApp) -> None:
    """A spent refresh token and an unknown access token are answered 200 (RFC 7009
    §2.2): revoking them is done, and so is revoking twice."""
    creds = connect(emu, app)
    new = auth.x.refresh(creds, client_secret=app.client_secret)  # spends creds' refresh token
    unknown = XCredentials(
        access_token=SecretStr("never-issued"),
        refresh_token=creds.refresh_token,
        expires_at=None,
        scopes=creds.scopes,
        client_id=creds.client_id,
        base_url=creds.base_url,
    )
    auth.x.revoke(unknown, client_secret=app.client_secret)
    assert emu.count("POST", REVOKE) == 2
    # The refreshed tokens were not named: they still work.
    assert me(emu, new.access_token) == 200
    auth.x.revoke(new, client_secret=app.client_secret)
    auth.x.revoke(new, client_secret=app.client_secret)
    assert_dead(emu, new, app.client_secret)


def test_a_wrong_client_secret_is_refused_and_revokes_nothing(
    emu: XEmulator, app: OAuthApp
) -> None:
    creds = connect(emu, app)
    with pytest.raises(GrantRefused) as refused:
        auth.x.revoke(creds, client_secret="not-the-secret")
    assert refused.value.status_code == 401
    assert refused.value.code == "unauthorized_client"
    assert refused.value.platform_message == "Missing valid authorization header"
    assert "client id and secret" in str(refused.value)
    assert emu.count("POST", REVOKE) == 1  # refused at the first: nothing more is sent
    assert me(emu, creds.access_token) == 200
    # A confidential app's tokens are not revoked by a request without its secret either.
    with pytest.raises(GrantRefused):
        auth.x.revoke(creds)
    assert me(emu, creds.access_token) == 200


def test_rate_limited_and_unavailable_are_not_now(emu: XEmulator, app: OAuthApp) -> None:
    """429 and 5xx are "try again later", never a refusal; the revocation stops where it
    was refused, and running it again finishes it."""
    creds = connect(emu, app)
    emu.fault(path=REVOKE, status=429, headers={"retry-after": "7"})
    with pytest.raises(RateLimited) as limited:
        auth.x.revoke(creds, client_secret=app.client_secret)
    assert limited.value.retry_after == 7
    assert not isinstance(limited.value, AuthError)
    assert emu.count("POST", REVOKE) == 1
    assert me(emu, creds.access_token) == 200

    # The refresh token's revocation passes, the access token's meets a 503 (the flow is
    # driven step by step to script the fault between the two).
    flow = auth.x.revoke_flow(creds, client_secret=app.client_secret)
    with httpx.Client(timeout=10) as http:
        step = flow.send(http.send(next(flow).request))  # type: ignore[union-attr]
        emu.fault(path=REVOKE, status=503)
        with pytest.raises(PlatformUnavailable) as down:
            flow.send(http.send(step.request))  # type: ignore[union-attr]
    assert down.value.status_code == 503
    assert me(emu, creds.access_token) == 200
    with pytest.raises(GrantRefused):  # the refresh token is dead already
        auth.x.refresh(creds, client_secret=app.client_secret)
    # Run again: the dead refresh token counts as revoked, the access token is revoked now.
    auth.x.revoke(creds, client_secret=app.client_secret)
    assert_dead(emu, creds, app.client_secret)


def test_a_200_that_is_not_x_s_answer_is_malformed(emu: XEmulator, app: OAuthApp) -> None:
    """A 200 without X's ``revoked`` (a proxy's page) says nothing about the token."""
    creds = connect(emu, app)
    emu.fault(path=REVOKE, status=200, body={"ok": True})
    with pytest.raises(MalformedResponse):
        auth.x.revoke(creds, client_secret=app.client_secret)
    emu.fault(path=REVOKE, status=200, body={"revoked": False})
    with pytest.raises(GrantRefused, match="revoked: false"):
        auth.x.revoke(creds, client_secret=app.client_secret)


@pytest.mark.anyio
async def test_async_revoke(emu: XEmulator, app: OAuthApp) -> None:
    creds = connect(emu, app)
    async with httpx.AsyncClient(timeout=10) as http:
        await auth.x.revoke_async(creds, client_secret=app.client_secret, http=http)
    assert emu.count("POST", REVOKE) == 2
    assert_dead(emu, creds, app.client_secret)


def test_nothing_secret_in_errors_or_logs(
    emu: XEmulator, app: OAuthApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    creds = connect(emu, app)
    caplog.clear()
    errors: list[PlatformError] = []
    for status in (401, 429, 503):
        if status != 401:
            emu.fault(path=REVOKE, status=status)
        try:
            auth.x.revoke(creds, client_secret="wrong-secret" if status == 401 else None)
        except PlatformError as exc:
            errors.append(exc)
    emu.fault(path=REVOKE, status=200, body={"echo": creds.access_token.get_secret_value()})
    try:
        auth.x.revoke(creds, client_secret=app.client_secret)
    except MalformedResponse as exc:
        errors.append(exc)
    assert len(errors) == 4
    assert creds.refresh_token is not None
    secrets = [
        creds.access_token.get_secret_value(),
        creds.refresh_token.get_secret_value(),
        str(app.client_secret),
        "wrong-secret",
    ]
    texts = [repr(creds), str(creds), caplog.text]
    for error in errors:
        texts += [str(error), repr(error), json.dumps(error.to_dict())]
    assert leaks(texts, secrets) == []


# -- OAuth 1.0a ------------------------------------------------------------------------------


@pytest.fixture
def app1(emu: XEmulator) -> OAuth1App:
    return emu.oauth1_app(callback=REDIRECT)


def connect1(emu: XEmulator, app: OAuth1App) -> XOAuth1Credentials:
    start = auth.x.start_oauth1(
        app.consumer_key, app.consumer_secret, REDIRECT, base_url=emu.base_url
    )
    return auth.x.finish_oauth1(start, consent(start.url), consumer_secret=app.consumer_secret)


def test_oauth1_invalidate(emu: XEmulator, app1: OAuth1App) -> None:
    """The signed ``POST /1.1/oauth/invalidate_token`` kills the access token: a post
    signed with it is refused; invalidating again is X's code 89, which counts as done."""
    creds = connect1(emu, app1)
    account = auth.account_from(creds, name="brand", client_secret=app1.consumer_secret)
    assert post(account, "before") is DeliveryStatus.SENT

    auth.x.revoke_oauth1(creds, consumer_secret=app1.consumer_secret)

    (sent,) = [r for r in emu.requests if r.url.path == "/1.1/oauth/invalidate_token"]
    header = sent.headers["authorization"]
    assert header.startswith("OAuth ") and "oauth_signature=" in header
    assert post(account, "after") is DeliveryStatus.FAILED
    assert emu.post_texts() == ["before"]
    auth.x.revoke_oauth1(creds, consumer_secret=app1.consumer_secret)  # 89: done already
    assert emu.count("POST", INVALIDATE) == 2


def test_oauth1_emulator_answers_as_x_does(emu: XEmulator, app1: OAuth1App) -> None:
    """X's bodies: ``{"access_token": …}`` once, then its 401 code 89."""
    creds = connect1(emu, app1)
    answers = []
    with httpx.Client(timeout=10) as http:
        for _ in range(2):
            flow = auth.x.revoke_oauth1_flow(creds, consumer_secret=app1.consumer_secret)
            answers.append(http.send(next(flow).request))  # type: ignore[union-attr]
    done, gone = answers
    assert (done.status_code, done.json()) == (
        200,
        {"access_token": creds.access_token.get_secret_value()},
    )
    assert done.headers["content-type"].startswith("application/json")
    assert gone.status_code == 401
    assert gone.json() == {"errors": [{"code": 89, "message": "Invalid or expired token."}]}


def test_oauth1_wrong_consumer_secret_is_refused(emu: XEmulator, app1: OAuth1App) -> None:
    creds = connect1(emu, app1)
    with pytest.raises(GrantRefused) as refused:
        auth.x.revoke_oauth1(creds, consumer_secret="not-the-secret")
    assert (refused.value.status_code, refused.value.code) == (401, "32")
    assert "not-the-secret" not in str(refused.value)
    assert app1.consumer_secret not in str(refused.value)
    account = auth.account_from(creds, client_secret=app1.consumer_secret)
    assert post(account, "still connected") is DeliveryStatus.SENT


@pytest.mark.anyio
async def test_oauth1_async_and_not_now(emu: XEmulator, app1: OAuth1App) -> None:
    creds = connect1(emu, app1)
    emu.fault(path=INVALIDATE, status=429)
    with pytest.raises(RateLimited):
        await auth.x.revoke_oauth1_async(creds, consumer_secret=app1.consumer_secret)
    emu.fault(path=INVALIDATE, status=503)
    with pytest.raises(PlatformUnavailable):
        await auth.x.revoke_oauth1_async(creds, consumer_secret=app1.consumer_secret)
    await auth.x.revoke_oauth1_async(creds, consumer_secret=app1.consumer_secret)
    account = auth.account_from(creds, client_secret=app1.consumer_secret)
    assert post(account, "after") is DeliveryStatus.FAILED
