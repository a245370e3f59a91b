"""Connect an X account: OAuth 2.0 authorization code with PKCE, and refresh.

```python
start = brandkit.auth.x.start(client_id, "https://app.example/cb", ["tweet.read", ...])
# send the user to start.url; keep start.to_dict() in the session
creds = brandkit.auth.x.finish(start, callback_url, client_secret=secret)
```

OAuth 1.0a 3-legged (`start_oauth1`, `finish_oauth1`) gives an access token and secret
that never expire, for the endpoints that still need OAuth 1.0a.

`revoke` (OAuth 2.0) and `revoke_oauth1` (OAuth 1.0a) make X refuse an account's tokens
from then on, for when the account is removed.

X's access tokens live two hours; a refresh token comes only with the ``offline.access``
scope, and each refresh returns a new one and invalidates the old (rotation): keep the
newest. Sources: https://docs.x.com/fundamentals/authentication/oauth-2-0/authorization-code
and https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import attrs
import httpx
import pydantic
from pydantic import SecretStr

from brandkit._durations import expiry_after, stored_time
from brandkit._flow import Flow, Send
from brandkit.auth._core import (
    MAX_ANSWER,
    CallbackError,
    ConsentDenied,
    Expiring,
    FinishLedger,
    GrantRefused,
    SavedModel,
    Start,
    api_root,
    authorization_start,
    basic,
    built,
    code_from,
    form_request,
    not_now,
    own_start,
    plain,
    redeem,
    restored,
    revocation_answer,
    run,
    run_async,
    saved,
    saved_data,
    scopes_of,
    setting_scopes,
    start_arguments,
    token_answer,
    unexpected,
)
from brandkit.errors import ConfigurationError, MalformedResponse

if TYPE_CHECKING:
    from brandkit.accounts import Account

__all__ = [
    "AUTHORIZE_URL",
    "OOB",
    "TOKEN_URL",
    "OAuth1Start",
    "XCredentials",
    "XOAuth1Credentials",
    "credentials_of",
    "finish",
    "finish_async",
    "finish_flow",
    "finish_oauth1",
    "finish_oauth1_async",
    "finish_oauth1_flow",
    "refresh",
    "refresh_async",
    "refresh_flow",
    "revoke",
    "revoke_async",
    "revoke_flow",
    "revoke_oauth1",
    "revoke_oauth1_async",
    "revoke_oauth1_flow",
    "start",
    "start_oauth1",
    "start_oauth1_async",
    "start_oauth1_flow",
]

AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
TOKEN_URL = "https://api.x.com/2/oauth2/token"
AUTHORIZE_PATH = "/i/oauth2/authorize"
TOKEN_PATH = "/2/oauth2/token"
API_ROOT = "https://api.x.com"
"""The API an account of credentials without a ``base_url`` posts to."""


@attrs.frozen(repr=False)
class XCredentials(Expiring):
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

    def to_dict(self) -> dict[str, Any]:
        """Plain data, tokens included in clear: store it encrypted, never log it."""
        return saved_data(self, platform="x")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> XCredentials:
        """The credentials `to_dict` gave.

        Raises:
            ConfigurationError: a field is missing or of the wrong type, or the data are
                another platform's (the message names fields, never values).
        """
        return built(cls, saved(_CredentialsModel, data, "x", "X"))


class _CredentialsModel(SavedModel):
    platform: str = pydantic.Field(pattern="^x$")
    access_token: SecretStr = pydantic.Field(min_length=1)
    refresh_token: SecretStr | None = None
    expires_at: float | None = None
    scopes: list[str]
    client_id: str
    base_url: str | None = None


def credentials_of(account: Account) -> XCredentials | None:
    """The OAuth 2 credentials ``account`` holds now, as `finish` or `refresh` gives them:
    the tokens, ``expires_at`` (a refresh by the adapter moves it on) and the scopes of an
    account made by `brandkit.auth.account_from`. Call it from ``on_credentials_changed``
    to store a refresh whole (``credentials_of(account).to_dict()``).

    Returns ``None`` for an account that is not X OAuth 2 (OAuth 1.0a keys, another
    platform). Raises nothing.
    """
    token = account.secret("user_token")
    if account.platform != "x" or not token:
        return None
    refresh_token = account.secret("refresh_token")
    return XCredentials(
        access_token=SecretStr(token),
        refresh_token=SecretStr(refresh_token) if refresh_token else None,
        expires_at=stored_time(account.settings.get("token_expires_at")),
        scopes=setting_scopes(account.settings.get("scopes")),
        client_id=str(account.settings.get("client_id") or ""),
        base_url=None if account.base_url == API_ROOT else account.base_url,
    )


def _bases(base_url: str | None) -> tuple[str, str]:
    if base_url is None:
        return AUTHORIZE_URL, TOKEN_URL
    root = api_root(base_url, API_ROOT)
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
    wanted = scopes_of(scopes)
    start_arguments("x", client_id, redirect_uri, wanted, "tweet.read")
    authorize, token = _bases(base_url)
    return authorization_start(
        "x",
        authorize,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=wanted,
        scope=" ".join(wanted),
        token_url=token,
        api_base=base_url,
        pkce=True,
    )


def _client_auth(
    client_id: str, client_secret: str | SecretStr | None, form: dict[str, str]
) -> dict[str, str]:
    """Headers for the token request: Basic for a confidential client; a public client
    sends its ``client_id`` in the form instead."""
    if client_secret is None:
        form["client_id"] = client_id
        return {}
    return {"authorization": basic(client_id, plain(client_secret))}


def _credentials(
    body: Any, *, client_id: str, base_url: str | None, asked: tuple[str, ...], now: float
) -> XCredentials:
    expires_at = expiry_after(now, body.expires_in)
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
    once_in: FinishLedger | None = None,
) -> Flow[XCredentials]:
    """The sans-IO exchange behind `finish`: checks the callback, then yields the token
    request and returns the credentials."""
    own_start(start, "x")
    code = code_from(start, callback_url, platform="x")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": start.redirect_uri,
        "code_verifier": start.verifier.get_secret_value() if start.verifier else "",
    }
    headers = _client_auth(start.client_id, client_secret, form)
    step = form_request(start.token_url, form, headers)
    response = yield from redeem(start, step, platform="x", once_in=once_in)
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
    once_in: FinishLedger | None = None,
) -> XCredentials:
    """Finish connecting: check the callback's ``state`` and exchange its code.

    Args:
        start: what `start` returned (or `Start.from_dict` of it).
        callback_url: the full URL the user came back to.
        client_secret: the app's secret for a confidential client (sent as HTTP Basic);
            ``None`` for a public client.
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
        CallbackError: the state differs (forged or from another attempt), or no code.
        BrandkitError: ``once_in`` could not be reached (nothing is sent).
        GrantRefused: X refused the code (used already, expired after 30 s, another
            verifier or redirect URI, wrong client credentials).
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: X could not be reached.
    """
    flow = finish_flow(
        start, callback_url, client_secret=client_secret, clock=clock, once_in=once_in
    )
    return run(flow, http)


async def finish_async(
    start: Start,
    callback_url: str,
    *,
    client_secret: str | SecretStr | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
    once_in: FinishLedger | None = None,
) -> XCredentials:
    """`finish` for async code."""
    flow = finish_flow(
        start, callback_url, client_secret=client_secret, clock=clock, once_in=once_in
    )
    return await run_async(flow, http)


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
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
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


# -- revocation --------------------------------------------------------------------------------

REVOKE_PATH = "/2/oauth2/revoke"


class _Revoked(pydantic.BaseModel):
    """X's answer to ``POST /2/oauth2/revoke``: ``{"revoked": true}``. X's guide shows the
    request, not the answer; the shape is the one clients of X read, e.g. Hono's X provider
    (https://github.com/honojs/middleware, packages/oauth-providers/src/providers/x/
    revokeToken.ts returns ``response.revoked``)."""

    revoked: pydantic.StrictBool


def _revoke_advice(error: str | None) -> str:
    return (
        "check the app's client id and secret (the app the account was connected with, in "
        "X's developer portal: a confidential client needs its secret, a public one none), "
        "then revoke again"
    )


def _revoke_answer(response: httpx.Response, what: str) -> None:
    """Read X's answer to one revocation (`revocation_answer`): return when the token is no
    longer valid; X's body is ``{"revoked": true}``.

    Raises:
        RateLimited, PlatformUnavailable: a 429 or a 5xx.
        GrantRefused: a 4xx (X refused the client: wrong client id or secret, a public
            client's id for a confidential app), or a 200 that says ``"revoked": false``.
        MalformedResponse: an answer that is not X's (the body is not kept).
    """
    body = revocation_answer(
        response, platform="x", what=what, model=_Revoked, advice=_revoke_advice
    )
    if not body.revoked:
        raise GrantRefused(
            f"x did not revoke {what} (answered revoked: false); revoke again, or have the "
            "user remove the app at https://x.com/settings/connected_apps",
            platform="x",
            status_code=response.status_code,
        )


def revoke_flow(creds: XCredentials, *, client_secret: str | SecretStr | None = None) -> Flow[None]:
    """The sans-IO revocation behind `revoke`: yields the refresh token's revocation (when
    there is one), then the access token's, each read before the next is sent."""
    if not creds.client_id:
        raise ConfigurationError(
            "these X credentials name no client_id: revoking needs the app they were issued to"
        )
    _, token_url = _bases(creds.base_url)
    revoke_url = token_url[: -len(TOKEN_PATH)] + REVOKE_PATH
    tokens: list[tuple[str, SecretStr]] = []
    # The refresh token first: once it is dead nothing can mint new access tokens, even if
    # the second request never arrives.
    if creds.refresh_token is not None:
        tokens.append(("refresh_token", creds.refresh_token))
    tokens.append(("access_token", creds.access_token))
    for hint, token in tokens:
        form = {"token": token.get_secret_value(), "token_type_hint": hint}
        headers = _client_auth(creds.client_id, client_secret, form)
        response: httpx.Response = yield form_request(revoke_url, form, headers)
        _revoke_answer(response, f"the revocation of the {hint.replace('_', ' ')}")


