"""A LinkedIn token answer that is not in the shape brandkit reads (a wrong-typed
``refresh_token_expires_in``) is a `MalformedResponse` naming the field, never quoting the
answer (it carries tokens); `refresh_due` reports it for that account and goes on with the
others. No request leaves the process (the answers come from a mock transport)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from brandkit import auth
from brandkit.auth import EncryptedStore, LinkedInCredentials, linkedin
from brandkit.auth.store import new_key
from brandkit.errors import MalformedResponse

NEW_ACCESS = "AT-NEW-SECRET-0123456789"
NEW_REFRESH = "RT-NEW-SECRET-0123456789"
BAD = (
    b'{"access_token":"' + NEW_ACCESS.encode() + b'","expires_in":5184000,'
    b'"refresh_token":"' + NEW_REFRESH.encode() + b'","refresh_token_expires_in":"31536000"}'
)
BASE = "http://127.0.0.1:9"


def creds(refresh: str = "RT-OLD-SECRET") -> LinkedInCredentials:
    return LinkedInCredentials(
        access_token=SecretStr("AT-OLD-SECRET"),
        refresh_token=SecretStr(refresh),
        expires_at=0.0,
        refresh_expires_at=None,
        scopes=("w_member_social",),
        client_id="cid",
        base_url=BASE,
    )


def answer_bad(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=BAD, headers={"content-type": "application/json"})


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(transport=httpx.MockTransport(answer_bad)) as client:
        yield client


def test_refresh_with_a_wrong_typed_field_is_malformed_response(http: httpx.Client) -> None:
    with pytest.raises(MalformedResponse) as info:
        linkedin.refresh(creds(), client_secret="s", http=http)
    exc = info.value
    text = f"{exc} {exc.to_dict()} {exc.body}"
    assert "refresh_token_expires_in" in str(exc)
    assert exc.platform == "linkedin"
    for secret in (NEW_ACCESS, NEW_REFRESH, "31536000"):
        assert secret not in text
    assert exc.__cause__ is None and exc.__suppress_context__


def test_finish_flow_with_a_wrong_typed_field_is_malformed_response() -> None:
    start = linkedin.start("cid", "http://127.0.0.1:1/callback", ["w_member_social"], base_url=BASE)
    state = start.state.get_secret_value()
    flow = linkedin.finish_flow(
        start, f"http://127.0.0.1:1/callback?state={state}&code=c", client_secret="s"
    )
    step = next(flow)
    with pytest.raises(MalformedResponse, match="refresh_token_expires_in") as info:
        flow.send(httpx.Response(200, content=BAD, request=step.request))
    assert NEW_ACCESS not in str(info.value) and NEW_REFRESH not in str(info.value)


def test_refresh_due_reports_it_and_goes_on(tmp_path: Path, http: httpx.Client) -> None:
    """Each LinkedIn account's failure is reported as an outcome; none escapes."""
    with EncryptedStore(tmp_path / "credentials.db", key=new_key()) as store:
        for key in ("a", "b"):
            store.put(
                key,
                auth.record_of(creds(f"RT-{key}"), client_secret="s", author="urn:li:person:x"),
            )
        outcomes = auth.refresh_due(store, force=True, http=http)
        assert set(outcomes) == {"a", "b"}
        for outcome in outcomes.values():
            assert outcome.startswith("failed: MalformedResponse:"), outcome
            assert NEW_ACCESS not in outcome and NEW_REFRESH not in outcome
        assert (store.get("a") or {})["refresh_token"] == "RT-a"
