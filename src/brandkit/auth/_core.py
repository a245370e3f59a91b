"""What every authorization flow shares: the errors, the saved start of a flow, PKCE, the
callback check, token answers, and the drivers that run a token flow over httpx."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import secrets
import threading
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, overload, runtime_checkable
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio
import attrs
import httpx
import pydantic
from pydantic import SecretStr

from brandkit import _logging
from brandkit._flow import Flow, Send, Wait
from brandkit._tls import shared_context
from brandkit.errors import (
    AuthError,
    ConfigurationError,
    MalformedResponse,
    PlatformError,
    PlatformUnavailable,
    RateLimited,
)

__all__ = [
    "AuthorizationFinished",
    "CallbackError",
    "ConsentDenied",
    "FinishLedger",
    "GrantRefused",
    "PermissionsDeclined",
    "Start",
    "run",
    "run_async",
]

T = TypeVar("T")
M = TypeVar("M", bound=pydantic.BaseModel)
A = TypeVar("A", bound=attrs.AttrsInstance)

TIMEOUT = httpx.Timeout(30.0)
"""How long a token request may take (connect, read, write, pool each)."""

DEADLINE = 30.0
"""The longest the body of a token answer may take to arrive once its headers have (seconds).
The per-operation `TIMEOUT` alone bounds no answer: a server that sends a byte every 29 s
never trips it, and would hold a refresh, and the credential store's lock around it, for
ever. Counted from the headers, not from the request: an honest answer's few hundred bytes
follow its headers at once, so a slow server's complete answer (a rotated refresh token
among it) is never thrown away."""

MAX_ANSWER = 1024 * 1024
"""The largest token answer read: token answers are a few hundred bytes."""


class CallbackError(AuthError):
    """The callback URL does not finish this flow: its ``state`` is not the one this flow
    sent (a forged or mixed-up callback), it carries no code, or the platform reported an
    error instead of a code."""


class ConsentDenied(CallbackError):
    """The user refused the authorization (the callback carries ``error=access_denied``)."""


class PermissionsDeclined(ConsentDenied):
    """The user consented but unchecked permissions brandkit needs for what the app asked
    (Meta's login dialog lets them edit the list): ``missing`` names them. Connect the
    account again and keep them checked.

    Attributes:
        missing: the permissions asked for that were not granted.
    """

    def __init__(self, message: str, *, missing: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.missing = missing

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["missing"] = list(self.missing)
        return data


class GrantRefused(AuthError):
    """The token endpoint refused the exchange: the code was used already or expired, the
    PKCE verifier does not match, the redirect URI differs from the authorization request's,
    the refresh token was already spent or revoked, or the client credentials are wrong.
    ``code`` is the platform's OAuth error name, ``platform_message`` its description."""


@overload
def plain(value: str | SecretStr) -> str: ...
@overload
def plain(value: str | SecretStr | None) -> str | None: ...
def plain(value: str | SecretStr | None) -> str | None:
    """The text of a secret given as a `SecretStr` or as plain text (``None`` stays
    ``None``), for the one place it must go in clear: a form body, a signature, saved data.
    Raises nothing."""
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def new_state() -> str:
    """An unguessable ``state`` value (128 bits and more)."""
    return secrets.token_urlsafe(24)


def new_verifier() -> str:
    """A PKCE code verifier (RFC 7636 §4.1: 43 to 128 characters of the unreserved set)."""
    return secrets.token_urlsafe(48)  # 64 characters


def challenge(verifier: str) -> str:
    """The S256 code challenge of ``verifier`` (RFC 7636 §4.2)."""
    return b64url(hashlib.sha256(verifier.encode("ascii")).digest())


def b64url(data: bytes) -> str:
    """``data`` in unpadded base64url (RFC 7636 Appendix A, RFC 7515 §2), as PKCE
    challenges and JWTs write bytes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class Expiring:
    """What every flow's credentials share: an access token that expires at ``expires_at``
    (epoch seconds; ``None``: it does not expire)."""

    expires_at: float | None

    def expired(self, now: float | None = None, *, margin: float = 60.0) -> bool:
        """Whether the access token has expired, or will within ``margin`` seconds."""
        if self.expires_at is None:
            return False
        return (time.time() if now is None else now) >= self.expires_at - margin


@attrs.frozen(repr=False)
class Start:
    """The start of an authorization: where to send the user, and what the callback is
    checked against. Keep it (e.g. ``to_dict()`` in the web session) until the user comes
    back, then pass it to the platform's ``finish``.

    Attributes:
        platform: ``"x"`` or ``"mastodon"``.
        url: the authorization URL to send the user to.
        client_id: the app's client id.
        redirect_uri: the callback URL registered with the app.
        scopes: the scopes asked for.
        token_url: where ``finish`` exchanges the code.
        state: the ``state`` sent along; the callback must carry the same.
        verifier: the PKCE code verifier (``None`` when the server has no PKCE).
        api_base: the API the credentials are for (``None``: the platform's own).
    """

    platform: str
    url: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    token_url: str
    state: SecretStr
    verifier: SecretStr | None
    api_base: str | None = None

    def __repr__(self) -> str:
        # The state and the verifier stay out: with them a stolen code could be redeemed.
        return (
            f"Start(platform={self.platform!r}, client_id={self.client_id!r}, "
            f"redirect_uri={self.redirect_uri!r}, scopes={self.scopes!r}, "
            f"pkce={self.verifier is not None})"
        )

    __str__ = __repr__

    def to_dict(self) -> dict[str, Any]:
        """The start as plain JSON-able data, state and verifier included (keep it where
        the user cannot read or change it, such as a signed server-side session)."""
        return saved_data(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Start:
        """The start that `to_dict` gave.

        Raises:
            ConfigurationError: a field is missing or of the wrong type (the message names
                the field, never a value).
        """
        return built(cls, restored(_StartModel, data, "authorization start"))


class SavedModel(pydantic.BaseModel):
    """What a ``to_dict``'s saved data is read as (`saved`, `restored`, then `built`): types
    strict, as the class wrote them; fields it does not know ignored (a newer brandkit's).
    A secret's field is a `SecretStr`, so that the model keeps it out of reprs too."""

    model_config = pydantic.ConfigDict(extra="ignore", strict=True)


def authorization_start(
    platform: str,
    authorize_url: str,
    *,
    client_id: str,
    redirect_uri: str,
    scopes: tuple[str, ...],
    scope: str,
    token_url: str,
    api_base: str | None,
    pkce: bool = False,
    extra: Mapping[str, str] | None = None,
) -> Start:
    """The `Start` of an authorization code request (RFC 6749 §4.1.1) at ``authorize_url``:
    a fresh ``state`` and, with ``pkce``, a verifier whose S256 challenge is sent (RFC 7636
    §4.3). ``scope`` is ``scopes`` written as the platform reads them (Meta documents
    commas, the others spaces); ``extra`` holds the platform's own parameters. ``api_base``
    (the API the credentials will be for) is kept without its trailing slash. No request
    is made. Raises nothing."""
    state = new_state()
    verifier = new_verifier() if pkce else None
    params = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": state,
        **(extra or {}),
    }
    if verifier is not None:
        params |= {"code_challenge": challenge(verifier), "code_challenge_method": "S256"}
    return Start(
        platform=platform,
        url=f"{authorize_url}?{urlencode(params)}",
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=scopes,
        token_url=token_url,
        state=SecretStr(state),
        verifier=SecretStr(verifier) if verifier is not None else None,
        api_base=api_base.rstrip("/") if api_base else None,
    )


class _StartModel(SavedModel):
    platform: str
    url: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    token_url: str
    state: SecretStr = pydantic.Field(min_length=1)
    verifier: SecretStr | None
    api_base: str | None = None


class _Stated(Protocol):
    @property
    def state(self) -> SecretStr: ...


def _callback_advice(error: str) -> str:
    """What to do about an error the authorization endpoint sent back instead of a code
    (RFC 6749 4.1.2.1, and LinkedIn's own name for a scope the app lacks)."""
    if error in ("invalid_scope", "unauthorized_scope_error"):
        return (
            "ask only for scopes the app is allowed (its products and permissions in the "
            "platform's developer settings), then start again"
        )
    if error in ("unauthorized_client", "unsupported_response_type"):
        return "check the app's client id and that it may use this flow, then start again"
    if error in ("server_error", "temporarily_unavailable"):
        return "the platform failed for now; start again later"
    return "start the authorization again"


def code_from(
    start: _Stated, callback_url: str, *, platform: str, issuer: str | None = None
) -> str:
    """The authorization code of ``callback_url`` once its ``state`` is checked.

    Args:
        start: what the flow's start kept (its ``state``).
        callback_url: the URL the user came back to.
        platform: the platform's name, for the errors.
        issuer: the authorization server's issuer, when the server names itself in the
            callback (RFC 9207 ``iss``, as atproto servers always do): then ``iss`` must be
            there and be this one.

    Raises:
        ConsentDenied: the user refused (``error=access_denied``).
        CallbackError: the state differs (or the start has none), the callback names
            another issuer or none, an error other than a refusal, or no code.
    """
    params = dict(parse_qsl(urlsplit(callback_url).query, keep_blank_values=True))
    state = params.get("state", "")
    expected = start.state.get_secret_value()
    # Constant time: the state is what stops a forged callback. An empty one (a start made
    # by hand) would match every callback that carries none.
    if not expected or not secrets.compare_digest(state.encode(), expected.encode()):
        raise CallbackError(
            "the callback's state is not the one this authorization sent: it belongs to "
            "another attempt or was forged; start the authorization again",
            platform=platform,
        )
    iss = params.get("iss")
    if issuer is not None and iss is not None and iss.rstrip("/") != issuer:
        # RFC 9207: a callback from another server (a mix-up attack) must not be redeemed.
        raise CallbackError(
            f"the callback comes from the authorization server {iss!r}, not {issuer!r} "
            "that this authorization went to; start again",
            platform=platform,
        )
    error = params.get("error")
    if error == "access_denied":
        raise ConsentDenied(
            "the user refused the authorization (access_denied); nothing was connected",
            platform=platform,
            code=error,
            platform_message=params.get("error_description"),
        )
    if error:
        raise CallbackError(
            f"{platform} answered the authorization with the error {error!r}; "
            + _callback_advice(error),
            platform=platform,
            code=error,
            platform_message=params.get("error_description"),
        )
    if issuer is not None and iss is None:
        raise CallbackError(
            "the callback URL carries no 'iss' (this server always sends it): pass the "
            "full URL the user came back to",
            platform=platform,
        )
    code = params.get("code", "")
    if not code:
        raise CallbackError(
            "the callback URL carries no authorization code: pass the full URL the user "
            "came back to, query string included",
            platform=platform,
        )
    return code


_SPENT_MAX = 10_000
"""How many finished authorizations this process remembers (the digests of their states)."""
# The digest of each authorization this process finished (True) or is finishing (False).
_spent: OrderedDict[bytes, bool] = OrderedDict()
_spent_lock = threading.Lock()

FINISH_MEMORY = 86_400.0
"""How long a shared store remembers a finished authorization (seconds): far longer than any
platform keeps a code (X 30 s, Doorkeeper 10 min), after which a replay is refused there."""


class AuthorizationFinished(CallbackError):
    """This authorization was finished already (its code exchanged, and a code is good
    once), or another finish of it is under way: by this process, or, with ``once_in=``, by
    any process sharing that store (a reloaded callback page, a second worker). Nothing was
    sent. Use the credentials the first finish returned (or stored); if it failed, start the
    authorization again."""


@runtime_checkable
class FinishLedger(Protocol):
    """A place shared between processes that lets one finish of an authorization send its
    code (`EncryptedStore`, `PostgresStore`): ``claim_finish`` records the digest of its
    ``state`` atomically and says whether this caller was the first; ``settle_finish``
    keeps the claim once the code is spent, or lets it go so that the finish can be tried
    again."""

    def claim_finish(self, digest: bytes) -> bool:
        """Claim the authorization of ``digest``; ``False``: another finish has it."""
        ...

    def settle_finish(self, digest: bytes, *, spent: bool) -> None:
        """Keep the claim (``spent``) or let it go."""
        ...


def redeem(
    start: _Stated, step: Send, *, platform: str, once_in: FinishLedger | None = None
) -> Flow[httpx.Response]:
    """Send ``step``, the exchange of ``start``'s code, unless this process (or, with
    ``once_in``, any process sharing it) already finished that authorization or is
    finishing it; a 2xx answer marks it finished. A code is good once, and an OAuth 2
    server should revoke what a replayed code issued (RFC 6749 4.1.2): a finish run twice
    (a callback handler called again, a page reloaded, two workers) must not send it again.
    A refused exchange marks nothing, so that it can be tried again (a wrong secret).

    Raises:
        AuthorizationFinished: this authorization was finished already, or is being
            finished (in this process, or one sharing ``once_in``): nothing is sent.
        BrandkitError: ``once_in`` could not be reached (nothing is sent).
    """
    claim(start, platform=platform, once_in=once_in)
    try:
        response: httpx.Response = yield step
    except BaseException:
        settle(start, once_in=once_in, spent=False)
        raise
    settle(start, once_in=once_in, spent=response.is_success)
    return response


def _digest(start: _Stated) -> bytes:
    # A digest, not the state: the set is never a place to read live states from.
    return hashlib.sha256(start.state.get_secret_value().encode()).digest()


def _finished(platform: str, once_in: FinishLedger | None) -> AuthorizationFinished:
    where = "this process" if once_in is None else f"a process sharing {once_in!r}"
    return AuthorizationFinished(
        f"this authorization was finished already, or is being finished now, by {where} "
        "(a reloaded callback page, a second worker): its code is exchanged once, and "
        "nothing was sent; use the credentials that first finish returned, or, if it "
        "failed, start the authorization again",
        platform=platform,
    )


def _claim_here(start: _Stated, *, platform: str) -> None:
    """Claim ``start``'s authorization in this process: atomically, so that of two finishes
    at once (two requests of an async web app, two threads) one sends the code.

    Raises:
        AuthorizationFinished: this process finished it already, or is finishing it.
    """
    digest = _digest(start)
    with _spent_lock:
        if digest in _spent:
            raise _finished(platform, None)
        _spent[digest] = False
        while len(_spent) > _SPENT_MAX:
            _spent.popitem(last=False)


def claim(start: _Stated, *, platform: str, once_in: FinishLedger | None = None) -> None:
    """`redeem`'s claim, for an exchange of several requests (Bluesky's DPoP nonce): claim
    the authorization in this process, then in ``once_in``; `settle` ends the claim.

    Raises:
        AuthorizationFinished: finished already, or being finished (here or, with
            ``once_in``, by another process).
        BrandkitError: ``once_in`` could not be reached (nothing is claimed).
    """
    _claim_here(start, platform=platform)
    try:
        taken = once_in is not None and not once_in.claim_finish(_digest(start))
    except BaseException:
        _settle_here(start, spent=False)
        raise
    if taken:
        _settle_here(start, spent=False)
        raise _finished(platform, once_in)


def _settle_here(start: _Stated, *, spent: bool) -> None:
    digest = _digest(start)
    with _spent_lock:
        if spent:
            _spent[digest] = True
        elif _spent.get(digest) is False:
            del _spent[digest]


def settle(start: _Stated, *, spent: bool, once_in: FinishLedger | None = None) -> None:
    """End `claim`: ``spent`` (the server answered the exchange with a 2xx) marks the
    authorization finished; otherwise it may be finished again. Raises nothing: after a
    2xx the credentials exist only in the answer, and a store that fails to note it keeps
    the claim, which refuses a replay all the same."""
    _settle_here(start, spent=spent)
    if once_in is None:
        return
    try:
        once_in.settle_finish(_digest(start), spent=spent)
    except Exception as exc:  # the exchange's outcome must reach the caller
        logging.getLogger("brandkit.auth").warning(
            "%r could not note how a finish ended (%s); the authorization stays claimed "
            "there, and a second finish of it is refused",
            once_in,
            type(exc).__name__,
        )


class TokenBody(pydantic.BaseModel):
    """An OAuth 2 token answer (RFC 6749 §5.1) as the flows read it."""

    model_config = pydantic.ConfigDict(extra="ignore")

    access_token: pydantic.StrictStr = pydantic.Field(min_length=1)
    token_type: pydantic.StrictStr = "bearer"
    refresh_token: pydantic.StrictStr | None = None
    expires_in: pydantic.StrictInt | pydantic.StrictFloat | None = None
    scope: pydantic.StrictStr | None = None
    created_at: pydantic.StrictInt | pydantic.StrictFloat | None = None


class AnyObject(pydantic.BaseModel):
    """Any JSON object: the ``{}`` that Mastodon and the atproto provider answer a
    revocation with (`revocation_answer`'s ``model``)."""

    model_config = pydantic.ConfigDict(extra="ignore")


class _ErrorBody(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="ignore")

    error: pydantic.StrictStr
    error_description: pydantic.StrictStr | None = None


def _wait_of(response: httpx.Response) -> float | None:
    """Seconds a 429 asks to wait: its ``Retry-After``, else the reset of the window it
    says is spent (X's ``x-rate-limit-*``, the ``RateLimit-*`` families), read by the
    governor's parser (hostile values are absent, waits at most a day)."""
    from brandkit.governor._parse import parse_rate_limit

    now = time.time()
    info = parse_rate_limit(response, now=now)
    if info is None:
        return None
    if info.retry_after is not None:
        return info.retry_after
    resets = [w.reset for w in info.windows if w.remaining == 0 and w.reset is not None]
    return max(0.0, max(resets) - now) if resets else None


def not_now(response: httpx.Response, *, platform: str, what: str) -> PlatformError | None:
    """The error of an answer that says "not now" rather than "no": `RateLimited` for a
    429 (``retry_after`` from its ``Retry-After``, or the reset of the window its headers
    say is spent, in seconds), `PlatformUnavailable` for a
    5xx; ``None`` for any other answer. Neither means the credentials are bad, so neither
    may tell the user to connect again: callers that retry what is transient (the outbox
    worker) know these two types."""
    status = response.status_code
    if status == 429:
        retry_after = _wait_of(response)
        return RateLimited(
            f"{platform} rate-limited {what} (429); try again "
            + (f"in {retry_after:g} s" if retry_after is not None else "later"),
            platform=platform,
            status_code=status,
            retry_after=retry_after,
            bucket=f"{platform}:oauth2_token",
        )
    if status >= 500:
        return PlatformUnavailable(
            f"{platform} answered {what} with {status}; try again later",
            platform=platform,
            status_code=status,
        )
    return None


_APP_ERRORS = frozenset({"invalid_client", "unauthorized_client", "unsupported_grant_type"})


def advice(error: str | None) -> str:
    """What to do about a token endpoint's refusal, by its OAuth error (RFC 6749 §5.2)."""
    if error in _APP_ERRORS:
        # The app's settings are at fault: connecting again with them would be refused too.
        return (
            "check the app's client id and secret (and that the app may use this grant) "
            "in the platform's developer settings, then connect again"
        )
    if error == "invalid_scope":
        return "ask only for scopes the app is allowed, then connect again"
    return "start the authorization again (or connect the account again, for a refresh)"


def error_body(response: httpx.Response) -> _ErrorBody | None:
    """The OAuth error body (RFC 6749 §5.2: ``error``, ``error_description``) of
    ``response``, or ``None`` when it has none. Raises nothing."""
    try:
        return _ErrorBody.model_validate_json(response.content)
    except pydantic.ValidationError:
        return None


def refusal(
    response: httpx.Response,
    *,
    platform: str,
    what: str,
    advice: Callable[[str | None], str] = advice,
) -> GrantRefused:
    """The `GrantRefused` of a 4xx from an OAuth endpoint: its RFC 6749 §5.2 error body (when
    it has one) and ``advice`` for its error name. Raises nothing."""
    err = error_body(response)
    detail = f", {err.error}: {err.error_description or ''}" if err else ""
    return GrantRefused(
        f"{platform} refused {what} ({response.status_code}{detail}); "
        + advice(err.error if err else None),
        platform=platform,
        status_code=response.status_code,
        code=err.error if err else None,
        platform_message=err.error_description if err else None,
    )


def unexpected(response: httpx.Response, *, platform: str, what: str) -> MalformedResponse:
    """The error of an answer whose status no flow expects (a 3xx, say): try again later.
    Raises nothing."""
    return MalformedResponse(
        f"{platform} answered {what} with {response.status_code}; try again later",
        platform=platform,
        status_code=response.status_code,
    )


def failure(response: httpx.Response, *, platform: str, what: str) -> PlatformError:
    """The error of a token endpoint's answer that is not a 2xx: `not_now`'s for a 429 or a
    5xx, a `refusal` (with `advice`) for a 4xx, `unexpected` for any other. Raises
    nothing."""
    busy = not_now(response, platform=platform, what=what)
    if busy is not None:
        return busy
    if 400 <= response.status_code < 500:
        return refusal(response, platform=platform, what=what)
    return unexpected(response, platform=platform, what=what)


def fields_of(exc: pydantic.ValidationError) -> str:
    """The fields ``exc`` finds wrong, sorted and comma-separated (dotted paths; ``(body)``
    for the whole document): never their values, which may be secrets. Raises nothing."""
    return ", ".join(sorted({".".join(map(str, e["loc"])) or "(body)" for e in exc.errors()}))


def body_of(response: httpx.Response, model: type[M], *, platform: str, what: str) -> M:
    """The body of a 2xx token answer read as ``model``.

    Raises:
        MalformedResponse: it is not one; the fields are named, the body is not kept (it
            may carry tokens).
    """
    try:
        return model.model_validate_json(response.content)
    except pydantic.ValidationError as exc:
        raise MalformedResponse(
            f"{platform}'s answer to {what} is not a token answer (fields {fields_of(exc)})",
            platform=platform,
            status_code=response.status_code,
            body="(not kept: the answer carries credentials)",
        ) from None


@overload
def token_answer(response: httpx.Response, *, platform: str, what: str) -> TokenBody: ...
@overload
def token_answer(response: httpx.Response, *, platform: str, what: str, model: type[M]) -> M: ...
def token_answer(
    response: httpx.Response,
    *,
    platform: str,
    what: str,
    model: type[pydantic.BaseModel] = TokenBody,
) -> pydantic.BaseModel:
    """Read a token endpoint's answer as ``model`` (`TokenBody`, or the platform's own shape
    of one).

    Raises:
        RateLimited: a 429 (the code or refresh token was not looked at).
        PlatformUnavailable: a 5xx.
        GrantRefused: the endpoint refused (4xx with an OAuth error body, or any 4xx).
        MalformedResponse: a 2xx that is not a token answer, or another status; the body
            is not kept (it may carry tokens).
    """
    if not response.is_success:
        raise failure(response, platform=platform, what=what)
    return body_of(response, model, platform=platform, what=what)


def revocation_answer(
    response: httpx.Response,
    *,
    platform: str,
    what: str,
    model: type[M],
    advice: Callable[[str | None], str],
) -> M:
    """Read a revocation endpoint's answer (RFC 7009) and return its body as ``model``.

    A 200 answers a token revoked now and one the server no longer knows (spent, expired,
    revoked before) alike (§2.2): both count as done. Its body must still have the
    platform's shape (``model``): a 200 from anything else (a proxy's page) says nothing
    about the token.

    Raises:
        RateLimited, PlatformUnavailable: a 429 or a 5xx (the token may still be valid).
        GrantRefused: a 4xx: the client or the request was refused; the message ends with
            ``advice`` for the OAuth error name (``None`` when the body has none).
        MalformedResponse: another status, or a 2xx that is not ``model`` (the body is not
            kept: the request carried credentials).
    """
    busy = not_now(response, platform=platform, what=what)
    if busy is not None:
        raise busy
    status = response.status_code
    if 400 <= status < 500:
        raise refusal(response, platform=platform, what=what, advice=advice)
    if response.is_success:
        try:
            return model.model_validate_json(response.content)
        except pydantic.ValidationError:
            pass
    raise MalformedResponse(
        f"{platform} answered {what} with {status}"
        + (f", not the answer {platform} sends" if response.is_success else "")
        + "; the token may still be valid: check the base URL, then revoke again",
        platform=platform,
        status_code=status,
        body="(not kept: the request carried credentials)",
    )


def restored(model: type[M], data: Mapping[str, Any], what: str) -> M:
    """Saved ``data`` (a ``to_dict``'s) read as ``model``; ``what`` names it in the message.

    Raises:
        ConfigurationError: a field is missing or of the wrong type (the message names
            fields, never values).
    """
    try:
        return model.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        raise ConfigurationError(f"not a saved {what}: check the fields {fields_of(exc)}") from None


def saved(model: type[M], data: Mapping[str, Any], platform: str, name: str) -> M:
    """Saved credentials ``data`` read as ``model`` (whose ``platform`` field must be
    ``platform``); ``name`` is the platform's name in the message.

    Raises:
        ConfigurationError: a field is missing or of the wrong type, or the data are
            another platform's (the message names fields, never values).
    """
    try:
        read = model.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        fields = fields_of(exc)
    else:
        if getattr(read, "platform", None) == platform:
            return read
        fields = "platform"
    raise ConfigurationError(f"not saved {name} credentials: check the fields {fields}")


def saved_data(obj: attrs.AttrsInstance, **marks: str) -> dict[str, Any]:
    """What ``obj``'s ``to_dict`` saves: ``marks`` first (the platform, and the kind where
    one platform saves two), then each of its attrs fields in the order the class declares
    them, secrets in clear and tuples as lists: plain JSON-able data. Raises nothing."""
    data: dict[str, Any] = dict(marks)
    for field in attrs.fields(type(obj)):
        value = getattr(obj, field.name)
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, tuple):
            value = list(value)
        data[field.name] = value
    return data


def built(cls: type[A], read: pydantic.BaseModel) -> A:
    """The ``cls`` (an attrs class) that `saved_data` saved, from ``read``, its saved data as
    read by `saved` or `restored`: each field from the model's of the same name, lists as
    tuples. An optional secret (one whose model field defaults to ``None``) saved empty
    reads as ``None``, as a refresh token that never came. Raises nothing."""
    fields = type(read).model_fields
    values: dict[str, Any] = {}
    for field in attrs.fields(cls):
        value = getattr(read, field.name)
        if isinstance(value, list):
            value = tuple(value)
        elif (
            isinstance(value, SecretStr)
            and not value.get_secret_value()
            and fields[field.name].default is None
        ):
            value = None
        values[field.name] = value
    return cls(**values)


def setting_scopes(value: object) -> tuple[str, ...]:
    """An account's ``scopes`` setting as a tuple: a list of them, or text written by hand
    with spaces or commas between them (as OAuth and LinkedIn write them); empty when it is
    neither. Raises nothing."""
    if isinstance(value, str):
        return comma_scopes(value)
    return tuple(str(s) for s in value) if isinstance(value, list | tuple) else ()


def comma_scopes(value: str | Sequence[str]) -> tuple[str, ...]:
    """`scopes_of` where commas separate scopes as spaces do: LinkedIn answers scopes so,
    and Meta's dialogs take them so."""
    return scopes_of(value.replace(",", " ") if isinstance(value, str) else value)


def start_arguments(
    platform: str, client_id: str, redirect_uri: str, wanted: tuple[str, ...], example: str
) -> None:
    """Check what ``auth.<platform>.start`` was given: a client id, a redirect URI and the
    scopes ``wanted`` (``example`` names one in the message).

    Raises:
        ConfigurationError: one of them is missing.
    """
    if not client_id or not redirect_uri:
        raise ConfigurationError(f"auth.{platform}.start needs a client_id and a redirect_uri")
    if not wanted:
        raise ConfigurationError(
            f"auth.{platform}.start needs at least one scope, e.g. {example!r}"
        )


def own_start(start: Start, platform: str) -> None:
    """Check that ``start`` began ``platform``'s authorization: another's start holds
    another platform's token URL and client, which its code must not be sent to.

    Raises:
        ConfigurationError: it began another platform's.
    """
    if start.platform != platform:
        raise ConfigurationError(
            f"auth.{platform}.finish got a {start.platform} authorization start"
        )


def api_root(base_url: str | None, default: str) -> str:
    """Where a flow's endpoints are: ``base_url`` (an emulator) without its trailing slash,
    or ``default`` (the platform's own) when it is ``None``.

    Raises:
        ConfigurationError: ``base_url`` is not an http(s) URL.
    """
    if base_url is None:
        return default
    if not base_url.startswith(("http://", "https://")):
        raise ConfigurationError(f"base_url must be an http(s) URL, got {base_url!r}")
    return base_url.rstrip("/")


def scopes_of(value: str | Sequence[str]) -> tuple[str, ...]:
    """Scopes as a tuple, from a space-separated string or a sequence."""
    items = value.split() if isinstance(value, str) else list(value)
    return tuple(dict.fromkeys(s for s in items if s))


def _late() -> Exception:
    """The error of an answer whose body did not arrive whole within `DEADLINE`."""
    from brandkit.errors import TransportError

    return TransportError(
        f"the token endpoint took more than {DEADLINE:g} s to send its answer; the code or "
        "refresh token may have been spent",
        maybe_delivered=True,
    )


class _Body:
    """The body of a token answer as its chunks arrive, for `_read` and `_aread`: at most
    ``limit`` bytes, whole by ``deadline``."""

    def __init__(self, response: httpx.Response, deadline: float, limit: int) -> None:
        self.response, self.deadline, self.limit = response, deadline, limit
        self.chunks: list[bytes] = []
        self.size = 0

    def add(self, chunk: bytes) -> None:
        """Keep ``chunk``.

        Raises:
            MalformedResponse: the body is larger than ``limit``.
            TransportError: it is still arriving at ``deadline``.
        """
        if time.monotonic() > self.deadline:
            raise _late()
        self.size += len(chunk)
        if self.size > self.limit:
            raise MalformedResponse(
                f"the answer to {self.response.request.url.path} is larger than {self.limit} bytes",
                status_code=self.response.status_code,
            )
        self.chunks.append(chunk)

    def answer(self) -> httpx.Response:
        """The answer with the body read."""
        return _rebuilt(self.response, b"".join(self.chunks))


def _read(response: httpx.Response, deadline: float, limit: int) -> httpx.Response:
    """``response`` with its body read, at most ``limit`` bytes, by ``deadline``.

    Raises:
        MalformedResponse: the body is larger.
        TransportError: it was still arriving at ``deadline``.
    """
    body = _Body(response, deadline, limit)
    for chunk in response.iter_bytes():
        body.add(chunk)
    return body.answer()


# iter_bytes() has already undone the content encoding: a rebuilt answer that kept the
# header would be decoded a second time (gzipped metadata, as the Bluesky provider sends).
_DECODED = frozenset({"content-encoding", "content-length", "transfer-encoding"})


def _limit(step: Send) -> int:
    """The most bytes of ``step``'s answer read: what it declares, at most `MAX_ANSWER`."""
    return min(step.max_bytes, MAX_ANSWER)


def _rebuilt(response: httpx.Response, body: bytes) -> httpx.Response:
    headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DECODED]
    return httpx.Response(
        response.status_code, headers=headers, content=body, request=response.request
    )


