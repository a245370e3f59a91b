"""Connect a Bluesky account with atproto OAuth: discovery, PAR, PKCE, DPoP, refresh,
revocation.

```python
client = brandkit.auth.bluesky.loopback_client("http://127.0.0.1:8080/callback")
start = brandkit.auth.bluesky.start("brand.bsky.social", client)
# send the user to start.url; keep start.to_dict() in the session
creds = brandkit.auth.bluesky.finish(start, callback_url)
account = brandkit.auth.bluesky.account_from(creds, name="brand")
```

What the atproto profile of OAuth requires, and what this module does (source: the atproto
OAuth specification, https://atproto.com/specs/oauth, and the reference authorization server
``@atproto/oauth-provider``):

* Discovery: handle → DID (``com.atproto.identity.resolveHandle`` at ``resolver``, or
  ``https://<handle>/.well-known/atproto-did``) → DID document (the PLC directory, or
  ``did:web``'s ``/.well-known/did.json``), which must name the handle back → its PDS →
  ``/.well-known/oauth-protected-resource`` → the authorization server's
  ``/.well-known/oauth-authorization-server`` metadata (its ``issuer`` must be the URL asked).
* The client is identified by a URL: a web app's ``client_id`` is where its client metadata
  document is served (`ClientMetadata.document`); for development on one machine atproto
  allows the ``http://localhost`` client id, whose metadata the server derives from its query
  (``redirect_uri`` on ``127.0.0.1``/``[::1]``, any port, and ``scope``), see `loopback_client`.
* Pushed authorization requests (PAR) are mandatory, with PKCE (S256) and DPoP: every token
  request and every call to the PDS carries a DPoP proof (an ES256 JWT) signed with the
  session's own key, and servers rotate nonces (``use_dpop_nonce``: the request is made again
  once with the server's new nonce).
* The token answer names the account (``sub``): it must be the DID the flow started with,
  and the authorization server must be the one its PDS names.
* Access tokens live minutes (5 to 30); refresh tokens are single use (each refresh returns a
  new one) and, for public clients like these, the session ends two weeks after the sign-in
  (`SESSION_LIFETIME`), however often it is refreshed: the credentials keep that end
  (``refresh_expires_at``), and past it a refresh raises `SessionExpired` without sending
  anything (connect the account again).
* Revocation (`revoke`, RFC 7009): the refresh token goes to the ``revocation_endpoint`` the
  server's metadata names, with the client id and a DPoP proof; the server then ends the
  whole session (its access token too). A token it no longer knows is answered 200 as well.

DPoP keys are made with ``cryptography`` (the ``store`` extra: ``pip install
'brandkit[store]'``); the key is part of the credentials and as secret as the tokens.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

import attrs
import httpx
import pydantic
from pydantic import SecretStr

from brandkit._durations import expiry_after, stored_time
from brandkit._flow import Flow, Send
from brandkit.auth._core import (
    AnyObject,
    Expiring,
    FinishLedger,
    GrantRefused,
    SavedModel,
    advice,
    b64url,
    built,
    challenge,
    claim,
    code_from,
    error_body,
    failure,
    fields_of,
    form_request,
    new_state,
    new_verifier,
    not_now,
    revocation_answer,
    run,
    run_async,
    saved,
    saved_data,
    scopes_of,
    setting_scopes,
    settle,
    token_answer,
)
from brandkit.errors import AuthError, ConfigurationError, MalformedResponse, Unsupported

if TYPE_CHECKING:
    from brandkit.accounts import Account, CredentialsHook

__all__ = [
    "DEFAULT_SCOPES",
    "PLC_DIRECTORY",
    "RESOLVER",
    "SESSION_LIFETIME",
    "BlueskyCredentials",
    "BlueskyStart",
    "ClientMetadata",
    "DpopKey",
    "ResolutionError",
    "RevocationUnsupported",
    "SessionExpired",
    "account_from",
    "credentials_of",
    "dpop_headers",
    "finish",
    "finish_async",
    "finish_flow",
    "loopback_client",
    "refresh",
    "refresh_async",
    "refresh_flow",
    "revoke",
    "revoke_async",
    "revoke_flow",
    "start",
    "start_async",
    "start_flow",
]

PLATFORM = "bluesky"
PLC_DIRECTORY = "https://plc.directory"
"""Where ``did:plc`` documents are read."""
RESOLVER = "https://public.api.bsky.app"
"""The XRPC service asked to resolve a handle when its own domain does not answer."""
DEFAULT_SCOPES = ("atproto", "transition:generic")
"""``atproto`` (required) and ``transition:generic`` (what an app password may do: post,
like, read notifications)."""
LOOPBACK_CLIENT_ID = "http://localhost"
MAX_DOCUMENT = 64 * 1024
"""The largest discovery document read (DID documents and metadata are a few kB)."""
NONCE_ATTEMPTS = 2
SESSION_LIFETIME = 14 * 86_400.0
"""How long an OAuth session of a public client (brandkit's: ``token_endpoint_auth_method``
``none``) lasts from the sign-in, in seconds. The reference authorization server
(``@atproto/oauth-provider``, ``SESSION_LIFETIME`` and ``REFRESH_LIFETIME``: two weeks each)
refuses a refresh once the session is two weeks old, however often it was refreshed, or two
weeks after its last refresh; its token answers say neither (they carry no refresh-token
lifetime), so brandkit counts the first from the exchange of the code. A refresh can never
extend it: the account must be connected again."""
"""How often a request is sent when the server asks for a new DPoP nonce (once more)."""

_HANDLE = re.compile(
    r"([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
)
_DID = re.compile(r"did:(plc:[a-z2-7]{24}|web:[a-zA-Z0-9.%:-]+)")


class SessionExpired(GrantRefused):
    """The OAuth session has ended: it is older than `SESSION_LIFETIME` (two weeks from the
    sign-in, for a public client), so the authorization server refuses every refresh.
    Nothing was sent. Connect the account again (``brandkit connect bluesky HANDLE --key
    KEY --replace``, or `start` and `finish`)."""


class ResolutionError(AuthError):
    """The account or its servers could not be found: the handle resolves to no DID, the DID
    document is missing or does not name the handle back, it names no PDS, or the PDS names
    no authorization server (or one whose metadata is not atproto OAuth)."""


_b64url = b64url  # the old name, which tests/auth/test_bluesky.py forges proofs with


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _crypto() -> Any:
    """``cryptography``'s EC module, imported on first use (it is an optional extra)."""
    try:
        from cryptography.hazmat.primitives.asymmetric import ec
    except ImportError:  # pragma: no cover - depends on the installed extras
        raise ConfigurationError(
            "Bluesky OAuth signs DPoP proofs with ES256, which needs the 'cryptography' "
            "package: pip install 'brandkit[store]'"
        ) from None
    return ec


