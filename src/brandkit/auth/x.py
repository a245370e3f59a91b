"""Connect an X account: OAuth 2.0 authorization code with PKCE, and refresh.

```python
start = brandkit.auth.x.start(client_id, "https://app.example/cb", ["tweet.read", ...])
# send the user to start.url; keep start.to_dict() in the session
creds = brandkit.auth.x.finish(start, callback_url, client_secret=secret)
```

X's access tokens live two hours; a refresh token comes only with the ``offline.access``
scope, and each refresh returns a new one and invalidates the old (rotation): keep the
newest. Sources: https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code
and https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import urlencode

import attrs
import httpx
import pydantic
from pydantic import SecretStr

from brandkit._flow import Flow
from brandkit.auth._core import (
    Start,
    basic,
    challenge,
    code_from,
    form_request,
    new_state,
    new_verifier,
    run,
    run_async,
    saved,
    scopes_of,
    token_answer,
)
from brandkit.errors import ConfigurationError

__all__ = [
    "AUTHORIZE_URL",
    "TOKEN_URL",
    "XCredentials",
    "finish",
    "finish_async",
    "finish_flow",
    "refresh",
    "refresh_async",
    "refresh_flow",
    "start",
]

AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
TOKEN_URL = "https://api.x.com/2/oauth2/token"
AUTHORIZE_PATH = "/i/oauth2/authorize"
TOKEN_PATH = "/2/oauth2/token"


@attrs.frozen(repr=False)
class XCredentials:
    """An X user's OAuth 2 credentials.

    Attributes:
        access_token: the bearer token (2 hours on X).
        refresh_token: the refresh token (only with ``offline.access``); single use.
        expires_at: when the access token expires (epoch seconds), ``None`` if unknown.
        scopes: the scopes granted.
        client_id: the app the tokens belong to (a refresh needs it).
        base_url: the API the tokens are for (``None``: api.x.com).
    """

    access_token: SecretStr
    refresh_token: SecretStr | None
    expires_at: float | None
    scopes: tuple[str, ...]
    client_id: str
    base_url: str | None = None

    platform: ClassVar[str] = "x"

    def __repr__(self) -> str:
        return (
            f"XCredentials(client_id={self.client_id!r}, scopes={self.scopes!r}, "
            f"expires_at={self.expires_at!r}, refreshable={self.refresh_token is not None})"
        )

    __str__ = __repr__

    def expired(self, now: float | None = None, *, margin: float = 60.0) -> bool:
        """Whether the access token has expired, or will within ``margin`` seconds."""
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) >= self.expires_at - margin

    def to_dict(self) -> dict[str, Any]:
        """Plain data, tokens included in clear: store it encrypted, never log it."""
        return {
            "platform": "x",
            "access_token": self.access_token.get_secret_value(),
            "refresh_token": (
                self.refresh_token.get_secret_value() if self.refresh_token else None
            ),
            "expires_at": self.expires_at,
            "scopes": list(self.scopes),
            "client_id": self.client_id,
            "base_url": self.base_url,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> XCredentials:
        """The credentials `to_dict` gave.

        Raises:
            ConfigurationError: a field is missing or of the wrong type, or the data are
                another platform's (the message names fields, never values).
        """
        model = saved(_CredentialsModel, data, "x", "X")
        return cls(
            access_token=SecretStr(model.access_token),
            refresh_token=SecretStr(model.refresh_token) if model.refresh_token else None,
            expires_at=model.expires_at,
            scopes=tuple(model.scopes),
            client_id=model.client_id,
            base_url=model.base_url,
        )


class _CredentialsModel(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore", strict=True)

    platform: str = pydantic.Field(pattern="^x$")
    access_token: str = pydantic.Field(min_length=1)
    refresh_token: str | None = None
    expires_at: float | None = None
    scopes: list[str]
    client_id: str
    base_url: str | None = None


def _bases(base_url: str | None) -> tuple[str, str]:
    if base_url is None:
        return AUTHORIZE_URL, TOKEN_URL
    if not base_url.startswith(("http://", "https://")):
        raise ConfigurationError(f"base_url must be an http(s) URL, got {base_url!r}")
    root = base_url.rstrip("/")
    return root + AUTHORIZE_PATH, root + TOKEN_PATH


def start(
    client_id: str,
    redirect_uri: str,
    scopes: str | Sequence[str],
    base_url: str | None = None,
) -> Start:
    """Begin connecting an X account: a fresh ``state`` and PKCE (S256) verifier, and the
    authorization URL to send the user to. No request is made.

    Args:
        client_id: the app's OAuth 2.0 client id (developer portal, "Keys and tokens").
        redirect_uri: the callback URL, exactly as registered with the app.
        scopes: e.g. ``["tweet.read", "tweet.write", "users.read", "offline.access"]``;
            without ``offline.access`` there is no refresh token.
        base_url: where authorize and token endpoints are (an emulator); ``None`` for X.

    Raises:
        ConfigurationError: no client id, redirect URI or scope, or a bad ``base_url``.
    """
    if not client_id or not redirect_uri:
        raise ConfigurationError("auth.x.start needs a client_id and a redirect_uri")
    wanted = scopes_of(scopes)
    if not wanted:
        raise ConfigurationError("auth.x.start needs at least one scope, e.g. 'tweet.read'")
    authorize, token = _bases(base_url)
    state = new_state()
    verifier = new_verifier()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(wanted),
            "state": state,
            "code_challenge": challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    return Start(
        platform="x",
        url=f"{authorize}?{query}",
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=wanted,
        token_url=token,
        state=SecretStr(state),
        verifier=SecretStr(verifier),
        api_base=base_url.rstrip("/") if base_url else None,
    )


def _client_auth(
    client_id: str, client_secret: str | SecretStr | None, form: dict[str, str]
) -> dict[str, str]:
    """Headers for the token request: Basic for a confidential client; a public client
    sends its ``client_id`` in the form instead."""
    if client_secret is None:
        form["client_id"] = client_id
        return {}
    secret = (
        client_secret.get_secret_value() if isinstance(client_secret, SecretStr) else client_secret
    )
    return {"authorization": basic(client_id, secret)}


def _credentials(
    body: Any, *, client_id: str, base_url: str | None, asked: tuple[str, ...], now: float
) -> XCredentials:
    expires_at = now + float(body.expires_in) if body.expires_in is not None else None
    return XCredentials(
        access_token=SecretStr(body.access_token),
        refresh_token=SecretStr(body.refresh_token) if body.refresh_token else None,
        expires_at=expires_at,
        scopes=scopes_of(body.scope) if body.scope else asked,
        client_id=client_id,
        base_url=base_url,
    )


def finish_flow(
    start: Start,
    callback_url: str,
    *,
    client_secret: str | SecretStr | None = None,
    clock: Callable[[], float] = time.time,
) -> Flow[XCredentials]:
    """The sans-IO exchange behind `finish`: checks the callback, then yields the token
    request and returns the credentials."""
    if start.platform != "x":
        raise ConfigurationError(f"auth.x.finish got a {start.platform} authorization start")
    code = code_from(start, callback_url, platform="x")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": start.redirect_uri,
        "code_verifier": start.verifier.get_secret_value() if start.verifier else "",
    }
    headers = _client_auth(start.client_id, client_secret, form)
    response: httpx.Response = yield form_request(start.token_url, form, headers)
    body = token_answer(response, platform="x", what="the authorization code")
    return _credentials(
        body, client_id=start.client_id, base_url=start.api_base, asked=start.scopes, now=clock()
    )


def finish(
    start: Start,
    callback_url: str,
    *,
    client_secret: str | SecretStr | None = None,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> XCredentials:
    """Finish connecting: check the callback's ``state`` and exchange its code.

    Args:
        start: what `start` returned (or `Start.from_dict` of it).
        callback_url: the full URL the user came back to.
        client_secret: the app's secret for a confidential client (sent as HTTP Basic);
            ``None`` for a public client.
        http: the httpx client to use (a new one when ``None``).
        clock: what ``expires_at`` is counted from (an emulator's ``clock.time``).

    Raises:
        ConsentDenied: the user refused.
        CallbackError: the state differs (forged or from another attempt), or no code.
        GrantRefused: X refused the code (used already, expired after 30 s, another
            verifier or redirect URI, wrong client credentials).
        TransportError: X could not be reached.
    """
    return run(finish_flow(start, callback_url, client_secret=client_secret, clock=clock), http)


async def finish_async(
    start: Start,
    callback_url: str,
    *,
    client_secret: str | SecretStr | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> XCredentials:
    """`finish` for async code."""
    return await run_async(
        finish_flow(start, callback_url, client_secret=client_secret, clock=clock), http
    )


def refresh_flow(
    creds: XCredentials,
    *,
    client_secret: str | SecretStr | None = None,
    clock: Callable[[], float] = time.time,
) -> Flow[XCredentials]:
    """The sans-IO refresh behind `refresh`."""
    if creds.refresh_token is None:
        raise ConfigurationError(
            "these X credentials have no refresh token: connect with the offline.access scope"
        )
    form = {"grant_type": "refresh_token", "refresh_token": creds.refresh_token.get_secret_value()}
    headers = _client_auth(creds.client_id, client_secret, form)
    _, token_url = _bases(creds.base_url)
    response: httpx.Response = yield form_request(token_url, form, headers)
    body = token_answer(response, platform="x", what="the refresh token")
    new = _credentials(
        body, client_id=creds.client_id, base_url=creds.base_url, asked=creds.scopes, now=clock()
    )
    if new.refresh_token is None:
        # An answer without a refresh token leaves the old one in force.
        new = attrs.evolve(new, refresh_token=creds.refresh_token)
    return new


def refresh(
    creds: XCredentials,
    *,
    client_secret: str | SecretStr | None = None,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> XCredentials:
    """New credentials for ``creds``: a new access token and, as X rotates them, a new
    refresh token. The old refresh token is spent: store the result before anything else
    (two processes refreshing one token at once leave one of them with a dead token).
    ``http`` and ``clock`` are as for `finish`.

    Raises:
        ConfigurationError: ``creds`` hold no refresh token.
        GrantRefused: X refused the refresh token (already spent, revoked, another client).
        TransportError: X could not be reached.
    """
    return run(refresh_flow(creds, client_secret=client_secret, clock=clock), http)


async def refresh_async(
    creds: XCredentials,
    *,
    client_secret: str | SecretStr | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> XCredentials:
    """`refresh` for async code."""
    return await run_async(refresh_flow(creds, client_secret=client_secret, clock=clock), http)
