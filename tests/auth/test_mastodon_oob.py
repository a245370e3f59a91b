"""Connecting a Mastodon account out of band (redirect URI ``urn:ietf:wg:oauth:2.0:oob``),
as a CLI or a script on a server does: Mastodon redirects nowhere, it shows the user the code
(Doorkeeper's "native" page, the code alone, no state) and the user pastes it into the app.
`finish` takes that code (``code=``) for such a start only: a start that redirects has a
callback whose state must be checked."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest

from brandkit import Client, DeliveryStatus, Post, auth
from brandkit.auth import CallbackError, GrantRefused
from brandkit.auth.mastodon import OOB, AppCache, MastodonApp
from brandkit.errors import ConfigurationError
from brandkit.testing.mastodon import MastodonEmulator

from .conftest import REDIRECT

SCOPES = ["read", "write"]


@pytest.fixture
def emu() -> Iterator[MastodonEmulator]:
    emulator = MastodonEmulator()
    with emulator.serve():
        yield emulator


@pytest.fixture
def app(emu: MastodonEmulator) -> MastodonApp:
    return auth.mastodon.register_app(emu.base_url, OOB, SCOPES, "Acme CLI", cache=AppCache())


def shown_code(url: str) -> str:
    """What the user does: open the authorization URL, consent, and copy the code from the
    page Mastodon ends on."""
    with httpx.Client(timeout=10, follow_redirects=True) as http:
        page = http.get(url)
    assert page.status_code == 200, page.text
    assert "state" not in str(page.url)  # the code alone: nothing to check it against
    found = re.search(r'class="oauth-code"[^>]*value="([^"]+)"', page.text)
    assert found is not None, page.text
    return html.unescape(found.group(1))


def test_the_pasted_code_connects_and_posts(emu: MastodonEmulator, app: MastodonApp) -> None:
    start = auth.mastodon.start(app)
    code = shown_code(start.url)

    creds = auth.mastodon.finish(start, code=f"  {code}\n", client_secret=app.client_secret)

    assert creds.instance_url == emu.base_url
    assert creds.scopes == ("read", "write")
    account = auth.account_from(creds, name="acme")
    with Client() as client:
        (delivery,) = client.publish(Post(text="pasted"), account)
    assert delivery.status is DeliveryStatus.SENT, delivery.error


@pytest.mark.anyio
async def test_finish_async_takes_the_pasted_code(emu: MastodonEmulator, app: MastodonApp) -> None:
    start = auth.mastodon.start(app)
    code = shown_code(start.url)
    creds = await auth.mastodon.finish_async(start, code=code, client_secret=app.client_secret)
    assert creds.instance_url == emu.base_url


def test_a_mistyped_code_is_refused_by_the_instance(app: MastodonApp) -> None:
    start = auth.mastodon.start(app)
    shown_code(start.url)
    with pytest.raises(GrantRefused) as info:
        auth.mastodon.finish(start, code="not-the-code", client_secret=app.client_secret)
    assert info.value.code == "invalid_grant"


def test_an_empty_code_is_refused_before_any_request(
    emu: MastodonEmulator, app: MastodonApp
) -> None:
    start = auth.mastodon.start(app)
    with pytest.raises(CallbackError, match="empty"):
        auth.mastodon.finish(start, code="  ", client_secret=app.client_secret)
    assert emu.count("POST", "/oauth/token") == 0


def test_a_code_is_not_taken_for_a_start_that_redirects(emu: MastodonEmulator) -> None:
    """Its callback carries the state that ties it to this start: a bare code skips that."""
    app = auth.mastodon.register_app(
        emu.base_url, REDIRECT, SCOPES, "Acme social", cache=AppCache()
    )
    start = auth.mastodon.start(app)
    with pytest.raises(ConfigurationError, match="callback URL"):
        auth.mastodon.finish(start, code="anything", client_secret=app.client_secret)
    with pytest.raises(ConfigurationError, match="not both"):
        auth.mastodon.finish(
            start, REDIRECT + "?code=x&state=y", code="x", client_secret=app.client_secret
        )
    with pytest.raises(ConfigurationError, match="code="):
        auth.mastodon.finish(start, client_secret=app.client_secret)
    assert emu.count("POST", "/oauth/token") == 0


def test_a_refusal_out_of_band_redirects_nowhere(emu: MastodonEmulator, app: MastodonApp) -> None:
    emu.deny_consent()
    start = auth.mastodon.start(app)
    with httpx.Client(timeout=10) as http:
        page = http.get(start.url)
    assert page.status_code == 400
    assert "location" not in page.headers
