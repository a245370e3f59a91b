"""A LinkedIn refresh answer without ``refresh_token_expires_in`` keeps the refresh token's
expiry brandkit already knew: LinkedIn's refresh token lives 365 days from the first
authorization and a refresh never extends it, so an answer that leaves the lifetime out
says nothing new about it (reading it as "never expires" kept a dead token listed as
refreshable). The answers come from a mock transport: no request leaves the process."""

from __future__ import annotations

import json

import httpx
from pydantic import SecretStr

from brandkit.auth import LinkedInCredentials, linkedin

BASE = "http://127.0.0.1:9"
NOW = 1_800_000_000.0
KNOWN = NOW + 200 * 86_400.0


def creds() -> LinkedInCredentials:
    return LinkedInCredentials(
        access_token=SecretStr("AT-OLD"),
        refresh_token=SecretStr("RT-SAME"),
        expires_at=NOW - 1,
        refresh_expires_at=KNOWN,
        scopes=("w_member_social",),
        client_id="cid",
        base_url=BASE,
    )


def answering(body: dict[str, object]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body)

    return httpx.Client(transport=httpx.MockTransport(handler))


def test_a_refresh_answer_without_the_refresh_lifetime_keeps_the_known_one() -> None:
    answer = {"access_token": "AT-NEW", "expires_in": 5_184_000, "refresh_token": "RT-SAME"}
    with answering(answer) as http:
        new = linkedin.refresh(creds(), client_secret="s", http=http, clock=lambda: NOW)
    assert new.access_token.get_secret_value() == "AT-NEW"
    assert new.refresh_expires_at == KNOWN
    assert json.loads(json.dumps(new.to_dict()))["refresh_expires_at"] == KNOWN


def test_a_refresh_answer_with_the_refresh_lifetime_uses_it() -> None:
    answer = {
        "access_token": "AT-NEW",
        "expires_in": 5_184_000,
        "refresh_token": "RT-SAME",
        "refresh_token_expires_in": 100 * 86_400,
    }
    with answering(answer) as http:
        new = linkedin.refresh(creds(), client_secret="s", http=http, clock=lambda: NOW)
    assert new.refresh_expires_at == NOW + 100 * 86_400
