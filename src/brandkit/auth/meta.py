"""Connect Meta accounts: a Facebook Page with Facebook Login (`facebook`), an Instagram
professional account with Instagram Login (`instagram`), and a Threads account (`threads`).

Threads: Meta's login: the authorization window, the code for a
short-lived token (1 hour), that for a long-lived one (60 days), and its refresh.

```python
start = brandkit.auth.threads.start(app_id, "https://app.example/cb", ["threads_basic"])
# send the user to start.url; keep start.to_dict() in the session
creds = brandkit.auth.threads.finish(start, callback_url, client_secret=app_secret)
```

`finish` exchanges the code and, by default, the short-lived token for a long-lived one in
the same call. A long-lived token can be refreshed once it is at least 24 hours old and
until it expires; one left 60 days unrefreshed is dead and the user must connect again.
Sources: https://developers.facebook.com/docs/threads/get-started/get-access-tokens-and-permissions
and https://developers.facebook.com/docs/threads/get-started/long-lived-tokens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Self

import attrs
import httpx
import pydantic
from pydantic import SecretStr

from brandkit._durations import expiry_after
from brandkit._flow import Flow, Send
from brandkit.auth._core import (
    MAX_ANSWER,
    Expiring,
    FinishLedger,
    GrantRefused,
    PermissionsDeclined,
    SavedModel,
    Start,
    api_root,
    authorization_start,
    body_of,
    built,
    code_from,
    comma_scopes,
    form_request,
    not_now,
    own_start,
    plain,
    redeem,
    run,
    run_async,
    saved,
    saved_data,
    start_arguments,
    unexpected,
)
from brandkit.errors import (
    ConfigurationError,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
)

__all__ = [
    "FACEBOOK_PERMISSIONS",
    "INSTAGRAM_PERMISSIONS",
    "THREADS_AUTHORIZE_URL",
    "THREADS_GRAPH_URL",
    "FacebookLogin",
    "FacebookPageCredentials",
    "FacebookUserCredentials",
    "MetaLogin",
    "ThreadsCredentials",
    "facebook",
    "instagram",
    "threads",
]

THREADS_AUTHORIZE_URL = "https://threads.net/oauth/authorize"
THREADS_GRAPH_URL = "https://graph.threads.net"
REFRESH_AGE = 86_400.0
"""Meta refreshes a long-lived token only once it is at least 24 hours old."""
LONG_LIVED = 60 * 86_400.0
"""The lifetime Meta documents for a long-lived Threads or Instagram token (seconds): what
an exchange or refresh answer without a usable ``expires_in`` is taken to give."""


@attrs.frozen(repr=False)
class ThreadsCredentials(Expiring):
    """A Threads user's access token.

    Attributes:
        access_token: the user access token (short-lived: 1 hour; long-lived: 60 days).
        user_id: the Threads user id the token acts for.
        expires_at: when the token expires (epoch seconds), ``None`` if unknown.
        issued_at: when it was issued (a refresh needs it to be 24 hours old).
        long_lived: whether it is a long-lived token (only those can be refreshed).
        scopes: the permissions asked for (Instagram: those the user granted).
        client_id: the Threads app id.
        base_url: the API the token is for (``None``: graph.threads.net).
    """

    access_token: SecretStr
    user_id: str
    expires_at: float | None
    issued_at: float
    long_lived: bool
    scopes: tuple[str, ...]
    client_id: str
    base_url: str | None = None

    platform: ClassVar[str] = "threads"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(user_id={self.user_id!r}, client_id={self.client_id!r}, "
            f"scopes={self.scopes!r}, expires_at={self.expires_at!r}, "
            f"long_lived={self.long_lived!r})"
        )

    __str__ = __repr__

    def refreshable(self, now: float | None = None) -> bool:
        """Whether Meta would refresh the token now: long-lived, at least 24 hours old,
        not expired."""
        at = time.time() if now is None else now
        return (
            self.long_lived
            and at - self.issued_at >= REFRESH_AGE
            and not self.expired(at, margin=0.0)
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain data, the token included in clear: store it encrypted, never log it."""
        return saved_data(self, platform=self.platform)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """The credentials `to_dict` gave.

        Raises:
            ConfigurationError: a field is missing or of the wrong type, or the data are
                another platform's (the message names fields, never values).
        """
        return built(cls, saved(_CredentialsModel, data, cls.platform, cls.platform))