def revoke(
    creds: XCredentials,
    *,
    client_secret: str | SecretStr | None = None,
    http: httpx.Client | None = None,
) -> None:
    """Revoke the tokens of ``creds`` at X (``POST /2/oauth2/revoke``, RFC 7009): the
    refresh token first (so nothing can mint new access tokens), then the access token.
    Afterwards X refuses both; the account must be connected again to post.

    A token X already holds invalid (spent by a refresh, expired, revoked before) counts as
    revoked: X answers 200 for it (RFC 7009 §2.2). So a revocation that failed half-way can
    simply be run again. The client authenticates as for `refresh`: HTTP Basic with
    ``client_secret`` for a confidential client, ``client_id`` in the form for a public one.
    Sources: https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token
    ("POST oauth2/revoke") and https://www.rfc-editor.org/rfc/rfc7009#section-2.2.

    Args:
        creds: the credentials to revoke (their ``client_id`` and ``base_url`` say where).
        client_secret: the app's secret for a confidential client; ``None`` for a public one.
        http: the httpx client to use (a new one when ``None``).

    Raises:
        ConfigurationError: ``creds`` name no client id, or a bad ``base_url``.
        GrantRefused: X refused the client (``code`` ``"unauthorized_client"``: wrong client
            id or secret), or answered ``revoked: false``.
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try again
            later; the refresh token may already be revoked, which a new run counts as done).
        MalformedResponse: a 200 that is not X's revocation answer (the token may be valid).
        TransportError: X could not be reached.
    """
    run(revoke_flow(creds, client_secret=client_secret), http)


