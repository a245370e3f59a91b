"""Revoking a Bluesky OAuth session (RFC 7009, as ``@atproto/oauth-provider`` serves it at
its metadata's ``revocation_endpoint``): after `brandkit.auth.bluesky.revoke` the PDS refuses
the session's access token and the authorization server its refresh token. Bluesky emulator
over a socket; the same revocation against the real PDS is in tests/pds/test_pds_oauth.py."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

import attrs
import httpx
import pytest
from pydantic import SecretStr

from brandkit import Client, DeliveryStatus, Post, RetryPolicy
from brandkit.auth import GrantRefused
from brandkit.auth import bluesky as bsky
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    PlatformUnavailable,
    RateLimited,
    Unsupported,
)
from brandkit.testing.bluesky import BlueskyEmulator

from .conftest import bluesky_session

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
EMULATOR = BlueskyEmulator  # served as the emu fixture (conftest), with USERS
USERS = ("brand.test",)
METADATA = "/.well-known/oauth-authorization-server"
REVOKE = "/oauth/revoke"


def publish(creds: bsky.BlueskyCredentials, text: str) -> Any:
    with Client(retry=FAST) as http:
        (delivery,) = http.publish(Post(text=text), bsky.account_from(creds))
    return delivery


def get_session(emu: BlueskyEmulator, creds: bsky.BlueskyCredentials) -> httpx.Response:
    """``com.atproto.server.getSession`` with the credentials' access token and a good
    proof (the current nonce): 200 while the session lives."""
    token = creds.access_token.get_secret_value()
    key = bsky.DpopKey.from_jwk(creds.dpop_key.get_secret_value())
    url = f"{emu.base_url}/xrpc/com.atproto.server.getSession"
    with httpx.Client(timeout=10) as http:
        nonce = http.get(emu.base_url + METADATA).headers["dpop-nonce"]
        proof = key.proof("GET", url, nonce=nonce, access_token=token)
        return http.get(url, headers={"authorization": f"DPoP {token}", "dpop": proof})


def raw_revoke(
    emu: BlueskyEmulator,
    data: dict[str, str],
    key: bsky.DpopKey | None = None,
) -> httpx.Response:
    """A revocation request made by hand (with a good proof of ``key``, if any)."""
    url = emu.base_url + REVOKE
    with httpx.Client(timeout=10) as http:
        headers = {}
        if key is not None:
            nonce = http.get(emu.base_url + METADATA).headers["dpop-nonce"]
            headers["dpop"] = key.proof("POST", url, nonce=nonce)
        return http.post(url, data=data, headers=headers)


def alive(emu: BlueskyEmulator, creds: bsky.BlueskyCredentials) -> bool:
    return get_session(emu, creds).status_code == 200


def test_revoke_ends_the_session(emu: BlueskyEmulator) -> None:
    """The refresh token goes to the metadata's revocation endpoint with the client id and
    a proof of the session's key; afterwards a post with the old credentials is refused
    (the PDS refuses the access token, the adapter's refresh is refused too) and so is a
    refresh."""
    creds = bluesky_session(emu)
    assert publish(creds, "before").status is DeliveryStatus.SENT

    bsky.revoke(creds)

    (sent,) = [r for r in emu.requests if r.url.path == REVOKE]
    assert str(sent.url) == emu.base_url + REVOKE
    assert dict(parse_qsl(sent.content.decode())) == {
        "token": creds.refresh_token.get_secret_value(),  # type: ignore[union-attr]
        "client_id": creds.client_id,
    }
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    claims = json.loads(bsky._b64url_decode(sent.headers["dpop"].split(".")[1]))
    assert claims["htm"] == "POST" and claims["htu"] == emu.base_url + REVOKE
    assert "ath" not in claims and claims["nonce"]

    refused = get_session(emu, creds)
    assert refused.status_code == 401
    assert refused.json() == {"error": "invalid_token", "message": "Invalid token"}
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]

    delivery = publish(creds, "after")
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, AuthError)
    assert emu.post_texts() == ["before"]

    with pytest.raises(GrantRefused) as ended:
        bsky.refresh(creds)
    assert ended.value.code == "invalid_grant"
    assert ended.value.platform_message == "Invalid refresh token"


def test_the_server_answers_as_the_provider(emu: BlueskyEmulator) -> None:
    """The emulator advertises ``{issuer}/oauth/revoke`` and answers it as the provider:
    200 ``{}`` with the DPoP nonce and no-store, for a session ended and for a token it does
    not know alike."""
    with httpx.Client(timeout=10) as http:
        meta = http.get(emu.base_url + METADATA).json()
    assert meta["revocation_endpoint"] == f"{emu.base_url}/oauth/revoke"

    creds = bluesky_session(emu)
    key = bsky.DpopKey.from_jwk(creds.dpop_key.get_secret_value())
    form = {"token": creds.refresh_token.get_secret_value(), "client_id": creds.client_id}  # type: ignore[union-attr]
    for _ in range(2):  # the second time the token is unknown
        answer = raw_revoke(emu, form, key)
        assert (answer.status_code, answer.json()) == (200, {})
        assert answer.headers["dpop-nonce"]
        assert answer.headers["cache-control"] == "no-store"
    assert not alive(emu, creds)


def test_a_revocation_that_ends_nothing_is_answered_200_as_well(emu: BlueskyEmulator) -> None:
    """The provider swallows every failure of the revocation itself (RFC 7009 §2.2): no
    proof, another key's proof, another client, an unknown token all get 200 ``{}``, and the
    session lives on. Only the request's shape and its proof are refused."""
    creds = bluesky_session(emu)
    key = bsky.DpopKey.from_jwk(creds.dpop_key.get_secret_value())
    token = creds.refresh_token.get_secret_value()  # type: ignore[union-attr]
    other_client = bsky.loopback_client("http://127.0.0.1:9999/other").client_id
    for data, proof_key in [
        ({"token": token, "client_id": creds.client_id}, None),
        ({"token": token, "client_id": creds.client_id}, bsky.DpopKey.generate()),
        ({"token": token, "client_id": other_client}, key),
        ({"token": token, "client_id": "https://unknown.example/meta.json"}, key),
        ({"token": "ref-unknown", "client_id": creds.client_id}, key),
    ]:
        answer = raw_revoke(emu, data, proof_key)
        assert (answer.status_code, answer.json()) == (200, {}), data
        assert alive(emu, creds)

    missing = raw_revoke(emu, {"token": token}, key)
    assert missing.status_code == 400 and missing.json()["error"] == "invalid_request"
    assert missing.json()["error_description"].startswith(
        "Client credentials missing: Required at body.client_id;"
    )
    no_token = raw_revoke(emu, {"client_id": creds.client_id}, key)
    assert no_token.status_code == 400
    assert no_token.json() == {
        "error": "invalid_request",
        "error_description": "Invalid request payload: Required at body.token, or "
        "Required at body.token",
    }
    with httpx.Client(timeout=10) as http:
        text = http.post(
            emu.base_url + REVOKE, content=b"token=x", headers={"content-type": "text/plain"}
        )
        stale = bsky.DpopKey.generate().proof("POST", emu.base_url + REVOKE, nonce="stale")
        no_nonce = http.post(
            emu.base_url + REVOKE,
            data={"token": token, "client_id": creds.client_id},
            headers={"dpop": stale},
        )
    assert text.status_code == 415
    assert text.json()["error_description"] == "Unsupported content-type: text/plain"
    assert no_nonce.status_code == 400 and no_nonce.json()["error"] == "use_dpop_nonce"
    assert alive(emu, creds)


def test_revoke_with_the_access_token_or_a_spent_refresh_token(emu: BlueskyEmulator) -> None:
    """Credentials without a refresh token revoke with their access token. A refresh token
    spent by a refresh still names its session (the provider keeps the spent ones), so
    credentials saved before a refresh end the newer session too."""
    creds = bluesky_session(emu)
    bsky.revoke(attrs.evolve(creds, refresh_token=None))
    sent = [r for r in emu.requests if r.url.path == REVOKE][-1]
    assert dict(parse_qsl(sent.content.decode()))["token"] == (
        creds.access_token.get_secret_value()
    )
    assert not alive(emu, creds)

    old = bluesky_session(emu)
    new = bsky.refresh(old, clock=emu.clock.time)
    assert alive(emu, new)
    bsky.revoke(old)
    assert not alive(emu, new)
    with pytest.raises(GrantRefused, match="Invalid refresh token"):
        bsky.refresh(new)


def test_an_unknown_or_revoked_token_counts_as_done(emu: BlueskyEmulator) -> None:
    creds = bluesky_session(emu)
    bsky.revoke(creds)
    bsky.revoke(creds)  # revoked already: done
    forged = attrs.evolve(creds, refresh_token=SecretStr("ref-" + "0" * 64))
    bsky.revoke(forged)  # never issued: done
    assert emu.count("POST", REVOKE) == 3


def test_a_new_nonce_is_followed(emu: BlueskyEmulator) -> None:
    creds = bluesky_session(emu)
    emu.rotate_dpop_nonce()
    emu.rotate_dpop_nonce()
    bsky.revoke(creds)
    assert emu.count("POST", REVOKE) == 2
    assert not alive(emu, creds)


@pytest.mark.parametrize(
    ("path", "status", "error"),
    [
        (REVOKE, 429, RateLimited),
        (REVOKE, 503, PlatformUnavailable),
        (METADATA, 429, RateLimited),
        (METADATA, 500, PlatformUnavailable),
    ],
)
def test_not_now_is_not_a_refusal(
    emu: BlueskyEmulator, path: str, status: int, error: type[Exception]
) -> None:
    """A 429 or a 5xx says "not now": the session may still be valid, and a later attempt
    ends it."""
    creds = bluesky_session(emu)
    method = "GET" if path == METADATA else "POST"
    emu.fault(method=method, path=path, status=status, headers={"retry-after": "7"})
    with pytest.raises(error) as raised:
        bsky.revoke(creds)
    assert not isinstance(raised.value, GrantRefused)
    if isinstance(raised.value, RateLimited):
        assert raised.value.retry_after == 7
    assert alive(emu, creds)
    bsky.revoke(creds)
    assert not alive(emu, creds)


@pytest.mark.parametrize(
    ("error", "advice"),
    [("invalid_client", "client id"), ("invalid_dpop_proof", "revoke again")],
)
def test_a_refusal_is_grant_refused_with_advice(
    emu: BlueskyEmulator, error: str, advice: str
) -> None:
    creds = bluesky_session(emu)
    body = {"error": error, "error_description": "refused here"}
    emu.fault(method="POST", path=REVOKE, status=400, body=body)
    with pytest.raises(GrantRefused) as refused:
        bsky.revoke(creds)
    assert refused.value.code == error and refused.value.status_code == 400
    assert refused.value.platform_message == "refused here"
    assert "may still be valid" in str(refused.value) and advice in str(refused.value)
    assert alive(emu, creds)


def test_a_200_that_is_not_the_servers_answer_is_malformed(emu: BlueskyEmulator) -> None:
    from brandkit.errors import MalformedResponse

    creds = bluesky_session(emu)
    emu.fault(method="POST", path=REVOKE, status=200, body=["a portal"])
    with pytest.raises(MalformedResponse, match="may still be valid"):
        bsky.revoke(creds)


def test_a_server_without_a_revocation_endpoint(emu: BlueskyEmulator) -> None:
    """Metadata without ``revocation_endpoint``: a typed error that says so, and nothing
    sent; one that is no URL (or is another server's metadata) is refused, not posted to."""
    creds = bluesky_session(emu)
    with httpx.Client(timeout=10) as http:
        meta = http.get(emu.base_url + METADATA).json()
    without = {k: v for k, v in meta.items() if k != "revocation_endpoint"}
    emu.fault(method="GET", path=METADATA, status=200, body=without)
    with pytest.raises(bsky.RevocationUnsupported) as unsupported:
        bsky.revoke(creds)
    assert isinstance(unsupported.value, Unsupported)
    assert unsupported.value.platform == "bluesky" and unsupported.value.operation == "revoke"
    assert "revocation_endpoint" in str(unsupported.value)
    assert emu.base_url in str(unsupported.value)

    for bad in ["javascript:alert(1)", "ftp://evil.example/revoke", 5]:
        emu.fault(
            method="GET", path=METADATA, status=200, body={**meta, "revocation_endpoint": bad}
        )
        with pytest.raises(bsky.ResolutionError, match="revocation_endpoint"):
            bsky.revoke(creds)
    impostor = {**meta, "issuer": "https://evil.example"}
    emu.fault(method="GET", path=METADATA, status=200, body=impostor)
    with pytest.raises(bsky.ResolutionError, match="impostor"):
        bsky.revoke(creds)
    assert emu.count("POST", REVOKE) == 0
    # A bad revocation endpoint never stood in the way of connecting.
    emu.fault(method="GET", path=METADATA, status=200, body={**meta, "revocation_endpoint": 5})
    assert bluesky_session(emu).did == creds.did
    assert alive(emu, creds)


def test_credentials_that_name_no_app_are_refused_before_any_request(
    emu: BlueskyEmulator,
) -> None:
    creds = bluesky_session(emu)
    before = len(emu.requests)
    with pytest.raises(ConfigurationError, match="client_id"):
        bsky.revoke(attrs.evolve(creds, client_id=""))
    assert len(emu.requests) == before


def test_no_secret_in_messages_or_logs(
    emu: BlueskyEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    creds = bluesky_session(emu)
    secrets = [
        creds.access_token.get_secret_value(),
        creds.refresh_token.get_secret_value(),  # type: ignore[union-attr]
        json.loads(creds.dpop_key.get_secret_value())["d"],
    ]
    texts: list[str] = []
    emu.fault(method="POST", path=REVOKE, status=429)
    emu.fault(
        method="POST",
        path=REVOKE,
        status=400,
        body={"error": "invalid_request", "error_description": "no"},
    )
    for expected in (RateLimited, GrantRefused):
        with pytest.raises(expected) as raised:
            bsky.revoke(creds)
        texts += [str(raised.value), repr(raised.value), json.dumps(raised.value.to_dict())]
    bsky.revoke(creds)
    texts.append(caplog.text)
    assert [s for s in secrets if any(s in t for t in texts)] == []


@pytest.mark.anyio
async def test_revoke_async(emu: BlueskyEmulator) -> None:
    creds = bluesky_session(emu)
    async with httpx.AsyncClient(timeout=10) as http:
        await bsky.revoke_async(creds, http=http)
        with pytest.raises(GrantRefused, match="Invalid refresh token"):
            await bsky.refresh_async(creds, http=http)
    assert not alive(emu, creds)
    emu.fault(method="POST", path=REVOKE, status=503)
    with pytest.raises(PlatformUnavailable):
        await bsky.revoke_async(creds)
