"""Revoking a Mastodon token (``POST /oauth/revoke``): Mastodon tokens never expire, so
removing an account must revoke its token on the instance. Against the Mastodon emulator
over a loopback socket, which serves the endpoint as Doorkeeper does (RFC 7009) and then
refuses the token as Mastodon does."""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
from pydantic import SecretStr

from brandkit import Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.auth import GrantRefused
from brandkit.auth.mastodon import AppCache, MastodonApp, MastodonCredentials
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    MalformedResponse,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
)
from brandkit.testing.mastodon import MastodonEmulator

from .conftest import REDIRECT, consent, leaks

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
SCOPES = ["read", "write"]
REVOKED = {"error": "The access token was revoked"}
NOT_YOURS = {
    "error": "unauthorized_client",
    "error_description": "You are not authorized to revoke this token",
}


@pytest.fixture
def emu() -> Iterator[MastodonEmulator]:
    emulator = MastodonEmulator()
    with emulator.serve():
        yield emulator


def register(emu: MastodonEmulator, name: str = "Acme social") -> MastodonApp:
    return auth.mastodon.register_app(emu.base_url, REDIRECT, SCOPES, name, cache=AppCache())


def connect(app: MastodonApp) -> MastodonCredentials:
    start = auth.mastodon.start(app)
    return auth.mastodon.finish(start, consent(start.url), client_secret=app.client_secret)


@pytest.fixture
def app(emu: MastodonEmulator) -> MastodonApp:
    return register(emu)


@pytest.fixture
def creds(app: MastodonApp) -> MastodonCredentials:
    return connect(app)


def verify(emu: MastodonEmulator, token: str) -> httpx.Response:
    with httpx.Client(timeout=10) as http:
        return http.get(
            emu.base_url + "/api/v1/accounts/verify_credentials",
            headers={"authorization": f"Bearer {token}"},
        )


def publish(creds: MastodonCredentials, text: str) -> tuple[DeliveryStatus, Exception | None]:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text), auth.account_from(creds, name="acme"))
    return delivery.status, delivery.error


def test_a_revoked_token_is_refused_by_the_api_and_by_a_publish(
    emu: MastodonEmulator, app: MastodonApp, creds: MastodonCredentials
) -> None:
    token = creds.access_token.get_secret_value()
    assert publish(creds, "Before")[0] is DeliveryStatus.SENT
    assert verify(emu, token).status_code == 200

    assert auth.mastodon.revoke(creds, client_secret=app.client_secret) is None

    (sent,) = [r for r in emu.requests if r.url.path == "/oauth/revoke"]
    assert sent.method == "POST"
    assert parse_qs(sent.content.decode()) == {
        "client_id": [app.client_id],
        "client_secret": [app.client_secret.get_secret_value()],
        "token": [token],
    }
    refused = verify(emu, token)
    assert refused.status_code == 401
    assert refused.json() == REVOKED
    status, error = publish(creds, "After")
    assert status is DeliveryStatus.FAILED
    assert isinstance(error, AuthError)
    assert error.platform_message == REVOKED["error"]
    assert emu.post_texts() == ["Before"]

    # Revoking again is done too (Mastodon: "This operation is idempotent").
    auth.mastodon.revoke(creds, client_secret=app.client_secret.get_secret_value())
    assert verify(emu, token).json() == REVOKED


def test_only_the_revoked_token_stops_working(emu: MastodonEmulator, app: MastodonApp) -> None:
    first, second = connect(app), connect(app)
    auth.mastodon.revoke(first, client_secret=app.client_secret)
    assert verify(emu, first.access_token.get_secret_value()).json() == REVOKED
    assert publish(second, "Still connected")[0] is DeliveryStatus.SENT


def test_an_unknown_token_counts_as_done(emu: MastodonEmulator, app: MastodonApp) -> None:
    """RFC 7009 §2.2, as Doorkeeper answers: 200 ``{}`` for a token it does not know (the
    account was already disconnected on the instance, say)."""
    creds = MastodonCredentials(
        instance_url=emu.base_url,
        access_token=SecretStr(secrets.token_urlsafe(32)),
        scopes=("read", "write"),
        client_id=app.client_id,
    )
    auth.mastodon.revoke(creds, client_secret=app.client_secret)
    assert emu.count("POST", "/oauth/revoke") == 1
    unknown = verify(emu, creds.access_token.get_secret_value())
    assert unknown.json() == {"error": "The access token is invalid"}