class DpopKey:
    """A session's DPoP key: an ES256 (P-256) key pair that signs a proof for each request.

    The private key is a secret: it is kept in the credentials (`to_jwk`) and never shown in
    ``repr``.
    """

    def __init__(self, private: Any) -> None:
        self._private = private
        numbers = private.public_key().public_numbers()
        self.public_jwk: dict[str, str] = {
            "kty": "EC",
            "crv": "P-256",
            "x": b64url(numbers.x.to_bytes(32, "big")),
            "y": b64url(numbers.y.to_bytes(32, "big")),
        }

    def __repr__(self) -> str:
        return f"DpopKey(thumbprint={self.thumbprint!r})"

    @classmethod
    def generate(cls) -> DpopKey:
        """A new key pair.

        Raises:
            ConfigurationError: ``cryptography`` is not installed.
        """
        ec = _crypto()
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_jwk(cls, jwk: str | Mapping[str, Any]) -> DpopKey:
        """The key `to_jwk` wrote.

        Raises:
            ConfigurationError: not a private P-256 JWK, or ``cryptography`` is missing.
        """
        ec = _crypto()
        try:
            data = json.loads(jwk) if isinstance(jwk, str) else dict(jwk)
            if data.get("kty") != "EC" or data.get("crv") != "P-256":
                raise ValueError("not P-256")
            d = int.from_bytes(_b64url_decode(str(data["d"])), "big")
            private = ec.derive_private_key(d, ec.SECP256R1())
        except (ValueError, KeyError, TypeError):
            raise ConfigurationError(
                "the saved DPoP key is not a private P-256 JWK: connect the account again"
            ) from None
        return cls(private)

    def to_jwk(self) -> str:
        """The private key as a compact JWK (JSON): a secret, store it encrypted."""
        d = self._private.private_numbers().private_value.to_bytes(32, "big")
        return json.dumps({**self.public_jwk, "d": b64url(d)}, separators=(",", ":"))

    @property
    def thumbprint(self) -> str:
        """The key's JWK thumbprint (RFC 7638), what servers bind tokens to (``jkt``)."""
        pub = self.public_jwk
        canonical = json.dumps(
            {"crv": pub["crv"], "kty": pub["kty"], "x": pub["x"], "y": pub["y"]},
            separators=(",", ":"),
        )
        return b64url(hashlib.sha256(canonical.encode()).digest())

    def proof(
        self,
        method: str,
        url: str | httpx.URL,
        *,
        nonce: str | None = None,
        access_token: str | None = None,
        now: float | None = None,
    ) -> str:
        """A DPoP proof (RFC 9449) for one request: ``htm`` the method, ``htu`` the URL
        without query or fragment, a fresh ``jti``, ``iat``, the server's ``nonce`` and, with
        an access token, its hash ``ath``."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        ec = _crypto()
        parts = urlsplit(str(url))
        payload: dict[str, Any] = {
            "jti": b64url(uuid.uuid4().bytes + secrets.token_bytes(8)),
            "htm": method.upper(),
            "htu": f"{parts.scheme}://{parts.netloc}{parts.path or '/'}",
            "iat": int(time.time() if now is None else now),
        }
        if nonce:
            payload["nonce"] = nonce
        if access_token:
            payload["ath"] = b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": self.public_jwk}
        signing_input = (
            b64url(json.dumps(header, separators=(",", ":")).encode())
            + "."
            + b64url(json.dumps(payload, separators=(",", ":")).encode())
        )
        der = self._private.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


@attrs.frozen
class ClientMetadata:
    """Who the app is to Bluesky's authorization servers.

    Attributes:
        client_id: the URL of the client metadata document (``https://…``), or a
            ``http://localhost?…`` development id (see `loopback_client`).
        redirect_uris: the callback URLs the app may use.
        scopes: the scopes the app may ask for (must include ``atproto``).
        client_name: shown to the user on the consent page (web clients only).
    """

    client_id: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...] = DEFAULT_SCOPES
    client_name: str | None = None

    @property
    def loopback(self) -> bool:
        """Whether this is atproto's ``http://localhost`` development client."""
        return self.client_id == LOOPBACK_CLIENT_ID or self.client_id.startswith(
            LOOPBACK_CLIENT_ID + "?"
        )

    def document(self) -> dict[str, Any]:
        """The client metadata document to serve (as JSON) at ``client_id``: a public
        client (no secret) with DPoP-bound tokens. Loopback clients have none: the server
        derives theirs from the client id."""
        doc: dict[str, Any] = {
            "client_id": self.client_id,
            "application_type": "web",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "redirect_uris": list(self.redirect_uris),
            "scope": " ".join(self.scopes),
            "token_endpoint_auth_method": "none",
            "dpop_bound_access_tokens": True,
        }
        if self.client_name:
            doc["client_name"] = self.client_name
        return doc


def loopback_client(
    redirect_uri: str | Sequence[str], scopes: str | Sequence[str] = DEFAULT_SCOPES
) -> ClientMetadata:
    """atproto's development client for an app on this machine (a CLI, a script): client id
    ``http://localhost?redirect_uri=…&scope=…``, nothing to publish. Its redirect URIs must be
    ``http://127.0.0.1`` or ``http://[::1]`` (not ``localhost``), with any port.

    Raises:
        ConfigurationError: a redirect URI that is not on a loopback IP over http, or scopes
            without ``atproto``.
    """
    uris = (redirect_uri,) if isinstance(redirect_uri, str) else tuple(redirect_uri)
    wanted = scopes_of(scopes)
    if not uris:
        raise ConfigurationError("loopback_client needs a redirect URI on http://127.0.0.1")
    for uri in uris:
        parts = urlsplit(uri)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "::1"):
            raise ConfigurationError(
                f"a loopback client's redirect URI must be http://127.0.0.1:<port>/… or "
                f"http://[::1]:<port>/… (atproto refuses 'localhost' there), got {uri!r}"
            )
    if "atproto" not in wanted:
        raise ConfigurationError("Bluesky OAuth scopes must include 'atproto'")
    query = [("redirect_uri", u) for u in uris] + [("scope", " ".join(wanted))]
    return ClientMetadata(
        client_id=f"{LOOPBACK_CLIENT_ID}?{urlencode(query, quote_via=quote)}",
        redirect_uris=uris,
        scopes=wanted,
    )


