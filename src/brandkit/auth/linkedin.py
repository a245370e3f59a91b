"""Connect a LinkedIn member or page: 3-legged OAuth (the authorization code flow).

```python
start = brandkit.auth.linkedin.start(client_id, "https://app.example/cb",
                                     ["w_organization_social", "rw_organization_admin"])
# send the member to start.url; keep start.to_dict() in the session
creds = brandkit.auth.linkedin.finish(start, callback_url, client_secret=secret)
(page,) = brandkit.auth.linkedin.organizations(creds)   # the pages the member administers
account = brandkit.auth.account_from(creds, author=page, client_secret=secret)
```

Access tokens live 60 days. Refresh tokens (365 days from the first authorization, not
extended by a refresh) come only to approved Marketing Developer Platform partners: when
the answer carries one, `refresh` uses it; otherwise the member must authorize again.
Sources: https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow
and https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens.
"""

from __future__ import annotations

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
    ConsentDenied,
    Expiring,
    FinishLedger,
    SavedModel,
    Start,
    TokenBody,
    api_root,
    authorization_start,
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
    setting_scopes,
    start_arguments,
    token_answer,
)
from brandkit.errors import AuthError, ConfigurationError, MalformedResponse

if TYPE_CHECKING:
    from brandkit.accounts import Account

__all__ = [
    "AUTHORIZE_URL",
    "TOKEN_URL",
    "LinkedInCredentials",
    "credentials_of",
    "finish",
    "finish_async",
    "finish_flow",
    "organizations",
    "organizations_flow",
    "refresh",
    "refresh_async",
    "refresh_flow",
    "start",
]

AUTHORIZE_URL = "https://www.linkedin.com/oauth/v2/authorization"
TOKEN_URL = "https://www.linkedin.com/oauth/v2/accessToken"
API_URL = "https://api.linkedin.com"
VERSION = "202608"
"""The ``LinkedIn-Version`` of the organization lookup (as `Account.linkedin`'s default)."""


@attrs.frozen(repr=False)
class LinkedInCredentials(Expiring):
    """A LinkedIn member's OAuth 2 credentials.

    Attributes:
        access_token: the bearer token (60 days).
        refresh_token: the refresh token (approved partners only), ``None`` otherwise.
        expires_at: when the access token expires (epoch seconds).
        refresh_expires_at: when the refresh token expires (365 days after the first
            authorization; a refresh does not extend it).
        scopes: the scopes granted.
        client_id: the app the tokens belong to.
        base_url: where the token endpoint and the API are (``None``: LinkedIn's).
    """

    access_token: SecretStr
    refresh_token: SecretStr | None
    expires_at: float | None
    refresh_expires_at: float | None
    scopes: tuple[str, ...]
    client_id: str
    base_url: str | None = None

    platform: ClassVar[str] = "linkedin"

    def __repr__(self) -> str:
        return (
            f"LinkedInCredentials(client_id={self.client_id!r}, scopes={self.scopes!r}, "
            f"expires_at={self.expires_at!r}, refreshable={self.refresh_token is not None})"
        )

    __str__ = __repr__

    def to_dict(self) -> dict[str, Any]:
        """Plain data, tokens included in clear: store it encrypted, never log it."""
        return saved_data(self, platform="linkedin")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LinkedInCredentials:
        """The credentials `to_dict` gave.

        Raises:
            ConfigurationError: a field is missing or of the wrong type, or the data are
                another platform's (the message names fields, never values).
        """
        return built(cls, saved(_CredentialsModel, data, "linkedin", "LinkedIn"))


class _CredentialsModel(SavedModel):
    platform: str = pydantic.Field(pattern="^linkedin$")
    access_token: SecretStr = pydantic.Field(min_length=1)
    refresh_token: SecretStr | None = None
    expires_at: float | None = None
    refresh_expires_at: float | None = None
    scopes: list[str]
    client_id: str
    base_url: str | None = None


class _LinkedInToken(TokenBody):
    refresh_token_expires_in: pydantic.StrictInt | pydantic.StrictFloat | None = None


