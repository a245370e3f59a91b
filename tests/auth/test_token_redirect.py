"""A token endpoint that answers with a redirect: the caller's own httpx client may follow
redirects, but a token request's form (the code, the refresh token, the client secret) is
never sent on to the address the redirect names."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from brandkit import auth
from brandkit.errors import BrandkitError
from brandkit.testing.mastodon import MastodonEmulator
from brandkit.testing.x import XEmulator

from .conftest import REDIRECT, X_SCOPES, consent


@pytest.mark.parametrize("status", [307, 308])
def test_a_refresh_redirected_elsewhere_sends_nothing_there(
    x_emu: XEmulator, masto: MastodonEmulator, status: int
) -> None:
    app = x_emu.oauth_app(redirect_uri=REDIRECT, scopes=X_SCOPES)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    creds = auth.x.finish(start, consent(start.url), client_secret=app.client_secret)
    x_emu.fault(
        method="POST",
        path="/2/oauth2/token",
        status=status,
        body={},
        headers={"Location": f"{masto.base_url}/steal"},
        times=5,
    )
    with httpx.Client(follow_redirects=True) as http, pytest.raises(BrandkitError):
        auth.x.refresh(creds, client_secret=app.client_secret, http=http)

    async def arefresh() -> None:
        async with httpx.AsyncClient(follow_redirects=True) as http:
            await auth.x.refresh_async(creds, client_secret=app.client_secret, http=http)

    with pytest.raises(BrandkitError):
        asyncio.run(arefresh())
    assert masto.requests == []  # another server: nothing reached it
