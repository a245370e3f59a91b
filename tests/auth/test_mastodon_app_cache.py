"""A cached Mastodon app the instance no longer knows (deleted by its admin, the instance
rebuilt) is found by `register_app`, forgotten and registered again, once; before, the
cache handed it out for ever and every authorization ended on the instance's
``invalid_client`` page, which brandkit never sees. The check changes nothing on the
instance: a revocation of no token, which Doorkeeper answers 200 for a known client and
403 for an unknown one. Mastodon emulator over a socket."""

from __future__ import annotations

import httpx
import pytest

from brandkit import auth
from brandkit.auth.mastodon import AppCache
from brandkit.testing.mastodon import MastodonEmulator

from .conftest import REDIRECT, consent

SCOPES = ["read", "write"]


def authorize(emu: MastodonEmulator, cache: AppCache) -> str:
    app = auth.mastodon.register_app(emu.base_url, REDIRECT, SCOPES, "Acme", cache=cache)
    start = auth.mastodon.start(app)
    with httpx.Client(timeout=10) as http:
        if http.get(start.url, follow_redirects=False).status_code != 302:
            raise AssertionError("the instance refused the authorization (invalid_client)")
    creds = auth.mastodon.finish(start, consent(start.url), client_secret=app.client_secret)
    return creds.client_id


def test_a_cached_app_the_instance_forgot_is_registered_again(masto: MastodonEmulator) -> None:
    cache = AppCache()
    first = authorize(masto, cache)
    assert authorize(masto, cache) == first  # known: the cached app, no new registration
    assert masto.count("POST", r"/api/v1/apps") == 1

    del masto._apps[first]  # the instance's admin deleted the app
    second = authorize(masto, cache)
    assert second != first
    assert masto.count("POST", r"/api/v1/apps") == 2
    (app,) = AppCache.from_dict(cache.to_dict()).to_dict()["apps"]
    assert app["client_id"] == second
    assert authorize(masto, cache) == second


@pytest.mark.anyio
async def test_async_registration_checks_the_cached_app_too(masto: MastodonEmulator) -> None:
    cache = AppCache()
    app = await auth.mastodon.register_app_async(
        masto.base_url, REDIRECT, SCOPES, "Acme", cache=cache
    )
    del masto._apps[app.client_id]
    again = await auth.mastodon.register_app_async(
        masto.base_url, REDIRECT, SCOPES, "Acme", cache=cache
    )
    assert again.client_id != app.client_id and again.client_id in masto._apps