async def revoke_async(
    creds: XCredentials,
    *,
    client_secret: str | SecretStr | None = None,
    http: httpx.AsyncClient | None = None,
) -> None:
    """`revoke` for async code."""
    await run_async(revoke_flow(creds, client_secret=client_secret), http)


# -- OAuth 1.0a 3-legged -----------------------------------------------------------------------

OAUTH1_ROOT = "https://api.x.com"
REQUEST_TOKEN_PATH = "/oauth/request_token"
OAUTH1_AUTHORIZE_PATH = "/oauth/authorize"
ACCESS_TOKEN_PATH = "/oauth/access_token"
OOB = "oob"
"""The ``callback`` of the PIN flow: X shows the user a verifier to type in instead."""


@attrs.frozen(repr=False)
class OAuth1Start:
    """The start of an OAuth 1.0a authorization: the request token X issued and the URL to
    send the user to. Keep it (``to_dict()`` in the web session, it holds the request
    token's secret) until the user comes back, then pass it to `finish_oauth1`.

    Attributes:
        url: ``https://api.x.com/oauth/authorize?oauth_token=…``, where the user consents.
        consumer_key: the app's API key.
        callback: the callback URL sent (``"oob"`` for the PIN flow).
        request_token: the request token (also in ``url``; the callback carries it back).
        request_token_secret: its secret, which signs the access-token exchange.
        base_url: the API root (``None``: api.x.com).
    """

    url: str
    consumer_key: str
    callback: str
    request_token: str
    request_token_secret: SecretStr
    base_url: str | None = None

    platform: ClassVar[str] = "x"

    def __repr__(self) -> str:
        return f"OAuth1Start(consumer_key={self.consumer_key!r}, callback={self.callback!r})"

    __str__ = __repr__

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, the request token's secret included: keep it where the
        user cannot read it (a server-side session)."""
        return saved_data(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OAuth1Start:
        """The start `to_dict` gave.

        Raises:
            ConfigurationError: a field is missing or of the wrong type (named, never its
                value).
        """
        return built(cls, restored(_OAuth1StartModel, data, "OAuth 1.0a start"))


class _OAuth1StartModel(SavedModel):
    url: str
    consumer_key: str
    callback: str
    request_token: str = pydantic.Field(min_length=1)
    request_token_secret: SecretStr
    base_url: str | None = None


@attrs.frozen(repr=False)
class XOAuth1Credentials:
    """An X user's OAuth 1.0a access token and secret (they never expire; the user can
    revoke them).

    Attributes:
        consumer_key: the app's API key (the consumer secret is the app's, not stored here).
        access_token: the user's access token.
        access_token_secret: its secret.
        user_id: the user's id.
        screen_name: the user's @username.
        base_url: the API the tokens are for (``None``: api.x.com).
    """

    consumer_key: str
    access_token: SecretStr
    access_token_secret: SecretStr
    user_id: str
    screen_name: str
    base_url: str | None = None

    platform: ClassVar[str] = "x"
    expires_at: ClassVar[None] = None

    def __repr__(self) -> str:
        return (
            f"XOAuth1Credentials(consumer_key={self.consumer_key!r}, user_id={self.user_id!r}, "
            f"screen_name={self.screen_name!r})"
        )

    __str__ = __repr__

    def to_dict(self) -> dict[str, Any]:
        """Plain data, tokens included in clear: store it encrypted, never log it."""
        return saved_data(self, platform="x", oauth="1.0a")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> XOAuth1Credentials:
        """The credentials `to_dict` gave.

        Raises:
            ConfigurationError: a field is missing or of the wrong type, or the data are
                another platform's (the message names fields, never values).
        """
        return built(cls, saved(_OAuth1Model, data, "x", "X OAuth 1.0a"))


class _OAuth1Model(SavedModel):
    platform: str = pydantic.Field(pattern="^x$")
    oauth: str = pydantic.Field(pattern="^1\\.0a$")
    consumer_key: str = pydantic.Field(min_length=1)
    access_token: SecretStr = pydantic.Field(min_length=1)
    access_token_secret: SecretStr = pydantic.Field(min_length=1)
    user_id: str
    screen_name: str
    base_url: str | None = None


def _signed_post(
    url: str,
    *,
    consumer_key: str,
    consumer_secret: str,
    token_secret: str,
    extra: Mapping[str, str],
    clock: Callable[[], float],
) -> Send:
    """A ``Send`` of an OAuth 1.0a token request: a POST signed with HMAC-SHA1 (RFC 5849),
    its ``oauth_*`` parameters (``extra``: the callback, or the token and verifier) in the
    ``Authorization`` header."""
    from brandkit.platforms.x import oauth1_base_string, oauth1_signature, percent_encode

    oauth = {
        "oauth_consumer_key": consumer_key,
        "oauth_nonce": secrets.token_hex(16),
        "oauth_signature_method": "HMAC-SHA1",
        "oauth_timestamp": str(int(clock())),
        "oauth_version": "1.0",
        **extra,
    }
    base = oauth1_base_string("POST", url, list(oauth.items()))
    oauth["oauth_signature"] = oauth1_signature(base, consumer_secret, token_secret)
    header = "OAuth " + ", ".join(
        f'{percent_encode(k)}="{percent_encode(v)}"' for k, v in sorted(oauth.items())
    )
    request = httpx.Request("POST", url, headers={"authorization": header, "accept": "*/*"})
    return Send(request, bucket="oauth1_token", max_bytes=MAX_ANSWER)


class _V1Error(pydantic.BaseModel):
    code: int
    message: str = ""


class _V1Errors(pydantic.BaseModel):
    errors: list[_V1Error] = pydantic.Field(min_length=1)


def _oauth1_answer(response: httpx.Response, what: str, fields: Sequence[str]) -> dict[str, str]:
    """The form-encoded answer of an OAuth 1.0a token endpoint.

    Raises:
        GrantRefused: a 4xx; ``code`` is X's error code (``"32"``: the signature or the
            consumer keys are wrong; ``"89"``: the token is invalid, used or expired;
            ``"415"``: the callback is not registered; ``"oauth_verifier"``: wrong verifier).
        RateLimited: a 429.
        PlatformUnavailable: a 5xx.
        MalformedResponse: an answer without the fields (the body is not kept).
    """
    busy = not_now(response, platform="x", what=what)
    if busy is not None:
        raise busy
    if 400 <= response.status_code < 500:
        code: str | None = None
        message: str | None = None
        try:
            err = _V1Errors.model_validate_json(response.content).errors[0]
            code, message = str(err.code), err.message
        except pydantic.ValidationError:
            text = response.content[:300].decode("utf-8", "replace")
            if "oauth_verifier" in text:
                code, message = "oauth_verifier", text
        detail = f", {code}: {message}" if code else ""
        raise GrantRefused(
            f"x refused {what} ({response.status_code}{detail}); check the consumer key and "
            "secret and the callback registered with the app, then start the authorization "
            "again",
            platform="x",
            status_code=response.status_code,
            code=code,
            platform_message=message,
        )
    if not response.is_success:
        raise unexpected(response, platform="x", what=what)
    values = dict(parse_qsl(response.content.decode("utf-8", "replace"), keep_blank_values=True))
    missing = [f for f in fields if not values.get(f)]
    if missing:
        raise MalformedResponse(
            f"x's answer to {what} lacks {', '.join(missing)}",
            platform="x",
            status_code=response.status_code,
            body="(not kept: the answer carries credentials)",
        )
    return values


def start_oauth1_flow(
    consumer_key: str,
    consumer_secret: str | SecretStr,
    callback: str,
    *,
    base_url: str | None = None,
    access_type: str | None = None,
    clock: Callable[[], float] = time.time,
) -> Flow[OAuth1Start]:
    """The sans-IO request-token step behind `start_oauth1`."""
    if not consumer_key or not consumer_secret or not callback:
        raise ConfigurationError(
            "auth.x.start_oauth1 needs the consumer key and secret and a callback URL "
            "(or 'oob' for the PIN flow)"
        )
    if access_type not in (None, "read", "write"):
        raise ConfigurationError(f"access_type is 'read' or 'write', not {access_type!r}")
    root = api_root(base_url, OAUTH1_ROOT)
    url = root + REQUEST_TOKEN_PATH
    if access_type is not None:
        url += "?" + urlencode({"x_auth_access_type": access_type})
    response: httpx.Response = yield _signed_post(
        url,
        consumer_key=consumer_key,
        consumer_secret=plain(consumer_secret),
        token_secret="",
        extra={"oauth_callback": callback},
        clock=clock,
    )
    values = _oauth1_answer(response, "the request token", ("oauth_token", "oauth_token_secret"))
    if values.get("oauth_callback_confirmed") != "true":
        raise MalformedResponse(
            "x did not confirm the callback (oauth_callback_confirmed is not true): the "
            "request token is not OAuth 1.0a; start again",
            platform="x",
            status_code=response.status_code,
        )
    token = values["oauth_token"]
    return OAuth1Start(
        url=f"{root}{OAUTH1_AUTHORIZE_PATH}?{urlencode({'oauth_token': token})}",
        consumer_key=consumer_key,
        callback=callback,
        request_token=token,
        request_token_secret=SecretStr(values["oauth_token_secret"]),
        base_url=base_url.rstrip("/") if base_url else None,
    )


def start_oauth1(
    consumer_key: str,
    consumer_secret: str | SecretStr,
    callback: str,
    *,
    base_url: str | None = None,
    access_type: str | None = None,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> OAuth1Start:
    """Begin connecting an X account with OAuth 1.0a (3-legged): get a request token
    (``POST /oauth/request_token``, signed with the consumer secret) and the URL to send
    the user to. Source:
    https://docs.x.com/fundamentals/authentication/oauth-1-0a/obtaining-user-access-tokens

    Args:
        consumer_key: the app's API key ("Keys and tokens" in the developer portal).
        consumer_secret: the app's API key secret.
        callback: the callback URL, registered with the app; ``"oob"`` for the PIN flow.
        base_url: the API root (an emulator); ``None`` for api.x.com.
        access_type: ``"read"`` to ask for less than the app's permission, ``"write"``.
        http: the httpx client to use.
        clock: the time of the signature's timestamp.

    Raises:
        ConfigurationError: a missing key, secret or callback, or a bad ``base_url``.
        GrantRefused: X refused (``code`` ``"32"``: wrong consumer key or secret;
            ``"415"``: the callback is not registered with the app).
        MalformedResponse: X did not confirm the callback.
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: X could not be reached.
    """
    flow = start_oauth1_flow(
        consumer_key,
        consumer_secret,
        callback,
        base_url=base_url,
        access_type=access_type,
        clock=clock,
    )
    return run(flow, http)


async def start_oauth1_async(
    consumer_key: str,
    consumer_secret: str | SecretStr,
    callback: str,
    *,
    base_url: str | None = None,
    access_type: str | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> OAuth1Start:
    """`start_oauth1` for async code."""
    flow = start_oauth1_flow(
        consumer_key,
        consumer_secret,
        callback,
        base_url=base_url,
        access_type=access_type,
        clock=clock,
    )
    return await run_async(flow, http)


def _verifier_from(start: OAuth1Start, callback_url: str) -> str:
    params = dict(parse_qsl(urlsplit(callback_url).query, keep_blank_values=True))
    # X names the refused request token in ``denied``: like the token of a consent, it must
    # be this start's, or anyone could end the authorization with a forged refusal.
    refused = "denied" in params
    token = params.get("denied", "") if refused else params.get("oauth_token", "")
    # Constant time: the request token is what ties the callback to this start.
    mine = secrets.compare_digest(token.encode(), start.request_token.encode())
    if refused and mine:
        raise ConsentDenied(
            "the user refused the authorization (denied); nothing was connected",
            platform="x",
            code="denied",
        )
    if not mine:
        raise CallbackError(
            "the callback's request token (oauth_token, or denied for a refusal) is not "
            "this authorization's: it belongs to another attempt or was forged; start the "
            "authorization again",
            platform="x",
        )
    verifier = params.get("oauth_verifier", "")
    if not verifier:
        raise CallbackError(
            "the callback URL carries no oauth_verifier: pass the full URL the user came "
            "back to, query string included",
            platform="x",
        )
    return verifier


def finish_oauth1_flow(
    start: OAuth1Start,
    callback_url: str | None = None,
    *,
    consumer_secret: str | SecretStr,
    verifier: str | None = None,
    clock: Callable[[], float] = time.time,
) -> Flow[XOAuth1Credentials]:
    """The sans-IO exchange behind `finish_oauth1`."""
    if verifier is None:
        if callback_url is None:
            raise ConfigurationError(
                "auth.x.finish_oauth1 needs the callback URL, or verifier= (the PIN) for 'oob'"
            )
        verifier = _verifier_from(start, callback_url)
    root = api_root(start.base_url, OAUTH1_ROOT)
    response: httpx.Response = yield _signed_post(
        root + ACCESS_TOKEN_PATH,
        consumer_key=start.consumer_key,
        consumer_secret=plain(consumer_secret),
        token_secret=start.request_token_secret.get_secret_value(),
        extra={"oauth_token": start.request_token, "oauth_verifier": verifier},
        clock=clock,
    )
    values = _oauth1_answer(
        response, "the verifier", ("oauth_token", "oauth_token_secret", "user_id")
    )
    return XOAuth1Credentials(
        consumer_key=start.consumer_key,
        access_token=SecretStr(values["oauth_token"]),
        access_token_secret=SecretStr(values["oauth_token_secret"]),
        user_id=values["user_id"],
        screen_name=values.get("screen_name", ""),
        base_url=start.base_url,
    )


def finish_oauth1(
    start: OAuth1Start,
    callback_url: str | None = None,
    *,
    consumer_secret: str | SecretStr,
    verifier: str | None = None,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> XOAuth1Credentials:
    """Finish connecting with OAuth 1.0a: check that the callback carries this start's
    request token, then exchange it and the ``oauth_verifier`` for the user's access
    token and secret (``POST /oauth/access_token``, signed with the request token's
    secret). A request token is spent by its first exchange.

    Args:
        start: what `start_oauth1` returned (or `OAuth1Start.from_dict` of it).
        callback_url: the full URL the user came back to.
        consumer_secret: the app's API key secret.
        verifier: the PIN the user typed in (``"oob"`` callback) instead of a callback URL.
        http: the httpx client to use.
        clock: the time of the signature's timestamp.

    Raises:
        ConsentDenied: the user refused (the callback carries ``denied`` with this start's
            request token).
        CallbackError: the callback's ``oauth_token`` (or ``denied``) is another request
            token, or it has no verifier.
        GrantRefused: X refused (``code`` ``"89"``: the request token was used already or
            expired; ``"oauth_verifier"``: a wrong verifier; ``"32"``: a wrong signature).
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: X could not be reached.
    """
    flow = finish_oauth1_flow(
        start, callback_url, consumer_secret=consumer_secret, verifier=verifier, clock=clock
    )
    return run(flow, http)


async def finish_oauth1_async(
    start: OAuth1Start,
    callback_url: str | None = None,
    *,
    consumer_secret: str | SecretStr,
    verifier: str | None = None,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> XOAuth1Credentials:
    """`finish_oauth1` for async code."""
    flow = finish_oauth1_flow(
        start, callback_url, consumer_secret=consumer_secret, verifier=verifier, clock=clock
    )
    return await run_async(flow, http)


INVALIDATE_TOKEN_PATH = "/1.1/oauth/invalidate_token"
INVALID_TOKEN = "89"
"""X's v1.1 error code for a token that is invalid, expired or invalidated already."""


