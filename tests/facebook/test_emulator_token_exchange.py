"""The Facebook emulator's long-lived exchange (``GET /oauth/access_token`` with
``grant_type=fb_exchange_token``) judges the token it is given as every Graph call judges
one: a token Meta invalidated is code 190 subcode 460 (what brandkit reads as "log in
again: the password changed"), an expired one 190/463 saying when it expired."""

from __future__ import annotations

from datetime import timedelta

import httpx

from brandkit.testing.facebook import FacebookEmulator


def _exchange(emu: FacebookEmulator, url: str, token: str) -> dict[str, object]:
    app = emu.oauth_app(redirect_uri="https://app.test/cb", scopes="pages_manage_posts")
    params = {
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "grant_type": "fb_exchange_token",
        "fb_exchange_token": token,
    }
    with httpx.Client(base_url=url) as http:
        got = http.get(f"/{emu.version}/oauth/access_token", params=params)
    assert got.status_code == 400, got.text
    error: dict[str, object] = got.json()["error"]
    return error


def test_exchanging_an_invalidated_token_says_it_was_invalidated() -> None:
    emu = FacebookEmulator()
    with emu.serve() as url:
        token = str(emu.account(tokens="user").secret("user_token"))
        emu.revoke_tokens("user")
        err = _exchange(emu, url, token)
    assert (err["code"], err.get("error_subcode")) == (190, 460)
    assert "session has been invalidated" in str(err["message"])


def test_exchanging_an_expired_token_says_when_it_expired() -> None:
    emu = FacebookEmulator()
    with emu.serve() as url:
        token = str(emu.account(tokens="user").secret("user_token"))
        emu.clock.advance(timedelta(days=61))
        err = _exchange(emu, url, token)
    assert (err["code"], err.get("error_subcode")) == (190, 463)
    assert "Session has expired on " in str(err["message"])
    assert "The current time is " in str(err["message"])