@attrs.frozen(repr=False)
class BlueskyStart:
    """The start of a Bluesky authorization: where to send the user, and what `finish`
    needs. Keep it (``to_dict()``, e.g. in a signed server-side session) until the user comes
    back; it holds the PKCE verifier and the DPoP key, so never show it to the user.

    Attributes:
        url: the authorization URL to send the user to.
        client_id: the app's client id.
        redirect_uri: the callback URL asked for.
        scopes: the scopes asked for.
        issuer: the authorization server (the callback's ``iss`` must be it).
        token_endpoint: where `finish` exchanges the code.
        did: the account's DID (``None`` when the flow started from a server URL).
        handle: the handle the flow started from, if any.
        pds_url: the account's PDS.
        state: the ``state`` sent along.
        verifier: the PKCE verifier.
        dpop_key: the session's DPoP key (private JWK).
        dpop_nonce: the authorization server's latest DPoP nonce.
    """

    url: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    issuer: str
    token_endpoint: str
    did: str | None
    handle: str | None
    pds_url: str
    state: SecretStr
    verifier: SecretStr
    dpop_key: SecretStr
    dpop_nonce: str | None = None

    platform: ClassVar[str] = PLATFORM

    def __repr__(self) -> str:
        return (
            f"BlueskyStart(client_id={self.client_id!r}, did={self.did!r}, "
            f"issuer={self.issuer!r}, redirect_uri={self.redirect_uri!r}, "
            f"scopes={self.scopes!r})"
        )

    __str__ = __repr__

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, secrets included: keep it where the user cannot read it."""
        return saved_data(self, platform=PLATFORM)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BlueskyStart:
        """The start `to_dict` gave.

        Raises:
            ConfigurationError: a field is missing or of the wrong type (named, never its
                value).
        """
        return built(cls, saved(_StartModel, data, PLATFORM, "Bluesky authorization start"))


class _StartModel(SavedModel):
    platform: str
    url: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    issuer: str
    token_endpoint: str
    did: str | None
    handle: str | None
    pds_url: str
    state: SecretStr = pydantic.Field(min_length=1)
    verifier: SecretStr = pydantic.Field(min_length=43)
    dpop_key: SecretStr = pydantic.Field(min_length=1)
    dpop_nonce: str | None = None


@attrs.frozen(repr=False)
class BlueskyCredentials(Expiring):
    """A Bluesky account's OAuth session: DPoP-bound tokens and the key they are bound to.

    Attributes:
        access_token: the access token (minutes); sent as ``Authorization: DPoP …`` with a
            proof signed by ``dpop_key``.
        refresh_token: the refresh token; single use (each refresh returns a new one).
        expires_at: when the access token expires (epoch seconds), ``None`` if unknown.
        scopes: the scopes granted.
        did: the account's DID (the token answer's ``sub``).
        handle: the account's handle, if known.
        pds_url: the account's PDS, where posts go.
        issuer: the authorization server.
        token_endpoint: where refreshes go.
        client_id: the app the tokens belong to.
        dpop_key: the private DPoP key (JWK), as secret as the tokens.
        dpop_nonce: the authorization server's latest DPoP nonce (not secret).
        refresh_expires_at: when the session ends and the refresh token with it (epoch
            seconds: `SESSION_LIFETIME` after the code was exchanged; a refresh keeps it);
            ``None`` when unknown (credentials saved before brandkit kept it).
    """

    access_token: SecretStr
    refresh_token: SecretStr | None
    expires_at: float | None
    scopes: tuple[str, ...]
    did: str
    handle: str | None
    pds_url: str
    issuer: str
    token_endpoint: str
    client_id: str
    dpop_key: SecretStr
    dpop_nonce: str | None = None
    refresh_expires_at: float | None = None

    platform: ClassVar[str] = PLATFORM

    def __repr__(self) -> str:
        return (
            f"BlueskyCredentials(did={self.did!r}, handle={self.handle!r}, "
            f"issuer={self.issuer!r}, scopes={self.scopes!r}, expires_at={self.expires_at!r}, "
            f"refresh_expires_at={self.refresh_expires_at!r}, "
            f"refreshable={self.refresh_token is not None})"
        )

    def session_ended(self, now: float | None = None) -> bool:
        """Whether the session has ended (``refresh_expires_at`` has passed): no refresh
        can renew it, connect the account again. ``False`` when the end is unknown."""
        if self.refresh_expires_at is None:
            return False
        return (time.time() if now is None else now) >= self.refresh_expires_at

    __str__ = __repr__

    def to_dict(self) -> dict[str, Any]:
        """Plain data, tokens and DPoP key included in clear: store it encrypted, never log
        it."""
        return saved_data(self, platform=PLATFORM, auth="oauth")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BlueskyCredentials:
        """The credentials `to_dict` gave.

        Raises:
            ConfigurationError: a field is missing or of the wrong type, or the data are
                another platform's (the message names fields, never values).
        """
        return built(cls, saved(_CredentialsModel, data, PLATFORM, "Bluesky OAuth"))


class _CredentialsModel(SavedModel):
    platform: str
    auth: str = pydantic.Field(pattern="^oauth$")
    access_token: SecretStr = pydantic.Field(min_length=1)
    refresh_token: SecretStr | None = None
    expires_at: float | None = None
    scopes: list[str]
    did: str
    handle: str | None = None
    pds_url: str
    issuer: str
    token_endpoint: str
    client_id: str
    dpop_key: SecretStr = pydantic.Field(min_length=1)
    dpop_nonce: str | None = None
    # A session end saved as NaN or infinity (by hand: brandkit never writes one) reads as
    # unknown, as `stored_time` reads every saved expiry.
    refresh_expires_at: Annotated[float | None, pydantic.AfterValidator(stored_time)] = None


# -- discovery -------------------------------------------------------------------------------


class _Service(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    id: str
    type: str | None = None
    serviceEndpoint: Any = None


class _DidDocument(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    id: str
    alsoKnownAs: list[str] = []
    service: list[_Service] = []


class _ProtectedResource(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    resource: str | None = None
    authorization_servers: list[str] = pydantic.Field(min_length=1)


class _ServerMetadata(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    pushed_authorization_request_endpoint: str
    # Read only when revoking: a bad value must not stop a connection.
    revocation_endpoint: Any = None
    dpop_signing_alg_values_supported: list[str] = []
    code_challenge_methods_supported: list[str] = []
    scopes_supported: list[str] = []


class _Resolved(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    did: str


class _Par(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    request_uri: str = pydantic.Field(min_length=1)
    expires_in: int | float | None = None


class _Token(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    access_token: pydantic.StrictStr = pydantic.Field(min_length=1)
    token_type: pydantic.StrictStr
    refresh_token: pydantic.StrictStr | None = None
    expires_in: pydantic.StrictInt | pydantic.StrictFloat | None = None
    scope: pydantic.StrictStr | None = None
    sub: pydantic.StrictStr = pydantic.Field(min_length=1)


# auth._core's drivers rebuild each answer from its decoded bytes but keep its headers, so
# a compressed answer (the provider gzips its metadata) would be decoded twice: ask for none.
_PLAIN = {"accept-encoding": "identity"}


def _get(url: str) -> Send:
    request = httpx.Request("GET", url, headers={"accept": "application/json", **_PLAIN})
    return Send(request, idempotent=True, bucket="api", max_bytes=MAX_DOCUMENT)


def _read(response: httpx.Response, model: type[pydantic.BaseModel], what: str) -> Any:
    """``response`` read as ``model``.

    Raises:
        RateLimited, PlatformUnavailable: a 429 or a 5xx (the server is busy or down, the
            account may well be there).
        ResolutionError: another failure, or an answer that is not ``model``.
    """
    busy = not_now(response, platform=PLATFORM, what=what)
    if busy is not None:
        raise busy
    if not response.is_success:
        raise ResolutionError(
            f"bluesky: {what} answered {response.status_code}; check the handle or server",
            platform=PLATFORM,
            status_code=response.status_code,
        )
    try:
        return model.model_validate_json(response.content)
    except pydantic.ValidationError as exc:
        raise ResolutionError(
            f"bluesky: {what} is not what atproto defines (fields {fields_of(exc)})",
            platform=PLATFORM,
            status_code=response.status_code,
        ) from None


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _loopback(host: str | None) -> bool:
    """Whether ``host`` is this machine (``localhost``, 127.0.0.0/8, ``::1``). Raises
    nothing."""
    if host is None:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _http_url(url: str, what: str) -> str:
    """``url`` without its trailing slash once it is https, or http on a loopback host (a
    development server, an emulator): the PDS is sent every access token, the authorization
    server the code, the PKCE verifier and every refresh token, so over plain http anyone
    on the path could read them (the reference client, ``@atproto/oauth-client``, refuses
    an http issuer too).

    Raises:
        ResolutionError: it is not.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ResolutionError(f"bluesky: {what} is not an http(s) URL: {url!r}", platform=PLATFORM)
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ResolutionError(
            f"bluesky: {what} is {url!r}, on plain http: it would be sent tokens that anyone "
            "on the way could read (http is taken only on this machine, for a development "
            "server); refusing it",
            platform=PLATFORM,
        )
    return url.rstrip("/")


