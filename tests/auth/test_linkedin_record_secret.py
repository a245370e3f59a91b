"""A stored LinkedIn record without the app's ``client_secret`` (stored with
``record_of(creds)``) cannot be refreshed: LinkedIn's refresh needs the secret. It is said
so (`expiry_of`, ``accounts list``, `refresh_due`: "not refreshable", with what to do),
and its refresh token is not sent with an empty secret to come back as a 401 that says
"connect again". LinkedIn emulator over a socket."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from brandkit import auth
from brandkit.auth import EncryptedStore
from brandkit.testing.linkedin import LinkedInEmulator

from .conftest import REDIRECT, consent

SCOPES = ["w_organization_social", "rw_organization_admin"]


@pytest.fixture
def emu() -> Iterator[LinkedInEmulator]:
    emulator = LinkedInEmulator()
    with emulator.serve():
        yield emulator


def test_a_record_without_the_secret_is_not_refreshable(
    emu: LinkedInEmulator, store: EncryptedStore
) -> None:
    app = emu.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES, refresh_tokens=True)
    start = auth.linkedin.start(app.client_id, REDIRECT, SCOPES, base_url=emu.base_url)
    creds = auth.linkedin.finish(start, consent(start.url), client_secret=app.client_secret)
    record = {**auth.record_of(creds, author="urn:li:organization:1"), "expires_at": 0.0}
    store.put("li", record)

    expiry = auth.expiry_of(record)
    assert not expiry.refreshable and "client_secret" in expiry.why
    assert auth.refresh_due(store) == {"li": "not refreshable"}
    assert emu.count("POST", r"/oauth/v2/accessToken") == 1  # the code exchange only

    store.put("li", {**record, "client_secret": app.client_secret})
    assert auth.refresh_due(store) == {"li": "refreshed"}
