"""Connecting a Bluesky account with OAuth (issue 15): discovery, PAR, PKCE and DPoP against
the Bluesky emulator over a socket; posting with the DPoP-bound token, its expiry on the
emulator clock, refresh rotation, and every way a callback, a code or a proof is refused."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs
import httpx
import pytest
from pydantic import SecretStr

from brandkit import Account, Client, DeliveryStatus, Post, RetryPolicy
from brandkit._flow import run_flow
from brandkit.auth import CallbackError, ConsentDenied, GrantRefused
from brandkit.auth import bluesky as bsky
from brandkit.auth._core import new_verifier
from brandkit.errors import AuthError, ConfigurationError
from brandkit.testing.bluesky import BlueskyEmulator

from .conftest import forget_finished

FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
REDIRECT = "http://127.0.0.1:8765/callback"
EMULATOR = BlueskyEmulator  # served as the emu fixture (conftest), with USERS
USERS = ("brand.test",)


@pytest.fixture
def client() -> bsky.ClientMetadata:
    return bsky.loopback_client(REDIRECT)


def begin(emu: BlueskyEmulator, client: bsky.ClientMetadata) -> bsky.BlueskyStart:
    return bsky.start("brand.test", client, plc_url=emu.base_url, resolver=emu.base_url)


def consent(url: str, redirect: str = REDIRECT) -> str:
    """What the user's browser does: open the authorization URL and come back to the
    redirect it answers with (the emulated user consents at once)."""
    with httpx.Client(timeout=10) as http:
        response = http.get(url, follow_redirects=False)
    assert response.status_code == 302, response.text
    location: str = response.headers["location"]
    assert location.startswith(redirect)
    return location


def connect(emu: BlueskyEmulator, client: bsky.ClientMetadata) -> bsky.BlueskyCredentials:
    start = begin(emu, client)
    return bsky.finish(start, consent(start.url), clock=emu.clock.time)


def post(account: Account, text: str) -> DeliveryStatus:
    with Client(retry=FAST) as http:
        (delivery,) = http.publish(Post(text=text), account)
    return delivery.status


def test_connect_post_expire_refresh_post(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    """The whole life of a connected account: connect, post with the DPoP-bound token, the
    token expires an hour later on the emulator clock, the adapter refreshes it (the refresh
    token rotates, same DPoP key), post again."""
    creds = connect(emu, client)
    assert creds.did == emu.user("brand.test").did
    assert creds.pds_url == emu.base_url and creds.issuer == emu.base_url
    assert creds.scopes == ("atproto", "transition:generic")
    assert creds.expires_at == pytest.approx(emu.clock.time() + 3600, abs=5)
    changed: list[dict[str, str]] = []
    account = bsky.account_from(
        creds, name="brand", on_credentials_changed=lambda a, c: changed.append(dict(c))
    )
    assert post(account, "connected with OAuth") is DeliveryStatus.SENT
    create = [r for r in emu.requests if r.url.path.endswith("createRecord")][-1]
    assert create.headers["authorization"] == f"DPoP {creds.access_token.get_secret_value()}"
    assert create.headers["dpop"].count(".") == 2

    emu.clock.advance(timedelta(hours=1, minutes=1))
    assert post(account, "still connected") is DeliveryStatus.SENT
    assert emu.post_texts() == ["connected with OAuth", "still connected"]
    assert len(changed) == 1
    assert changed[0]["oauth_access_token"] != creds.access_token.get_secret_value()
    assert changed[0]["oauth_refresh_token"] != creds.refresh_token.get_secret_value()  # type: ignore[union-attr]
    # The spent refresh token is refused: rotation.
    with pytest.raises(GrantRefused) as refused:
        bsky.refresh(creds)
    assert refused.value.code == "invalid_grant"


def test_refresh_rotates_and_keeps_the_key(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    creds = connect(emu, client)
    new = bsky.refresh(creds, clock=emu.clock.time)
    assert new.access_token != creds.access_token
    assert new.refresh_token != creds.refresh_token
    assert new.dpop_key == creds.dpop_key and new.did == creds.did
    newer = bsky.refresh(new)
    assert newer.refresh_token != new.refresh_token
    with pytest.raises(GrantRefused, match="replayed"):
        bsky.refresh(new)
    # A replayed refresh token means two holders: the whole session ends, as on the real
    # server (tests/pds/test_pds_oauth.py), so the newest tokens are dead too.
    with pytest.raises(GrantRefused, match="Invalid refresh token"):
        bsky.refresh(newer)
    key = bsky.DpopKey.from_jwk(newer.dpop_key.get_secret_value())
    token = newer.access_token.get_secret_value()
    url = f"{emu.base_url}/xrpc/com.atproto.server.getSession"
    proof = key.proof("GET", url, nonce=_nonce(emu), access_token=token)
    assert _xrpc(emu, {"authorization": f"DPoP {token}", "dpop": proof}).status_code == 401


def test_an_access_token_older_than_a_refresh_is_refused(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    """The PDS keeps its tokens stateful: a refresh rotates the session's token id, so the
    access token issued before it is refused at once, unexpired as it is, with the PDS's
    answer (tests/pds/test_pds_oauth.py checks the real server does this); the new one
    works."""

    def session(creds: bsky.BlueskyCredentials) -> httpx.Response:
        key = bsky.DpopKey.from_jwk(creds.dpop_key.get_secret_value())
        token = creds.access_token.get_secret_value()
        url = f"{emu.base_url}/xrpc/com.atproto.server.getSession"
        proof = key.proof("GET", url, nonce=_nonce(emu), access_token=token)
        return _xrpc(emu, {"authorization": f"DPoP {token}", "dpop": proof})

    creds = connect(emu, client)
    assert session(creds).status_code == 200
    new = bsky.refresh(creds, clock=emu.clock.time)
    old = session(creds)
    assert old.status_code == 401
    assert old.json() == {"error": "invalid_token", "message": "Invalid token"}
    assert session(new).status_code == 200


def test_a_refresh_needs_the_key_the_session_is_bound_to(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    creds = connect(emu, client)
    thief = attrs.evolve(creds, dpop_key=SecretStr(bsky.DpopKey.generate().to_jwk()))
    with pytest.raises(GrantRefused, match="JKT"):
        bsky.refresh(thief)
    assert bsky.refresh(creds).did == creds.did  # the refusal spent nothing


def test_replayed_code_is_refused(emu: BlueskyEmulator, client: bsky.ClientMetadata) -> None:
    """A second finish in this process is refused before anything is sent (the spent code
    never leaves again); from another process, the PDS refuses the spent code."""
    start = begin(emu, client)
    callback = consent(start.url)
    bsky.finish(start, callback)
    exchanges = emu.count("POST", r"/oauth/token")
    with pytest.raises(CallbackError, match="finished already") as again:
        bsky.finish(bsky.BlueskyStart.from_dict(start.to_dict()), callback)
    assert not isinstance(again.value, GrantRefused)
    assert emu.count("POST", r"/oauth/token") == exchanges
    forget_finished()  # as another process, which knows nothing of the first finish
    with pytest.raises(GrantRefused) as refused:
        bsky.finish(start, callback)
    assert refused.value.code == "invalid_grant"
    assert refused.value.platform_message == "Invalid code"


def test_stolen_code_without_the_dpop_key_is_refused(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    """A code redeemed with another key than the one the request was pushed with (a thief
    with the code and even the verifier, but not the key) is refused."""
    start = begin(emu, client)
    callback = consent(start.url)
    thief = attrs.evolve(start, dpop_key=SecretStr(bsky.DpopKey.generate().to_jwk()))
    with pytest.raises(GrantRefused, match="JKT"):
        bsky.finish(thief, callback)


def test_wrong_verifier_is_refused(emu: BlueskyEmulator, client: bsky.ClientMetadata) -> None:
    start = begin(emu, client)
    callback = consent(start.url)
    forged = attrs.evolve(start, verifier=SecretStr(new_verifier()))
    with pytest.raises(GrantRefused) as refused:
        bsky.finish(forged, callback)
    assert refused.value.platform_message == "Invalid code_verifier"


def test_wrong_state_is_refused_before_any_request(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    start = begin(emu, client)
    callback = consent(start.url)
    params = dict(parse_qsl(urlsplit(callback).query))
    params["state"] = "forged"
    before = len(emu.requests)
    with pytest.raises(CallbackError, match="state"):
        bsky.finish(start, f"{REDIRECT}?{urlencode(params)}")
    assert len(emu.requests) == before


def test_callback_from_another_server_is_refused(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    """RFC 9207: a callback whose ``iss`` is not the server the request went to is a mix-up."""
    start = begin(emu, client)
    params = dict(parse_qsl(urlsplit(consent(start.url)).query))
    params["iss"] = "https://evil.example"
    with pytest.raises(CallbackError, match=r"evil\.example"):
        bsky.finish(start, f"{REDIRECT}?{urlencode(params)}")


def test_callback_without_iss_is_refused(emu: BlueskyEmulator, client: bsky.ClientMetadata) -> None:
    """atproto servers always name themselves: a callback without ``iss`` was cut short or
    forged, and its code is not redeemed."""
    start = begin(emu, client)
    params = dict(parse_qsl(urlsplit(consent(start.url)).query))
    del params["iss"]
    before = len(emu.requests)
    with pytest.raises(CallbackError, match="no 'iss'"):
        bsky.finish(start, f"{REDIRECT}?{urlencode(params)}")
    assert len(emu.requests) == before


def test_wrong_redirect_is_refused(emu: BlueskyEmulator, client: bsky.ClientMetadata) -> None:
    start = begin(emu, client)
    callback = consent(start.url)
    other = attrs.evolve(start, redirect_uri="http://127.0.0.1:8765/other")
    with pytest.raises(GrantRefused, match="redirect_uri"):
        bsky.finish(other, callback)


def test_unregistered_redirect_is_refused_at_the_pushed_request(emu: BlueskyEmulator) -> None:
    app = emu.oauth_app(redirect_uri="https://app.example/callback")
    wrong = bsky.ClientMetadata(app.client_id, ("https://evil.example/callback",))
    with pytest.raises(GrantRefused) as refused:
        bsky.start("brand.test", wrong, plc_url=emu.base_url, resolver=emu.base_url)
    assert refused.value.code == "invalid_request"
    right = bsky.ClientMetadata(app.client_id, app.redirect_uris)
    start = bsky.start("brand.test", right, plc_url=emu.base_url, resolver=emu.base_url)
    creds = bsky.finish(start, consent(start.url, "https://app.example/callback"))
    assert creds.client_id == app.client_id


def test_denied_consent(emu: BlueskyEmulator, client: bsky.ClientMetadata) -> None:
    emu.deny_consent()
    start = begin(emu, client)
    with pytest.raises(ConsentDenied):
        bsky.finish(start, consent(start.url))


def test_code_expires_on_the_emulator_clock(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    start = begin(emu, client)
    callback = consent(start.url)
    emu.clock.advance(61)
    with pytest.raises(GrantRefused, match="expired"):
        bsky.finish(start, callback)


def _xrpc(emu: BlueskyEmulator, headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(timeout=10) as http:
        return http.get(f"{emu.base_url}/xrpc/com.atproto.server.getSession", headers=headers)


def _nonce(emu: BlueskyEmulator) -> str:
    with httpx.Client(timeout=10) as http:
        nonce: str = http.get(f"{emu.base_url}/.well-known/oauth-authorization-server").headers[
            "dpop-nonce"
        ]
    return nonce


def test_bad_dpop_proofs_are_refused_at_the_pds(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    creds = connect(emu, client)
    token = creds.access_token.get_secret_value()
    key = bsky.DpopKey.from_jwk(creds.dpop_key.get_secret_value())
    url = f"{emu.base_url}/xrpc/com.atproto.server.getSession"
    nonce = _nonce(emu)

    good = key.proof("GET", url, nonce=nonce, access_token=token)
    ok = _xrpc(emu, {"authorization": f"DPoP {token}", "dpop": good})
    assert ok.status_code == 200 and ok.json()["did"] == creds.did

    def refused(headers: dict[str, str]) -> tuple[str, str]:
        response = _xrpc(emu, headers)
        assert response.status_code == 401
        return response.json()["error"], response.headers["www-authenticate"]

    # The same proof again: a replay.
    error, _ = refused({"authorization": f"DPoP {token}", "dpop": good})
    assert error == "invalid_dpop_proof"
    # Another key than the token's.
    other = bsky.DpopKey.generate().proof("GET", url, nonce=nonce, access_token=token)
    assert refused({"authorization": f"DPoP {token}", "dpop": other})[0] == (
        "invalid_dpop_key_binding"
    )
    # A proof for another URL, or without the token's hash.
    post_proof = key.proof("POST", url, nonce=nonce, access_token=token)
    assert refused({"authorization": f"DPoP {token}", "dpop": post_proof})[0] == (
        "invalid_dpop_proof"
    )
    no_ath = key.proof("GET", url, nonce=nonce)
    assert refused({"authorization": f"DPoP {token}", "dpop": no_ath})[0] == "invalid_dpop_proof"
    # A tampered signature.
    head, body, sig = key.proof("GET", url, nonce=nonce, access_token=token).split(".")
    claims = json.loads(bsky._b64url_decode(body))
    claims["htm"] = "GET"
    claims["jti"] = "forged"
    tampered = f"{head}.{bsky._b64url(json.dumps(claims).encode())}.{sig}"
    assert refused({"authorization": f"DPoP {token}", "dpop": tampered})[0] == (
        "invalid_dpop_proof"
    )
    # No nonce: the PDS asks for one, in the header too.
    error, challenge = refused(
        {"authorization": f"DPoP {token}", "dpop": key.proof("GET", url, access_token=token)}
    )
    assert error == "use_dpop_nonce" and 'error="use_dpop_nonce"' in challenge
    # No proof at all.
    assert refused({"authorization": f"DPoP {token}"})[0] == "invalid_dpop_proof"


def test_bad_dpop_proof_at_the_token_endpoint_is_a_typed_error(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    start = begin(emu, client)
    callback = consent(start.url)
    code = dict(parse_qsl(urlsplit(callback).query))["code"]
    key = bsky.DpopKey.from_jwk(start.dpop_key.get_secret_value())
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": start.redirect_uri,
        "code_verifier": start.verifier.get_secret_value(),
        "client_id": start.client_id,
    }
    wrong_url = key.proof("POST", f"{emu.base_url}/oauth/par", nonce=_nonce(emu))
    with httpx.Client(timeout=10) as http:
        answer = http.post(start.token_endpoint, data=form, headers={"dpop": wrong_url})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_dpop_proof"
    # The refusal spent nothing: the code still works with a good proof.
    assert bsky.finish(start, callback).did == start.did


def test_nonce_rotation_is_followed(emu: BlueskyEmulator, client: bsky.ClientMetadata) -> None:
    """Servers rotate DPoP nonces; a proof with a stale one is answered with the new nonce
    and the request is made once more, at the token endpoint and at the PDS."""
    creds = connect(emu, client)
    account = bsky.account_from(creds)
    assert post(account, "one") is DeliveryStatus.SENT
    emu.rotate_dpop_nonce()
    emu.rotate_dpop_nonce()
    creates = len([r for r in emu.requests if r.url.path.endswith("createRecord")])
    assert post(account, "two") is DeliveryStatus.SENT
    assert len([r for r in emu.requests if r.url.path.endswith("createRecord")]) == creates + 2
    assert emu.post_texts() == ["one", "two"]
    emu.rotate_dpop_nonce()
    emu.rotate_dpop_nonce()
    tokens = len([r for r in emu.requests if r.url.path == "/oauth/token"])
    assert bsky.refresh(creds).did == creds.did
    assert len([r for r in emu.requests if r.url.path == "/oauth/token"]) == tokens + 2


def test_discovery_checks_the_handle_and_the_did_document(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    with pytest.raises(bsky.ResolutionError, match="resolves to no account"):
        bsky.start("nobody.test", client, plc_url=emu.base_url, resolver=emu.base_url)
    did = emu.user("brand.test").did
    start = bsky.start(did, client, plc_url=emu.base_url)
    assert start.did == did and start.handle is None
    with pytest.raises(ConfigurationError, match="handle"):
        bsky.start("not a handle", client, plc_url=emu.base_url)


def test_loopback_client_rules() -> None:
    client = bsky.loopback_client(["http://127.0.0.1/cb", "http://[::1]:9/cb"], "atproto")
    assert client.loopback
    assert client.client_id == (
        "http://localhost?redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb"
        "&redirect_uri=http%3A%2F%2F%5B%3A%3A1%5D%3A9%2Fcb&scope=atproto"
    )
    with pytest.raises(ConfigurationError, match="localhost"):
        bsky.loopback_client("http://localhost:8000/cb")
    with pytest.raises(ConfigurationError, match="atproto"):
        bsky.loopback_client(REDIRECT, "transition:generic")
    web = bsky.ClientMetadata(
        "https://app.example/client-metadata.json", ("https://app.example/cb",)
    )
    doc = web.document()
    assert doc["dpop_bound_access_tokens"] is True
    assert doc["token_endpoint_auth_method"] == "none"
    assert doc["client_id"] == web.client_id


def test_nothing_secret_in_reprs_and_round_trips(
    emu: BlueskyEmulator, client: bsky.ClientMetadata, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    start = begin(emu, client)
    logged = caplog.text
    callback = consent(start.url)  # the user's browser: its own log lines are not brandkit's
    caplog.clear()
    creds = bsky.finish(bsky.BlueskyStart.from_dict(start.to_dict()), callback)
    logged += caplog.text
    key = bsky.DpopKey.from_jwk(creds.dpop_key.get_secret_value())
    secrets = [
        start.state.get_secret_value(),
        start.verifier.get_secret_value(),
        json.loads(start.dpop_key.get_secret_value())["d"],
        creds.access_token.get_secret_value(),
        creds.refresh_token.get_secret_value(),  # type: ignore[union-attr]
        dict(parse_qsl(urlsplit(callback).query))["code"],
    ]
    texts = [repr(start), str(start), repr(creds), str(creds), repr(key), logged]
    texts.append(repr(bsky.account_from(creds)))
    assert [s for s in secrets if any(s in t for t in texts)] == []
    again = bsky.BlueskyCredentials.from_dict(json.loads(json.dumps(creds.to_dict())))
    assert again == creds
    with pytest.raises(ConfigurationError) as bad:
        bsky.BlueskyCredentials.from_dict({**creds.to_dict(), "access_token": 5})
    assert "access_token" in str(bad.value)
    assert creds.access_token.get_secret_value() not in str(bad.value)
    with pytest.raises(ConfigurationError, match="platform"):
        bsky.BlueskyCredentials.from_dict({**creds.to_dict(), "platform": "x"})


@pytest.mark.anyio
async def test_async_flow(emu: BlueskyEmulator, client: bsky.ClientMetadata) -> None:
    start = await bsky.start_async(
        "brand.test", client, plc_url=emu.base_url, resolver=emu.base_url
    )
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(start.url)
    creds = await bsky.finish_async(start, response.headers["location"])
    new = await bsky.refresh_async(creds)
    assert new.did == creds.did


def test_an_app_password_account_still_uses_its_session(emu: BlueskyEmulator) -> None:
    account = emu.account(name="legacy")
    assert post(account, "app password") is DeliveryStatus.SENT
    create = [r for r in emu.requests if r.url.path.endswith("createRecord")][-1]
    assert create.headers["authorization"].startswith("Bearer ")
    assert "dpop" not in create.headers


def _discovery(
    doc: Mapping[str, object] | None = None, server: Mapping[str, object] | None = None
) -> Any:
    """A responder for `run_flow`: one account at PDS https://pds.example."""
    did = "did:plc:" + "a" * 24

    def respond(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("resolveHandle"):
            return httpx.Response(200, json={"did": did})
        if path == f"/{did}":
            return httpx.Response(
                200,
                json=doc
                or {
                    "id": did,
                    "alsoKnownAs": ["at://brand.example"],
                    "service": [
                        {
                            "id": "#atproto_pds",
                            "type": "AtprotoPersonalDataServer",
                            "serviceEndpoint": "https://pds.example",
                        }
                    ],
                },
            )
        if path == "/.well-known/oauth-protected-resource":
            return httpx.Response(200, json={"authorization_servers": ["https://auth.example"]})
        if path == "/.well-known/oauth-authorization-server":
            return httpx.Response(
                200,
                json=server
                or {
                    "issuer": "https://auth.example",
                    "authorization_endpoint": "https://auth.example/oauth/authorize",
                    "token_endpoint": "https://auth.example/oauth/token",
                    "pushed_authorization_request_endpoint": "https://auth.example/oauth/par",
                    "dpop_signing_alg_values_supported": ["ES256"],
                },
            )
        if path == "/oauth/par":
            return httpx.Response(201, json={"request_uri": "urn:x", "expires_in": 60})
        return httpx.Response(404)

    return respond


def test_discovery_refuses_what_does_not_add_up(client: bsky.ClientMetadata) -> None:
    """Each link of handle → DID → PDS → authorization server is checked (no I/O)."""

    def flow() -> Any:
        return bsky.start_flow("brand.example", client, resolver="https://resolver.example")

    start = run_flow(flow(), _discovery())
    assert start.pds_url == "https://pds.example" and start.issuer == "https://auth.example"
    assert start.url.startswith("https://auth.example/oauth/authorize?client_id=")
    did = "did:plc:" + "a" * 24
    other_handle = {"id": did, "alsoKnownAs": ["at://someone.else"], "service": []}
    with pytest.raises(bsky.ResolutionError, match="does not claim"):
        run_flow(flow(), _discovery(doc=other_handle))
    no_pds = {"id": did, "alsoKnownAs": ["at://brand.example"], "service": []}
    with pytest.raises(bsky.ResolutionError, match="names no PDS"):
        run_flow(flow(), _discovery(doc=no_pds))
    impostor = {
        "issuer": "https://evil.example",
        "authorization_endpoint": "https://evil.example/a",
        "token_endpoint": "https://evil.example/t",
        "pushed_authorization_request_endpoint": "https://evil.example/p",
    }
    with pytest.raises(bsky.ResolutionError, match="impostor"):
        run_flow(flow(), _discovery(server=impostor))
    with pytest.raises(bsky.ResolutionError, match="path"):
        run_flow(bsky.start_flow("did:web:example.com:user", client), _discovery())


@pytest.mark.anyio
async def test_async_client_posts_and_refreshes_with_oauth(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    from brandkit import AsyncClient

    creds = connect(emu, client)
    stored: list[dict[str, Any]] = []
    account = bsky.account_from(
        creds,
        on_credentials_changed=lambda a, c: stored.append(bsky.credentials_of(a).to_dict()),  # type: ignore[union-attr]
    )
    emu.clock.advance(timedelta(hours=2))
    async with AsyncClient(retry=FAST) as http:
        (delivery,) = await http.publish(Post(text="async and refreshed"), account)
    assert delivery.status is DeliveryStatus.SENT
    assert emu.post_texts() == ["async and refreshed"]
    # What the hook stored is a whole, working session: it refreshes again.
    (saved,) = stored
    again = bsky.BlueskyCredentials.from_dict(saved)
    assert again.expires_at is not None and again.expires_at > creds.expires_at  # type: ignore[operator]
    assert bsky.refresh(again).did == creds.did


def test_scopes_are_checked_on_later_calls(emu: BlueskyEmulator) -> None:
    """A session granted ``atproto`` alone may read but not post: the PDS answers 403
    ScopeMissingError naming the scope (checked against the real PDS in tests/pds)."""
    narrow = bsky.loopback_client(REDIRECT, "atproto")
    start = bsky.start("brand.test", narrow, plc_url=emu.base_url, resolver=emu.base_url)
    creds = bsky.finish(start, consent(start.url))
    assert creds.scopes == ("atproto",)
    with Client(retry=FAST) as http:
        (delivery,) = http.publish(Post(text="not allowed"), bsky.account_from(creds))
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, AuthError)
    assert delivery.error.status_code == 403 and delivery.error.code == "ScopeMissingError"
    assert "repo:app.bsky.feed.post?action=create" in str(delivery.error)
    assert emu.post_texts() == []


def test_a_repeated_request_gets_a_fresh_proof(
    emu: BlueskyEmulator, client: bsky.ClientMetadata
) -> None:
    """The driver repeats an idempotent request as it was after a dropped connection; its
    DPoP proof was already seen, so the PDS refuses it as replayed, and the adapter sends
    it once more with a fresh proof."""
    account = bsky.account_from(connect(emu, client))
    with Client(retry=FAST) as http:
        (delivery,) = http.publish(Post(text="to be deleted"), account)
        emu.fault(method="POST", path=r"/xrpc/com\.atproto\.repo\.deleteRecord", drop="after")
        http.delete(delivery)
    assert emu.post_texts() == []
    deletes = [r for r in emu.requests if r.url.path.endswith("deleteRecord")]
    assert len(deletes) == 3
    assert deletes[0].headers["dpop"] == deletes[1].headers["dpop"]  # the driver's repeat
    assert deletes[2].headers["dpop"] != deletes[1].headers["dpop"]  # the adapter's new proof