def _resolve_handle(handle: str, resolver: str | None) -> Flow[str]:
    if resolver is None:
        # The handle's own domain first (atproto's HTTPS method), then the public resolver.
        response = yield _get(f"https://{handle}/.well-known/atproto-did")
        text = response.text.strip() if response.is_success else ""
        if _DID.fullmatch(text):
            return text
        resolver = RESOLVER
    query = urlencode({"handle": handle})
    response = yield _get(f"{resolver.rstrip('/')}/xrpc/com.atproto.identity.resolveHandle?{query}")
    if response.status_code == 400:
        raise ResolutionError(
            f"bluesky: the handle {handle!r} resolves to no account; check its spelling",
            platform=PLATFORM,
            status_code=400,
        )
    did = str(_read(response, _Resolved, "the handle lookup").did)
    if not _DID.fullmatch(did):
        raise ResolutionError(f"bluesky: {handle!r} resolved to no DID", platform=PLATFORM)
    return did


def _did_document(did: str, plc_url: str) -> Flow[_DidDocument]:
    if did.startswith("did:plc:"):
        url = f"{plc_url.rstrip('/')}/{did}"
    else:
        raw = did.removeprefix("did:web:")
        if ":" in raw or "/" in raw:
            raise ResolutionError(
                f"bluesky: {did} has a path; atproto uses only host-level did:web",
                platform=PLATFORM,
            )
        host = raw.replace("%3A", ":")
        scheme = "http" if host.split(":")[0] in ("localhost", "127.0.0.1") else "https"
        url = f"{scheme}://{host}/.well-known/did.json"
    response = yield _get(url)
    doc: _DidDocument = _read(response, _DidDocument, f"the DID document of {did}")
    if doc.id != did:
        raise ResolutionError(
            f"bluesky: the DID document read for {did} is another's", platform=PLATFORM
        )
    return doc


def _pds_of(doc: _DidDocument) -> str:
    for service in doc.service:
        if service.id in ("#atproto_pds", f"{doc.id}#atproto_pds") and isinstance(
            service.serviceEndpoint, str
        ):
            return _http_url(service.serviceEndpoint, f"the PDS of {doc.id}")
    raise ResolutionError(
        f"bluesky: the DID document of {doc.id} names no PDS (#atproto_pds)", platform=PLATFORM
    )


def _endpoint(url: str, issuer: str, name: str) -> str:
    """``url``, the authorization server's ``name`` endpoint, once it is checked: an http(s)
    URL with a host, https unless both it and the issuer are http on this machine (the
    token endpoint is sent the code, the verifier and every refresh token; the
    authorization URL opens in the user's browser).

    Raises:
        ResolutionError: it is not.
    """
    parts = urlsplit(url)
    secure = urlsplit(issuer).scheme == "https" or not _loopback(parts.hostname)
    if parts.scheme not in (("https",) if secure else ("http", "https")) or not parts.hostname:
        raise ResolutionError(
            f"bluesky: the authorization server {issuer} names as its {name} {url!r}, not "
            f"an {'https' if secure else 'http(s)'} URL; refusing it",
            platform=PLATFORM,
        )
    return url


