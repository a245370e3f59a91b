"""A start without a ``state`` finishes nothing: the state is what ties the callback to the
browser that began the authorization, and an empty one would match every callback that
carries none (a forged one, CSRF). A saved start with an empty state is refused when it is
read back, and a start made by hand with one is refused before the code is sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from brandkit import auth
from brandkit.auth import CallbackError, Start
from brandkit.errors import ConfigurationError
from brandkit.testing.linkedin import LinkedInEmulator

from .conftest import REDIRECT

SCOPES = ["w_member_social"]


@pytest.fixture
def linkedin() -> Iterator[LinkedInEmulator]:
    emulator = LinkedInEmulator()
    with emulator.serve():
        yield emulator


def test_a_saved_start_with_an_empty_state_is_refused(linkedin: LinkedInEmulator) -> None:
    start = auth.linkedin.start("app", REDIRECT, SCOPES, base_url=linkedin.base_url)
    with pytest.raises(ConfigurationError, match="state"):
        Start.from_dict({**start.to_dict(), "state": ""})


def test_a_start_without_state_sends_no_code(linkedin: LinkedInEmulator) -> None:
    app = linkedin.oauth_app(redirect_uri=REDIRECT, scopes=SCOPES)
    start = auth.linkedin.start(app.client_id, REDIRECT, SCOPES, base_url=linkedin.base_url)
    stateless = Start(
        platform=start.platform,
        url=start.url,
        client_id=start.client_id,
        redirect_uri=start.redirect_uri,
        scopes=start.scopes,
        token_url=start.token_url,
        state=SecretStr(""),
        verifier=None,
        api_base=start.api_base,
    )
    before = linkedin.count("POST", "/oauth/v2/accessToken")
    with pytest.raises(CallbackError):
        auth.linkedin.finish(
            stateless, f"{REDIRECT}?code=forged-code", client_secret=app.client_secret
        )
    assert linkedin.count("POST", "/oauth/v2/accessToken") == before
