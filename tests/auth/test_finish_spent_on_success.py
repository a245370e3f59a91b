"""A code the token endpoint answered with a 2xx is spent, even when the answer cannot be
used (a malformed token answer, a token that is not DPoP-bound): a second ``finish`` of the
same start is refused with `CallbackError` before anything is sent, as `_core.redeem` does
for every platform, instead of replaying the spent code. Sans-IO: no request leaves the
process."""

from __future__ import annotations

import json

import httpx
import pytest
from pydantic import SecretStr

from brandkit.auth import CallbackError, bluesky, x
from brandkit.errors import MalformedResponse

ISSUER = "https://auth.example"
CALLBACK = "http://127.0.0.1:8080/callback"


def _bluesky_start(state: str) -> bluesky.BlueskyStart:
    return bluesky.BlueskyStart(
        url=f"{ISSUER}/oauth/authorize",
        client_id="http://localhost",
        redirect_uri=CALLBACK,
        scopes=("atproto",),
        issuer=ISSUER,
        token_endpoint=f"{ISSUER}/oauth/token",
        did="did:plc:abcdefghijklmnopqrstuvwx",
        handle=None,
        pds_url="https://pds.example",
        state=SecretStr(state),
        verifier=SecretStr("v" * 43),
        dpop_key=SecretStr(bluesky.DpopKey.generate().to_jwk()),
    )


def _answer(step: object, body: dict[str, object]) -> httpx.Response:
    request = step.request  # type: ignore[attr-defined]
    return httpx.Response(200, content=json.dumps(body).encode(), request=request)


@pytest.mark.parametrize(
    "body",
    [
        {"access_token": "AT", "token_type": "Bearer", "sub": "did:plc:abcdefghijklmnopqrstuvwx"},
        {"token_type": "DPoP"},
    ],
)
def test_bluesky_second_finish_after_an_unusable_2xx_sends_nothing(
    body: dict[str, object],
) -> None:
    start = _bluesky_start("state-bsky-" + str(len(body)))
    callback = f"{CALLBACK}?state={start.state.get_secret_value()}&iss={ISSUER}&code=c"
    flow = bluesky.finish_flow(start, callback)
    step = next(flow)
    with pytest.raises(MalformedResponse):
        flow.send(_answer(step, body))
    with pytest.raises(CallbackError, match="finished already"):
        next(bluesky.finish_flow(start, callback))


def test_x_second_finish_after_an_unusable_2xx_sends_nothing() -> None:
    """The rule Bluesky's finish follows, as `_core.redeem` applies it to X."""
    start = x.start("cid", CALLBACK, ["tweet.read"])
    callback = f"{CALLBACK}?state={start.state.get_secret_value()}&code=c"
    flow = x.finish_flow(start, callback)
    step = next(flow)
    with pytest.raises(MalformedResponse):
        flow.send(_answer(step, {"token_type": "bearer"}))
    with pytest.raises(CallbackError, match="finished already"):
        next(x.finish_flow(start, callback))