@attrs.frozen
class _Server:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    par_endpoint: str


def _authorization_server(pds_url: str) -> Flow[_Server]:
    resource = yield _get(f"{pds_url}/.well-known/oauth-protected-resource")
    meta: _ProtectedResource = _read(
        resource, _ProtectedResource, "the PDS's protected-resource metadata"
    )
    issuer = _http_url(meta.authorization_servers[0], "the authorization server")
    server = yield from _server_metadata(issuer)
    return _Server(
        issuer=issuer,
        authorization_endpoint=_endpoint(
            server.authorization_endpoint, issuer, "authorization_endpoint"
        ),
        token_endpoint=_endpoint(server.token_endpoint, issuer, "token_endpoint"),
        par_endpoint=_endpoint(
            server.pushed_authorization_request_endpoint,
            issuer,
            "pushed_authorization_request_endpoint",
        ),
    )


def _server_metadata(issuer: str) -> Flow[_ServerMetadata]:
    """The metadata of the authorization server ``issuer`` (an http(s) URL without a
    trailing slash), once it names itself ``issuer`` and takes ES256 DPoP proofs; its
    endpoints are for the caller to check (`_endpoint`)."""
    answer = yield _get(f"{issuer}/.well-known/oauth-authorization-server")
    server: _ServerMetadata = _read(answer, _ServerMetadata, "the authorization server's metadata")
    if server.issuer.rstrip("/") != issuer:
        raise ResolutionError(
            f"bluesky: the authorization server at {issuer} calls itself {server.issuer!r}; "
            "refusing it (a mix-up or an impostor)",
            platform=PLATFORM,
        )
    if server.dpop_signing_alg_values_supported and (
        "ES256" not in server.dpop_signing_alg_values_supported
    ):
        raise ResolutionError(
            f"bluesky: the authorization server {issuer} does not take ES256 DPoP proofs",
            platform=PLATFORM,
        )
    return server


def _wants_nonce(response: httpx.Response) -> bool:
    """The server refused only because the DPoP proof lacked its current nonce (nothing
    else was checked or spent)."""
    if response.status_code not in (400, 401) or not response.headers.get("dpop-nonce"):
        return False
    if "use_dpop_nonce" in response.headers.get("www-authenticate", ""):
        return True
    err = error_body(response)
    return err is not None and err.error == "use_dpop_nonce"


def _dpop_post(
    url: str, form: Mapping[str, str], key: DpopKey, nonce: str | None
) -> Flow[tuple[httpx.Response, str | None]]:
    """POST ``form`` with a DPoP proof; once more with the server's nonce if it asks."""
    response: httpx.Response | None = None
    for _ in range(NONCE_ATTEMPTS):
        proof = key.proof("POST", url, nonce=nonce)
        response = yield form_request(url, form, {"DPoP": proof, **_PLAIN})
        nonce = response.headers.get("dpop-nonce") or nonce
        if not _wants_nonce(response):
            break
    assert response is not None
    return response, nonce


def start_flow(
    identifier: str,
    client: ClientMetadata,
    *,
    redirect_uri: str | None = None,
    scopes: str | Sequence[str] | None = None,
    plc_url: str = PLC_DIRECTORY,
    resolver: str | None = None,
    dpop_key: DpopKey | None = None,
) -> Flow[BlueskyStart]:
    """The sans-IO discovery and pushed authorization request behind `start`."""
    ident = identifier.strip().lstrip("@")
    handle: str | None = None
    if _DID.fullmatch(ident):
        did = ident
    elif _HANDLE.fullmatch(ident):
        handle = ident.lower()
        did = yield from _resolve_handle(handle, resolver)
    else:
        raise ConfigurationError(
            f"auth.bluesky.start needs a handle (brand.bsky.social) or a DID, got {identifier!r}"
        )
    doc = yield from _did_document(did, plc_url)
    if handle is not None and f"at://{handle}" not in [a.lower() for a in doc.alsoKnownAs]:
        raise ResolutionError(
            f"bluesky: {did} does not claim the handle {handle!r} (its DID document names "
            "other handles); the handle is not verified",
            platform=PLATFORM,
        )
    pds_url = _pds_of(doc)
    server = yield from _authorization_server(pds_url)

    redirect = redirect_uri or client.redirect_uris[0]
    if redirect not in client.redirect_uris:
        raise ConfigurationError(
            f"redirect_uri {redirect!r} is not one of the client's redirect URIs"
        )
    wanted = scopes_of(scopes) if scopes is not None else client.scopes
    if "atproto" not in wanted:
        raise ConfigurationError("Bluesky OAuth scopes must include 'atproto'")
    key = dpop_key or DpopKey.generate()
    state = new_state()
    verifier = new_verifier()
    form = {
        "client_id": client.client_id,
        "response_type": "code",
        "redirect_uri": redirect,
        "scope": " ".join(wanted),
        "state": state,
        "code_challenge": challenge(verifier),
        "code_challenge_method": "S256",
    }
    if handle is not None:
        form["login_hint"] = handle
    response, nonce = yield from _dpop_post(server.par_endpoint, form, key, None)
    if not response.is_success:
        raise failure(response, platform=PLATFORM, what="the pushed authorization request")
    try:
        par = _Par.model_validate_json(response.content)
    except pydantic.ValidationError:
        raise MalformedResponse(
            "bluesky's answer to the pushed authorization request has no request_uri",
            platform=PLATFORM,
            status_code=response.status_code,
        ) from None
    query = urlencode({"client_id": client.client_id, "request_uri": par.request_uri})
    return BlueskyStart(
        url=f"{server.authorization_endpoint}?{query}",
        client_id=client.client_id,
        redirect_uri=redirect,
        scopes=wanted,
        issuer=server.issuer,
        token_endpoint=server.token_endpoint,
        did=did,
        handle=handle,
        pds_url=pds_url,
        state=SecretStr(state),
        verifier=SecretStr(verifier),
        dpop_key=SecretStr(key.to_jwk()),
        dpop_nonce=nonce,
    )