def test_another_apps_client_is_refused_and_the_token_still_works(
    emu: MastodonEmulator, app: MastodonApp, creds: MastodonCredentials
) -> None:
    other = register(emu, "Someone else")
    stolen = MastodonCredentials.from_dict({**creds.to_dict(), "client_id": other.client_id})
    with pytest.raises(GrantRefused) as refused:
        auth.mastodon.revoke(stolen, client_secret=other.client_secret)
    assert refused.value.status_code == 403
    assert refused.value.code == NOT_YOURS["error"]
    assert refused.value.platform_message == NOT_YOURS["error_description"]
    assert "client secret of the app" in str(refused.value)
    assert "Authorized apps" in str(refused.value)

    # A wrong secret for the right app: Doorkeeper authenticates no client, the same 403.
    with pytest.raises(GrantRefused) as wrong:
        auth.mastodon.revoke(creds, client_secret="not-the-secret")
    assert wrong.value.status_code == 403
    assert wrong.value.code == "unauthorized_client"

    assert verify(emu, creds.access_token.get_secret_value()).status_code == 200
    assert publish(creds, "Still mine")[0] is DeliveryStatus.SENT


def test_invalid_client_401_is_refused(
    emu: MastodonEmulator, app: MastodonApp, creds: MastodonCredentials
) -> None:
    """A server that answers a bad client as the token endpoint does (401 invalid_client)
    is refused the same way."""
    emu.fault(
        method="POST",
        path="/oauth/revoke",
        status=401,
        body={"error": "invalid_client", "error_description": "Client authentication failed."},
    )
    with pytest.raises(GrantRefused) as refused:
        auth.mastodon.revoke(creds, client_secret=app.client_secret)
    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_client"
    assert "client secret of the app" in str(refused.value)


def test_429_is_rate_limited_and_the_token_still_works(
    emu: MastodonEmulator, app: MastodonApp, creds: MastodonCredentials
) -> None:
    emu.fault(method="POST", path="/oauth/revoke", status=429, headers={"retry-after": "30"})
    with pytest.raises(RateLimited) as limited:
        auth.mastodon.revoke(creds, client_secret=app.client_secret)
    assert limited.value.status_code == 429
    assert limited.value.retry_after == 30
    assert verify(emu, creds.access_token.get_secret_value()).status_code == 200
    auth.mastodon.revoke(creds, client_secret=app.client_secret)  # later, it goes through
    assert verify(emu, creds.access_token.get_secret_value()).json() == REVOKED


def test_503_is_platform_unavailable(
    emu: MastodonEmulator, app: MastodonApp, creds: MastodonCredentials
) -> None:
    emu.fault(method="POST", path="/oauth/revoke", status=503)
    with pytest.raises(PlatformUnavailable) as down:
        auth.mastodon.revoke(creds, client_secret=app.client_secret)
    assert down.value.status_code == 503
    assert not isinstance(down.value, AuthError)
    assert verify(emu, creds.access_token.get_secret_value()).status_code == 200


def test_an_unexpected_answer_is_malformed(
    emu: MastodonEmulator, app: MastodonApp, creds: MastodonCredentials
) -> None:
    emu.fault(method="POST", path="/oauth/revoke", status=200, body=["not", "an", "object"])
    with pytest.raises(MalformedResponse, match="may still be valid"):
        auth.mastodon.revoke(creds, client_secret=app.client_secret)
    emu.fault(method="POST", path="/oauth/revoke", status=302, headers={"location": "/"})
    with pytest.raises(MalformedResponse, match="302"):
        auth.mastodon.revoke(creds, client_secret=app.client_secret)


def test_missing_client_id_or_secret_sends_nothing(
    emu: MastodonEmulator, app: MastodonApp, creds: MastodonCredentials
) -> None:
    anonymous = MastodonCredentials.from_dict({**creds.to_dict(), "client_id": ""})
    with pytest.raises(ConfigurationError, match="Authorized apps"):
        auth.mastodon.revoke(anonymous, client_secret=app.client_secret)
    for missing in ("", None):
        with pytest.raises(ConfigurationError, match="client_secret="):
            auth.mastodon.revoke(creds, client_secret=missing)
    with pytest.raises(ConfigurationError, match="client_secret="):
        auth.mastodon.revoke(creds)
    assert emu.count("POST", "/oauth/revoke") == 0