class _Invalidated(pydantic.BaseModel):
    """X's answer to ``POST /1.1/oauth/invalidate_token``: ``{"access_token": "…"}``."""

    access_token: pydantic.StrictStr = pydantic.Field(min_length=1)


def _invalidate_answer(response: httpx.Response, what: str) -> None:
    """Read X's answer to ``POST /1.1/oauth/invalidate_token``: return when the token is no
    longer valid (invalidated now, or X's code 89 "Invalid or expired token": already).

    Raises:
        GrantRefused: another 4xx (``code`` ``"32"``: the signature, the consumer key or
            its secret is wrong).
        RateLimited: a 429.
        PlatformUnavailable: a 5xx.
        MalformedResponse: an answer that is not X's (the body is not kept).
    """
    busy = not_now(response, platform="x", what=what)
    if busy is not None:
        raise busy
    status = response.status_code
    if 400 <= status < 500:
        try:
            err: _V1Error | None = _V1Errors.model_validate_json(response.content).errors[0]
        except pydantic.ValidationError:
            err = None
        if err is not None and str(err.code) == INVALID_TOKEN:
            return  # dead already: what invalidating it was for
        detail = f", {err.code}: {err.message}" if err else ""
        raise GrantRefused(
            f"x refused {what} ({status}{detail}); check the consumer key and secret (the "
            "app the account was connected with), then invalidate again",
            platform="x",
            status_code=status,
            code=str(err.code) if err else None,
            platform_message=err.message if err else None,
        )
    if not response.is_success:
        raise unexpected(response, platform="x", what=what)
    try:
        _Invalidated.model_validate_json(response.content)
    except pydantic.ValidationError:
        raise MalformedResponse(
            f"x's answer to {what} is not an invalidation answer (no access_token); the "
            "token may still be valid: check the base URL and invalidate again",
            platform="x",
            status_code=status,
            body="(not kept: the answer carries credentials)",
        ) from None