def start(
    identifier: str,
    client: ClientMetadata,
    *,
    redirect_uri: str | None = None,
    scopes: str | Sequence[str] | None = None,
    plc_url: str = PLC_DIRECTORY,
    resolver: str | None = None,
    http: httpx.Client | None = None,
) -> BlueskyStart:
    """Begin connecting a Bluesky account: find its PDS and authorization server, make a
    DPoP key, and push the authorization request (PKCE S256, ``state``, ``login_hint``).

    Args:
        identifier: the account's handle (``brand.bsky.social``) or DID.
        client: the app (`loopback_client`, or a `ClientMetadata` whose document is
            served at its ``client_id``).
        redirect_uri: one of the client's redirect URIs (default: its first).
        scopes: the scopes to ask for (default: the client's).
        plc_url: the PLC directory ``did:plc`` documents are read from.
        resolver: an XRPC service to resolve the handle with (``None``: the handle's own
            ``/.well-known/atproto-did``, then the public AppView).
        http: the httpx client to use (a new one when ``None``).

    Raises:
        ConfigurationError: not a handle or DID, a redirect URI the client lacks, no
            ``atproto`` scope, or ``cryptography`` is missing.
        ResolutionError: the account, its PDS or its authorization server is not found.
        GrantRefused: the server refused the request (e.g. an unknown client or redirect).
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: a server could not be reached.
    """
    flow = start_flow(
        identifier,
        client,
        redirect_uri=redirect_uri,
        scopes=scopes,
        plc_url=plc_url,
        resolver=resolver,
    )
    return run(flow, http)


async def start_async(
    identifier: str,
    client: ClientMetadata,
    *,
    redirect_uri: str | None = None,
    scopes: str | Sequence[str] | None = None,
    plc_url: str = PLC_DIRECTORY,
    resolver: str | None = None,
    http: httpx.AsyncClient | None = None,
) -> BlueskyStart:
    """`start` for async code."""
    flow = start_flow(
        identifier,
        client,
        redirect_uri=redirect_uri,
        scopes=scopes,
        plc_url=plc_url,
        resolver=resolver,
    )
    return await run_async(flow, http)


def _token(response: httpx.Response, what: str) -> _Token:
    body = token_answer(response, platform=PLATFORM, what=what, model=_Token)
    if body.token_type.lower() != "dpop":
        raise MalformedResponse(
            f"bluesky answered {what} with a {body.token_type!r} token, not a DPoP-bound one",
            platform=PLATFORM,
            status_code=response.status_code,
        )
    return body


def finish_flow(
    start: BlueskyStart,
    callback_url: str,
    *,
    clock: Callable[[], float] = time.time,
    once_in: FinishLedger | None = None,
) -> Flow[BlueskyCredentials]:
    """The sans-IO exchange behind `finish`."""
    code = code_from(start, callback_url, platform=PLATFORM, issuer=start.issuer)
    key = DpopKey.from_jwk(start.dpop_key.get_secret_value())
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": start.redirect_uri,
        "code_verifier": start.verifier.get_secret_value(),
        "client_id": start.client_id,
    }
    # Never sent twice (see `_core.redeem`): claimed before the first request (a retry
    # with the server's DPoP nonce is the same exchange), spent once the server has
    # answered it with a 2xx, whether or not its tokens are usable (the server has spent
    # the code all the same).
    claim(start, platform=PLATFORM, once_in=once_in)
    # The server counts the session from its handling of this request: counted from before
    # it was sent, the end brandkit keeps is never later than the server's.
    signed_in = clock()
    try:
        response, nonce = yield from _dpop_post(start.token_endpoint, form, key, start.dpop_nonce)
    except BaseException:
        settle(start, spent=False, once_in=once_in)
        raise
    settle(start, spent=response.is_success, once_in=once_in)
    body = _token(response, "the authorization code")
    if start.did is not None and body.sub != start.did:
        raise GrantRefused(
            f"bluesky issued tokens for {body.sub}, not for {start.did} whose authorization "
            "this was; nothing was connected",
            platform=PLATFORM,
        )
    granted = scopes_of(body.scope) if body.scope else start.scopes
    if "atproto" not in granted:
        raise GrantRefused(
            "bluesky granted no 'atproto' scope: these are not atproto credentials",
            platform=PLATFORM,
        )
    return BlueskyCredentials(
        access_token=SecretStr(body.access_token),
        refresh_token=SecretStr(body.refresh_token) if body.refresh_token else None,
        expires_at=expiry_after(clock(), body.expires_in),
        scopes=granted,
        did=body.sub,
        handle=start.handle,
        pds_url=start.pds_url,
        issuer=start.issuer,
        token_endpoint=start.token_endpoint,
        client_id=start.client_id,
        dpop_key=start.dpop_key,
        dpop_nonce=nonce,
        refresh_expires_at=signed_in + SESSION_LIFETIME,
    )


def finish(
    start: BlueskyStart,
    callback_url: str,
    *,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
    once_in: FinishLedger | None = None,
) -> BlueskyCredentials:
    """Finish connecting: check the callback (``state``, ``iss``) and exchange its code,
    with the PKCE verifier and a DPoP proof of the start's key.

    Args:
        start: what `start` returned (or `BlueskyStart.from_dict` of it).
        callback_url: the full URL the user came back to.
        http: the httpx client to use (a new one when ``None``).
        clock: what ``expires_at`` is counted from (an emulator's ``clock.time``).
        once_in: a store that every process which may finish this authorization shares
            (`EncryptedStore`, `PostgresStore`): the first finish claims it there, and a
            second one anywhere (a reloaded page, another worker) is refused before its code
            is sent. ``None``: refused in this process only.

    Raises:
        ConsentDenied: the user refused.
        AuthorizationFinished: this authorization was finished already, or is being
            finished, in this process (or one sharing ``once_in``): nothing is sent.
        CallbackError: the state differs (forged or another attempt), the callback comes
            from another server, or it carries no code.
        BrandkitError: ``once_in`` could not be reached (nothing is sent).
        GrantRefused: the server refused the code (used already, expired, another verifier
            or redirect URI, a bad DPoP proof), or issued tokens for another account.
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: the server could not be reached.
    """
    return run(finish_flow(start, callback_url, clock=clock, once_in=once_in), http)


async def finish_async(
    start: BlueskyStart,
    callback_url: str,
    *,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
    once_in: FinishLedger | None = None,
) -> BlueskyCredentials:
    """`finish` for async code."""
    return await run_async(finish_flow(start, callback_url, clock=clock, once_in=once_in), http)