@attrs.frozen(repr=False)
class InstagramCredentials(ThreadsCredentials):
    """An Instagram professional account's token from Instagram Login (Business Login for
    Instagram); the same fields as `ThreadsCredentials`, ``user_id`` being the Instagram
    user id. ``base_url`` ``None`` means graph.instagram.com."""

    platform: ClassVar[str] = "instagram"


class _CredentialsModel(SavedModel):
    platform: str
    access_token: SecretStr = pydantic.Field(min_length=1)
    user_id: str = pydantic.Field(min_length=1)
    expires_at: float | None = None
    issued_at: float
    long_lived: bool
    scopes: list[str]
    client_id: str
    base_url: str | None = None


class _CodeAnswer(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    access_token: pydantic.StrictStr = pydantic.Field(min_length=1)
    user_id: pydantic.StrictInt | pydantic.StrictStr
    permissions: pydantic.StrictStr | list[pydantic.StrictStr] | None = pydantic.Field(
        default=None, max_length=100_000
    )
    """What the user granted (Business Login for Instagram): ``"a,b"`` as Meta documents
    it, a list as it has been seen answering; ``None`` where the answer has none (Threads)."""

    @pydantic.model_validator(mode="before")
    @classmethod
    def _unwrap(cls, value: Any) -> Any:
        # Business Login for Instagram has been seen answering {"data": [{...}]}; Threads
        # and the older Instagram window answer the object itself. Both are read.
        if isinstance(value, dict) and isinstance(value.get("data"), list) and value["data"]:
            return value["data"][0]
        return value

    def granted(self) -> tuple[str, ...] | None:
        """The permissions granted, in order, or ``None`` when the answer does not say."""
        if self.permissions is None:
            return None
        names = (
            self.permissions.split(",") if isinstance(self.permissions, str) else self.permissions
        )
        return tuple(dict.fromkeys(n.strip() for n in names if n.strip()))


class _TokenAnswer(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    access_token: pydantic.StrictStr = pydantic.Field(min_length=1)
    expires_in: pydantic.StrictInt | pydantic.StrictFloat | None = None


class _GraphError(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    message: pydantic.StrictStr = ""
    type: pydantic.StrictStr | None = None
    code: pydantic.StrictInt | None = None
    error_subcode: pydantic.StrictInt | None = None


class _GraphErrorBody(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    error: _GraphError


def _throttled(
    response: httpx.Response, err: _GraphError | None, *, platform: str, what: str
) -> PlatformError | None:
    """The error of a 4xx whose envelope says "not now" as the Graph adapters read it:
    `RateLimited` for a throttling code (`THROTTLE_CODES`; the wait from
    ``X-Business-Use-Case-Usage``), `PlatformUnavailable` for a transient one
    (`TRANSIENT_CODES`); ``None`` otherwise. The token was not looked at: it must not read
    as refused."""
    from brandkit.platforms._graph import THROTTLE_CODES, TRANSIENT_CODES, regain_seconds

    if err is None or err.code is None:
        return None
    said = f"{platform} answered {what} with {response.status_code} ({err.message})"
    if err.code in THROTTLE_CODES:
        wait = regain_seconds(response)
        return RateLimited(
            f"{said}; try again " + (f"in {wait:g} s" if wait is not None else "later"),
            platform=platform,
            status_code=response.status_code,
            code=str(err.code),
            platform_message=err.message,
            retry_after=wait,
        )
    if err.code in TRANSIENT_CODES:
        return PlatformUnavailable(
            f"{said}; try again later",
            platform=platform,
            status_code=response.status_code,
            code=str(err.code),
            platform_message=err.message,
        )
    return None


def _answer(
    response: httpx.Response, model: type[pydantic.BaseModel], *, platform: str, what: str
) -> Any:
    """Read a Meta token answer.

    Raises:
        RateLimited: a 429, or a 4xx with a throttling code (4, 17, 32, 613, 8000x).
        PlatformUnavailable: a 5xx, or a 4xx with a transient code (1, 2).
        GrantRefused: another 4xx (Meta's error envelope: ``code`` is ``"100/36009"``-style,
            the error code and subcode; ``platform_message`` Meta's message).
        MalformedResponse: a 2xx that is not the expected answer (its body is not kept: it
            may carry a token), or another status.
    """
    busy = not_now(response, platform=platform, what=what)
    if busy is not None:
        raise busy
    if 400 <= response.status_code < 500:
        try:
            err: _GraphError | None = _GraphErrorBody.model_validate_json(response.content).error
        except pydantic.ValidationError:
            err = None
        busy = _throttled(response, err, platform=platform, what=what)
        if busy is not None:
            raise busy
        code = None
        if err is not None and err.code is not None:
            code = f"{err.code}/{err.error_subcode}" if err.error_subcode else str(err.code)
        raise GrantRefused(
            f"{platform} refused {what} ({response.status_code}"
            + (f", {err.message}" if err else "")
            + "); connect the account again",
            platform=platform,
            status_code=response.status_code,
            code=code,
            platform_message=err.message if err else None,
        )
    if not response.is_success:
        raise unexpected(response, platform=platform, what=what)
    return body_of(response, model, platform=platform, what=what)


def _get(
    url: str,
    params: Mapping[str, str],
    token: SecretStr | None = None,
    *,
    bucket: str = "oauth2_token",
) -> Send:
    """A GET of Meta's API (its token endpoints are GETs too), in the governor's ``bucket``.
    A user ``token`` goes in the ``Authorization`` header, as the adapters send it, so that
    it never shows in a URL that an HTTP library logs; what Meta documents in the query
    (a code, the app secret) stays there, and the drivers keep query values out of logs.
    Raises nothing."""
    headers = {"accept": "application/json"}
    if token is not None:
        headers["authorization"] = f"Bearer {token.get_secret_value()}"
    request = httpx.Request("GET", url, params=dict(params), headers=headers)
    return Send(request, bucket=bucket, max_bytes=MAX_ANSWER)


def _declined(platform: str, missing: tuple[str, ...], where: str) -> PermissionsDeclined:
    names = ", ".join(missing)
    return PermissionsDeclined(
        f"{platform}: the user did not grant {names}, which brandkit needs for what the app "
        f"asked; connect the account again and keep {'it' if len(missing) == 1 else 'them'} "
        f"checked in {where}",
        platform=platform,
        code="permissions_declined",
        missing=missing,
    )


INSTAGRAM_PERMISSIONS = frozenset(
    {
        "instagram_business_basic",
        "instagram_business_content_publish",
        "instagram_business_manage_comments",
        "instagram_business_manage_insights",
    }
)
"""The Instagram Login permissions brandkit's features use (publishing, the inbox,
metrics). One of them asked for and not granted makes ``auth.instagram.finish`` fail;
others the user switches off are left out of the credentials' ``scopes``."""


@attrs.frozen
class MetaLogin:
    """One Meta login flow (`threads`): authorization window, code exchange, long-lived
    exchange, refresh.

    Attributes:
        platform: ``"threads"`` or ``"instagram"``.
        authorize_url: the authorization window.
        graph_url: the API root (token endpoints and calls).
        exchange_grant: the ``grant_type`` of the long-lived exchange.
        refresh_grant: the ``grant_type`` of a refresh.
    """

    platform: str
    authorize_url: str
    graph_url: str
    exchange_grant: str
    refresh_grant: str
    token_root: str | None = None
    """Where the code is exchanged when it is not `graph_url` (Instagram: api.instagram.com)."""
    credentials: type[ThreadsCredentials] = ThreadsCredentials
    needed: frozenset[str] = frozenset()
    """The permissions brandkit's features use: one asked for that the code's answer says
    was not granted makes `finish` fail (Instagram; Threads' answer does not say)."""

    def start(
        self,
        client_id: str,
        redirect_uri: str,
        scopes: str | Sequence[str],
        base_url: str | None = None,
    ) -> Start:
        """Begin connecting: a fresh ``state`` and the authorization window's URL to send
        the user to. No request is made.

        Args:
            client_id: the app id (for Threads: the *Threads* app id of the Meta app).
            redirect_uri: the callback URL, exactly as in the app's valid OAuth redirect URIs.
            scopes: permissions, e.g. ``["threads_basic", "threads_content_publish"]``.
            base_url: an emulator serving both the window and the API; ``None`` for Meta.

        Raises:
            ConfigurationError: no client id, redirect URI or scope, or a bad ``base_url``.
        """
        wanted = comma_scopes(scopes)
        start_arguments(self.platform, client_id, redirect_uri, wanted, "threads_basic")
        authorize = (
            self.authorize_url if base_url is None else api_root(base_url, "") + "/oauth/authorize"
        )
        token_root = api_root(base_url, self.token_root or self.graph_url)
        return authorization_start(
            self.platform,
            authorize,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=wanted,
            scope=",".join(wanted),
            token_url=token_root + "/oauth/access_token",
            api_base=base_url,
        )

    def finish_flow(
        self,
        start: Start,
        callback_url: str,
        *,
        client_secret: str | SecretStr,
        long_lived: bool = True,
        clock: Callable[[], float] = time.time,
        once_in: FinishLedger | None = None,
    ) -> Flow[ThreadsCredentials]:
        """The sans-IO exchange behind `finish`: checks the callback, yields the code
        exchange (and the long-lived exchange), returns the credentials."""
        own_start(start, self.platform)
        code = code_from(start, callback_url, platform=self.platform)
        form = {
            "client_id": start.client_id,
            "client_secret": plain(client_secret),
            "code": code,
            "grant_type": "authorization_code",
            "redirect_uri": start.redirect_uri,
        }
        step = form_request(start.token_url, form)
        response = yield from redeem(start, step, platform=self.platform, once_in=once_in)
        body = _answer(response, _CodeAnswer, platform=self.platform, what="the authorization code")
        # Instagram's window lets the user switch permissions off, and its answer says what
        # was granted: a connection without publishing would look fine until the first post.
        granted = body.granted()
        if granted is not None:
            missing = tuple(p for p in start.scopes if p in self.needed and p not in granted)
            if missing:
                raise _declined(self.platform, missing, "the authorization window")
        now = clock()
        short = self.credentials(
            access_token=SecretStr(body.access_token),
            user_id=str(body.user_id),
            expires_at=now + 3600.0,  # Meta documents one hour and sends no expires_in
            issued_at=now,
            long_lived=False,
            scopes=start.scopes if granted is None else granted,
            client_id=start.client_id,
            base_url=start.api_base,
        )
        if not long_lived:
            return short
        return (yield from self.exchange_flow(short, client_secret=client_secret, clock=clock))

    def finish(
        self,
        start: Start,
        callback_url: str,
        *,
        client_secret: str | SecretStr,
        long_lived: bool = True,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        once_in: FinishLedger | None = None,
    ) -> ThreadsCredentials:
        """Finish connecting: check the callback's ``state``, exchange its code for a
        short-lived token and (``long_lived=True``) that for a 60-day one. Where the code's
        answer lists the permissions granted (Instagram), the credentials' ``scopes`` are
        those, not the ones asked for.

        Args:
            start: what `start` returned (or `Start.from_dict` of it).
            callback_url: the full URL the user came back to.
            client_secret: the app secret (Meta's code exchange needs it).
            long_lived: also exchange the 1-hour token for a 60-day one.
            http: the httpx client to use (a new one when ``None``).
            clock: what ``expires_at`` is counted from (an emulator's ``clock.time``).
            once_in: a store that every process which may finish this authorization
                shares (`EncryptedStore`, `PostgresStore`): the first finish claims it there,
                and a second one anywhere (a reloaded page, another worker) is refused
                before its code is sent. ``None``: refused in this process only.

        Raises:
            PermissionsDeclined: the user switched off permissions asked for that brandkit
                needs (`needed`; Instagram: `INSTAGRAM_PERMISSIONS`); ``missing`` names
                them. No long-lived exchange is made.
            ConsentDenied: the user refused.
            AuthorizationFinished: this authorization was finished already, or is being
                finished, in this process (or one sharing ``once_in``): nothing is sent.
            CallbackError: the state differs (forged or from another attempt), or no code.
            BrandkitError: ``once_in`` could not be reached (nothing is sent).
            GrantRefused: Meta refused the code (used already, expired, another redirect
                URI, wrong app secret) or the exchange.
            RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
                again later; nothing says the credentials are bad).
            TransportError: Meta could not be reached.
        """
        flow = self.finish_flow(
            start,
            callback_url,
            client_secret=client_secret,
            long_lived=long_lived,
            clock=clock,
            once_in=once_in,
        )
        return run(flow, http)

    async def finish_async(
        self,
        start: Start,
        callback_url: str,
        *,
        client_secret: str | SecretStr,
        long_lived: bool = True,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        once_in: FinishLedger | None = None,
    ) -> ThreadsCredentials:
        """`finish` for async code."""
        flow = self.finish_flow(
            start,
            callback_url,
            client_secret=client_secret,
            long_lived=long_lived,
            clock=clock,
            once_in=once_in,
        )
        return await run_async(flow, http)

    def exchange_flow(
        self,
        creds: ThreadsCredentials,
        *,
        client_secret: str | SecretStr,
        clock: Callable[[], float] = time.time,
    ) -> Flow[ThreadsCredentials]:
        """The sans-IO long-lived exchange behind `exchange`."""
        url = api_root(creds.base_url, self.graph_url) + "/access_token"
        params = {
            "grant_type": self.exchange_grant,
            "client_secret": plain(client_secret),
        }
        response: httpx.Response = yield _get(url, params, creds.access_token)
        body = _answer(
            response, _TokenAnswer, platform=self.platform, what="the long-lived exchange"
        )
        return self._renewed(creds, body, clock())

    def exchange(
        self,
        creds: ThreadsCredentials,
        *,
        client_secret: str | SecretStr,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> ThreadsCredentials:
        """A long-lived (60-day) token for a short-lived one.

        Raises:
            GrantRefused: Meta refused (the short-lived token expired, a wrong secret).
            RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
                again later; nothing says the credentials are bad).
            TransportError: Meta could not be reached.
        """
        return run(self.exchange_flow(creds, client_secret=client_secret, clock=clock), http)

    def refresh_flow(
        self, creds: ThreadsCredentials, *, clock: Callable[[], float] = time.time
    ) -> Flow[ThreadsCredentials]:
        """The sans-IO refresh behind `refresh`."""
        if not creds.long_lived:
            raise ConfigurationError(
                f"a short-lived {self.platform} token cannot be refreshed: exchange it for a "
                f"long-lived one with auth.{self.platform}.exchange"
            )
        url = api_root(creds.base_url, self.graph_url) + "/refresh_access_token"
        params = {"grant_type": self.refresh_grant}
        response: httpx.Response = yield _get(url, params, creds.access_token)
        body = _answer(response, _TokenAnswer, platform=self.platform, what="the refresh")
        return self._renewed(creds, body, clock())

    def refresh(
        self,
        creds: ThreadsCredentials,
        *,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> ThreadsCredentials:
        """A fresh 60-day token for a long-lived one that is at least 24 hours old and
        not expired (see `ThreadsCredentials.refreshable`).

        Raises:
            ConfigurationError: ``creds`` hold a short-lived token.
            GrantRefused: Meta refused (too young, expired, revoked).
            RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
                again later; nothing says the credentials are bad).
            TransportError: Meta could not be reached.
        """
        return run(self.refresh_flow(creds, clock=clock), http)

    async def refresh_async(
        self,
        creds: ThreadsCredentials,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> ThreadsCredentials:
        """`refresh` for async code."""
        return await run_async(self.refresh_flow(creds, clock=clock), http)

    @staticmethod
    def _renewed(creds: ThreadsCredentials, body: Any, now: float) -> ThreadsCredentials:
        # Without an expiry the token would never be due for a refresh ahead, and would die
        # unrefreshed after its 60 days: Meta's documented lifetime stands in.
        expires_at = expiry_after(now, body.expires_in)
        return attrs.evolve(
            creds,
            access_token=SecretStr(body.access_token),
            expires_at=now + LONG_LIVED if expires_at is None else expires_at,
            issued_at=now,
            long_lived=True,
        )


threads = MetaLogin(
    platform="threads",
    authorize_url=THREADS_AUTHORIZE_URL,
    graph_url=THREADS_GRAPH_URL,
    exchange_grant="th_exchange_token",
    refresh_grant="th_refresh_token",
)
"""Threads: ``auth.threads.start`` / ``finish`` / ``exchange`` / ``refresh``."""

instagram = MetaLogin(
    platform="instagram",
    authorize_url="https://api.instagram.com/oauth/authorize",
    graph_url="https://graph.instagram.com",
    exchange_grant="ig_exchange_token",
    refresh_grant="ig_refresh_token",
    token_root="https://api.instagram.com",
    credentials=InstagramCredentials,
    needed=INSTAGRAM_PERMISSIONS,
)
"""Instagram Login: ``auth.instagram.start`` / ``finish`` / ``exchange`` / ``refresh``
(returns `InstagramCredentials`; for an Instagram account linked to a Facebook Page, the
Page's ``instagram_business_account`` with Facebook Login works too)."""


# -- Facebook Login ------------------------------------------------------------------------

FACEBOOK_DIALOG = "https://www.facebook.com"
FACEBOOK_GRAPH_URL = "https://graph.facebook.com"
FACEBOOK_VERSION = "v25.0"


@attrs.frozen(repr=False)
class FacebookUserCredentials(Expiring):
    """A Facebook user's access token from Facebook Login: what gets the Page tokens.

    Attributes:
        access_token: the user access token (short-lived: about an hour; long-lived: about
            60 days).
        expires_at: when it expires (epoch seconds), ``None`` if unknown.
        long_lived: whether it came from the long-lived exchange.
        scopes: the permissions the user granted (``GET /me/permissions`` after the code
            exchange), which may be fewer than those asked for.
        client_id: the app id.
        api_version: the Graph API version used (``v25.0``).
        base_url: the Graph API root (``None``: graph.facebook.com).
        declined: the permissions the user unchecked in the login dialog (none of them one
            brandkit needs: `finish` refuses those).
    """

    access_token: SecretStr
    expires_at: float | None
    long_lived: bool
    scopes: tuple[str, ...]
    client_id: str
    api_version: str = FACEBOOK_VERSION
    base_url: str | None = None
    declined: tuple[str, ...] = ()

    platform: ClassVar[str] = "facebook"

    def __repr__(self) -> str:
        return (
            f"FacebookUserCredentials(client_id={self.client_id!r}, scopes={self.scopes!r}, "
            f"expires_at={self.expires_at!r}, long_lived={self.long_lived!r})"
        )

    __str__ = __repr__


@attrs.frozen(repr=False)
class FacebookPageCredentials:
    """A Page's access token (from ``/me/accounts``), for
    [`Account.facebook`][brandkit.Account.facebook]. A Page token got with a long-lived
    user token has no expiry of its own; it dies when the user's grant does.

    Attributes:
        page_id: the Page's id.
        page_name: its name.
        access_token: the Page access token.
        api_version: the Graph API version.
        base_url: the Graph API root (``None``: graph.facebook.com).
        instagram_user_id: the Instagram professional account linked to the Page (its
            ``instagram_business_account``), ``None`` when none: the ``ig_user_id`` of
            [`Account.instagram`][brandkit.Account.instagram] on Facebook Login.
    """

    page_id: str
    page_name: str
    access_token: SecretStr
    api_version: str = FACEBOOK_VERSION
    base_url: str | None = None
    instagram_user_id: str | None = None

    platform: ClassVar[str] = "facebook"

    def __repr__(self) -> str:
        return f"FacebookPageCredentials(page_id={self.page_id!r}, page_name={self.page_name!r})"

    __str__ = __repr__

    expires_at: ClassVar[None] = None
    """A Page token from a long-lived user token has no expiry of its own."""

    def to_dict(self) -> dict[str, Any]:
        """Plain data, the Page token included in clear: store it encrypted, never log it."""
        return saved_data(self, platform="facebook")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FacebookPageCredentials:
        """The credentials `to_dict` gave.

        Raises:
            ConfigurationError: a field is missing or of the wrong type, or the data are
                another platform's (the message names fields, never values).
        """
        return built(cls, saved(_PageModel, data, "facebook", "Facebook Page"))


class _PageModel(SavedModel):
    platform: str = pydantic.Field(pattern="^facebook$")
    page_id: str = pydantic.Field(min_length=1)
    page_name: str = ""
    access_token: SecretStr = pydantic.Field(min_length=1)
    api_version: str = FACEBOOK_VERSION
    base_url: str | None = None
    instagram_user_id: str | None = None


class _Linked(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    id: pydantic.StrictStr


class _Page(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    id: pydantic.StrictStr
    name: pydantic.StrictStr = ""
    access_token: pydantic.StrictStr | None = None
    instagram_business_account: _Linked | None = None


class _Pages(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    data: list[_Page]


class _Permission(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    permission: pydantic.StrictStr
    status: pydantic.StrictStr


class _Permissions(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    data: list[_Permission]


FACEBOOK_PERMISSIONS = frozenset(
    {
        "pages_show_list",
        "pages_manage_posts",
        "pages_read_engagement",
        "pages_manage_engagement",
        "pages_read_user_content",
        "pages_manage_metadata",
        "read_insights",
        "business_management",
        "instagram_basic",
        "instagram_content_publish",
        "instagram_manage_comments",
        "instagram_manage_insights",
    }
)
"""The Facebook Login permissions brandkit's features use (publishing, metrics, the inbox,
on Pages and on the Instagram accounts linked to them). One of them asked for and not
granted makes `FacebookLogin.finish` fail; others the user unchecks are only recorded."""

MAX_PAGES = 100
"""The most Pages `FacebookLogin.pages` reads (one request of Meta's largest page size)."""


@attrs.frozen
class FacebookLogin:
    """Facebook Login: the login dialog, the code for a short-lived user token, that for a
    long-lived one (``fb_exchange_token``), and the Page tokens of ``/me/accounts``.
    Sources: https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow
    and https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived.
    """

    def start(
        self,
        client_id: str,
        redirect_uri: str,
        scopes: str | Sequence[str],
        base_url: str | None = None,
        api_version: str = FACEBOOK_VERSION,
        *,
        rerequest: bool = False,
    ) -> Start:
        """Begin connecting: a fresh ``state`` and the login dialog's URL. No request.

        Args:
            client_id: the app id.
            redirect_uri: the callback URL, exactly as a valid OAuth redirect URI.
            scopes: e.g. ``["pages_show_list", "pages_manage_posts", "pages_read_engagement"]``.
            base_url: an emulator serving both the dialog and the Graph API.
            api_version: the Graph API version of the dialog and token endpoints.
            rerequest: ask again for permissions the user declined before
                (``auth_type=rerequest``); without it Facebook's dialog skips them. Use it
                to connect again after `PermissionsDeclined`.

        Raises:
            ConfigurationError: no client id, redirect URI or scope, or a bad ``base_url``.
        """
        wanted = comma_scopes(scopes)
        start_arguments("facebook", client_id, redirect_uri, wanted, "pages_show_list")
        dialog = api_root(base_url, FACEBOOK_DIALOG) + f"/{api_version}/dialog/oauth"
        graph = api_root(base_url, FACEBOOK_GRAPH_URL)
        return authorization_start(
            "facebook",
            dialog,
            client_id=client_id,
            redirect_uri=redirect_uri,
            scopes=wanted,
            scope=",".join(wanted),
            token_url=f"{graph}/{api_version}/oauth/access_token",
            api_base=base_url,
            extra={"auth_type": "rerequest"} if rerequest else None,
        )

    def finish_flow(
        self,
        start: Start,
        callback_url: str,
        *,
        client_secret: str | SecretStr,
        long_lived: bool = True,
        clock: Callable[[], float] = time.time,
        once_in: FinishLedger | None = None,
    ) -> Flow[FacebookUserCredentials]:
        """The sans-IO exchange behind `finish`."""
        own_start(start, "facebook")
        code = code_from(start, callback_url, platform="facebook")
        version = start.token_url.rstrip("/").split("/")[-3]
        # Facebook documents this exchange as a GET with the code and secret in the query.
        params = {
            "client_id": start.client_id,
            "redirect_uri": start.redirect_uri,
            "client_secret": plain(client_secret),
            "code": code,
        }
        step = _get(start.token_url, params)
        response = yield from redeem(start, step, platform="facebook", once_in=once_in)
        body = _answer(response, _TokenAnswer, platform="facebook", what="the authorization code")
        now = clock()
        short = FacebookUserCredentials(
            access_token=SecretStr(body.access_token),
            expires_at=expiry_after(now, body.expires_in),
            long_lived=False,
            scopes=start.scopes,
            client_id=start.client_id,
            api_version=version,
            base_url=start.api_base,
        )
        # The dialog lets the user uncheck permissions: what was asked is not what was
        # granted, and a post would fail long after this connection looked fine.
        granted, declined = yield from self._permissions_flow(short)
        missing = tuple(p for p in start.scopes if p in FACEBOOK_PERMISSIONS and p not in granted)
        if missing:
            raise _declined(
                "facebook",
                missing,
                "Facebook's login dialog (start it with rerequest=True, or Facebook will not "
                "ask again)",
            )
        short = attrs.evolve(short, scopes=granted, declined=declined)
        if not long_lived:
            return short
        return (yield from self.exchange_flow(short, client_secret=client_secret, clock=clock))

    def finish(
        self,
        start: Start,
        callback_url: str,
        *,
        client_secret: str | SecretStr,
        long_lived: bool = True,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
        once_in: FinishLedger | None = None,
    ) -> FacebookUserCredentials:
        """Finish connecting: check the callback's ``state``, exchange the code for a user
        token, read what the user granted (``GET /me/permissions``: the credentials'
        ``scopes`` and ``declined``) and (``long_lived=True``) exchange the token for a
        long-lived one. Then `pages`. ``once_in`` is as in `MetaLogin.finish`.

        Raises:
            PermissionsDeclined: the user unchecked permissions asked for that brandkit
                needs (`FACEBOOK_PERMISSIONS`); ``missing`` names them.
            ConsentDenied: the user refused.
            AuthorizationFinished: this authorization was finished already, or is being
                finished, in this process (or one sharing ``once_in``): nothing is sent.
            CallbackError: the state differs, or no code.
            BrandkitError: ``once_in`` could not be reached (nothing is sent).
            GrantRefused: Facebook refused the code (used, expired, another redirect URI,
                wrong app secret) or the exchange.
            RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
                again later; nothing says the credentials are bad).
            TransportError: Facebook could not be reached.
        """
        flow = self.finish_flow(
            start,
            callback_url,
            client_secret=client_secret,
            long_lived=long_lived,
            clock=clock,
            once_in=once_in,
        )
        return run(flow, http)

    def _permissions_flow(
        self, creds: FacebookUserCredentials
    ) -> Flow[tuple[tuple[str, ...], tuple[str, ...]]]:
        """What the user granted and declined, as ``GET /me/permissions`` lists them.

        Raises:
            GrantRefused: Facebook refused the token.
            MalformedResponse: the answer is not a permission list.
        """
        root = api_root(creds.base_url, FACEBOOK_GRAPH_URL)
        url = f"{root}/{creds.api_version}/me/permissions"
        response: httpx.Response = yield _get(url, {}, creds.access_token, bucket="read")
        body = _answer(response, _Permissions, platform="facebook", what="the permission check")
        granted = tuple(p.permission for p in body.data if p.status == "granted")
        declined = tuple(p.permission for p in body.data if p.status == "declined")
        return granted, declined

    def exchange_flow(
        self,
        creds: FacebookUserCredentials,
        *,
        client_secret: str | SecretStr,
        clock: Callable[[], float] = time.time,
    ) -> Flow[FacebookUserCredentials]:
        """The sans-IO long-lived exchange behind `exchange`."""
        graph = api_root(creds.base_url, FACEBOOK_GRAPH_URL)
        url = f"{graph}/{creds.api_version}/oauth/access_token"
        params = {
            "grant_type": "fb_exchange_token",
            "client_id": creds.client_id,
            "client_secret": plain(client_secret),
            "fb_exchange_token": creds.access_token.get_secret_value(),
        }
        response: httpx.Response = yield _get(url, params)
        body = _answer(response, _TokenAnswer, platform="facebook", what="the long-lived exchange")
        now = clock()
        return attrs.evolve(
            creds,
            access_token=SecretStr(body.access_token),
            expires_at=expiry_after(now, body.expires_in),
            long_lived=True,
        )

    def exchange(
        self,
        creds: FacebookUserCredentials,
        *,
        client_secret: str | SecretStr,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.time,
    ) -> FacebookUserCredentials:
        """A long-lived (about 60 days) user token for a short-lived one.

        Raises:
            GrantRefused: Facebook refused (the token expired, a wrong secret).
            RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
                again later; nothing says the credentials are bad).
            TransportError: Facebook could not be reached.
        """
        return run(self.exchange_flow(creds, client_secret=client_secret, clock=clock), http)

    def pages_flow(self, creds: FacebookUserCredentials) -> Flow[list[FacebookPageCredentials]]:
        """The sans-IO lookup behind `pages`."""
        graph = api_root(creds.base_url, FACEBOOK_GRAPH_URL)
        url = f"{graph}/{creds.api_version}/me/accounts"
        params = {
            "fields": "id,name,access_token,instagram_business_account",
            "limit": str(MAX_PAGES),
        }
        response: httpx.Response = yield _get(url, params, creds.access_token, bucket="read")
        body = _answer(response, _Pages, platform="facebook", what="the Page lookup")
        return [
            FacebookPageCredentials(
                page_id=p.id,
                page_name=p.name,
                access_token=SecretStr(p.access_token),
                api_version=creds.api_version,
                base_url=creds.base_url,
                instagram_user_id=(
                    p.instagram_business_account.id if p.instagram_business_account else None
                ),
            )
            for p in body.data
            if p.access_token
        ]

    def pages(
        self, creds: FacebookUserCredentials, *, http: httpx.Client | None = None
    ) -> list[FacebookPageCredentials]:
        """The Pages the user administers, each with its Page token (``GET /me/accounts``;
        up to `MAX_PAGES`). Pages without a token for this app are left out.

        Raises:
            GrantRefused: Facebook refused the user token (expired, revoked).
            RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
                again later; nothing says the credentials are bad).
            TransportError: Facebook could not be reached.
        """
        return run(self.pages_flow(creds), http)


facebook = FacebookLogin()
"""Facebook Login: ``auth.facebook.start`` / ``finish`` / ``exchange`` / ``pages``."""
