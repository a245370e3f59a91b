"""Connecting a LinkedIn page (issue 15): 3-legged OAuth against the LinkedIn emulator over
a socket, the page found from the token, expiry after 60 days on the emulator clock, the
refresh approved partners get, and every way a callback or a code is refused."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.auth import (
    CallbackError,
    ConsentDenied,
    GrantRefused,
    LinkedInCredentials,
    Start,
)
from brandkit.errors import AuthError, ConfigurationError
from brandkit.testing.linkedin import LinkedInEmulator, LinkedInOAuthApp

from .conftest import REDIRECT, consent, forget_finished, leaks

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
SCOPES = ["w_organization_social", "r_organization_social", "rw_organization_admin"]
DAY = 86_400.0


@pytest.fixture
def emu() -> Iterator[LinkedInEmulator]:
    emulator = LinkedInEmulator()
    with emulator.serve():
        yield emulator


@pytest.fixture
def app(emu: LinkedInEmulator) -> LinkedInOAuthApp:
    return emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES, refresh_tokens=True)


def begin(emu: LinkedInEmulator, app: LinkedInOAuthApp, redirect: str = REDIRECT) -> Start:
    return auth.linkedin.start(app.client_id, redirect, SCOPES, base_url=emu.base_url)


def post(account: Account, text: str) -> DeliveryStatus:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text), account)
    return delivery.status


def test_connect_post_expire_refresh_post(emu: LinkedInEmulator, app: LinkedInOAuthApp) -> None:
    """Connect, find the page, post as it, the token expires after 60 days on the emulator
    clock, refresh (the refresh token keeps its 365-day life), post again."""
    start = begin(emu, app)
    query = parse_qs(urlsplit(start.url).query)
    assert urlsplit(start.url).path == "/oauth/v2/authorization"
    assert query["scope"] == [" ".join(SCOPES)]
    assert query["response_type"] == ["code"]
    creds = auth.linkedin.finish(
        start, consent(start.url), client_secret=app.client_secret, clock=emu.clock.time
    )
    assert set(creds.scopes) == set(SCOPES)
    assert creds.expires_at == pytest.approx(emu.clock.time() + 60 * DAY)
    assert creds.refresh_token is not None and creds.refresh_expires_at is not None
    assert creds.refresh_expires_at == pytest.approx(emu.clock.time() + 365 * DAY)
    # The code went in the form body with the secret, never in a URL.
    (exchange,) = [r for r in emu.requests if r.url.path == "/oauth/v2/accessToken"]
    assert not exchange.url.query
    form = parse_qs(exchange.content.decode())
    assert form["grant_type"] == ["authorization_code"]
    assert form["redirect_uri"] == [REDIRECT]

    (page,) = auth.linkedin.organizations(creds)
    assert page.startswith("urn:li:organization:")
    account = auth.account_from(creds, author=page, name="brand", client_secret=app.client_secret)
    assert post(account, "Connected!") is DeliveryStatus.SENT
    assert [p.author for p in emu.posts] == [page]

    emu.clock.advance(timedelta(days=60, seconds=1))
    assert creds.expired(emu.clock.time())
    with pytest.raises(AuthError):
        auth.linkedin.organizations(creds)

    new = auth.linkedin.refresh(creds, client_secret=app.client_secret, clock=emu.clock.time)
    assert new.access_token != creds.access_token
    assert new.refresh_token == creds.refresh_token  # LinkedIn hands back the same one
    assert new.refresh_expires_at == pytest.approx(creds.refresh_expires_at, abs=2)
    assert not new.expired(emu.clock.time())
    # (Account.from_credentials does not pass author= on yet: accounts.py is not this change's.)
    again = Account.from_credentials(new, author=page, client_secret=app.client_secret)
    assert post(again, "Still here") is DeliveryStatus.SENT
    assert len(emu.posts) == 2


def test_without_partner_approval_there_is_no_refresh(emu: LinkedInEmulator) -> None:
    plain = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
    start = auth.linkedin.start(plain.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    creds = auth.linkedin.finish(start, consent(start.url), client_secret=plain.client_secret)
    assert creds.refresh_token is None and creds.refresh_expires_at is None
    with pytest.raises(ConfigurationError, match="authorize again"):
        auth.linkedin.refresh(creds, client_secret=plain.client_secret)
    (page,) = auth.linkedin.organizations(creds)
    assert post(auth.account_from(creds, author=page), "No refresh") is DeliveryStatus.SENT
    with pytest.raises(ConfigurationError, match="author="):
        auth.account_from(creds)


def test_a_replayed_code_is_refused(emu: LinkedInEmulator, app: LinkedInOAuthApp) -> None:
    start = begin(emu, app)
    callback = consent(start.url)
    auth.linkedin.finish(start, callback, client_secret=app.client_secret)
    forget_finished()  # another process: this one refuses a second finish itself
    with pytest.raises(GrantRefused) as refused:
        auth.linkedin.finish(start, callback, client_secret=app.client_secret)
    assert refused.value.status_code == 400
    assert refused.value.code == "invalid_request"
    assert "Unable to retrieve access token" in (refused.value.platform_message or "")


def test_an_expired_code_is_refused(emu: LinkedInEmulator, app: LinkedInOAuthApp) -> None:
    start = begin(emu, app)
    callback = consent(start.url)
    emu.clock.advance(timedelta(minutes=31))
    with pytest.raises(GrantRefused):
        auth.linkedin.finish(start, callback, client_secret=app.client_secret)


def test_a_wrong_state_is_refused_before_any_request(
    emu: LinkedInEmulator, app: LinkedInOAuthApp
) -> None:
    start = begin(emu, app)
    callback = consent(start.url)
    other = begin(emu, app)
    with pytest.raises(CallbackError, match="state"):
        auth.linkedin.finish(other, callback, client_secret=app.client_secret)
    assert emu.count("POST", r"/oauth/v2/accessToken") == 0
    assert auth.linkedin.finish(start, callback, client_secret=app.client_secret).access_token


def test_a_wrong_redirect_is_refused(emu: LinkedInEmulator, app: LinkedInOAuthApp) -> None:
    with httpx.Client(timeout=10) as http:
        answer = http.get(begin(emu, app, "https://evil.example/cb").url, follow_redirects=False)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    start = begin(emu, app)
    callback = consent(start.url)
    moved = Start.from_dict({**start.to_dict(), "redirect_uri": REDIRECT + "/other"})
    with pytest.raises(GrantRefused) as refused:
        auth.linkedin.finish(moved, callback, client_secret=app.client_secret)
    assert "redirect uri" in (refused.value.platform_message or "")


def test_cancelled_consent_and_wrong_secret(emu: LinkedInEmulator, app: LinkedInOAuthApp) -> None:
    emu.deny_consent()
    start = begin(emu, app)
    callback = consent(start.url)
    assert parse_qs(urlsplit(callback).query)["error"] == ["user_cancelled_authorize"]
    with pytest.raises(ConsentDenied) as denied:
        auth.linkedin.finish(start, callback, client_secret=app.client_secret)
    assert denied.value.code == "user_cancelled_authorize"
    # A refusal carrying another attempt's state is a wrong state, not a refusal.
    with pytest.raises(CallbackError, match="state") as wrong_state:
        auth.linkedin.finish(begin(emu, app), callback, client_secret=app.client_secret)
    assert not isinstance(wrong_state.value, ConsentDenied)
    start = begin(emu, app)
    with pytest.raises(GrantRefused) as refused:
        auth.linkedin.finish(start, consent(start.url), client_secret="wrong")
    assert refused.value.status_code == 401
    assert refused.value.code == "invalid_client"


def test_credentials_round_trip_and_keep_secrets_out(
    emu: LinkedInEmulator, app: LinkedInOAuthApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    start = begin(emu, app)
    callback = consent(start.url)
    creds = auth.linkedin.finish(start, callback, client_secret=app.client_secret)
    assert LinkedInCredentials.from_dict(creds.to_dict()) == creds
    with pytest.raises(ConfigurationError) as wrong:
        LinkedInCredentials.from_dict({**creds.to_dict(), "platform": "threads"})
    assert creds.refresh_token is not None
    code = parse_qs(urlsplit(callback).query)["code"][0]
    secrets = [
        creds.access_token.get_secret_value(),
        creds.refresh_token.get_secret_value(),
        app.client_secret,
        code,
        start.state.get_secret_value(),
    ]
    texts = [repr(creds), str(creds), repr(start), repr(app), str(wrong.value)]
    # Every request brandkit sent: no secret in a URL (httpx logs URLs).
    texts += [str(r.url) for r in emu.requests if r.url.path != "/oauth/v2/authorization"]
    texts += [r.getMessage() for r in caplog.records if r.name.startswith("brandkit")]
    forget_finished()  # another process replays the code: LinkedIn's refusal is read
    try:
        auth.linkedin.finish(start, callback, client_secret=app.client_secret)
    except GrantRefused as exc:
        texts += [str(exc), repr(exc)]
    assert leaks(texts, secrets) == []


@pytest.mark.anyio
async def test_async_finish_and_refresh(emu: LinkedInEmulator, app: LinkedInOAuthApp) -> None:
    start = begin(emu, app)
    callback = consent(start.url)
    creds = await auth.linkedin.finish_async(start, callback, client_secret=app.client_secret)
    new = await auth.linkedin.refresh_async(creds, client_secret=app.client_secret)
    assert new.access_token != creds.access_token


def test_every_page_a_member_administers_is_found(
    emu: LinkedInEmulator, app: LinkedInOAuthApp
) -> None:
    """organizationAcls answers a page of roles at a time (10 unless asked): an agency's
    member with 230 pages gets all 230, in three requests of 100, not the first 10."""
    start = begin(emu, app)
    creds = auth.linkedin.finish(start, consent(start.url), client_secret=app.client_secret)
    more = emu.add_organizations(229)
    before = len(emu.requests)
    pages = auth.linkedin.organizations(creds)
    assert len(pages) == 230 and set(more) <= set(pages)
    asked = [r for r in emu.requests[before:] if r.url.path == "/rest/organizationAcls"]
    assert [(r.url.params["start"], r.url.params["count"]) for r in asked] == [
        ("0", "100"),
        ("100", "100"),
        ("200", "100"),
    ]


def test_the_emulator_pages_roles_as_a_restli_finder(
    emu: LinkedInEmulator, app: LinkedInOAuthApp
) -> None:
    """10 roles unless count says otherwise, at most 100; a start that is no number is a
    400, as LinkedIn answers it."""
    start = begin(emu, app)
    creds = auth.linkedin.finish(start, consent(start.url), client_secret=app.client_secret)
    emu.add_organizations(14)
    headers = {
        "authorization": f"Bearer {creds.access_token.get_secret_value()}",
        "linkedin-version": auth.linkedin.VERSION,
        "x-restli-protocol-version": "2.0.0",
    }
    params = {"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED"}
    with httpx.Client(base_url=emu.base_url, headers=headers) as http:
        first = http.get("/rest/organizationAcls", params=params).json()
        assert len(first["elements"]) == 10
        finder = "/rest/organizationAcls?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED"
        # Rest.li's paging links, as LinkedIn sends them (3bbe9a6: none were sent before).
        assert first["paging"] == {
            "start": 0,
            "count": 10,
            "links": [
                {"rel": "next", "href": f"{finder}&start=10&count=10", "type": "application/json"}
            ],
            "total": 15,
        }
        rest = http.get("/rest/organizationAcls", params={**params, "start": 10}).json()
        assert len(rest["elements"]) == 5
        assert [link["rel"] for link in rest["paging"]["links"]] == ["prev"]
        assert rest["paging"]["links"][0]["href"] == f"{finder}&start=0&count=10"
        bad = http.get("/rest/organizationAcls", params={**params, "start": "x"})
        assert bad.status_code == 400