async def _aread(response: httpx.Response, deadline: float, limit: int) -> httpx.Response:
    """`_read` of an asynchronous answer."""
    body = _Body(response, deadline, limit)
    async for chunk in response.aiter_bytes():
        body.add(chunk)
    return body.answer()


def _transport_error(exc: httpx.HTTPError) -> Exception:
    from brandkit.errors import TransportError

    # A refused connection never reached the server: the code or refresh token is unspent,
    # the token to revoke still valid. After that, the server may have acted on it. httpx's
    # message may quote the URL, never the form body (which holds the code), but only the
    # exception's type is kept all the same.
    unsent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
    return TransportError(
        f"the OAuth endpoint could not be reached ({type(exc).__name__}); "
        + (
            "try again"
            if unsent
            else "it may have acted on the request (a code or refresh token spent, a token "
            "revoked): check before trying again"
        ),
        maybe_delivered=not unsent,
    )


def _secrets_of(request: httpx.Request) -> list[str]:
    """What a token request carries that must not reach a log line: every query value (a
    code, an app secret, a token: httpx logs the URL at INFO) and the bearer token."""
    values = [v for _, v in request.url.params.multi_items()]
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        values.append(auth[7:])
    return values


def _environment_proxies() -> bool:
    """Whether the environment names an HTTP(S) proxy (``HTTPS_PROXY``, ``ALL_PROXY``...)."""
    found = urllib.request.getproxies()
    return any(found.get(scheme) for scheme in ("https", "http", "all"))