@pytest.mark.anyio
async def test_revoke_async(
    emu: MastodonEmulator, app: MastodonApp, creds: MastodonCredentials
) -> None:
    await auth.mastodon.revoke_async(creds, client_secret=app.client_secret)
    assert verify(emu, creds.access_token.get_secret_value()).json() == REVOKED
    emu.fault(method="POST", path="/oauth/revoke", status=503)
    with pytest.raises(PlatformUnavailable):
        await auth.mastodon.revoke_async(creds, client_secret=app.client_secret)
    async with httpx.AsyncClient(timeout=10) as http:
        await auth.mastodon.revoke_async(creds, client_secret=app.client_secret, http=http)


def test_the_metadata_revocation_endpoint_answers_as_doorkeeper(
    emu: MastodonEmulator, app: MastodonApp
) -> None:
    """A client that follows ``revocation_endpoint`` from the metadata, in each way
    Doorkeeper reads a client (form, JSON, HTTP Basic), gets Mastodon's answers."""
    secret = app.client_secret.get_secret_value()
    with httpx.Client(timeout=10) as http:
        meta = http.get(emu.base_url + "/.well-known/oauth-authorization-server").json()
        url = meta["revocation_endpoint"]
        assert url == emu.base_url + "/oauth/revoke"

        form_token = connect(app).access_token.get_secret_value()
        answer = http.post(
            url, data={"client_id": app.client_id, "client_secret": secret, "token": form_token}
        )
        assert (answer.status_code, answer.json()) == (200, {})
        assert verify(emu, form_token).json() == REVOKED

        json_token = connect(app).access_token.get_secret_value()
        answer = http.post(
            url, json={"client_id": app.client_id, "client_secret": secret, "token": json_token}
        )
        assert (answer.status_code, answer.json()) == (200, {})
        assert verify(emu, json_token).json() == REVOKED

        basic_token = connect(app).access_token.get_secret_value()
        answer = http.post(url, data={"token": basic_token}, auth=(app.client_id, secret))
        assert (answer.status_code, answer.json()) == (200, {})
        assert verify(emu, basic_token).json() == REVOKED

        # No client, or a wrong secret: Doorkeeper refuses before looking at the token.
        kept = connect(app).access_token.get_secret_value()
        for data in ({"token": kept}, {"client_id": app.client_id, "token": kept}):
            answer = http.post(url, data=data)
            assert (answer.status_code, answer.json()) == (403, NOT_YOURS)
        assert verify(emu, kept).status_code == 200

        # A token made without an app (Doorkeeper: no application) any client may revoke.
        account_token = emu.account().secret("token") or ""
        answer = http.post(
            url, data={"client_id": app.client_id, "client_secret": secret, "token": account_token}
        )
        assert (answer.status_code, answer.json()) == (200, {})
        assert verify(emu, account_token).json() == REVOKED


def test_nothing_secret_in_errors_or_logs(
    emu: MastodonEmulator,
    app: MastodonApp,
    creds: MastodonCredentials,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    other = register(emu, "Someone else")
    errors: list[PlatformError] = []
    attempts: list[tuple[SecretStr, dict[str, object]]] = [
        (app.client_secret, {"status": 429}),
        (app.client_secret, {"status": 503}),
        (app.client_secret, {"status": 200, "body": "not an object"}),
        (other.client_secret, {}),  # not the secret of the token's app
    ]
    for secret, fault in attempts:
        if fault:
            emu.fault(method="POST", path="/oauth/revoke", **fault)
        with pytest.raises(PlatformError) as caught:
            auth.mastodon.revoke(creds, client_secret=secret)
        errors.append(caught.value)
    assert len(errors) == 4
    auth.mastodon.revoke(creds, client_secret=app.client_secret)
    hidden = [
        creds.access_token.get_secret_value(),
        app.client_secret.get_secret_value(),
        other.client_secret.get_secret_value(),
    ]
    texts = [repr(creds), str(creds), repr(app), caplog.text]
    for exc in errors:
        texts += [str(exc), repr(exc), json.dumps(exc.to_dict())]
    assert leaks(texts, hidden) == []
