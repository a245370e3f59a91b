"""An authorization finished once is not finished again in this process: the second
``finish`` of one start (the same object, or `Start.from_dict` of it: a callback handler
run twice, a reloaded page) is refused with `CallbackError` before anything is sent,
rather than sending the spent code to the platform (OAuth 2 servers should revoke what a
replayed code issued). A finish that failed spends nothing: it can be tried again.
LinkedIn, Threads, X and Mastodon emulators over a socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import auth
from brandkit.auth import CallbackError, GrantRefused, Start
from brandkit.auth.mastodon import AppCache
from brandkit.testing.linkedin import LinkedInEmulator
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.threads import ThreadsEmulator
from brandkit.testing.x import XEmulator

from .conftest import REDIRECT, X_SCOPES, consent

LI_SCOPES = ["w_organization_social", "rw_organization_admin"]
TH_SCOPES = ["threads_basic", "threads_content_publish"]


@pytest.fixture
def linkedin() -> Iterator[LinkedInEmulator]:
    emu = LinkedInEmulator()
    with emu.serve():
        yield emu


def test_linkedin_refuses_a_second_finish_before_sending_it(linkedin: LinkedInEmulator) -> None:
    app = linkedin.oauth_app(redirect_uri=REDIRECT, scopes=LI_SCOPES)
    start = auth.linkedin.start(app.client_id, REDIRECT, LI_SCOPES, base_url=linkedin.base_url)
    callback = consent(start.url)
    assert auth.linkedin.finish(start, callback, client_secret=app.client_secret).access_token
    for again in (start, Start.from_dict(start.to_dict())):
        with pytest.raises(CallbackError, match="finished already") as info:
            auth.linkedin.finish(again, callback, client_secret=app.client_secret)
        assert not isinstance(info.value, GrantRefused)
        assert start.state.get_secret_value() not in str(info.value)
    assert linkedin.count("POST", r"/oauth/v2/accessToken") == 1


def test_a_failed_finish_can_be_tried_again(linkedin: LinkedInEmulator) -> None:
    app = linkedin.oauth_app(redirect_uri=REDIRECT, scopes=LI_SCOPES)
    start = auth.linkedin.start(app.client_id, REDIRECT, LI_SCOPES, base_url=linkedin.base_url)
    callback = consent(start.url)
    with pytest.raises(GrantRefused):
        auth.linkedin.finish(start, callback, client_secret="wrong")
    assert auth.linkedin.finish(start, callback, client_secret=app.client_secret).access_token


def test_threads_refuses_a_second_finish_before_sending_it() -> None:
    emu = ThreadsEmulator()
    with emu.serve():
        app = emu.oauth_app(redirect_uri=REDIRECT, scopes=TH_SCOPES)
        start = auth.threads.start(app.client_id, REDIRECT, TH_SCOPES, base_url=emu.base_url)
        callback = consent(start.url)
        auth.threads.finish(start, callback, client_secret=app.client_secret)
        sent = len(emu.requests)
        with pytest.raises(CallbackError, match="finished already"):
            auth.threads.finish(start, callback, client_secret=app.client_secret)
        assert len(emu.requests) == sent


def test_x_and_mastodon_refuse_a_second_finish_too(
    x_emu: XEmulator, masto: MastodonEmulator
) -> None:
    """With PKCE the platform refuses a replay as well, but a spent code sent again is the
    same replay: refused here, before it is sent."""
    x_app = x_emu.oauth_app(redirect_uri=REDIRECT)
    start = auth.x.start(x_app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    callback = consent(start.url)
    auth.x.finish(start, callback, client_secret=x_app.client_secret)
    with pytest.raises(CallbackError, match="finished already"):
        auth.x.finish(start, callback, client_secret=x_app.client_secret)
    assert x_emu.count("POST", r"/2/oauth2/token") == 1

    app = auth.mastodon.register_app(
        masto.base_url, REDIRECT, "read write", "Acme", cache=AppCache()
    )
    start = auth.mastodon.start(app)
    callback = consent(start.url)
    auth.mastodon.finish(start, callback, client_secret=app.client_secret)
    with pytest.raises(CallbackError, match="finished already"):
        auth.mastodon.finish(start, callback, client_secret=app.client_secret)
    assert masto.count("POST", r"/oauth/token") == 1
