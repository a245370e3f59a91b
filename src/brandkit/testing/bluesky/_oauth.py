"""The Bluesky emulator's OAuth authorization server and DPoP-bound resource checks, as the
reference ``@atproto/oauth-provider`` (0.22) and the PDS that embeds it answer.

Served (mixed into `BlueskyEmulator`):

* ``GET /.well-known/oauth-protected-resource`` and ``/.well-known/oauth-authorization-server``
  (the PDS is its own authorization server, as a self-hosted PDS is);
* ``GET /did:plc:…``: a PLC directory for the emulated accounts (``plc_url=emu.base_url``);
* ``POST /oauth/par``: pushed authorization requests (PKCE S256 and a DPoP proof required; the
  request is bound to the proof's key);
* ``GET /oauth/authorize``: the emulated user (the PAR's ``login_hint``, else `consent_as`)
  consents at once: 302 to the redirect URI with ``code``, ``state`` and ``iss``
  (`deny_consent` scripts ``error=access_denied``);
* ``POST /oauth/token``: ``authorization_code`` (single-use codes, PKCE verifier, redirect URI
  and DPoP key checked) and ``refresh_token`` (rotation: a refresh token works once, and a
  spent one used again ends the whole session, as the provider does);
* ``POST /oauth/revoke`` (RFC 7009, the metadata's ``revocation_endpoint``): a refresh token
  (current or spent) or the session's newest access token, sent by the client the session
  was issued to with a proof of its DPoP key, ends the whole session: the PDS then refuses
  its access token (401 ``invalid_token`` "Invalid token") and the token endpoint its refresh
  tokens (400 ``invalid_grant`` "Invalid refresh token"). As the provider, it answers 200
  ``{}`` whenever the request and its proof pass their checks, whether or not a session
  ended (an unknown token, another client, another key, no proof at all), and 400
  ``invalid_request`` (a missing ``client_id`` or ``token``), 400 ``invalid_dpop_proof`` or
  ``use_dpop_nonce`` (the proof), or 415 (neither a form nor JSON) otherwise;
* XRPC calls with ``Authorization: DPoP <token>`` (the session's newest access token: a
  refresh makes the older ones invalid at once, as the PDS's stateful tokens do) and a
  proof (``ath``, ``htm``, ``htu``, ``jti`` not seen before, ``iat`` fresh, the current
  nonce, the key the token is bound to);
  a repository write needs ``transition:generic`` (or ``repo:<collection>``): with
  ``atproto`` alone it is refused with 403 ``ScopeMissingError``, as the PDS does.

DPoP nonces: every answer carries ``DPoP-Nonce``; a proof without the current (or the
previous) nonce is refused with ``use_dpop_nonce`` (400 at the token endpoints, 401 with
``WWW-Authenticate: DPoP error="use_dpop_nonce"`` at XRPC). `rotate_dpop_nonce` moves to a
new one. Token lifetimes run on the emulator clock; proofs are stamped by the client's real
clock, so their ``iat`` is checked against real time (advancing the emulator clock expires
tokens, not proofs).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs
import httpx

from brandkit.testing._emulator import Clock, Emulator, pkce_s256, route

__all__ = ["BlueskyOAuthApp", "OAuthServerMixin"]

CODE_TTL = 60.0
"""How long an authorization code may wait to be redeemed (seconds, emulator clock)."""
PAR_TTL = 300.0
"""How long a pushed request may wait for the user (the provider's PAR_EXPIRES_IN)."""
ACCESS_TTL = 3600.0
"""Access-token lifetime (the provider's TOKEN_MAX_AGE: 60 minutes)."""
REFRESH_TTL = 14 * 86400.0
"""A public client's session: two weeks."""
PROOF_MAX_AGE = 10.0
PROOF_TOLERANCE = 180.0
"""A proof's ``iat`` may be ``PROOF_MAX_AGE`` old, with ``PROOF_TOLERANCE`` of clock skew."""
_ALGS = "ES256"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _compact(data: Any) -> bytes:
    """JSON as the PDS writes it: Express's ``res.json`` is ``JSON.stringify``, without
    spaces and without escaping non-ASCII."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


@attrs.frozen
class BlueskyOAuthApp:
    """A client registered with `OAuthServerMixin.oauth_app`: its client id (the URL its
    metadata document would be served at) and redirect URIs."""

    client_id: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    client_secret: None = None


@attrs.define
class _Pushed:
    client_id: str
    redirect_uri: str
    scope: str
    state: str | None
    challenge: str
    jkt: str
    login_hint: str | None
    expires_at: float


@attrs.define
class _Grant:
    client_id: str
    redirect_uri: str
    scope: str
    challenge: str
    jkt: str
    did: str
    expires_at: float


@attrs.define
class _OAuthSession:
    did: str
    client_id: str
    scope: str
    jkt: str
    expires_at: float
    revoked: bool = False
    access: str = ""
    """The newest access token: the provider's token id rotates with each refresh, so an
    older access token no longer names the session (revocation finds it by this one)."""


@attrs.define
class _Access:
    session: _OAuthSession
    expires_at: float


class _Bad(Exception):
    """An OAuth refusal: ``error`` and its description, answered in the endpoint's shape."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _thumbprint(jwk: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        {"crv": jwk["crv"], "kty": jwk["kty"], "x": jwk["x"], "y": jwk["y"]},
        separators=(",", ":"),
    )
    return _b64url(hashlib.sha256(canonical.encode()).digest())


