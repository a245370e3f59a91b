"""Connecting a Facebook Page (issue 15): Facebook Login against the Facebook emulator over
a socket, the short-lived user token for a long-lived one, the Page tokens of
/me/accounts, the user token's expiry on the emulator clock, and every way a callback or a
code is refused."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy, auth
from brandkit.auth import (
    CallbackError,
    ConsentDenied,
    FacebookPageCredentials,
    FacebookUserCredentials,
    GrantRefused,
    Start,
)
from brandkit.errors import ConfigurationError
from brandkit.testing._graph import MetaOAuthApp
from brandkit.testing.facebook import FacebookEmulator

from .conftest import REDIRECT, consent, forget_finished, leaks

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
EMULATOR = FacebookEmulator  # served as the emu fixture (conftest), with the app of SCOPES
SCOPES = ["pages_show_list", "pages_manage_posts", "pages_read_engagement"]
DAY = 86_400.0


def begin(emu: FacebookEmulator, app: MetaOAuthApp, redirect: str = REDIRECT) -> Start:
    return auth.facebook.start(app.client_id, redirect, SCOPES, base_url=emu.base_url)


def post(account: Account, text: str) -> DeliveryStatus:
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text), account)
    return delivery.status


def connect(emu: FacebookEmulator, app: MetaOAuthApp) -> FacebookUserCredentials:
    start = begin(emu, app)
    return auth.facebook.finish(
        start, consent(start.url), client_secret=app.client_secret, clock=emu.clock.time
    )


def test_connect_pages_post_expire_reconnect_post(emu: FacebookEmulator, app: MetaOAuthApp) -> None:
    """Login, a long-lived user token, the Page token from /me/accounts, a post; the user
    token's 60 days run out on the emulator clock (Facebook has no refresh: the user logs in
    again), and the Page posts again with the new login's token."""
    start = begin(emu, app)
    assert urlsplit(start.url).path == "/v25.0/dialog/oauth"
    assert parse_qs(urlsplit(start.url).query)["scope"] == [",".join(SCOPES)]
    user = auth.facebook.finish(
        start, consent(start.url), client_secret=app.client_secret, clock=emu.clock.time
    )
    assert user.long_lived and user.api_version == "v25.0"
    assert user.expires_at is not None
    assert 59 * DAY < user.expires_at - emu.clock.time() <= 60 * DAY
    grants = [
        r.url.params.get("grant_type") for r in emu.requests if "oauth/access_token" in r.url.path
    ]
    assert grants == [None, "fb_exchange_token"]

    (page,) = auth.facebook.pages(user)
    assert isinstance(page, FacebookPageCredentials)
    assert page.page_name == "Brandkit Connected Page"
    assert emu.token_info(page.access_token.get_secret_value()).kind == "page"
    assert post(auth.account_from(page, name="brand"), "Connected!") is DeliveryStatus.SENT
    assert emu.post_texts() == ["Connected!"]

    emu.clock.advance(timedelta(days=60, seconds=1))
    assert user.expired(emu.clock.time())
    with pytest.raises(GrantRefused) as dead:
        auth.facebook.pages(user)
    assert dead.value.code == "190/463"
    # A long-lived user token cannot be exchanged again once expired: log in again.
    with pytest.raises(GrantRefused):
        auth.facebook.exchange(user, client_secret=app.client_secret)
    (again,) = auth.facebook.pages(connect(emu, app))
    assert again.page_id == page.page_id
    account = Account.from_credentials(again, name="brand")
    assert post(account, "Still here") is DeliveryStatus.SENT
    assert emu.post_texts() == ["Connected!", "Still here"]


def test_pages_name_the_linked_instagram_account(emu: FacebookEmulator, app: MetaOAuthApp) -> None:
    """Instagram via Facebook Login: the Page's instagram_business_account is the Instagram
    user id to post with."""
    user = connect(emu, app)
    (page,) = auth.facebook.pages(user)
    assert page.instagram_user_id is None
    emu.link_instagram(page.page_id, "17841400000000001")
    (linked,) = auth.facebook.pages(user)
    assert linked.instagram_user_id == "17841400000000001"
    account = Account.instagram(
        ig_user_id=linked.instagram_user_id,
        token=linked.access_token.get_secret_value(),
        base_url=emu.base_url,
    )
    assert account.settings["ig_user_id"] == "17841400000000001"