def refresh_flow(
    creds: BlueskyCredentials, *, clock: Callable[[], float] = time.time
) -> Flow[BlueskyCredentials]:
    """The sans-IO refresh behind `refresh` (the adapter runs it itself)."""
    if creds.refresh_token is None:
        raise ConfigurationError(
            "these Bluesky credentials have no refresh token: connect the account again"
        )
    if creds.session_ended(clock()):
        raise _session_expired(creds)
    key = DpopKey.from_jwk(creds.dpop_key.get_secret_value())
    form = {
        "grant_type": "refresh_token",
        "refresh_token": creds.refresh_token.get_secret_value(),
        "client_id": creds.client_id,
    }
    response, nonce = yield from _dpop_post(creds.token_endpoint, form, key, creds.dpop_nonce)
    try:
        body = _token(response, "the refresh token")
    except GrantRefused as exc:
        # The provider's words for a session past its lifetime (credentials saved before
        # brandkit kept its end): as dead as one found ended before sending.
        if exc.code == "invalid_grant" and exc.platform_message in _ENDED:
            raise _session_expired(creds, refused=exc.platform_message) from None
        raise
    if body.sub != creds.did:
        raise GrantRefused(
            f"bluesky refreshed tokens for {body.sub}, not {creds.did}", platform=PLATFORM
        )
    return attrs.evolve(
        creds,
        access_token=SecretStr(body.access_token),
        # Refresh tokens are single use: an answer without one leaves none usable.
        refresh_token=SecretStr(body.refresh_token) if body.refresh_token else None,
        expires_at=expiry_after(clock(), body.expires_in),
        scopes=scopes_of(body.scope) if body.scope else creds.scopes,
        dpop_nonce=nonce,
        # A refresh never extends a public client's session (`SESSION_LIFETIME`).
        refresh_expires_at=creds.refresh_expires_at,
    )


_ENDED = frozenset({"Session expired", "Refresh token expired"})
"""The ``error_description`` of ``@atproto/oauth-provider``'s ``invalid_grant`` for a session
past its lifetime (``SESSION_LIFETIME``) or a refresh token past its own."""


def _session_expired(creds: BlueskyCredentials, refused: str | None = None) -> SessionExpired:
    """The `SessionExpired` of ``creds``, whose session has ended: when (or the server's
    ``refused`` words, when it said so), and the command that connects the account again.
    Raises nothing; holds no secret."""
    who = creds.handle or creds.did or "HANDLE"
    again = f"connect the account again (brandkit connect bluesky {who} --key KEY --replace)"
    if refused is not None:
        return SessionExpired(
            f"bluesky: the OAuth session of {who} has ended (the server refused its refresh "
            f"token: {refused}; a session lasts two weeks from the sign-in and no refresh "
            f"extends it): {again}",
            platform=PLATFORM,
            status_code=400,
            code="invalid_grant",
            platform_message=refused,
        )
    # Clamped to what a calendar holds: a stored end may be any finite number.
    at = max(0.0, min(creds.refresh_expires_at or 0.0, 253_402_300_799.0))
    ended = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))
    return SessionExpired(
        f"bluesky: the OAuth session of {who} ended on {ended} (a session lasts two weeks "
        "from the sign-in and no refresh extends it), so its refresh token is refused and "
        f"nothing was sent: {again}",
        platform=PLATFORM,
        code="session_expired",
    )