def _verify_es256(jwk: Mapping[str, Any], signing_input: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

    if len(signature) != 64:
        return False
    x = int.from_bytes(_b64url_decode(str(jwk["x"])), "big")
    y = int.from_bytes(_b64url_decode(str(jwk["y"])), "big")
    try:
        key = ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
        der = encode_dss_signature(
            int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
        )
        key.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True


def _loopback_metadata(client_id: str) -> tuple[tuple[str, ...], str]:
    """The redirect URIs and scope of an ``http://localhost?…`` client id, as the provider
    derives them (atproto-loopback-client-id)."""
    rest = client_id.removeprefix("http://localhost").removeprefix("/")
    if rest and not rest.startswith("?"):
        raise _Bad("invalid_client", f'Invalid loopback client id "{client_id}"')
    uris: list[str] = []
    scope = "atproto"
    for key, value in parse_qsl(rest.removeprefix("?"), keep_blank_values=True):
        if key == "redirect_uri":
            parts = urlsplit(value)
            if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "::1"):
                raise _Bad("invalid_client", f'Invalid "redirect_uri" query parameter: {value}')
            uris.append(value)
        elif key == "scope":
            scope = value
        else:
            raise _Bad("invalid_client", f'Unexpected query parameter "{key}"')
    if "atproto" not in scope.split():
        raise _Bad("invalid_client", 'ATProto Loopback ClientID must include "atproto" scope')
    return tuple(uris or ("http://127.0.0.1/", "http://[::1]/")), scope


def _redirect_matches(allowed: str, asked: str) -> bool:
    """RFC 8252 §7.3 as the provider applies it: exact, except that a loopback URI
    registered without a port matches any port."""
    if allowed == asked:
        return True
    a, b = urlsplit(allowed), urlsplit(asked)
    if a.hostname in ("127.0.0.1", "::1", "localhost") and a.port is None:
        return (a.scheme, a.hostname, a.path, a.query) == (b.scheme, b.hostname, b.path, b.query)
    return False