def revoke_oauth1_flow(
    creds: XOAuth1Credentials,
    *,
    consumer_secret: str | SecretStr,
    clock: Callable[[], float] = time.time,
) -> Flow[None]:
    """The sans-IO invalidation behind `revoke_oauth1`."""
    if not consumer_secret:
        raise ConfigurationError(
            "auth.x.revoke_oauth1 needs the consumer secret of the app the token was issued to"
        )
    response: httpx.Response = yield _signed_post(
        api_root(creds.base_url, OAUTH1_ROOT) + INVALIDATE_TOKEN_PATH,
        consumer_key=creds.consumer_key,
        consumer_secret=plain(consumer_secret),
        token_secret=creds.access_token_secret.get_secret_value(),
        extra={"oauth_token": creds.access_token.get_secret_value()},
        clock=clock,
    )
    _invalidate_answer(response, "the invalidation of the access token")


def revoke_oauth1(
    creds: XOAuth1Credentials,
    *,
    consumer_secret: str | SecretStr,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Invalidate an OAuth 1.0a access token at X (``POST /1.1/oauth/invalidate_token``,
    signed with the consumer secret and the token's own secret): afterwards X refuses the
    token and its secret; the account must be connected again to post. A token X already
    holds invalid (its code 89, "Invalid or expired token") counts as invalidated, so a
    failed attempt can be run again. Source:
    https://docs.x.com/fundamentals/authentication/api-reference ("POST
    oauth/invalidate_token").

    Args:
        creds: the credentials to invalidate (``base_url`` says where).
        consumer_secret: the app's API key secret.
        http: the httpx client to use.
        clock: the time of the signature's timestamp.

    Raises:
        ConfigurationError: no consumer secret, or a bad ``base_url``.
        GrantRefused: X refused (``code`` ``"32"``: a wrong signature, consumer key or
            secret).
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try again
            later).
        MalformedResponse: a 200 that is not X's answer (the token may still be valid).
        TransportError: X could not be reached.
    """
    run(revoke_oauth1_flow(creds, consumer_secret=consumer_secret, clock=clock), http)


async def revoke_oauth1_async(
    creds: XOAuth1Credentials,
    *,
    consumer_secret: str | SecretStr,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """`revoke_oauth1` for async code."""
    await run_async(revoke_oauth1_flow(creds, consumer_secret=consumer_secret, clock=clock), http)
