"""Bluesky OAuth against the real PDS (``@atproto/pds`` 0.5.35 and the authorization server it
embeds, ``@atproto/oauth-provider``): discovery, PAR with PKCE and DPoP, the user's sign-in
and consent, the code exchange, a post with the DPoP-bound token, refresh, and revocation.

The user's part is done in two ways. The full flow drives headless Chromium (Debian's
``chromium``; ``tests/pds/harness/browser.mjs`` speaks the DevTools protocol with Node 22's
WebSocket): the browser opens the authorization page, the password is typed into its form,
the consent button clicked, and the browser comes back to a callback server on
``127.0.0.1`` (atproto's loopback client), as ``brandkit connect bluesky`` would. The refusal
tests call the page's own API the way the page does (``~api/sign-in``, ``~api/consent``,
with the cookies and the ``Origin``/``Referer``/``Sec-Fetch-*``/CSRF headers the provider
checks), which takes a fraction of a second.

The PDS names itself ``http://localhost:<port>`` (its ``PDS_HOSTNAME``), so its DID
documents, its metadata and its DPoP ``htu`` checks use that name; it resolves to loopback.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import attrs
import httpx
import pytest
from pydantic import SecretStr

from brandkit import Client, DeliveryStatus, Post, RetryPolicy
from brandkit.auth import GrantRefused
from brandkit.auth import bluesky as bsky
from brandkit.auth._core import new_verifier
from brandkit.errors import AuthError
from tests.pds.pds_harness import HARNESS_DIR, NODE_BIN, PdsAccount, PdsServer

REDIRECT = "http://127.0.0.1:8765/callback"
API = "/@atproto/oauth-provider/~api"
FAST = RetryPolicy(initial=0.01, max_backoff=0.05, max_wait=30)
CHROMIUM = Path(os.environ.get("BRANDKIT_CHROMIUM", "/usr/bin/chromium"))
BROWSER_TIMEOUT_S = 90


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no"}


@contextmanager
def callback_server() -> Iterator[tuple[str, list[str]]]:
    """The app's loopback redirect target: answers every GET and records its path."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = b"connected: you can close this window"
            self.send_response(200)
            self.send_header("content-type", "text/plain")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/callback", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def sign_in_with_chromium(start: bsky.BlueskyStart, user: PdsAccount, redirect: str) -> str:
    """The user in a real browser: headless Chromium signs in on the PDS's page and
    approves; returns the URL the browser was sent back to."""
    if not CHROMIUM.exists():
        reason = f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium)"
        if _in_ci():
            pytest.fail(f"CI is set but {reason}", pytrace=False)
        pytest.skip(reason)
    done = subprocess.run(
        [str(NODE_BIN), str(HARNESS_DIR / "browser.mjs"), start.url, redirect],
        cwd=HARNESS_DIR,
        env={
            "PATH": f"{NODE_BIN.parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", "/tmp"),
            "CHROMIUM": str(CHROMIUM),
            "BROWSER_TIMEOUT_MS": str((BROWSER_TIMEOUT_S - 10) * 1000),
            # The password goes through the environment, never the command line.
            "BROWSER_PASSWORD": user.password,
        },
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_S,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    answer = json.loads(lines[-1]) if lines else {"error": done.stderr[-2000:]}
    assert "callback" in answer, answer
    callback: str = answer["callback"]
    return callback


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=30) as client:
        yield client


@pytest.fixture
def account(pds: PdsServer) -> PdsAccount:
    return pds.create_account("oauth")


def _cookies(response: httpx.Response, jar: dict[str, str]) -> None:
    # The provider's cookies are for the host "localhost" (and the CSRF one is Secure, which
    # browsers honour on http://localhost): http.cookiejar keeps neither, so a small jar does.
    for header in response.headers.get_list("set-cookie"):
        name, _, rest = header.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]


def sign_in_and_consent(http: httpx.Client, start: bsky.BlueskyStart, user: PdsAccount) -> str:
    """What the user does in the browser: open the authorization page, sign in, approve;
    returns the URL the browser is sent back to."""
    jar: dict[str, str] = {}
    browser = {"user-agent": "Mozilla/5.0 (X11; Linux x86_64) brandkit-tests"}
    page = http.get(
        start.url,
        headers={
            **browser,
            "sec-fetch-site": "none",
            "sec-fetch-mode": "navigate",
            "sec-fetch-dest": "document",
        },
    )
    assert page.status_code == 200, page.text[:500]
    assert "<html" in page.text.lower()
    _cookies(page, jar)
    assert {"dev-id", "ses-id", "csrf-token"} <= set(jar)

    def api(endpoint: str, body: dict[str, object]) -> dict[str, str]:
        response = http.post(
            f"{start.issuer}{API}/{endpoint}",
            json=body,
            headers={
                **browser,
                "origin": start.issuer,
                "referer": start.url,
                "sec-fetch-site": "same-origin",
                "sec-fetch-mode": "same-origin",
                "sec-fetch-dest": "empty",
                "x-csrf-token": jar["csrf-token"],
                "cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
            },
        )
        assert response.status_code == 200, response.text[:500]
        _cookies(response, jar)
        answer: dict[str, str] = response.json()
        return answer

    signed = api(
        "sign-in",
        {"locale": "en", "username": user.handle, "password": user.password, "remember": True},
    )
    assert json.loads(json.dumps(signed))["account"]["did"] == user.did
    approved = api("consent", {"did": user.did})
    back = http.get(
        approved["url"],
        headers={
            **browser,
            "referer": start.url,
            "sec-fetch-site": "same-origin",
            "sec-fetch-mode": "navigate",
            "sec-fetch-dest": "document",
            "cookie": "; ".join(f"{k}={v}" for k, v in jar.items()),
        },
    )
    assert back.status_code in (302, 303), back.text[:500]
    location: str = back.headers["location"]
    assert location.startswith(REDIRECT)
    return location