def refresh(
    creds: BlueskyCredentials,
    *,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> BlueskyCredentials:
    """New credentials for ``creds``: a new access token and a new refresh token, bound to
    the same DPoP key. The old refresh token is spent: store the result before anything
    else (use `brandkit.auth.refresh_locked` when several processes share the account).

    Raises:
        ConfigurationError: ``creds`` hold no refresh token.
        SessionExpired: the session has ended: ``creds.refresh_expires_at`` has passed by
            ``clock`` (nothing is sent), or the server says so ("Session expired",
            "Refresh token expired"); connect the account again.
        GrantRefused: the refresh token was spent, revoked or expired, or the DPoP proof
            was refused.
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: the server could not be reached.
    """
    return run(refresh_flow(creds, clock=clock), http)


async def refresh_async(
    creds: BlueskyCredentials,
    *,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> BlueskyCredentials:
    """`refresh` for async code."""
    return await run_async(refresh_flow(creds, clock=clock), http)


# -- revocation ------------------------------------------------------------------------------


class RevocationUnsupported(Unsupported):
    """The account's authorization server offers no revocation: its metadata names no
    ``revocation_endpoint`` (RFC 8414), so no request can end the session. It ends when it
    expires (two weeks for a public client), or when the account's owner ends it in the
    server's account settings. Unlike other `Unsupported` errors, this one is raised after
    the server's metadata was read."""


def _revoke_advice(error: str | None) -> str:
    if error in ("invalid_client", "unauthorized_client"):
        return "the session may still be valid: " + advice(error)
    return (
        "the session may still be valid: revoke again; if it is refused again, the "
        "account's owner can end the session in the server's account settings (it ends by "
        "itself within two weeks)"
    )


def _revoked(response: httpx.Response) -> None:
    """Read the authorization server's answer to a revocation (`revocation_answer`): return
    when it is done. The reference server (``@atproto/oauth-provider``, ``POST
    /oauth/revoke``) answers ``{}`` with 200 whatever happened past its checks of the
    request and the DPoP proof.

    Raises:
        RateLimited, PlatformUnavailable: a 429 or a 5xx.
        GrantRefused: a 4xx: the request, the client or the DPoP proof was refused.
        MalformedResponse: another status, or a 2xx whose body is not a JSON object.
    """
    revocation_answer(
        response,
        platform=PLATFORM,
        what="the revocation of the session",
        model=AnyObject,
        advice=_revoke_advice,
    )


def revoke_flow(creds: BlueskyCredentials) -> Flow[None]:
    """The sans-IO revocation behind `revoke`: the authorization server's metadata, then
    one DPoP-signed revocation request (once more with the server's new nonce if it asks)."""
    if not creds.client_id:
        raise ConfigurationError(
            "these Bluesky credentials name no client_id: revoking needs the app they were "
            "issued to"
        )
    issuer = _http_url(creds.issuer, "the authorization server")
    key = DpopKey.from_jwk(creds.dpop_key.get_secret_value())
    server = yield from _server_metadata(issuer)
    endpoint = server.revocation_endpoint
    if endpoint is None:
        raise RevocationUnsupported(
            f"bluesky: the authorization server {issuer} names no revocation_endpoint in its "
            "metadata, so its sessions cannot be revoked through its API; this one stays "
            "valid until it expires (two weeks at most) or the account's owner ends it in "
            "the server's account settings",
            platform=PLATFORM,
            operation="revoke",
        )
    if not isinstance(endpoint, str):
        raise ResolutionError(
            f"bluesky: the authorization server {issuer} names as its revocation_endpoint "
            "no URL; refusing it",
            platform=PLATFORM,
        )
    url = _endpoint(endpoint, issuer, "revocation_endpoint")
    # The refresh token ends the session from any of its refreshes (the provider finds a
    # session by its current or a spent refresh token); an access token only while it is
    # the session's newest. A public client authenticates with its client_id alone.
    token = creds.refresh_token or creds.access_token
    form = {"token": token.get_secret_value(), "client_id": creds.client_id}
    response, _ = yield from _dpop_post(url, form, key, creds.dpop_nonce)
    _revoked(response)


def revoke(creds: BlueskyCredentials, *, http: httpx.Client | None = None) -> None:
    """End the OAuth session of ``creds`` at the account's authorization server (RFC 7009,
    as ``@atproto/oauth-provider`` serves it at its metadata's ``revocation_endpoint``):
    its refresh token is revoked (its access token when there is none), with the client id
    and a DPoP proof of the session's key, and the server ends the whole session. Afterwards
    the PDS refuses the access token and the authorization server the refresh token; the
    account must be connected again to post.

    A session the server no longer knows (revoked, spent, expired) counts as ended: the
    server answers 200 for it too, so a revocation that failed can simply be run again. The
    reference server answers 200 as well when the request is not this session's client or
    key (then nothing ended): revoke with the credentials the session was issued to.

    Args:
        creds: the session to end (its ``issuer`` says where, ``dpop_key`` signs).
        http: the httpx client to use (a new one when ``None``).

    Raises:
        ConfigurationError: ``creds`` name no client id, their DPoP key is not a P-256 key,
            or ``cryptography`` is missing.
        RevocationUnsupported: the authorization server's metadata names no revocation
            endpoint (the session stays valid until it expires).
        ResolutionError: ``creds`` name no http(s) issuer, or the server's metadata could
            not be read, is another server's, or names a revocation endpoint that is not an
            http(s) URL (https for an https issuer).
        GrantRefused: the server refused the request, the client or the DPoP proof.
        RateLimited, PlatformUnavailable: an endpoint answered 429 or a 5xx (try again
            later; the session may still be valid).
        MalformedResponse: an answer that is not the server's (the session may be valid).
        TransportError: the server could not be reached.
    """
    run(revoke_flow(creds), http)


async def revoke_async(creds: BlueskyCredentials, *, http: httpx.AsyncClient | None = None) -> None:
    """`revoke` for async code."""
    await run_async(revoke_flow(creds), http)


def dpop_headers(
    key: DpopKey, request: httpx.Request, access_token: str, nonce: str | None
) -> dict[str, str]:
    """The headers of a DPoP-bound call to the PDS: ``Authorization: DPoP <token>`` and a
    proof for this request's method and URL (with the token's hash and the PDS's nonce)."""
    proof = key.proof(request.method, request.url, nonce=nonce, access_token=access_token)
    return {"Authorization": f"DPoP {access_token}", "DPoP": proof}


# -- accounts --------------------------------------------------------------------------------

SECRET_KEYS = ("oauth_access_token", "oauth_refresh_token", "dpop_key")
"""The account secrets an OAuth-connected Bluesky account keeps."""


def account_from(
    creds: BlueskyCredentials,
    *,
    name: str | None = None,
    on_credentials_changed: CredentialsHook | None = None,
) -> Account:
    """An [`Account`][brandkit.Account] that posts with ``creds`` at the account's PDS: every
    call carries the DPoP-bound token and a proof, and the adapter refreshes the token ahead
    of its expiry and when the PDS refuses it (new tokens reach ``on_credentials_changed`` as
    ``oauth_access_token`` and ``oauth_refresh_token``; the new expiry is in
    ``account.settings["oauth"]``). To keep the new session, store
    ``credentials_of(account).to_dict()`` from that hook."""
    from brandkit.accounts import Account

    return Account(
        PLATFORM,
        name=name,
        base_url=creds.pds_url,
        secrets={
            "oauth_access_token": creds.access_token,
            "oauth_refresh_token": creds.refresh_token,
            "dpop_key": creds.dpop_key,
        },
        settings={
            "handle": creds.handle or creds.did,
            "did": creds.did,
            "oauth": {
                "issuer": creds.issuer,
                "token_endpoint": creds.token_endpoint,
                "client_id": creds.client_id,
                "scopes": list(creds.scopes),
                "expires_at": creds.expires_at,
                "dpop_nonce": creds.dpop_nonce,
                "refresh_expires_at": creds.refresh_expires_at,
            },
        },
        on_credentials_changed=on_credentials_changed,
    )


def credentials_of(account: Account) -> BlueskyCredentials | None:
    """The OAuth credentials an account made by `account_from` holds (``None`` for an
    app-password account)."""
    access = account.secret("oauth_access_token")
    key = account.secret("dpop_key")
    oauth = account.settings.get("oauth")
    if not access or not key or not isinstance(oauth, Mapping):
        return None
    refresh_token = account.secret("oauth_refresh_token")
    expires = oauth.get("expires_at")
    return BlueskyCredentials(
        access_token=SecretStr(access),
        refresh_token=SecretStr(refresh_token) if refresh_token else None,
        expires_at=stored_time(expires),
        scopes=setting_scopes(oauth.get("scopes")) or DEFAULT_SCOPES,
        did=str(account.settings.get("did") or ""),
        handle=account.settings.get("handle"),
        pds_url=account.base_url,
        issuer=str(oauth.get("issuer") or ""),
        token_endpoint=str(oauth.get("token_endpoint") or ""),
        client_id=str(oauth.get("client_id") or ""),
        dpop_key=SecretStr(key),
        dpop_nonce=oauth.get("dpop_nonce"),
        refresh_expires_at=stored_time(oauth.get("refresh_expires_at")),
    )
