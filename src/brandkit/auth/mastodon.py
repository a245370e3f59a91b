"""Connect a Mastodon account: register the app once per instance, then the OAuth 2
authorization code flow, with PKCE on servers that offer it (4.3 and later).

```python
app = brandkit.auth.mastodon.register_app(
    "https://mastodon.social", "https://app.example/cb", ["read", "write"], "Acme social"
)
start = brandkit.auth.mastodon.start(app)
# send the user to start.url; keep start.to_dict() in the session
creds = brandkit.auth.mastodon.finish(start, callback_url, client_secret=app.client_secret)
# and when the account is removed, so that the token stops working on the instance:
brandkit.auth.mastodon.revoke(creds, client_secret=app.client_secret)
```

Mastodon has no dynamic client registration (RFC 7591): each instance needs its own app
(``POST /api/v1/apps``), which `AppCache` keeps so it is registered once. Tokens carry no
expiry: they are valid until revoked (`revoke`, ``POST /oauth/revoke``). Sources:
https://docs.joinmastodon.org/spec/oauth/ , https://docs.joinmastodon.org/methods/apps/ ,
https://docs.joinmastodon.org/methods/oauth/ (``#revoke``), and Doorkeeper's
``app/controllers/doorkeeper/tokens_controller.rb`` (Mastodon's OAuth library) for the
revocation answers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

import attrs
import httpx
import pydantic
from pydantic import SecretStr

from brandkit._flow import Flow, Send
from brandkit.auth._core import (
    MAX_ANSWER,
    AnyObject,
    CallbackError,
    FinishLedger,
    SavedModel,
    Start,
    authorization_start,
    built,
    code_from,
    form_request,
    new_state,
    not_now,
    plain,
    redeem,
    restored,
    revocation_answer,
    run,
    run_async,
    saved,
    saved_data,
    scopes_of,
    token_answer,
)
from brandkit.errors import ConfigurationError, MalformedResponse, PlatformError

__all__ = [
    "OOB",
    "AppCache",
    "MastodonApp",
    "MastodonCredentials",
    "finish",
    "finish_async",
    "finish_flow",
    "known_flow",
    "register_app",
    "register_app_async",
    "register_flow",
    "revoke",
    "revoke_async",
    "revoke_flow",
    "start",
]


logger = logging.getLogger("brandkit.auth")

OOB = "urn:ietf:wg:oauth:2.0:oob"
"""The out-of-band redirect URI: Mastodon shows the user the code to paste into the app
(pass it to `finish` as ``code=``) instead of redirecting."""


def _instance(url: str) -> str:
    if not url or not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"a Mastodon instance URL looks like https://mastodon.social, got {url!r}"
        )
    return url.rstrip("/")


@attrs.frozen(repr=False)
class MastodonApp:
    """An app registered on one instance.

    Attributes:
        instance_url: the instance, e.g. ``https://mastodon.social``.
        client_id: the app's client id.
        client_secret: the app's client secret (Mastodon clients are confidential).
        redirect_uri: the callback URL registered.
        scopes: the scopes the app may ask for.
        pkce: the instance offers PKCE S256 (Mastodon 4.3+).
    """

    instance_url: str
    client_id: str
    client_secret: SecretStr
    redirect_uri: str
    scopes: tuple[str, ...]
    pkce: bool

    def __repr__(self) -> str:
        return (
            f"MastodonApp(instance_url={self.instance_url!r}, client_id={self.client_id!r}, "
            f"redirect_uri={self.redirect_uri!r}, scopes={self.scopes!r}, pkce={self.pkce})"
        )

    __str__ = __repr__

    def to_dict(self) -> dict[str, Any]:
        """Plain data, the client secret included in clear: store it encrypted."""
        return saved_data(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MastodonApp:
        """The app `to_dict` gave.

        Raises:
            ConfigurationError: a field is missing or of the wrong type.
        """
        return built(cls, restored(_AppModel, data, "Mastodon app"))


class _AppModel(SavedModel):
    instance_url: str
    client_id: str = pydantic.Field(min_length=1)
    client_secret: SecretStr = pydantic.Field(min_length=1)
    redirect_uri: str
    scopes: list[str]
    pkce: bool


class AppCache:
    """The apps registered so far, one per (instance, redirect URI, scopes), so that
    `register_app` registers once per instance. Thread-safe; `to_dict`/`from_dict` keep
    it across runs (it holds client secrets: store it encrypted)."""

    def __init__(self, apps: Sequence[MastodonApp] = ()) -> None:
        self._lock = threading.Lock()
        self._apps: dict[tuple[str, str, tuple[str, ...]], MastodonApp] = {}
        for app in apps:
            self.put(app)

    @staticmethod
    def _key(
        instance_url: str, redirect_uri: str, scopes: tuple[str, ...]
    ) -> tuple[str, str, tuple[str, ...]]:
        return (_instance(instance_url).lower(), redirect_uri, tuple(sorted(scopes)))

    def get(
        self, instance_url: str, redirect_uri: str, scopes: str | Sequence[str]
    ) -> MastodonApp | None:
        """The app registered for these, or ``None``."""
        with self._lock:
            return self._apps.get(self._key(instance_url, redirect_uri, scopes_of(scopes)))

    def put(self, app: MastodonApp) -> None:
        """Remember ``app``."""
        with self._lock:
            self._apps[self._key(app.instance_url, app.redirect_uri, app.scopes)] = app

    def forget(self, app: MastodonApp) -> None:
        """Forget ``app`` (nothing happens when another app has taken its place)."""
        with self._lock:
            key = self._key(app.instance_url, app.redirect_uri, app.scopes)
            if self._apps.get(key) == app:
                del self._apps[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._apps)

    def __repr__(self) -> str:
        return f"AppCache({len(self)} apps)"

    def to_dict(self) -> dict[str, Any]:
        """The apps as plain data (client secrets in clear)."""
        with self._lock:
            return {"apps": [app.to_dict() for app in self._apps.values()]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AppCache:
        """The cache `to_dict` gave.

        Raises:
            ConfigurationError: an app in it is malformed.
        """
        apps = data.get("apps", [])
        if not isinstance(apps, list):
            raise ConfigurationError("not a saved app cache: 'apps' must be a list")
        return cls([MastodonApp.from_dict(a) for a in apps])


_DEFAULT_CACHE = AppCache()


@attrs.frozen(repr=False)
class MastodonCredentials:
    """A Mastodon user's access token on one instance (valid until revoked).

    Attributes:
        instance_url: the instance.
        access_token: the bearer token.
        scopes: the scopes granted.
        client_id: the app the token belongs to.
        expires_at: always ``None``: Mastodon tokens do not expire.
    """

    instance_url: str
    access_token: SecretStr
    scopes: tuple[str, ...]
    client_id: str
    expires_at: float | None = None

    platform: ClassVar[str] = "mastodon"

    def __repr__(self) -> str:
        return (
            f"MastodonCredentials(instance_url={self.instance_url!r}, "
            f"client_id={self.client_id!r}, scopes={self.scopes!r})"
        )

    __str__ = __repr__

    def to_dict(self) -> dict[str, Any]:
        """Plain data, the token included in clear: store it encrypted, never log it."""
        return saved_data(self, platform="mastodon")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MastodonCredentials:
        """The credentials `to_dict` gave.

        Raises:
            ConfigurationError: a field is missing or of the wrong type, or the data are
                another platform's.
        """
        return built(cls, saved(_CredentialsModel, data, "mastodon", "Mastodon"))


class _CredentialsModel(SavedModel):
    platform: str = pydantic.Field(pattern="^mastodon$")
    instance_url: str
    access_token: SecretStr = pydantic.Field(min_length=1)
    scopes: list[str]
    client_id: str
    expires_at: float | None = None


class _Metadata(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    code_challenge_methods_supported: list[str] = []


class _Registered(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    client_id: pydantic.StrictStr = pydantic.Field(min_length=1)
    client_secret: pydantic.StrictStr = pydantic.Field(min_length=1)


def register_flow(
    instance_url: str,
    redirect_uri: str,
    scopes: str | Sequence[str],
    client_name: str,
    *,
    website: str | None = None,
) -> Flow[MastodonApp]:
    """The sans-IO registration behind `register_app` (no cache): asks the instance
    whether it offers PKCE, then registers the app."""
    base = _instance(instance_url)
    wanted = scopes_of(scopes)
    if not redirect_uri or not wanted or not client_name:
        raise ConfigurationError(
            "register_app needs a redirect_uri, at least one scope and a client_name"
        )
    meta = yield Send(
        httpx.Request(
            "GET",
            base + "/.well-known/oauth-authorization-server",
            headers={"accept": "application/json"},
        ),
        idempotent=True,
        bucket="oauth",
        max_bytes=MAX_ANSWER,
    )
    # Only a missing document means an instance without PKCE: a 429 or 5xx there must not
    # register (and cache, for good) an app that goes without it.
    busy = not_now(meta, platform="mastodon", what="the OAuth metadata")
    if busy is not None:
        raise busy
    pkce = False
    if meta.is_success:
        try:
            pkce = (
                "S256"
                in _Metadata.model_validate_json(meta.content).code_challenge_methods_supported
            )
        except pydantic.ValidationError:
            pkce = False  # a server with broken metadata gets the flow without PKCE
    # Before 4.3 there is no metadata document (404): the flow goes without PKCE.
    form = {"client_name": client_name, "redirect_uris": redirect_uri, "scopes": " ".join(wanted)}
    if website:
        form["website"] = website
    response = yield Send(
        httpx.Request(
            "POST", base + "/api/v1/apps", data=form, headers={"accept": "application/json"}
        ),
        bucket="oauth",
        max_bytes=MAX_ANSWER,
    )
    busy = not_now(response, platform="mastodon", what="the app registration")
    if busy is not None:
        raise busy
    if not response.is_success:
        message = None
        try:
            data = response.json()
            message = data.get("error") if isinstance(data, dict) else None
        except ValueError:
            pass
        raise PlatformError(
            f"{base} refused to register the app ({response.status_code}"
            f"{': ' + message if message else ''}); check the redirect URI and the scopes",
            platform="mastodon",
            status_code=response.status_code,
            platform_message=message,
        )
    try:
        reg = _Registered.model_validate_json(response.content)
    except pydantic.ValidationError:
        raise MalformedResponse(
            f"{base}'s answer to POST /api/v1/apps has no client_id and client_secret",
            platform="mastodon",
            status_code=response.status_code,
            body="(not kept: the answer carries credentials)",
        ) from None
    return MastodonApp(
        instance_url=base,
        client_id=reg.client_id,
        client_secret=SecretStr(reg.client_secret),
        redirect_uri=redirect_uri,
        scopes=wanted,
        pkce=pkce,
    )


def known_flow(app: MastodonApp) -> Flow[bool | None]:
    """Whether ``app``'s instance still knows it: one ``POST /oauth/revoke`` of a random
    token, which changes nothing (Doorkeeper authenticates the client first and answers
    403 for one it does not know, then 200 for a token it does not know). ``None``: the
    instance could not say (a 429, a 5xx, another answer)."""
    form = {
        "client_id": app.client_id,
        "client_secret": app.client_secret.get_secret_value(),
        "token": new_state(),
    }
    response: httpx.Response = yield form_request(app.instance_url + "/oauth/revoke", form)
    if response.is_success:
        return True
    if response.status_code in (401, 403):
        return False
    return None


def _stale(app: MastodonApp, known: bool | None, cache: AppCache) -> bool:
    """Whether cached ``app`` must be registered again (its instance does not know it),
    forgotten from ``cache`` if so."""
    if known is not False:
        return False  # known, or the instance could not say: the authorization will tell
    cache.forget(app)
    logger.warning(
        "mastodon: %s no longer knows the cached app %s; registering it again",
        app.instance_url,
        app.client_id,
    )
    return True


def _app_flow(
    instance_url: str,
    redirect_uri: str,
    scopes: str | Sequence[str],
    client_name: str,
    website: str | None,
    cache: AppCache | None,
) -> Flow[MastodonApp]:
    """The sans-IO lookup behind `register_app`: the app ``cache`` holds, once its instance
    still knows it (`known_flow`), else a new one (`register_flow`), which ``cache`` keeps."""
    cache = _DEFAULT_CACHE if cache is None else cache
    found = cache.get(instance_url, redirect_uri, scopes)
    if found is not None and not _stale(found, (yield from known_flow(found)), cache):
        return found
    app = yield from register_flow(instance_url, redirect_uri, scopes, client_name, website=website)
    cache.put(app)
    return app


def register_app(
    instance_url: str,
    redirect_uri: str,
    scopes: str | Sequence[str],
    client_name: str,
    *,
    website: str | None = None,
    cache: AppCache | None = None,
    http: httpx.Client | None = None,
) -> MastodonApp:
    """The app for ``instance_url``: from ``cache`` (a process-wide one when ``None``) or
    registered now (``POST /api/v1/apps``) and added to it. A cached app is checked with
    the instance first (`known_flow`: one request that changes nothing); one it no longer
    knows (deleted by its admin) is forgotten and registered again, so that the
    authorization does not end on the instance's ``invalid_client`` page.

    Args:
        instance_url: e.g. ``https://mastodon.social``.
        redirect_uri: the callback URL (`OOB` shows the user the code, for `finish`'s
            ``code=``).
        scopes: e.g. ``["read", "write"]`` or granular ``["write:statuses", ...]``.
        client_name: the name users see on the consent page.
        website: the app's web site, shown with it.
        cache: where registered apps are kept.
        http: the httpx client to use.

    Raises:
        ConfigurationError: a bad instance URL, no redirect URI, scope or name.
        RateLimited: the instance limits registrations (429; Mastodon allows few per
            address): try again after ``retry_after`` seconds.
        PlatformUnavailable: the instance answered with a 5xx (also for its OAuth
            metadata, which says whether it offers PKCE: nothing is registered then).
        PlatformError: the instance refused the registration (e.g. 422 for an invalid
            redirect URI or scope).
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: the instance could not be reached.
    """
    return run(_app_flow(instance_url, redirect_uri, scopes, client_name, website, cache), http)


async def register_app_async(
    instance_url: str,
    redirect_uri: str,
    scopes: str | Sequence[str],
    client_name: str,
    *,
    website: str | None = None,
    cache: AppCache | None = None,
    http: httpx.AsyncClient | None = None,
) -> MastodonApp:
    """`register_app` for async code."""
    flow = _app_flow(instance_url, redirect_uri, scopes, client_name, website, cache)
    return await run_async(flow, http)


def start(app: MastodonApp, scopes: str | Sequence[str] | None = None) -> Start:
    """Begin connecting a Mastodon account with ``app``: a fresh ``state`` (and PKCE
    verifier when the instance offers PKCE) and the authorization URL. No request is made.

    Args:
        app: what `register_app` returned.
        scopes: a subset of the app's scopes (default: all of them).

    Raises:
        ConfigurationError: a scope the app was not registered with.
    """
    wanted = scopes_of(scopes) if scopes is not None else app.scopes
    extra = [s for s in wanted if s not in app.scopes]
    if extra or not wanted:
        raise ConfigurationError(
            f"the app on {app.instance_url} was registered with the scopes "
            f"{' '.join(app.scopes)}; {' '.join(extra) or 'no scope'} cannot be asked for: "
            "register an app with them"
        )
    return authorization_start(
        "mastodon",
        f"{app.instance_url}/oauth/authorize",
        client_id=app.client_id,
        redirect_uri=app.redirect_uri,
        scopes=wanted,
        scope=" ".join(wanted),
        token_url=f"{app.instance_url}/oauth/token",
        api_base=app.instance_url,
        pkce=app.pkce,
    )


def _code(start: Start, callback_url: str | None, code: str | None) -> str:
    """The code to exchange: the callback's once its ``state`` is checked, or the one the
    user pasted (``code``) for an out-of-band start, which has no callback to check."""
    if code is None:
        if callback_url is None:
            raise ConfigurationError(
                "auth.mastodon.finish needs the callback URL, or code= (the code Mastodon "
                "showed the user) for an out-of-band authorization"
            )
        return code_from(start, callback_url, platform="mastodon")
    if callback_url is not None:
        raise ConfigurationError("auth.mastodon.finish takes the callback URL or code=, not both")
    if start.redirect_uri != OOB:
        # A redirect carries a state to check; a bare code would skip that check.
        raise ConfigurationError(
            "code= is for an out-of-band authorization (redirect URI "
            f"{OOB}); this one redirects to {start.redirect_uri!r}: pass the callback URL"
        )
    code = code.strip()
    if not code:
        raise CallbackError(
            "the pasted authorization code is empty: copy the code Mastodon shows",
            platform="mastodon",
        )
    return code


def finish_flow(
    start: Start,
    callback_url: str | None = None,
    *,
    client_secret: str | SecretStr,
    code: str | None = None,
    clock: Callable[[], float] = time.time,
    once_in: FinishLedger | None = None,
) -> Flow[MastodonCredentials]:
    """The sans-IO exchange behind `finish`."""
    if start.platform != "mastodon" or start.api_base is None:
        raise ConfigurationError(f"auth.mastodon.finish got a {start.platform} authorization start")
    code = _code(start, callback_url, code)
    secret = plain(client_secret)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": start.client_id,
        "client_secret": secret,
        "redirect_uri": start.redirect_uri,
        "scope": " ".join(start.scopes),
    }
    if start.verifier is not None:
        form["code_verifier"] = start.verifier.get_secret_value()
    step = form_request(start.token_url, form)
    response = yield from redeem(start, step, platform="mastodon", once_in=once_in)
    body = token_answer(response, platform="mastodon", what="the authorization code")
    return MastodonCredentials(
        instance_url=start.api_base,
        access_token=SecretStr(body.access_token),
        scopes=scopes_of(body.scope) if body.scope else start.scopes,
        client_id=start.client_id,
    )


def finish(
    start: Start,
    callback_url: str | None = None,
    *,
    client_secret: str | SecretStr,
    code: str | None = None,
    http: httpx.Client | None = None,
    once_in: FinishLedger | None = None,
) -> MastodonCredentials:
    """Finish connecting: check the callback's ``state`` and exchange its code at
    ``POST /oauth/token``.

    Args:
        start: what `start` returned (or `Start.from_dict` of it).
        callback_url: the full URL the user came back to.
        client_secret: the app's client secret (``app.client_secret``).
        code: instead of ``callback_url``, for an app registered with the redirect URI
            `OOB`: the code Mastodon showed the user, as they pasted it.
        http: the httpx client to use.
        once_in: a store that every process which may finish this authorization shares
            (`EncryptedStore`, `PostgresStore`): the first finish claims it there, and a
            second one anywhere (a reloaded page, another worker) is refused before its code
            is sent. ``None``: refused in this process only.

    Raises:
        ConfigurationError: neither or both of ``callback_url`` and ``code``, or ``code``
            for a start that redirects (its callback's state must be checked).
        ConsentDenied: the user refused.
        AuthorizationFinished: this authorization was finished already, or is being
            finished, in this process (or one sharing ``once_in``): nothing is sent.
        CallbackError: the state differs, or no code.
        BrandkitError: ``once_in`` could not be reached (nothing is sent).
        GrantRefused: the instance refused the code (``invalid_grant``: used already,
            expired, mistyped, another verifier or redirect URI; ``invalid_client``: wrong
            secret).
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: the instance could not be reached.
    """
    flow = finish_flow(start, callback_url, client_secret=client_secret, code=code, once_in=once_in)
    return run(flow, http)


async def finish_async(
    start: Start,
    callback_url: str | None = None,
    *,
    client_secret: str | SecretStr,
    code: str | None = None,
    http: httpx.AsyncClient | None = None,
    once_in: FinishLedger | None = None,
) -> MastodonCredentials:
    """`finish` for async code."""
    flow = finish_flow(start, callback_url, client_secret=client_secret, code=code, once_in=once_in)
    return await run_async(flow, http)


def _revoke_advice(error: str | None, creds: MastodonCredentials) -> str:
    """What to do about a refused revocation, by Doorkeeper's error name."""
    if error in ("unauthorized_client", "invalid_client"):
        # Doorkeeper answers unauthorized_client (403) both for a client it cannot
        # authenticate and for a token issued to another app.
        return (
            f"pass the client secret of the app {creds.client_id!r} that connected this "
            "account (its MastodonApp.client_secret); without it, the user can revoke the "
            f"access under Preferences > Account > Authorized apps on {creds.instance_url}"
        )
    return (
        f"the user can revoke the access under Preferences > Account > Authorized apps on "
        f"{creds.instance_url}"
    )


def revoke_flow(
    creds: MastodonCredentials, *, client_secret: str | SecretStr | None = None
) -> Flow[None]:
    """The sans-IO revocation behind `revoke`: one ``POST /oauth/revoke``.

    Raises:
        ConfigurationError: as `revoke`, before the request is yielded.
    """
    base = _instance(creds.instance_url)
    if not creds.client_id:
        raise ConfigurationError(
            "these Mastodon credentials name no app (client_id), and only the app a token "
            "was issued to may revoke it: the user can revoke the access under Preferences > "
            f"Account > Authorized apps on {base}"
        )
    secret = plain(client_secret)
    if not secret:
        # The credentials hold no secret, and Doorkeeper authenticates the client first.
        raise ConfigurationError(
            "auth.mastodon.revoke needs client_secret=, the secret of the app that connected "
            f"the account (its MastodonApp.client_secret; client id {creds.client_id!r})"
        )
    form = {
        "client_id": creds.client_id,
        "client_secret": secret,
        "token": creds.access_token.get_secret_value(),
    }
    response: httpx.Response = yield form_request(base + "/oauth/revoke", form)
    revocation_answer(
        response,
        platform="mastodon",
        what="the token revocation",
        model=AnyObject,  # Doorkeeper's {} (RFC 7009 §2.2), for an unknown token too
        advice=lambda error: _revoke_advice(error, creds),
    )


def revoke(
    creds: MastodonCredentials,
    *,
    client_secret: str | SecretStr | None = None,
    http: httpx.Client | None = None,
) -> None:
    """Revoke the access token on its instance (``POST /oauth/revoke``), so that it stops
    working: Mastodon tokens never expire, so forgetting stored credentials leaves the token
    valid until it is revoked. Revoking a token the instance does not know, or revoked
    already, succeeds too (Mastodon answers 200 ``{}``, RFC 7009 §2.2).

    Args:
        creds: what `finish` returned (or `MastodonCredentials.from_dict` of it).
        client_secret: the client secret of the app the token was issued to
            (``app.client_secret``; its client id is ``creds.client_id``). Needed in
            practice: `MastodonCredentials` do not hold it, and Mastodon lets only the
            token's own app, authenticated, revoke it; ``None`` or empty raises
            `ConfigurationError` (optional in the signature only so that a caller can pass
            a stored secret that may be missing and get that error).
        http: the httpx client to use.

    Raises:
        ConfigurationError: a bad instance URL, credentials without a ``client_id``, or no
            ``client_secret`` (nothing is sent).
        GrantRefused: the instance refused (403 ``unauthorized_client``: the client secret is
            wrong or the token belongs to another app; 401 ``invalid_client``): the token is
            still valid. ``code`` is the OAuth error, ``platform_message`` Mastodon's words.
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try again
            later; the token is still valid).
        MalformedResponse: a 2xx whose body is not a JSON object, or another unexpected
            status: the token may still be valid.
        TransportError: the instance could not be reached.
    """
    run(revoke_flow(creds, client_secret=client_secret), http)


async def revoke_async(
    creds: MastodonCredentials,
    *,
    client_secret: str | SecretStr | None = None,
    http: httpx.AsyncClient | None = None,
) -> None:
    """`revoke` for async code (same arguments and errors)."""
    await run_async(revoke_flow(creds, client_secret=client_secret), http)