class OAuthServerMixin:
    """The authorization server and DPoP checks of `BlueskyEmulator` (see the module)."""

    # Provided by BlueskyEmulator / Emulator.
    clock: Clock
    lock: Any
    users: dict[str, Any]
    _consent_refused: Callable[[], bool]

    def _oauth_init(self) -> None:
        self.consent_as: str | None = None
        self.oauth_access_ttl = ACCESS_TTL
        self._oauth_apps: dict[str, BlueskyOAuthApp] = {}
        self._pushed: dict[str, _Pushed] = {}
        self._grants: dict[str, _Grant] = {}
        self._spent_codes: set[str] = set()
        self._oauth_tokens: dict[str, _Access] = {}
        self._oauth_refresh: dict[str, _OAuthSession] = {}
        self._spent_refresh: dict[str, _OAuthSession] = {}
        self._seen_jti: dict[str, float] = {}
        self._nonces = [secrets.token_urlsafe(16)]

    # -- test helpers --------------------------------------------------------------------------

    def oauth_app(
        self,
        *,
        redirect_uri: str | Sequence[str],
        scopes: str | Sequence[str] = ("atproto", "transition:generic"),
        client_id: str | None = None,
    ) -> BlueskyOAuthApp:
        """Register a web client whose metadata document the emulated server "fetched":
        ``client_id`` (default ``https://app.example/client-metadata.json``) with these
        redirect URIs and scopes. Loopback clients (``http://localhost?…``) need no
        registration, as on the real server."""
        uris = (redirect_uri,) if isinstance(redirect_uri, str) else tuple(redirect_uri)
        wanted = tuple(scopes.split()) if isinstance(scopes, str) else tuple(scopes)
        app = BlueskyOAuthApp(
            client_id or f"https://app{len(self._oauth_apps) or ''}.example/client-metadata.json",
            uris,
            wanted,
        )
        with self.lock:
            self._oauth_apps[app.client_id] = app
        return app

    def rotate_dpop_nonce(self) -> str:
        """Move to a new DPoP nonce (the previous one stays good for one more rotation, as
        the provider's rolling nonces do); returns it."""
        with self.lock:
            self._nonces = [secrets.token_urlsafe(16), self._nonces[0]]
            return self._nonces[0]

    def expire_oauth_tokens(self) -> None:
        """Make every OAuth access token expired now (refresh tokens stay good)."""
        with self.lock:
            now = self.clock.time()
            for access in self._oauth_tokens.values():
                access.expires_at = min(access.expires_at, now - 1)

    @property
    def oauth_codes_outstanding(self) -> int:
        """Authorization codes issued and not yet redeemed."""
        with self.lock:
            return len(self._grants)

    # -- shapes ---------------------------------------------------------------------------------

    def _issuer(self, request: httpx.Request) -> str:
        return f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"

    def _oauth_json(self, data: Any, status: int = 200) -> httpx.Response:
        return httpx.Response(
            status,
            content=_compact(data),
            headers={
                "content-type": "application/json; charset=utf-8",
                "cache-control": "no-store",
                "dpop-nonce": self._nonces[0],
            },
        )

    def _oauth_error(self, bad: _Bad) -> httpx.Response:
        return self._oauth_json(
            {"error": bad.error, "error_description": bad.description}, status=bad.status
        )

    def rate_limit_headers(self, request: httpx.Request) -> dict[str, str]:
        """A DPoP-authenticated XRPC answer carries the current nonce, as the PDS's."""
        if request.headers.get("dpop"):
            return {"DPoP-Nonce": self._nonces[0]}
        return {}

    # -- discovery ------------------------------------------------------------------------------

    @route("GET", r"/\.well-known/oauth-protected-resource")
    def _protected_resource(self, request: httpx.Request) -> httpx.Response:
        issuer = self._issuer(request)
        return self._oauth_json(
            {
                "resource": issuer,
                "authorization_servers": [issuer],
                "scopes_supported": [],
                "bearer_methods_supported": ["header"],
                "resource_documentation": "https://atproto.com",
            }
        )

    @route("GET", r"/\.well-known/oauth-authorization-server")
    def _server_metadata(self, request: httpx.Request) -> httpx.Response:
        issuer = self._issuer(request)
        return self._oauth_json(
            {
                "issuer": issuer,
                "scopes_supported": [
                    "atproto",
                    "transition:email",
                    "transition:generic",
                    "transition:chat.bsky",
                ],
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "code_challenge_methods_supported": ["S256"],
                "authorization_response_iss_parameter_supported": True,
                "authorization_endpoint": f"{issuer}/oauth/authorize",
                "token_endpoint": f"{issuer}/oauth/token",
                "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
                "revocation_endpoint": f"{issuer}/oauth/revoke",
                "pushed_authorization_request_endpoint": f"{issuer}/oauth/par",
                "require_pushed_authorization_requests": True,
                "dpop_signing_alg_values_supported": [_ALGS],
                "protected_resources": [issuer],
                "client_id_metadata_document_supported": True,
            }
        )

    @route("GET", r"/(?P<did>did:plc:[a-z2-7]{24})")
    def _plc_document(self, request: httpx.Request, did: str) -> httpx.Response:
        user = self.users.get(did)
        if user is None:
            return self._oauth_json({"message": f"DID not registered: {did}"}, status=404)
        return self._oauth_json(
            {
                "@context": ["https://www.w3.org/ns/did/v1"],
                "id": did,
                "alsoKnownAs": [f"at://{user.handle}"],
                "verificationMethod": [],
                "service": [
                    {
                        "id": "#atproto_pds",
                        "type": "AtprotoPersonalDataServer",
                        "serviceEndpoint": self._issuer(request),
                    }
                ],
            }
        )

    # -- DPoP -----------------------------------------------------------------------------------

    def _check_proof(
        self, request: httpx.Request, access_token: str | None, *, required: bool = True
    ) -> str:
        """The JWK thumbprint of the request's valid DPoP proof.

        Raises:
            _Bad: no proof, a bad one (``invalid_dpop_proof``), or no current nonce
                (``use_dpop_nonce``).
        """
        proofs = request.headers.get_list("dpop")
        if not proofs:
            raise _Bad("invalid_dpop_proof", "DPoP proof required")
        if len(proofs) != 1 or not proofs[0]:
            raise _Bad("invalid_dpop_proof", "DPoP header must contain a single proof")
        parts = proofs[0].split(".")
        try:
            if len(parts) != 3:
                raise ValueError("not a JWT")
            header = json.loads(_b64url_decode(parts[0]))
            payload = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
            jwk = header["jwk"]
            if not isinstance(payload, dict) or not isinstance(jwk, dict):
                raise ValueError("not an object")
        except (ValueError, KeyError, TypeError):
            raise _Bad("invalid_dpop_proof", "Failed to verify DPoP proof: Invalid JWT") from None
        if header.get("typ") != "dpop+jwt":
            raise _Bad("invalid_dpop_proof", 'Failed to verify DPoP proof: unexpected "typ"')
        if header.get("alg") != "ES256" or jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            raise _Bad("invalid_dpop_proof", "Failed to verify DPoP proof: unsupported key")
        if "d" in jwk:
            raise _Bad("invalid_dpop_proof", "Failed to verify DPoP proof: private key in jwk")
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        if not _verify_es256(jwk, signing_input, signature):
            raise _Bad(
                "invalid_dpop_proof", "Failed to verify DPoP proof: signature verification failed"
            )
        iat = payload.get("iat")
        now = time.time()
        if not isinstance(iat, int | float) or not (
            now - PROOF_MAX_AGE - PROOF_TOLERANCE <= iat <= now + PROOF_TOLERANCE
        ):
            raise _Bad("invalid_dpop_proof", 'Failed to verify DPoP proof: "iat" claim invalid')
        jti = payload.get("jti")
        if not isinstance(jti, str) or not jti:
            raise _Bad("invalid_dpop_proof", 'DPoP "jti" missing')
        if payload.get("htm") != request.method:
            raise _Bad("invalid_dpop_proof", 'DPoP "htm" mismatch')
        htu = payload.get("htu")
        url = request.url
        expected = f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}"
        if not isinstance(htu, str) or _htu(htu) != expected:
            raise _Bad("invalid_dpop_proof", 'DPoP "htu" mismatch')
        nonce = payload.get("nonce")
        if nonce is None:
            raise _Bad("use_dpop_nonce", "Authorization server requires nonce in DPoP proof")
        if nonce not in self._nonces:
            raise _Bad("use_dpop_nonce", 'DPoP "nonce" mismatch')
        ath = payload.get("ath")
        if access_token is not None:
            want = _b64url(hashlib.sha256(access_token.encode()).digest())
            if ath != want:
                raise _Bad("invalid_dpop_proof", 'DPoP "ath" mismatch')
        elif ath is not None:
            raise _Bad("invalid_dpop_proof", 'DPoP "ath" claim not allowed')
        # Replay: a jti is good once while its proof could still be accepted.
        for old, seen in list(self._seen_jti.items()):
            if seen < now - PROOF_MAX_AGE - 2 * PROOF_TOLERANCE:
                del self._seen_jti[old]
        if jti in self._seen_jti:
            raise _Bad("invalid_dpop_proof", "DPoP proof replayed")
        self._seen_jti[jti] = now
        return _thumbprint(jwk)

    def _dpop_user(self, request: httpx.Request) -> str | httpx.Response:
        """The DID a DPoP-bound XRPC call acts for, or the PDS's 401 answer."""
        token = request.headers.get("authorization", "").partition(" ")[2].strip()
        try:
            access = self._oauth_tokens.get(token)
            jkt = self._check_proof(request, token)
            # The PDS keeps its tokens stateful: a refresh rotates the session's token id,
            # so an older access token names nothing any more, expired or not.
            if access is None or access.session.revoked or access.session.access != token:
                raise _Bad("invalid_token", "Invalid token")
            if access.expires_at <= self.clock.time():
                raise _Bad("invalid_token", "Token expired")
            if jkt != access.session.jkt:
                raise _Bad("invalid_dpop_key_binding", "DPoP proof does not match the token")
        except _Bad as bad:
            challenge = f'DPoP algs="{_ALGS}", error="{bad.error}", '
            challenge += f'error_description="{bad.description.replace(chr(34), "")}"'
            return httpx.Response(
                401,
                content=_compact({"error": bad.error, "message": bad.description}),
                headers={
                    "content-type": "application/json; charset=utf-8",
                    "www-authenticate": challenge,
                    "dpop-nonce": self._nonces[0],
                },
            )
        missing = _missing_scope(request, access.session.scope)
        if missing is not None:
            return httpx.Response(
                403,
                content=_compact(
                    {"error": "ScopeMissingError", "message": f'Missing required scope "{missing}"'}
                ),
                headers={"content-type": "application/json; charset=utf-8"},
            )
        return access.session.did

    # -- authorization --------------------------------------------------------------------------

    def _client(self, client_id: str) -> tuple[tuple[str, ...], str]:
        if client_id == "http://localhost" or client_id.startswith("http://localhost"):
            return _loopback_metadata(client_id)
        app = self._oauth_apps.get(client_id)
        if app is None:
            raise _Bad("invalid_client", f'Unable to obtain client metadata for "{client_id}"')
        return app.redirect_uris, " ".join(app.scopes)

    def _form(self, request: httpx.Request) -> dict[str, str]:
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise _Bad("invalid_request", "Unsupported content type")
        return dict(parse_qsl(request.content.decode(), keep_blank_values=True))

    @route("POST", r"/oauth/par")
    def _par(self, request: httpx.Request) -> httpx.Response:
        try:
            form = self._form(request)
            client_id = form.get("client_id", "")
            uris, allowed = self._client(client_id)
            jkt = self._check_proof(request, None)
            if form.get("response_type") != "code":
                raise _Bad("invalid_request", 'Invalid "response_type"')
            redirect = form.get("redirect_uri", "")
            if not any(_redirect_matches(u, redirect) for u in uris):
                raise _Bad("invalid_request", f"Invalid redirect_uri {redirect}")
            if form.get("code_challenge_method") != "S256" or not form.get("code_challenge"):
                raise _Bad("invalid_request", "code_challenge with S256 is required")
            scope = form.get("scope") or "atproto"
            if "atproto" not in scope.split():
                raise _Bad("invalid_scope", 'The "atproto" scope is required')
            extra = set(scope.split()) - set(allowed.split())
            if extra:
                raise _Bad("invalid_scope", f"Client has no access to scope {sorted(extra)[0]!r}")
        except _Bad as bad:
            return self._oauth_error(bad)
        request_uri = "urn:ietf:params:oauth:request_uri:req-" + secrets.token_hex(16)
        self._pushed[request_uri] = _Pushed(
            client_id=client_id,
            redirect_uri=redirect,
            scope=scope,
            state=form.get("state"),
            challenge=form["code_challenge"],
            jkt=jkt,
            login_hint=form.get("login_hint"),
            expires_at=self.clock.time() + PAR_TTL,
        )
        return self._oauth_json({"request_uri": request_uri, "expires_in": int(PAR_TTL)}, 201)

    def _hinted_user(self, hint: str | None) -> Any:
        wanted = (hint or self.consent_as or "").lower().lstrip("@")
        for user in self.users.values():
            if wanted and wanted in (user.did, user.handle):
                return user
        if not wanted and self.users:
            return next(iter(self.users.values()))
        return None

    @route("GET", r"/oauth/authorize")
    def _authorize(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.url.query.decode(), keep_blank_values=True))
        pushed = self._pushed.pop(params.get("request_uri", ""), None)
        if (
            pushed is None
            or pushed.client_id != params.get("client_id")
            or pushed.expires_at <= self.clock.time()
        ):
            # The provider shows an error page: there is no verified redirect URI to go to.
            return Emulator.html("<!doctype html><title>Invalid authorization request</title>", 400)
        issuer = self._issuer(request)
        answer: dict[str, str] = {}
        if pushed.state is not None:
            answer["state"] = pushed.state
        answer["iss"] = issuer
        user = self._hinted_user(pushed.login_hint)
        if self._consent_refused() or user is None:
            answer.update(error="access_denied", error_description="The user rejected the request")
        else:
            code = "cod-" + secrets.token_hex(32)
            self._grants[code] = _Grant(
                client_id=pushed.client_id,
                redirect_uri=pushed.redirect_uri,
                scope=pushed.scope,
                challenge=pushed.challenge,
                jkt=pushed.jkt,
                did=user.did,
                expires_at=self.clock.time() + CODE_TTL,
            )
            answer["code"] = code
        sep = "&" if "?" in pushed.redirect_uri else "?"
        return httpx.Response(
            302,
            headers={"location": f"{pushed.redirect_uri}{sep}{urlencode(answer)}"},
        )

    # -- tokens ---------------------------------------------------------------------------------

    def _issue_tokens(self, session: _OAuthSession) -> httpx.Response:
        now = self.clock.time()
        access = "at-" + secrets.token_urlsafe(32)
        refresh = "ref-" + secrets.token_hex(32)
        self._oauth_tokens[access] = _Access(session, now + self.oauth_access_ttl)
        session.access = access
        self._oauth_refresh[refresh] = session
        return self._oauth_json(
            {
                "access_token": access,
                "token_type": "DPoP",
                "refresh_token": refresh,
                "scope": session.scope,
                "expires_in": int(self.oauth_access_ttl),
                "sub": session.did,
            }
        )

    @route("POST", r"/oauth/token")
    def _oauth_token(self, request: httpx.Request) -> httpx.Response:
        try:
            form = self._form(request)
            client_id = form.get("client_id", "")
            self._client(client_id)
            jkt = self._check_proof(request, None)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                return self._code_grant(form, client_id, jkt)
            if grant_type == "refresh_token":
                return self._refresh_grant(form, client_id, jkt)
            raise _Bad("invalid_grant", f'Grant type "{grant_type}" not supported')
        except _Bad as bad:
            return self._oauth_error(bad)

    def _code_grant(self, form: Mapping[str, str], client_id: str, jkt: str) -> httpx.Response:
        code = form.get("code", "")
        grant = self._grants.pop(code, None)
        if grant is None:
            raise _Bad("invalid_grant", "Invalid code")
        if grant.expires_at <= self.clock.time():
            raise _Bad("invalid_grant", "This code has expired")
        if grant.client_id != client_id:
            raise _Bad("invalid_grant", "The code was not issued to this client")
        if jkt != grant.jkt:
            raise _Bad("invalid_grant", "DPoP proof does not match the expected JKT")
        if form.get("redirect_uri") != grant.redirect_uri:
            raise _Bad(
                "invalid_grant",
                "The redirect_uri parameter must match the one used in the authorization request",
            )
        verifier = form.get("code_verifier", "")
        if not verifier:
            raise _Bad("invalid_grant", "code_verifier is required")
        if len(verifier) < 43:
            raise _Bad("invalid_grant", "code_verifier too short")
        if not secrets.compare_digest(pkce_s256(verifier), grant.challenge):
            raise _Bad("invalid_grant", "Invalid code_verifier")
        session = _OAuthSession(
            did=grant.did,
            client_id=client_id,
            scope=grant.scope,
            jkt=jkt,
            expires_at=self.clock.time() + REFRESH_TTL,
        )
        return self._issue_tokens(session)

    def _refresh_grant(self, form: Mapping[str, str], client_id: str, jkt: str) -> httpx.Response:
        token = form.get("refresh_token", "")
        spent = self._spent_refresh.get(token)
        if spent is not None and not spent.revoked:
            # A spent refresh token used again means two holders: the provider ends the
            # whole session (its tokens and the newest refresh token) and says why.
            spent.revoked = True
            raise _Bad("invalid_grant", "Refresh token replayed")
        session = self._oauth_refresh.get(token)
        if session is None or session.revoked:
            raise _Bad("invalid_grant", "Invalid refresh token")
        if session.client_id != client_id:
            raise _Bad("invalid_grant", "Token was not issued to this client")
        if jkt != session.jkt:
            raise _Bad("invalid_grant", "DPoP proof does not match the expected JKT")
        if session.expires_at <= self.clock.time():
            raise _Bad("invalid_grant", "Session expired")
        del self._oauth_refresh[token]
        self._spent_refresh[token] = session
        return self._issue_tokens(session)

    # -- revocation -----------------------------------------------------------------------------

    @route("POST", r"/oauth/revoke")
    def _oauth_revoke(self, request: httpx.Request) -> httpx.Response:
        """RFC 7009 as the provider serves it: the request's shape and its DPoP proof are
        checked (and refused with their errors), then whatever the revocation meets (an
        unknown client or token, a token of another client or key, no proof) is answered
        200 ``{}`` all the same, as RFC 7009 §2.2 asks for an invalid token."""
        try:
            payload = _payload(request)
            method = _client_credentials(payload)
            client_id, token = payload["client_id"], _token_identification(payload)
            proofs = request.headers.get_list("dpop")
            jkt = self._check_proof(request, None) if proofs else None
        except _Bad as bad:
            return self._oauth_error(bad)
        self._revoke(method, client_id, token, jkt)
        response = self._oauth_json({})
        response.headers["pragma"] = "no-cache"
        return response

    def _revoke(self, method: str, client_id: str, token: str, jkt: str | None) -> None:
        """End the session ``token`` names, if the request may: what the provider's
        ``revoke`` checks, each failure ending nothing (it answers 200 all the same)."""
        try:
            self._client(client_id)
        except _Bad:
            return  # no such client
        if jkt is None or method != "none":
            return  # every atproto client is DPoP-bound, and these are public clients
        session = self._oauth_refresh.get(token) or self._spent_refresh.get(token)
        access = self._oauth_tokens.get(token)
        if session is None and access is not None and access.session.access == token:
            session = access.session
        if session is None or session.revoked:
            return
        if session.client_id != client_id or session.jkt != jkt:
            return  # "Token was not issued to this client", "DPoP proof does not match"
        session.revoked = True