def test_short_lived_user_token(emu: FacebookEmulator, app: MetaOAuthApp) -> None:
    start = begin(emu, app)
    short = auth.facebook.finish(
        start,
        consent(start.url),
        client_secret=app.client_secret,
        long_lived=False,
        clock=emu.clock.time,
    )
    assert not short.long_lived
    assert short.expires_at == pytest.approx(emu.clock.time() + 3600)
    long = auth.facebook.exchange(short, client_secret=app.client_secret, clock=emu.clock.time)
    assert long.long_lived and long.expires_at is not None and long.expires_at > short.expires_at
    with pytest.raises(GrantRefused) as wrong:
        auth.facebook.exchange(short, client_secret="wrong")
    assert wrong.value.code == "101"


def test_a_replayed_code_is_refused(emu: FacebookEmulator, app: MetaOAuthApp) -> None:
    start = begin(emu, app)
    callback = consent(start.url)
    auth.facebook.finish(start, callback, client_secret=app.client_secret)
    forget_finished()  # another process: this one refuses a second finish itself
    with pytest.raises(GrantRefused) as refused:
        auth.facebook.finish(start, callback, client_secret=app.client_secret)
    assert refused.value.code == "100/36009"


def test_a_wrong_state_and_a_wrong_redirect_are_refused(
    emu: FacebookEmulator, app: MetaOAuthApp
) -> None:
    start = begin(emu, app)
    callback = consent(start.url)
    with pytest.raises(CallbackError, match="state"):
        auth.facebook.finish(begin(emu, app), callback, client_secret=app.client_secret)
    assert emu.count("GET", r"/v25\.0/oauth/access_token") == 0
    with httpx.Client(timeout=10) as http:
        answer = http.get(begin(emu, app, "https://evil.example/cb").url, follow_redirects=False)
    assert answer.status_code == 400 and "location" not in answer.headers
    moved = Start.from_dict({**start.to_dict(), "redirect_uri": REDIRECT + "/other"})
    with pytest.raises(GrantRefused) as refused:
        auth.facebook.finish(moved, callback, client_secret=app.client_secret)
    assert refused.value.code == "100/36008"


def test_refused_consent(emu: FacebookEmulator, app: MetaOAuthApp) -> None:
    emu.deny_consent()
    start = begin(emu, app)
    with pytest.raises(ConsentDenied):
        auth.facebook.finish(start, consent(start.url), client_secret=app.client_secret)
    with pytest.raises(ConfigurationError, match="threads authorization start"):
        auth.facebook.finish(
            auth.threads.start("1", REDIRECT, ["threads_basic"]),
            REDIRECT,
            client_secret=app.client_secret,
        )


def test_nothing_secret_in_reprs_errors_or_brandkit_logs(
    emu: FacebookEmulator, app: MetaOAuthApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    start = begin(emu, app)
    callback = consent(start.url)
    user = auth.facebook.finish(start, callback, client_secret=app.client_secret)
    (page,) = auth.facebook.pages(user)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    secrets = [
        user.access_token.get_secret_value(),
        page.access_token.get_secret_value(),
        app.client_secret,
        code,
    ]
    texts = [repr(user), str(user), repr(page), str(page), repr(start), repr(app)]
    texts += [r.getMessage() for r in caplog.records if r.name.startswith("brandkit")]
    forget_finished()  # another process replays the code: Facebook's refusal is read
    try:
        auth.facebook.finish(start, callback, client_secret=app.client_secret)
    except GrantRefused as exc:
        texts += [str(exc), repr(exc)]
    assert leaks(texts, secrets) == []


def test_httpx_log_lines_hold_no_secret_of_the_exchange(
    emu: FacebookEmulator, app: MetaOAuthApp, caplog: pytest.LogCaptureFixture
) -> None:
    """Facebook's token exchanges are GETs with the app secret, the code and the short-lived
    token in the query: httpx logs that URL at INFO, and brandkit redacts them there."""
    start = begin(emu, app)
    callback = consent(start.url)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    with caplog.at_level(logging.INFO, logger="httpx"):
        user = auth.facebook.finish(
            start, callback, client_secret=app.client_secret, clock=emu.clock.time
        )
    lines = "\n".join(r.getMessage() for r in caplog.records if r.name == "httpx")
    assert "oauth/access_token" in lines  # the requests were logged...
    for secret in (app.client_secret, code, user.access_token.get_secret_value()):
        assert secret not in lines  # ...without their secrets
    assert "**********" in lines