class _Acl(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    organization: pydantic.StrictStr


class _Acls(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    elements: list[_Acl]


# organizationAcls pages (Rest.li's 10 unless asked; 100 at most), and how many are read:
# 5,000 roles, more pages than anyone administers.
_ACLS_PAGE = 100
_ACLS_PAGES = 50


def credentials_of(account: Account) -> LinkedInCredentials | None:
    """The credentials ``account`` holds now, as `finish` or `refresh` gives them: the
    tokens, ``expires_at`` (a refresh by the adapter moves it on), the scopes and the
    app of an account made by `brandkit.auth.account_from`. Call it from
    ``on_credentials_changed`` to store a refresh whole
    (``credentials_of(account).to_dict()``).

    Returns ``None`` for an account that is not LinkedIn. Raises nothing.
    """
    token = account.secret("token")
    if account.platform != "linkedin" or not token:
        return None
    refresh_token = account.secret("refresh_token")
    client_id = account.settings.get("oauth_client_id") or account.settings.get("client_id")
    return LinkedInCredentials(
        access_token=SecretStr(token),
        refresh_token=SecretStr(refresh_token) if refresh_token else None,
        expires_at=stored_time(account.settings.get("token_expires_at")),
        refresh_expires_at=stored_time(account.settings.get("refresh_expires_at")),
        scopes=setting_scopes(account.settings.get("scopes")),
        client_id=str(client_id or ""),
        base_url=None if account.base_url == API_URL else account.base_url,
    )


def _roots(base_url: str | None) -> tuple[str, str, str]:
    if base_url is None:
        return AUTHORIZE_URL, TOKEN_URL, API_URL
    root = api_root(base_url, API_URL)
    return root + "/oauth/v2/authorization", root + "/oauth/v2/accessToken", root


def start(
    client_id: str,
    redirect_uri: str,
    scopes: str | Sequence[str],
    base_url: str | None = None,
) -> Start:
    """Begin connecting a LinkedIn member: a fresh ``state`` and the authorization URL to
    send them to. No request is made.

    Args:
        client_id: the app's client id (developer portal, "Auth").
        redirect_uri: the callback URL, exactly as an authorized redirect URL of the app.
        scopes: e.g. ``["w_organization_social", "rw_organization_admin"]`` to post as a
            page, ``["w_member_social", "openid", "profile"]`` to post as the member.
        base_url: where the authorization and token endpoints and the API are (an
            emulator); ``None`` for LinkedIn.

    Raises:
        ConfigurationError: no client id, redirect URI or scope, or a bad ``base_url``.
    """
    wanted = comma_scopes(scopes)
    start_arguments("linkedin", client_id, redirect_uri, wanted, "w_organization_social")
    authorize, token, _ = _roots(base_url)
    return authorization_start(
        "linkedin",
        authorize,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=wanted,
        scope=" ".join(wanted),
        token_url=token,
        api_base=base_url,
    )


def _code(start: Start, callback_url: str) -> str:
    params = dict(parse_qsl(urlsplit(callback_url).query, keep_blank_values=True))
    error = params.get("error", "")
    if error.startswith("user_cancelled_"):
        # LinkedIn reports a refusal as user_cancelled_authorize (or _login), not OAuth's
        # access_denied: read as that, so that the state is checked first as for any
        # callback, then reported with LinkedIn's own name.
        parts = urlsplit(callback_url)
        mapped = parts._replace(query=urlencode({**params, "error": "access_denied"})).geturl()
        try:
            code_from(start, mapped, platform="linkedin")
        except ConsentDenied:
            raise ConsentDenied(
                f"the member refused the authorization ({error}); nothing was connected",
                platform="linkedin",
                code=error,
                platform_message=params.get("error_description"),
            ) from None
    return code_from(start, callback_url, platform="linkedin")


def _credentials(
    body: _LinkedInToken,
    *,
    client_id: str,
    base_url: str | None,
    asked: tuple[str, ...],
    now: float,
    old: LinkedInCredentials | None = None,
) -> LinkedInCredentials:
    refresh = SecretStr(body.refresh_token) if body.refresh_token else None
    refresh_expires = expiry_after(now, body.refresh_token_expires_in)
    if refresh is None and old is not None:
        refresh, refresh_expires = old.refresh_token, old.refresh_expires_at
    elif refresh_expires is None and old is not None:
        # A refresh never extends the 365 days from the first authorization: an answer
        # without the lifetime says nothing new, and must not make the token look immortal.
        refresh_expires = old.refresh_expires_at
    return LinkedInCredentials(
        access_token=SecretStr(body.access_token),
        refresh_token=refresh,
        expires_at=expiry_after(now, body.expires_in),
        refresh_expires_at=refresh_expires,
        # LinkedIn answers scopes comma-separated; requests take them space-separated.
        scopes=comma_scopes(body.scope) if body.scope else asked,
        client_id=client_id,
        base_url=base_url,
    )


def _token(response: httpx.Response, what: str) -> _LinkedInToken:
    return token_answer(response, platform="linkedin", what=what, model=_LinkedInToken)


def finish_flow(
    start: Start,
    callback_url: str,
    *,
    client_secret: str | SecretStr,
    clock: Callable[[], float] = time.time,
    once_in: FinishLedger | None = None,
) -> Flow[LinkedInCredentials]:
    """The sans-IO exchange behind `finish`: checks the callback, then yields the token
    request and returns the credentials."""
    own_start(start, "linkedin")
    code = _code(start, callback_url)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": start.client_id,
        "client_secret": plain(client_secret),
        "redirect_uri": start.redirect_uri,
    }
    step = form_request(start.token_url, form)
    response = yield from redeem(start, step, platform="linkedin", once_in=once_in)
    body = _token(response, "the authorization code")
    return _credentials(
        body, client_id=start.client_id, base_url=start.api_base, asked=start.scopes, now=clock()
    )


def finish(
    start: Start,
    callback_url: str,
    *,
    client_secret: str | SecretStr,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
    once_in: FinishLedger | None = None,
) -> LinkedInCredentials:
    """Finish connecting: check the callback's ``state`` and exchange its code (the client
    secret goes in the form body, never in a URL).

    Args:
        start: what `start` returned (or `Start.from_dict` of it).
        callback_url: the full URL the member came back to.
        client_secret: the app's client secret.
        http: the httpx client to use (a new one when ``None``).
        clock: what ``expires_at`` is counted from (an emulator's ``clock.time``).
        once_in: a store that every process which may finish this authorization shares
            (`EncryptedStore`, `PostgresStore`): the first finish claims it there, and a
            second one anywhere (a reloaded page, another worker) is refused before its code
            is sent. ``None``: refused in this process only.

    Raises:
        ConsentDenied: the member cancelled.
        AuthorizationFinished: this authorization was finished already, or is being
            finished, in this process (or one sharing ``once_in``): nothing is sent.
        CallbackError: the state differs (forged or from another attempt), or no code.
        BrandkitError: ``once_in`` could not be reached (nothing is sent).
        GrantRefused: LinkedIn refused the code (used already, older than 30 minutes,
            another redirect URI or app, wrong client credentials).
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: LinkedIn could not be reached.
    """
    flow = finish_flow(
        start, callback_url, client_secret=client_secret, clock=clock, once_in=once_in
    )
    return run(flow, http)


async def finish_async(
    start: Start,
    callback_url: str,
    *,
    client_secret: str | SecretStr,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
    once_in: FinishLedger | None = None,
) -> LinkedInCredentials:
    """`finish` for async code."""
    flow = finish_flow(
        start, callback_url, client_secret=client_secret, clock=clock, once_in=once_in
    )
    return await run_async(flow, http)


def refresh_flow(
    creds: LinkedInCredentials,
    *,
    client_secret: str | SecretStr,
    clock: Callable[[], float] = time.time,
) -> Flow[LinkedInCredentials]:
    """The sans-IO refresh behind `refresh`."""
    if creds.refresh_token is None:
        raise ConfigurationError(
            "these LinkedIn credentials have no refresh token (LinkedIn gives them only to "
            "approved partners): ask the member to authorize again"
        )
    form = {
        "grant_type": "refresh_token",
        "refresh_token": creds.refresh_token.get_secret_value(),
        "client_id": creds.client_id,
        "client_secret": plain(client_secret),
    }
    _, token_url, _ = _roots(creds.base_url)
    response: httpx.Response = yield form_request(token_url, form)
    body = _token(response, "the refresh token")
    return _credentials(
        body,
        client_id=creds.client_id,
        base_url=creds.base_url,
        asked=creds.scopes,
        now=clock(),
        old=creds,
    )


def refresh(
    creds: LinkedInCredentials,
    *,
    client_secret: str | SecretStr,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> LinkedInCredentials:
    """A new 60-day access token for ``creds``; the refresh token stays the same and keeps
    its 365-day life from the first authorization.

    Raises:
        ConfigurationError: ``creds`` hold no refresh token.
        GrantRefused: LinkedIn refused (the refresh token expired or was revoked).
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: LinkedIn could not be reached.
    """
    return run(refresh_flow(creds, client_secret=client_secret, clock=clock), http)


async def refresh_async(
    creds: LinkedInCredentials,
    *,
    client_secret: str | SecretStr,
    http: httpx.AsyncClient | None = None,
    clock: Callable[[], float] = time.time,
) -> LinkedInCredentials:
    """`refresh` for async code."""
    return await run_async(refresh_flow(creds, client_secret=client_secret, clock=clock), http)


def organizations_flow(creds: LinkedInCredentials) -> Flow[list[str]]:
    """The sans-IO lookup behind `organizations`."""
    found: dict[str, None] = {}
    for page in range(_ACLS_PAGES):
        acls = yield from _acls_page(creds, page * _ACLS_PAGE)
        found.update(dict.fromkeys(a.organization for a in acls.elements))
        if len(acls.elements) < _ACLS_PAGE:
            break
    return list(found)


def _acls_page(creds: LinkedInCredentials, start: int) -> Flow[_Acls]:
    """One page of the member's administrator roles, from ``start``."""
    _, _, api = _roots(creds.base_url)
    request = httpx.Request(
        "GET",
        api + "/rest/organizationAcls",
        params={
            "q": "roleAssignee",
            "role": "ADMINISTRATOR",
            "state": "APPROVED",
            "start": start,
            "count": _ACLS_PAGE,
        },
        headers={
            "authorization": f"Bearer {creds.access_token.get_secret_value()}",
            "linkedin-version": VERSION,
            "x-restli-protocol-version": "2.0.0",
            "accept": "application/json",
        },
    )
    response: httpx.Response = yield Send(request, bucket="read", max_bytes=MAX_ANSWER)
    if response.status_code in (401, 403):
        raise AuthError(
            f"LinkedIn refused the page lookup ({response.status_code}): connect with the "
            "rw_organization_admin scope",
            platform="linkedin",
            status_code=response.status_code,
        )
    busy = not_now(response, platform="linkedin", what="the page lookup")
    if busy is not None:
        raise busy
    if not response.is_success:
        raise MalformedResponse(
            f"LinkedIn answered the page lookup with {response.status_code}; try again later",
            platform="linkedin",
            status_code=response.status_code,
        )
    try:
        return _Acls.model_validate_json(response.content)
    except pydantic.ValidationError:
        raise MalformedResponse(
            "LinkedIn's answer to the page lookup has no elements[].organization",
            platform="linkedin",
            status_code=response.status_code,
        ) from None


def organizations(creds: LinkedInCredentials, *, http: httpx.Client | None = None) -> list[str]:
    """The URNs of the pages (``urn:li:organization:…``) the member administers: the
    ``author`` to give `brandkit.auth.account_from` to post as one of them. All of them,
    read 100 roles a request (at most 5,000).

    Raises:
        AuthError: the token lacks ``rw_organization_admin`` (or expired).
        MalformedResponse: an answer that is not a list of roles.
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: LinkedIn could not be reached.
    """
    return run(organizations_flow(creds), http)