def _payload(request: httpx.Request) -> dict[str, Any]:
    """The body of a request the provider reads as a form or as JSON
    (``parseHttpRequest(req, ['json', 'urlencoded'])``), or its refusal."""
    mime, _, params = request.headers.get("content-type", "application/octet-stream").partition(";")
    mime = mime.strip().lower()
    found = re.search(r"charset\s*=\s*\"?([^\";\s]+)", params, re.IGNORECASE)
    charset = found.group(1) if found else None
    is_json = re.fullmatch(r"application/(?:.+\+)?json", mime) is not None
    if not is_json and mime != "application/x-www-form-urlencoded":
        raise _Bad("invalid_request", f"Unsupported content-type: {mime}", 415)
    if charset is not None and not re.fullmatch(r"utf-?8", charset, re.IGNORECASE):
        raise _Bad("invalid_request", "Unsupported charset", 415)
    if not is_json:
        return dict(parse_qsl(request.content.decode(), keep_blank_values=True))
    try:
        data = json.loads(request.content)
    except ValueError:
        raise _Bad("invalid_request", "Invalid JSON") from None
    if not isinstance(data, dict):
        raise _Bad("invalid_request", "Client credentials missing: " + _not_object(data))
    return data


_JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _zod_type(value: Any) -> str:
    """The type zod names in "Expected string, received …"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else "string"


def _not_object(data: Any) -> str:
    message = f"Expected object, received {_zod_type(data)} at body"
    return ", or ".join([message] * 3)


def _string_issue(payload: Mapping[str, Any], name: str, min_length: int) -> tuple[str, bool]:
    """zod's issue with ``payload[name]`` for ``z.string().min(min_length)``: its message
    and whether it is fatal (a too-short string is not); ``("", False)`` when it passes."""
    if name not in payload:
        return f"Required at body.{name}", True
    value = payload[name]
    if not isinstance(value, str):
        return f"Expected string, received {_zod_type(value)} at body.{name}", True
    if len(value) < min_length:
        return f"String must contain at least {min_length} character(s) at body.{name}", False
    return "", False


def _client_credentials(payload: Mapping[str, Any]) -> str:
    """How the request authenticates its client, as the provider's
    ``oauthClientCredentialsSchema`` (a zod union: a client assertion, a client secret, or
    the client id alone) reads it: ``"private_key_jwt"``, ``"client_secret_post"`` or
    ``"none"``.

    Raises:
        _Bad: ``invalid_request`` "Client credentials missing: …", with zod's issues.
    """
    client_id = _string_issue(payload, "client_id", 1)
    literal = (
        ("", False)
        if payload.get("client_assertion_type") == _JWT_BEARER
        else (
            f'Invalid literal value, expected "{_JWT_BEARER}" at body.client_assertion_type',
            True,
        )
    )
    options = [
        ("private_key_jwt", [client_id, literal, _string_issue(payload, "client_assertion", 0)]),
        ("client_secret_post", [client_id, _string_issue(payload, "client_secret", 0)]),
        ("none", [client_id]),
    ]
    found = [
        (name, [m for m, _ in issues if m], any(f for _, f in issues)) for name, issues in options
    ]
    for name, messages, _ in found:
        if not messages:
            return name
    for _, messages, fatal in found:
        if not fatal:
            raise _Bad("invalid_request", "Client credentials missing: " + "; ".join(messages))
    every = ", or ".join("; ".join(messages) for _, messages, _ in found)
    raise _Bad("invalid_request", "Client credentials missing: " + every)


def _token_identification(payload: Mapping[str, Any]) -> str:
    """The ``token`` of a revocation, as the provider's ``oauthTokenIdentificationSchema``
    reads it (a non-empty string; ``token_type_hint``, if any, one of two names).

    Raises:
        _Bad: ``invalid_request`` "Invalid request payload: …", with zod's issues.
    """
    issues: list[str] = []
    message, fatal = _string_issue(payload, "token", 1)
    if message:
        # The token is a union of the access- and the refresh-token schemas (both strings).
        issues.append(message if not fatal else f"{message}, or {message}")
    hint = payload.get("token_type_hint")
    if "token_type_hint" in payload and hint not in ("access_token", "refresh_token"):
        expected = "'access_token' | 'refresh_token'"
        issues.append(
            f"Invalid enum value. Expected {expected}, received '{hint}' at body.token_type_hint"
            if isinstance(hint, str)
            else f"Expected {expected}, received {_zod_type(hint)} at body.token_type_hint"
        )
    if issues:
        raise _Bad("invalid_request", "Invalid request payload: " + "; ".join(issues))
    return str(payload["token"])


_WRITES = {
    "/xrpc/com.atproto.repo.createRecord": "create",
    "/xrpc/com.atproto.repo.putRecord": "update",
    "/xrpc/com.atproto.repo.deleteRecord": "delete",
}


def _missing_scope(request: httpx.Request, scope: str) -> str | None:
    """The scope a repository write needs and the token lacks, as the PDS names it: a token
    with ``atproto`` alone may read but not write (``transition:generic`` allows what an app
    password allows; ``repo:<collection>`` allows writes to one collection)."""
    action = _WRITES.get(request.url.path)
    granted = scope.split()
    if action is None or "transition:generic" in granted:
        return None
    try:
        collection = str(json.loads(request.content or b"{}").get("collection", ""))
    except (ValueError, AttributeError):
        return None  # the handler answers the malformed body
    needed = f"repo:{collection}?action={action}"
    if needed in granted or f"repo:{collection}" in granted or "repo:*" in granted:
        return None
    return needed


def _htu(htu: str) -> str:
    parts = urlsplit(htu)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
