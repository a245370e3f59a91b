"""A refused token request says what to do about it: wrong app credentials
(``invalid_client``, ``unauthorized_client``) are fixed in the app's settings, and
connecting again with the same client id and secret would be refused the same way; a
spent or expired code or refresh token (``invalid_grant``) is fixed by connecting again.
Against the emulators over a socket."""

from __future__ import annotations

import pytest

from brandkit import auth
from brandkit.auth import CallbackError, ConsentDenied, GrantRefused
from brandkit.testing.linkedin import LinkedInEmulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.x import XEmulator

from .conftest import REDIRECT, consent, forget_finished

X_SCOPES = ["tweet.read", "tweet.write", "users.read", "offline.access"]


def test_x_wrong_client_secret_says_to_check_the_app_credentials() -> None:
    emu = XEmulator()
    with emu.serve():
        app = emu.oauth_app(redirect_uri=REDIRECT, scopes=X_SCOPES)
        start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=emu.base_url)
        with pytest.raises(GrantRefused) as refused:
            auth.x.finish(start, consent(start.url), client_secret="not-the-secret")
    assert refused.value.code == "unauthorized_client"
    message = str(refused.value)
    assert "client id and secret" in message
    assert "start the authorization again" not in message
    assert "not-the-secret" not in message


def test_linkedin_wrong_client_secret_says_to_check_the_app_credentials() -> None:
    emu = LinkedInEmulator()
    with emu.serve():
        scopes = ["w_member_social"]
        app = emu.oauth_app(redirect_uri=REDIRECT, scopes=scopes)
        start = auth.linkedin.start(app.client_id, REDIRECT, scopes, base_url=emu.base_url)
        with pytest.raises(GrantRefused) as refused:
            auth.linkedin.finish(start, consent(start.url), client_secret="not-the-secret")
    assert refused.value.code == "invalid_client"
    assert "client id and secret" in str(refused.value)


def test_mastodon_wrong_client_secret_says_to_check_the_app_credentials() -> None:
    emu = MastodonEmulator()
    with emu.serve():
        app = auth.mastodon.register_app(
            emu.base_url, REDIRECT, ["read"], "Acme", cache=auth.mastodon.AppCache()
        )
        start = auth.mastodon.start(app)
        with pytest.raises(GrantRefused) as refused:
            auth.mastodon.finish(start, consent(start.url), client_secret="not-the-secret")
    assert refused.value.code == "invalid_client"
    assert "client id and secret" in str(refused.value)


def test_a_spent_code_still_says_to_start_again() -> None:
    emu = XEmulator()
    with emu.serve():
        app = emu.oauth_app(redirect_uri=REDIRECT, scopes=X_SCOPES)
        start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=emu.base_url)
        callback = consent(start.url)
        auth.x.finish(start, callback, client_secret=app.client_secret)
        forget_finished()  # another process: this one refuses a second finish itself
        with pytest.raises(GrantRefused) as refused:
            auth.x.finish(start, callback, client_secret=app.client_secret)
    assert "start the authorization again" in str(refused.value)


def test_a_scope_the_app_may_not_ask_for_says_so_in_the_callback_error() -> None:
    """X and Mastodon send ``invalid_scope`` back to the callback, LinkedIn its own
    ``unauthorized_scope_error``: the error says to ask only for the app's scopes."""
    x = XEmulator()
    linkedin = LinkedInEmulator()
    with x.serve(), linkedin.serve():
        app = x.oauth_app(redirect_uri=REDIRECT, scopes=X_SCOPES)
        start = auth.x.start(app.client_id, REDIRECT, ["dm.write"], base_url=x.base_url)
        with pytest.raises(CallbackError) as x_refused:
            auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
        li_app = linkedin.oauth_app(redirect_uri=REDIRECT, scopes=["w_member_social"])
        li_start = auth.linkedin.start(
            li_app.client_id, REDIRECT, ["rw_organization_admin"], base_url=linkedin.base_url
        )
        with pytest.raises(CallbackError) as li_refused:
            auth.linkedin.finish(
                li_start, consent(li_start.url), client_secret=li_app.client_secret
            )
    assert x_refused.value.code == "invalid_scope"
    assert li_refused.value.code == "unauthorized_scope_error"
    for refused in (x_refused, li_refused):
        assert not isinstance(refused.value, ConsentDenied)
        assert "scopes the app is allowed" in str(refused.value)