def run(flow: Flow[T], http: httpx.Client | None = None) -> T:
    """Run an authorization flow over ``http`` (a new client with a 30 s timeout when
    ``None``). Token requests are never repeated: a code or a rotating refresh token is
    spent by the first attempt that reaches the server.

    Raises:
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: the server could not be reached, or an answer's body was still
            arriving `DEADLINE` seconds after its headers (each read also times out on its
            own); with the client made here, also an answer whose headers had not arrived
            `DEADLINE` seconds after the request was sent.
    """
    from brandkit._client import _SYNC_DEADLINE, _deadline_client

    own = http is None
    # The client made here bounds the whole exchange, headers included (a given client's
    # sockets bound single reads only): a server trickling its headers would otherwise hold
    # the credential store's lock around a refresh for as long as it liked. It reads no
    # proxy from the environment, so behind one httpx's own client is made, as before.
    if http is not None:
        client = http
    elif _environment_proxies():
        client = httpx.Client(timeout=TIMEOUT, verify=shared_context())
    else:
        client = _deadline_client(TIMEOUT.read or 30.0)[0]
    outer = getattr(_SYNC_DEADLINE, "at", None)
    try:
        step = next(flow)
        while True:
            if isinstance(step, Wait):
                step = flow.send(httpx.Response(204))
                continue
            if own:
                ends = time.monotonic() + DEADLINE
                _SYNC_DEADLINE.at = ends if outer is None else min(outer, ends)
            try:
                with (
                    _logging.hiding(_secrets_of(step.request)),
                    client.stream(
                        step.request.method,
                        step.request.url,
                        headers=step.request.headers,
                        content=step.request.content,
                        # A caller's client may follow redirects: a token request's form
                        # (a code, a refresh token, a client secret) must not be sent on
                        # to wherever an answer points. The flow reads the 3xx instead.
                        follow_redirects=False,
                    ) as raw,
                ):
                    # The body has its own `DEADLINE` from the headers on (`_read`): a
                    # complete answer may hold the only copy of a new refresh token.
                    _SYNC_DEADLINE.at = outer
                    response = _read(raw, time.monotonic() + DEADLINE, _limit(step))
            except httpx.HTTPError as exc:
                raise _transport_error(exc) from None
            finally:
                _SYNC_DEADLINE.at = outer
            step = flow.send(response)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        # A request that failed leaves the flow at its step: closed now, not whenever the
        # error's traceback goes, so that it lets go of what it claimed (`redeem`).
        flow.close()
        if own:
            client.close()


