"""Two finishes of one authorization at the same time in one process (an async web app
whose callback is hit twice at once: a double click, a browser's prefetch; two threads of
a threaded server) send its code once: the first claims the authorization before its
request goes out, the other is refused with `AuthorizationFinished` while the first is in
flight, and may try again if the first failed. Before, the guard knew only finished
exchanges, so both sent the code. X emulator over a socket."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from brandkit import auth
from brandkit.auth import AuthorizationFinished, GrantRefused
from brandkit.testing.x import XEmulator

from .conftest import REDIRECT, X_SCOPES, consent

TOKEN = r"/2/oauth2/token"


def test_two_async_finishes_at_once_send_the_code_once(x_emu: XEmulator) -> None:
    app = x_emu.oauth_app(redirect_uri=REDIRECT)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    callback = consent(start.url)

    async def both() -> list[object]:
        return await asyncio.gather(
            *(
                auth.x.finish_async(start, callback, client_secret=app.client_secret)
                for _ in range(2)
            ),
            return_exceptions=True,
        )

    results = asyncio.run(both())
    assert sorted(type(r).__name__ for r in results) == ["AuthorizationFinished", "XCredentials"]
    assert x_emu.count("POST", TOKEN) == 1


def test_a_finish_while_another_is_in_flight_is_refused(x_emu: XEmulator) -> None:
    """The first exchange is made by hand with its request out (the flow stopped at its
    request); a second finish meanwhile sends nothing. The first then completes."""
    app = x_emu.oauth_app(redirect_uri=REDIRECT)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    callback = consent(start.url)
    first = auth.x.finish_flow(start, callback, client_secret=app.client_secret)
    step = next(first)
    with pytest.raises(AuthorizationFinished, match="being finished"):
        auth.x.finish(start, callback, client_secret=app.client_secret)
    assert x_emu.count("POST", TOKEN) == 0
    with httpx.Client() as http:
        answer = http.send(step.request)
    with pytest.raises(StopIteration) as done:
        first.send(answer)
    assert isinstance(done.value.value, auth.XCredentials)
    with pytest.raises(AuthorizationFinished):
        auth.x.finish(start, callback, client_secret=app.client_secret)
    assert x_emu.count("POST", TOKEN) == 1


def test_a_finish_that_failed_in_flight_can_be_tried_again(x_emu: XEmulator) -> None:
    app = x_emu.oauth_app(redirect_uri=REDIRECT)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    callback = consent(start.url)
    with pytest.raises(GrantRefused):
        auth.x.finish(start, callback, client_secret="wrong")
    # A flow dropped at its request (its driver gave up) lets go of its claim too.
    dropped = auth.x.finish_flow(start, callback, client_secret=app.client_secret)
    next(dropped)
    dropped.close()
    creds = auth.x.finish(start, callback, client_secret=app.client_secret)
    assert creds.access_token.get_secret_value()
