"""Connecting an Instagram account with Instagram Login (issue 15) against the Instagram
emulator over a socket: the code for a 1-hour token, that for a 60-day one, a post, a
refresh after 24 hours, the old token's expiry, a post again; refusals in Meta's shape."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from brandkit import Account, Client, DeliveryStatus, Media, Post, RetryPolicy, auth
from brandkit.auth import CallbackError, GrantRefused, InstagramCredentials, Start
from brandkit.errors import ConfigurationError
from brandkit.testing import TINY_JPEG
from brandkit.testing._graph import MetaOAuthApp
from brandkit.testing.instagram import InstagramEmulator

from .conftest import REDIRECT, consent, leaks

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
EMULATOR = InstagramEmulator  # served as the emu fixture (conftest), with the app of SCOPES
SCOPES = ["instagram_business_basic", "instagram_business_content_publish"]
DAY = 86_400.0


def post(emu: InstagramEmulator, account: Account, text: str) -> DeliveryStatus:
    photo = Media.from_bytes(TINY_JPEG, alt="a grey pixel", filename="pixel.jpg")
    with Client(retry=FAST) as client:
        (delivery,) = client.publish(Post(text=text, media=(photo,)), account)
    return delivery.status


def test_connect_post_refresh_expire_post(emu: InstagramEmulator, app: MetaOAuthApp) -> None:
    start = auth.instagram.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    assert urlsplit(start.url).path == "/oauth/authorize"
    assert parse_qs(urlsplit(start.url).query)["scope"] == [",".join(SCOPES)]
    creds = auth.instagram.finish(
        start, consent(start.url), client_secret=app.client_secret, clock=emu.clock.time
    )
    assert isinstance(creds, InstagramCredentials) and creds.long_lived
    assert creds.expires_at is not None
    assert 59 * DAY < creds.expires_at - emu.clock.time() <= 60 * DAY
    assert emu.token_info(creds.access_token.get_secret_value()).kind == "instagram"
    (long,) = [r for r in emu.requests if r.url.path == "/access_token"]
    assert long.url.params["grant_type"] == "ig_exchange_token"

    account = auth.account_from(creds, name="brand", media_host=emu.media_host)
    assert post(emu, account, "Connected!") is DeliveryStatus.SENT

    with pytest.raises(GrantRefused, match="24 hours"):
        auth.instagram.refresh(creds, clock=emu.clock.time)
    emu.clock.advance(timedelta(days=1, seconds=1))
    new = auth.instagram.refresh(creds, clock=emu.clock.time)
    assert isinstance(new, InstagramCredentials) and new.user_id == creds.user_id
    (refresh,) = [r for r in emu.requests if r.url.path == "/refresh_access_token"][-1:]
    assert refresh.url.params["grant_type"] == "ig_refresh_token"

    emu.clock.advance(timedelta(days=59))
    with pytest.raises(GrantRefused) as dead:
        auth.instagram.refresh(creds, clock=emu.clock.time)
    assert dead.value.code == "190/463"
    again = auth.account_from(new, name="brand", media_host=emu.media_host)
    assert post(emu, again, "Still here") is DeliveryStatus.SENT


def test_refusals_and_round_trip(emu: InstagramEmulator, app: MetaOAuthApp) -> None:
    start = auth.instagram.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    callback = consent(start.url)
    other = auth.instagram.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    with pytest.raises(CallbackError, match="state"):
        auth.instagram.finish(other, callback, client_secret=app.client_secret)
    moved = Start.from_dict({**start.to_dict(), "redirect_uri": REDIRECT + "/x"})
    with pytest.raises(GrantRefused) as wrong_redirect:
        auth.instagram.finish(moved, callback, client_secret=app.client_secret)
    assert wrong_redirect.value.code == "100/36008"
    with pytest.raises(GrantRefused) as replayed:  # the refused attempt spent the code
        auth.instagram.finish(start, callback, client_secret=app.client_secret)
    assert replayed.value.code == "100/36009"

    start = auth.instagram.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    creds = auth.instagram.finish(start, consent(start.url), client_secret=app.client_secret)
    assert InstagramCredentials.from_dict(creds.to_dict()) == creds
    with pytest.raises(ConfigurationError, match="platform"):
        InstagramCredentials.from_dict({**creds.to_dict(), "platform": "threads"})
    token = creds.access_token.get_secret_value()
    texts = [repr(creds), str(creds), str(replayed.value), repr(replayed.value)]
    assert repr(creds).startswith("InstagramCredentials(")
    assert leaks(texts, [token, app.client_secret]) == []