def begin(
    pds: PdsServer, http: httpx.Client, user: PdsAccount, redirect: str = REDIRECT
) -> bsky.BlueskyStart:
    client = bsky.loopback_client(redirect)
    return bsky.start(user.handle, client, plc_url=pds.plc_url, resolver=pds.base_url, http=http)


def post(http: httpx.Client, account: object, text: str) -> DeliveryStatus:
    with Client(retry=FAST, http=http) as client:
        (delivery,) = client.publish(Post(text=text), account)  # type: ignore[arg-type]
    assert delivery.status is DeliveryStatus.SENT, delivery.error
    return delivery.status


def texts(pds: PdsServer, did: str) -> list[str]:
    with pds.client() as http:
        answer = http.get(
            "/xrpc/com.atproto.repo.listRecords",
            params={"repo": did, "collection": "app.bsky.feed.post", "reverse": "true"},
        )
    answer.raise_for_status()
    return [r["value"]["text"] for r in answer.json()["records"]]


def test_full_oauth_flow_post_refresh_post(
    pds: PdsServer, http: httpx.Client, account: PdsAccount
) -> None:
    """Discovery, PAR, sign-in and consent in headless Chromium, back to the app's loopback
    callback, code exchange; a post with the DPoP-bound token; an explicit refresh; a post
    after the adapter refreshed an expired token by itself, and after the PDS refused a
    token (401 invalid_token) and the adapter refreshed and repeated the call; finally
    rotation: a spent refresh token is refused and ends the session."""
    with callback_server() as (redirect, seen):
        start = begin(pds, http, account, redirect)
        assert start.did == account.did
        assert start.issuer.startswith("http://localhost:")
        callback = sign_in_with_chromium(start, account, redirect)
    # The browser really came back to the app (Chromium may also ask it for /favicon.ico).
    assert [p for p in seen if p.startswith("/callback")] == [
        callback.removeprefix(redirect.removesuffix("/callback"))
    ]
    creds = bsky.finish(start, callback, http=http)
    assert creds.did == account.did
    assert "atproto" in creds.scopes and "transition:generic" in creds.scopes
    assert creds.expires_at is not None and creds.expires_at > time.time() + 60
    assert creds.refresh_token is not None

    changed: list[dict[str, str]] = []
    connected = bsky.account_from(
        creds, name="oauth", on_credentials_changed=lambda a, c: changed.append(dict(c))
    )
    post(http, connected, "posted with a DPoP-bound token")
    assert changed == []

    new = bsky.refresh(creds, http=http)
    assert new.access_token != creds.access_token and new.refresh_token != creds.refresh_token

    # The adapter refreshes an access token that is about to expire before using it.
    due = bsky.account_from(attrs.evolve(new, expires_at=time.time() - 1), name="due")
    post(http, due, "posted after a refresh ahead of expiry")
    # And refreshes when the PDS refuses the token (401, WWW-Authenticate invalid_token).
    latest = bsky.credentials_of(due)
    assert latest is not None and latest.refresh_token != new.refresh_token
    refused = bsky.account_from(attrs.evolve(latest, access_token=SecretStr("not-a-token")))
    post(http, refused, "posted after the PDS refused a token")
    assert texts(pds, account.did) == [
        "posted with a DPoP-bound token",
        "posted after a refresh ahead of expiry",
        "posted after the PDS refused a token",
    ]
    newest = bsky.credentials_of(refused)
    assert newest is not None and newest.refresh_token != latest.refresh_token

    # Rotation: a spent refresh token is refused as replayed, and the provider then ends the
    # whole session (two holders of one session), so the newest refresh token is dead too.
    with pytest.raises(GrantRefused) as replay:
        bsky.refresh(creds, http=http)
    assert replay.value.code == "invalid_grant"
    assert "replayed" in (replay.value.platform_message or "")
    with pytest.raises(GrantRefused) as ended:
        bsky.refresh(newest, http=http)
    assert ended.value.platform_message == "Invalid refresh token"