async def run_async(flow: Flow[T], http: httpx.AsyncClient | None = None) -> T:
    """`run` for asyncio/trio code, over an ``httpx.AsyncClient``."""
    own = http is None
    client = http or httpx.AsyncClient(timeout=TIMEOUT, verify=shared_context())
    try:
        step = next(flow)
        while True:
            if isinstance(step, Wait):
                step = flow.send(httpx.Response(204))
                continue
            try:
                with _logging.hiding(_secrets_of(step.request)):
                    async with contextlib.AsyncExitStack() as stack:
                        # As `run`: the headers within `DEADLINE` of the request (anyio's
                        # deadline works under asyncio and trio alike), then the body's own.
                        with anyio.fail_after(DEADLINE):
                            raw = await stack.enter_async_context(
                                client.stream(
                                    step.request.method,
                                    step.request.url,
                                    headers=step.request.headers,
                                    content=step.request.content,
                                    follow_redirects=False,  # as in `run`
                                )
                            )
                        response = await _aread(raw, time.monotonic() + DEADLINE, _limit(step))
            except TimeoutError:
                raise _transport_error(httpx.ReadTimeout("no answer in time")) from None
            except httpx.HTTPError as exc:
                raise _transport_error(exc) from None
            step = flow.send(response)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()  # as in `run`
        if own:
            await client.aclose()


def form_request(
    url: str, data: Mapping[str, str], headers: Mapping[str, str] | None = None
) -> Send:
    """A ``Send`` of a form POST to a token endpoint (never repeated by a driver)."""
    request = httpx.Request(
        "POST",
        url,
        data=dict(data),
        headers={"accept": "application/json", **(headers or {})},
    )
    return Send(request, bucket="oauth2_token", max_bytes=MAX_ANSWER)


def basic(client_id: str, client_secret: str) -> str:
    """The HTTP Basic ``Authorization`` value of a confidential client (RFC 6749 §2.3.1)."""
    from urllib.parse import quote

    raw = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")