def test_real_server_refuses_a_replayed_code_and_a_wrong_verifier(
    pds: PdsServer, http: httpx.Client
) -> None:
    user = pds.create_account("oauth")
    start = begin(pds, http, user)
    callback = sign_in_and_consent(http, start, user)
    forged = attrs.evolve(start, verifier=SecretStr(new_verifier()))
    with pytest.raises(GrantRefused) as wrong:
        bsky.finish(forged, callback, http=http)
    assert wrong.value.code == "invalid_grant"
    # The provider spends the code on the failed attempt: it cannot be redeemed again.
    with pytest.raises(GrantRefused) as replay:
        bsky.finish(start, callback, http=http)
    assert replay.value.code == "invalid_grant"


def test_real_server_refuses_a_code_without_the_dpop_key(
    pds: PdsServer, http: httpx.Client
) -> None:
    user = pds.create_account("oauth")
    start = begin(pds, http, user)
    callback = sign_in_and_consent(http, start, user)
    thief = attrs.evolve(start, dpop_key=SecretStr(bsky.DpopKey.generate().to_jwk()))
    with pytest.raises(GrantRefused) as refused:
        bsky.finish(thief, callback, http=http)
    assert refused.value.code == "invalid_grant"


def test_real_server_checks_the_scope_on_a_post(pds: PdsServer, http: httpx.Client) -> None:
    """A session granted ``atproto`` alone can read but not post: 403 ScopeMissingError,
    the answer the emulator gives (tests/auth/test_bluesky.py)."""
    user = pds.create_account("oauth")
    narrow = bsky.loopback_client(REDIRECT, "atproto")
    start = bsky.start(user.handle, narrow, plc_url=pds.plc_url, resolver=pds.base_url, http=http)
    creds = bsky.finish(start, sign_in_and_consent(http, start, user), http=http)
    assert creds.scopes == ("atproto",)
    with Client(retry=FAST, http=http) as client:
        (delivery,) = client.publish(Post(text="not allowed"), bsky.account_from(creds))
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(delivery.error, AuthError)
    assert delivery.error.status_code == 403 and delivery.error.code == "ScopeMissingError"
    assert "repo:app.bsky.feed.post?action=create" in str(delivery.error)
    assert texts(pds, user.did) == []


def get_session(http: httpx.Client, creds: bsky.BlueskyCredentials) -> httpx.Response:
    """``com.atproto.server.getSession`` at the PDS with the credentials' access token and a
    proof of their key; once more with the PDS's nonce if it asks for a new one."""
    key = bsky.DpopKey.from_jwk(creds.dpop_key.get_secret_value())
    token = creds.access_token.get_secret_value()
    url = f"{creds.pds_url}/xrpc/com.atproto.server.getSession"
    nonce = creds.dpop_nonce
    for _ in range(2):
        proof = key.proof("GET", url, nonce=nonce, access_token=token)
        answer = http.get(url, headers={"authorization": f"DPoP {token}", "dpop": proof})
        if "use_dpop_nonce" not in answer.headers.get("www-authenticate", ""):
            break
        nonce = answer.headers.get("dpop-nonce")
    return answer


def test_real_server_revokes_a_session(pds: PdsServer, http: httpx.Client) -> None:
    """`bsky.revoke` at the real provider's ``revocation_endpoint`` ends the whole session:
    the PDS then refuses its access token (401 invalid_token), the token endpoint its
    refresh token, and a second revocation of the same session counts as done (200), the
    answers the emulator gives (tests/auth/test_bluesky_revoke.py)."""
    user = pds.create_account("oauth")
    start = begin(pds, http, user)
    creds = bsky.finish(start, sign_in_and_consent(http, start, user), http=http)
    before = get_session(http, creds)
    assert before.status_code == 200, before.text[:500]
    assert before.json()["did"] == user.did

    bsky.revoke(creds, http=http)

    after = get_session(http, creds)
    assert after.status_code == 401, after.text[:500]
    assert after.json() == {"error": "invalid_token", "message": "Invalid token"}
    assert 'error="invalid_token"' in after.headers["www-authenticate"]
    with pytest.raises(GrantRefused) as ended:
        bsky.refresh(creds, http=http)
    assert ended.value.code == "invalid_grant"
    assert ended.value.platform_message == "Invalid refresh token"
    bsky.revoke(creds, http=http)  # revoked already: done


def test_real_server_refuses_an_access_token_older_than_a_refresh(
    pds: PdsServer, http: httpx.Client
) -> None:
    """The PDS keeps OAuth tokens stateful: a refresh rotates the session's token id, so the
    access token issued before it is refused at once (401 invalid_token), unexpired as it
    is, and the new one works. The emulator answers the same
    (tests/auth/test_bluesky.py::test_an_access_token_older_than_a_refresh_is_refused)."""
    user = pds.create_account("rotated")
    start = begin(pds, http, user)
    creds = bsky.finish(start, sign_in_and_consent(http, start, user), http=http)
    assert get_session(http, creds).status_code == 200

    new = bsky.refresh(creds, http=http)

    old = get_session(http, creds)
    assert old.status_code == 401, old.text[:500]
    assert old.json() == {"error": "invalid_token", "message": "Invalid token"}
    assert get_session(http, new).status_code == 200
