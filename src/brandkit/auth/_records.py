"""Connected accounts in a credential store: what a record holds, the account it makes, when
its token expires, and refreshing the tokens that die unless refreshed.

A record is a credentials object's ``to_dict()`` plus what posting needs besides the tokens:
``client_secret`` (X, LinkedIn: the app's secret, for a refresh; X OAuth 1.0a: the consumer
secret, for every signature; Mastodon: the app's secret, to revoke the token), ``author``
(LinkedIn: the URN to post as) and ``media_host`` (Instagram, Threads: a configuration
mapping, see [`media_host_from_config`][brandkit.accounts.media_host_from_config]).
"""

from __future__ import annotations

import importlib
import logging
import math
import time
import weakref
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import attrs
import httpx

from brandkit._durations import stored_time
from brandkit._flow import Flow, Wait
from brandkit.accounts import Account, MediaHost
from brandkit.auth.store import (
    LOCK_WAIT,
    CredentialsNotStored,
    CredentialStore,
    CredentialStoreLocked,
    Record,
    _locked_past,
    refresh_locked,
)
from brandkit.errors import BrandkitError, ConfigurationError, PlatformError, Unsupported
from brandkit.platforms._oauth import RefreshHook, RefreshingAdapter, set_refresh_hook

if TYPE_CHECKING:
    from brandkit.platforms.bluesky import BlueskyAdapter, OAuthRefreshHook

__all__ = [
    "MARGINS",
    "Expiry",
    "account_of",
    "expiry_of",
    "load_account",
    "record_of",
    "refresh_accounts",
    "refresh_due",
    "refresh_record",
    "revocation_by_hand",
    "revoke_record",
    "revoke_record_async",
]

logger = logging.getLogger("brandkit.auth")

DAY = 86_400.0
MARGINS: dict[str, float] = {
    "x": 300.0,
    "linkedin": 7 * DAY,
    "threads": 7 * DAY,
    "instagram": 7 * DAY,
}
"""How long before expiry a token is refreshed, by platform (seconds): X's 2-hour tokens
five minutes ahead; the 60-day tokens of LinkedIn, Threads and Instagram a week ahead (Meta
refreshes a token only once it is a day old, well inside that)."""

_EXTRAS = ("client_secret", "author", "media_host")


def record_of(
    creds: Any,
    *,
    client_secret: str | None = None,
    author: str | None = None,
    media_host: Mapping[str, Any] | None = None,
) -> Record:
    """The store record of ``creds`` (a flow's credentials) with what posting needs
    besides the tokens.

    Raises:
        ConfigurationError: ``creds`` cannot be stored (no ``to_dict``).
    """
    to_dict = getattr(creds, "to_dict", None)
    if to_dict is None:
        raise ConfigurationError(f"{type(creds).__name__} cannot be kept in a credential store")
    record: Record = dict(to_dict())
    for key, value in (
        ("client_secret", client_secret),
        ("author", author),
        ("media_host", dict(media_host) if media_host else None),
    ):
        if value:
            record[key] = value
    return record


def _platform(record: Mapping[str, Any]) -> str:
    platform = record.get("platform")
    if not isinstance(platform, str) or not platform:
        raise ConfigurationError("a stored record has no platform: connect the account again")
    return platform


def credentials_of(record: Mapping[str, Any]) -> Any:
    """The credentials object of ``record`` (``None`` for a Bluesky app password).

    Raises:
        ConfigurationError: the record is not one brandkit stored (names fields only).
    """
    from brandkit import auth

    platform = _platform(record)
    if platform == "x":
        if record.get("oauth") == "1.0a":
            return auth.XOAuth1Credentials.from_dict(record)
        return auth.XCredentials.from_dict(record)
    if platform == "mastodon":
        return auth.MastodonCredentials.from_dict(record)
    if platform == "threads":
        return auth.ThreadsCredentials.from_dict(record)
    if platform == "instagram":
        return auth.InstagramCredentials.from_dict(record)
    if platform == "facebook":
        return auth.FacebookPageCredentials.from_dict(record)
    if platform == "linkedin":
        return auth.LinkedInCredentials.from_dict(record)
    if platform == "bluesky":
        if record.get("app_password"):
            return None
        return _bluesky().BlueskyCredentials.from_dict(record)
    raise ConfigurationError(f"a stored record of an unknown platform {platform!r}")


def _bluesky() -> Any:
    """``brandkit.auth.bluesky`` (Bluesky OAuth), imported when a record needs it."""
    try:
        return importlib.import_module("brandkit.auth.bluesky")
    except ImportError:  # pragma: no cover - built without Bluesky OAuth
        raise ConfigurationError(
            "this Bluesky record needs brandkit.auth.bluesky (Bluesky OAuth); connect with an "
            "app password instead: brandkit connect bluesky HANDLE --app-password-env VAR"
        ) from None


# What a stored Bluesky app-password record keeps of its account's session.
_APP_PASSWORD_SESSION = ("access_jwt", "refresh_jwt", "did")


def app_password_session(account: Account) -> dict[str, str]:
    """The session of a Bluesky app-password ``account`` (its tokens and DID, those it
    has), for its stored record: the next process that loads it reuses the session rather
    than logging in (Bluesky allows 30 logins in 5 minutes, 100 a day at bsky.social)."""
    found = {
        "access_jwt": account.secret("access_jwt"),
        "refresh_jwt": account.secret("refresh_jwt"),
        "did": account.settings.get("did"),
    }
    return {k: v for k, v in found.items() if isinstance(v, str) and v}


def account_of(
    record: Mapping[str, Any],
    *,
    name: str,
    on_credentials_changed: Any = None,
    media_host: MediaHost | Mapping[str, Any] | None = None,
) -> Account:
    """The [`Account`][brandkit.Account] that posts with ``record``.

    Raises:
        ConfigurationError: the record is incomplete (e.g. X OAuth 1.0a without the consumer
            secret, LinkedIn without an author).
    """
    from brandkit.auth import account_from

    platform = _platform(record)
    if platform == "bluesky" and record.get("app_password"):
        # With the session a login or a refresh left (see `app_password_session`): each
        # process logged in again, and Bluesky allows 100 logins a day at bsky.social.
        session = {k: record.get(k) for k in _APP_PASSWORD_SESSION}
        return Account.bluesky(
            handle=str(record.get("handle") or ""),
            app_password=str(record["app_password"]),
            base_url=record.get("base_url"),
            name=name,
            on_credentials_changed=on_credentials_changed,
            **{k: v if isinstance(v, str) and v else None for k, v in session.items()},
        )
    creds = credentials_of(record)
    if platform == "bluesky":  # OAuth: DPoP-bound tokens, brandkit.auth.bluesky's account
        account: Account = _bluesky().account_from(
            creds, name=name, on_credentials_changed=on_credentials_changed
        )
        return account
    host = media_host if media_host is not None else record.get("media_host")
    return account_from(
        creds,
        name=name,
        client_secret=record.get("client_secret"),
        on_credentials_changed=on_credentials_changed,
        media_host=host,
        author=record.get("author"),
    )


@attrs.frozen
class Expiry:
    """When a stored account's token expires, and whether brandkit can refresh it.

    Attributes:
        expires_at: epoch seconds, ``None`` when it does not expire (or is not known).
        refreshable: a refresh can renew it (otherwise, connect again before it expires).
        why: a short explanation when it cannot be refreshed.
        dead: the token has expired (or the refresh token has) and nothing renews it: the
            account works again only once it is connected again.
    """

    expires_at: float | None
    refreshable: bool
    why: str = ""
    dead: bool = False


def expiry_of(record: Mapping[str, Any], now: float | None = None) -> Expiry:
    """When ``record``'s token expires and whether it can be refreshed; makes no request.
    ``now`` (epoch seconds, default: this machine's clock) decides whether the token, or a
    refresh token that expires (LinkedIn's, 365 days after the first connection; a Bluesky
    OAuth session's, two weeks after the sign-in), has died: such a record is not
    refreshable and `Expiry.dead` (connect the account again).

    Raises:
        ConfigurationError: the record is not one brandkit stored.
    """
    platform = _platform(record)
    at = time.time() if now is None else now
    # A record stored before token lifetimes were checked may hold NaN or infinity.
    expires_at = stored_time(record.get("expires_at"))
    gone = expires_at is not None and at >= expires_at

    def not_renewable(why: str) -> Expiry:
        # Past its expiry a token that nothing renews is dead, whatever the reason.
        return Expiry(expires_at, False, why, dead=gone)

    if platform == "x" and record.get("oauth") == "1.0a":
        return Expiry(None, False, "OAuth 1.0a tokens do not expire")
    if platform == "x" or platform == "linkedin":
        ends = stored_time(record.get("refresh_expires_at"))
        if record.get("refresh_token") and ends is not None and at >= ends:
            return Expiry(
                expires_at,
                False,
                f"the refresh token expired on {_day(ends)} (LinkedIn's last 365 days "
                "from the first connection): connect again",
                dead=True,
            )
        if (
            record.get("refresh_token")
            and platform == "linkedin"
            and not record.get("client_secret")
        ):
            # Sent with an empty secret, the refresh token would come back as a 401.
            return Expiry(
                expires_at,
                False,
                "no client_secret in the record (LinkedIn's refresh needs the app's secret): "
                "store it with auth.record_of(creds, client_secret=...)",
            )
        if record.get("refresh_token"):
            return Expiry(expires_at, True)
        return not_renewable("no refresh token: connect again before it expires")
    if platform in ("threads", "instagram"):
        if gone and expires_at is not None:
            # Meta refreshes a long-lived token only while it has not expired; sent after,
            # it is refused every day while the account stays dead.
            return Expiry(
                expires_at,
                False,
                f"the token expired on {_day(expires_at)} (Meta refreshes a token only "
                "before it expires): connect again",
                dead=True,
            )
        if record.get("long_lived"):
            return Expiry(expires_at, True)
        return not_renewable("a short-lived token: connect again")
    if platform == "bluesky" and not record.get("app_password"):
        ends = stored_time(record.get("refresh_expires_at"))
        if record.get("refresh_token") and ends is not None and at >= ends:
            return Expiry(
                expires_at,
                False,
                f"the session ended on {_day(ends)} (Bluesky ends an OAuth session two weeks "
                "after the sign-in, however often it is refreshed): connect again",
                dead=True,
            )
        if record.get("refresh_token"):
            return Expiry(expires_at, True)
        return not_renewable("no refresh token: connect again")
    if gone:
        return not_renewable("the token has expired: connect again")
    return Expiry(expires_at, False, "does not expire")


def _day(at: float) -> str:
    """The UTC date of epoch seconds ``at``, clamped to what a calendar holds."""
    return f"{datetime.fromtimestamp(max(0.0, min(at, 253_402_300_799.0)), UTC):%Y-%m-%d}"


def refresh_record(
    record: Mapping[str, Any],
    *,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> Record:
    """The record with fresh tokens (the platform's refresh), extras kept.

    Raises:
        ConfigurationError: the record's token cannot be refreshed (see `expiry_of`).
        GrantRefused: the platform refused (revoked, already spent, too young for Meta).
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try
            again later; nothing says the credentials are bad).
        TransportError: the platform could not be reached.
    """
    from brandkit import auth

    expiry = expiry_of(record, clock())
    platform = _platform(record)
    if not expiry.refreshable:
        raise ConfigurationError(f"the {platform} token cannot be refreshed: {expiry.why}")
    creds = credentials_of(record)
    new: Any
    if platform == "x":
        new = auth.x.refresh(
            creds, client_secret=record.get("client_secret"), http=http, clock=clock
        )
    elif platform == "linkedin":
        new = auth.linkedin.refresh(
            creds, client_secret=str(record.get("client_secret") or ""), http=http, clock=clock
        )
    elif platform == "threads":
        new = auth.threads.refresh(creds, http=http, clock=clock)
    elif platform == "instagram":
        new = auth.instagram.refresh(creds, http=http, clock=clock)
    else:  # bluesky OAuth: brandkit.auth.bluesky's refresh
        new = _bluesky().refresh(creds, http=http, clock=clock)
    out = dict(new.to_dict())
    for key in _EXTRAS:
        if key in record:
            out[key] = record[key]
    return out


_BY_HAND = {
    # What these platforms document revokes none of the tokens brandkit keeps: a Facebook
    # Page token cannot withdraw its user's grant (DELETE /{user-id}/permissions takes the
    # user's or the app's token); Instagram Login, Threads and LinkedIn's member tokens
    # have no documented revocation call (LinkedIn's docs name only its introspection).
    "linkedin": "LinkedIn documents no API that revokes a member's token: the member removes "
    "the app in LinkedIn's Settings, Data privacy, Permitted services",
    "facebook": "brandkit keeps the Page token, which cannot withdraw its user's grant: "
    "remove the app in Facebook's Settings, Apps and websites (or Business integrations)",
    "instagram": "Instagram documents no API that revokes a token: remove the app in "
    "Instagram's Settings, Website permissions, Apps and websites",
    "threads": "Threads documents no API that revokes a token: remove the app in Threads' "
    "Settings, Account, Website permissions",
}


def revocation_by_hand(record: Mapping[str, Any]) -> str | None:
    """Why ``record``'s tokens cannot be revoked through the platform's API, and where a
    person revokes them instead; ``None`` when `revoke_record` can revoke them.

    Raises:
        ConfigurationError: the record names no platform.
    """
    platform = _platform(record)
    if platform == "bluesky" and record.get("app_password"):
        return (
            "an app password is revoked by its owner only: delete it in Bluesky's Settings, "
            "Privacy and security, App passwords"
        )
    if platform in ("x", "mastodon", "bluesky"):
        return None
    return _BY_HAND.get(platform, f"brandkit cannot revoke {platform} tokens")


def revoke_record(
    record: Mapping[str, Any],
    *,
    client_secret: str | None = None,
    http: httpx.Client | None = None,
) -> None:
    """Revoke ``record``'s tokens at the platform, so that they stop working there too (a
    store only forgets). X (OAuth 2.0: the refresh token, then the access token; OAuth
    1.0a: the access token), Mastodon (the access token) and Bluesky OAuth (the session)
    can; a token the platform no longer knows counts as revoked.

    Args:
        record: a stored record (`record_of`).
        client_secret: the app's secret, for a record that does not hold it (a Mastodon
            record stored before brandkit kept the app's secret); else the record's.
        http: the httpx client to use (a new one when ``None``).

    Raises:
        Unsupported: the platform cannot revoke these tokens through its API (the message
            says where a person revokes them); raised before any request is sent. A
            Bluesky server whose metadata advertises no revocation endpoint raises
            ``auth.bluesky.RevocationUnsupported``, a subclass, once it has read it.
        ConfigurationError: the record is not one brandkit stored, or a Mastodon record
            holds no app secret and none is given.
        GrantRefused: the platform refused the app's client credentials (the record's
            ``client_secret`` is wrong or belongs to another app).
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx (try again
            later; the tokens may still work).
        TransportError: the platform could not be reached.
    """
    from brandkit import auth

    creds, secret = _revocable(record, client_secret)
    if isinstance(creds, auth.XOAuth1Credentials):
        auth.x.revoke_oauth1(creds, consumer_secret=str(secret or ""), http=http)
    elif _platform(record) == "x":
        auth.x.revoke(creds, client_secret=secret, http=http)
    elif _platform(record) == "mastodon":
        auth.mastodon.revoke(creds, client_secret=secret, http=http)
    else:  # bluesky OAuth
        _bluesky().revoke(creds, http=http)


async def revoke_record_async(
    record: Mapping[str, Any],
    *,
    client_secret: str | None = None,
    http: httpx.AsyncClient | None = None,
) -> None:
    """`revoke_record` with an ``httpx.AsyncClient`` (a new one when ``None``): the same
    requests, checks and errors."""
    from brandkit import auth

    creds, secret = _revocable(record, client_secret)
    if isinstance(creds, auth.XOAuth1Credentials):
        await auth.x.revoke_oauth1_async(creds, consumer_secret=str(secret or ""), http=http)
    elif _platform(record) == "x":
        await auth.x.revoke_async(creds, client_secret=secret, http=http)
    elif _platform(record) == "mastodon":
        await auth.mastodon.revoke_async(creds, client_secret=secret, http=http)
    else:  # bluesky OAuth
        await _bluesky().revoke_async(creds, http=http)


def _revocable(record: Mapping[str, Any], client_secret: str | None) -> tuple[Any, Any]:
    """The credentials of ``record`` and the app secret its revocation sends, once checked
    that the platform can revoke them (see `revoke_record`'s errors).

    Raises:
        Unsupported, ConfigurationError: as `revoke_record`, before any request.
    """
    why = revocation_by_hand(record)
    platform = _platform(record)
    if why is not None:
        raise Unsupported(
            f"cannot revoke this {platform} account's tokens: {why}",
            platform=platform,
            operation="revoke",
        )
    creds = credentials_of(record)
    secret = client_secret or record.get("client_secret")
    if platform == "mastodon" and not secret:
        raise ConfigurationError(
            "this Mastodon record holds no app secret (it was stored before brandkit kept "
            "it): pass client_secret=, or revoke the token in the instance's Preferences, "
            "Account, Authorized apps"
        )
    return creds, secret


def _due(record: Mapping[str, Any], now: float, margin: float | None) -> bool:
    expiry = expiry_of(record, now)
    if not expiry.refreshable or expiry.expires_at is None:
        return False
    ahead = MARGINS.get(_platform(record), 300.0) if margin is None else margin
    return now >= expiry.expires_at - ahead


def _too_young(record: Mapping[str, Any], now: float) -> str | None:
    """Why Meta would refuse to refresh ``record``'s token now (it is less than a day
    old), or ``None``: a forced refresh (a daily job's) skips it rather than fail."""
    from brandkit.auth.meta import REFRESH_AGE

    if _platform(record) not in ("threads", "instagram"):
        return None
    issued = stored_time(record.get("issued_at"))
    if issued is None or now - issued >= REFRESH_AGE:
        return None
    ready = datetime.fromtimestamp(min(issued + REFRESH_AGE, 253_402_300_799.0), UTC)
    return f"Meta refreshes a token once it is a day old (this one from {ready:%Y-%m-%d %H:%M} UTC)"


def refresh_due(
    store: CredentialStore,
    *,
    keys: list[str] | None = None,
    margin: float | None = None,
    force: bool = False,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> dict[str, str]:
    """Refresh every stored token that expires within its platform's margin (`MARGINS`,
    or ``margin`` seconds), each under the store's lock (`refresh_locked`), so that several
    processes doing this at once spend each refresh token once.

    Args:
        store: a writable store.
        keys: only these accounts (default: all); each is looked at once.
        margin: seconds before expiry to refresh (default: per platform).
        force: refresh every refreshable token, due or not.
        http: the httpx client for the token requests.
        clock: now, in epoch seconds.

    Returns:
        ``{key: outcome}`` for each account looked at: ``"refreshed"``, ``"not due"``,
        ``"not refreshable"`` (a token that does not expire, or not renewable by brandkit
        yet alive), ``"expired: <why>"`` (`Expiry.dead`: the token, or its refresh token,
        has expired and nothing renews it; nothing is sent, connect the account again),
        ``"not refreshable yet: <why>"`` (a Threads or Instagram
        token less than a day old, which Meta refuses to refresh: nothing is sent, and
        ``force`` skips it too) or ``"failed: <error type>: <message>"`` (the message
        carries no secret).

    Raises:
        ConfigurationError: ``margin`` is not a finite number of seconds, 0 or more (NaN
            made every token "not due": a daily job refreshed nothing and said so).
    """
    if margin is not None and (
        isinstance(margin, bool)
        or not isinstance(margin, int | float)
        or not math.isfinite(margin)
        or margin < 0
    ):
        raise ConfigurationError(
            f"margin={margin!r}: give the seconds before expiry to refresh, a finite number "
            "0 or more (or None for each platform's own)"
        )
    out: dict[str, str] = {}
    # Each key once: a key named twice was refreshed, then reported "not due".
    for key in dict.fromkeys(keys if keys is not None else store.keys()):
        try:
            record = store.get(key)
            if record is None:
                out[key] = "failed: ConfigurationError: no such account"
                continue
            expiry = expiry_of(record, clock())
            if expiry.dead:
                out[key] = f"expired: {expiry.why}"
                continue
            if not expiry.refreshable:
                out[key] = "not refreshable"
                continue
            if not force and not _due(record, clock(), margin):
                out[key] = "not due"
                continue
            young = _too_young(record, clock())
            if young is not None:
                out[key] = f"not refreshable yet: {young}"
                continue
            before = record.get("access_token")
            ahead = MARGINS.get(_platform(record), 300.0) if margin is None else margin
            new = refresh_locked(
                store,
                key,
                lambda r: refresh_record(r, http=http, clock=clock),
                had=record,
                force=force,
                clock=clock,
                margin=ahead,
            )
            out[key] = "refreshed" if new.get("access_token") != before else "not due"
        except BrandkitError as exc:
            out[key] = f"failed: {type(exc).__name__}: {exc}"
    for key, outcome in out.items():
        logger.info("credential store: %s %s", key, outcome)
    return out


@attrs.define
class _StoreLink:
    """What a stored account's saver and refresh hook share: while the hook holds the
    store's lock (and writes the record itself), the saver stands aside, since taking the
    lock again would wait on its own holder. ``unsaved``: a refresh whose record could not
    be stored, as (the access token stored before it, the record to store)."""

    holding: bool = False
    # A record holds tokens: never in a repr (an error report or a debugger prints it).
    unsaved: tuple[object, Record] | None = attrs.field(default=None, repr=False)


# The link of each account `load_account` made, for `refresh_accounts` (weakly: it lives as
# long as its account).
_links: weakref.WeakKeyDictionary[Account, _StoreLink] = weakref.WeakKeyDictionary()


def _flush_unsaved(store: CredentialStore, key: str, link: _StoreLink) -> bool:
    """Store, under the store's lock, the session ``link`` keeps because the store could
    not take it (as the account's refresh hook does at its next request), if the store
    still holds the session it replaced; whether it was stored. When the store holds
    another session (stored since by another holder), it is let go: the hook takes that
    one at the account's next request.

    Raises:
        CredentialStoreLocked: another holder kept the lock past `LOCK_WAIT`.
        BrandkitError: the store could not be read or written (nothing changed).
    """
    with store.lock(key, timeout=LOCK_WAIT):
        pair = link.unsaved
        if pair is None:
            return False
        replaced, unsaved = pair
        record = store.get(key)
        stored = record is not None and record.get("access_token") == replaced
        if stored:
            store.put(key, unsaved)
        if link.unsaved is pair:
            link.unsaved = None
        elif link.unsaved is not None and stored:
            # Refreshed in memory meanwhile (`_refresh_unsaved`): that newer session now
            # replaces the one just stored.
            link.unsaved = (unsaved.get("access_token"), link.unsaved[1])
            return False
        return stored


def _saver(
    store: CredentialStore, key: str, link: _StoreLink | None = None
) -> Callable[[Account, Mapping[str, str]], None]:
    """The ``on_credentials_changed`` of a stored account: a refresh made outside the
    store's refresh hook (a Bluesky app-password session, say) is written back under the
    store's lock."""
    names = {
        "user_token": "access_token",
        "token": "access_token",
        "page_token": "access_token",
        "refresh_token": "refresh_token",
        "oauth_access_token": "access_token",  # Bluesky OAuth
        "oauth_refresh_token": "refresh_token",
    }

    def save(account: Account, changed: Mapping[str, str]) -> None:
        if link is not None and link.holding:
            return  # the refresh hook holds the lock and writes the record
        with store.lock(key):
            record = store.get(key)
            if record is None:
                return
            for secret, value in changed.items():
                field = names.get(secret)
                if field is not None and value:
                    record[field] = value
            expires = account.settings.get("token_expires_at")
            if _bluesky_oauth(record):
                record.update(_bluesky_session(account))
            elif record.get("platform") == "bluesky" and record.get("app_password"):
                record.update(app_password_session(account))
            elif stored_time(expires) is not None:
                record["expires_at"] = stored_time(expires)
                record["issued_at"] = time.time()
            elif record.get("platform") in ("x", "linkedin"):
                record["expires_at"] = None  # a refresh that gave no lifetime
            store.put(key, record)

    return save


_POLL_FIRST = 0.005
_POLL_MAX = 0.1


def _take_lock(store: CredentialStore, key: str, wait: float) -> Flow[AbstractContextManager[None]]:
    """Enter the store's lock of ``key`` (the caller lets it go), polling for at most
    ``wait`` seconds.

    Raises:
        CredentialStoreLocked: another holder kept it longer.
    """
    deadline = time.monotonic() + wait
    delay = _POLL_FIRST
    while True:
        held = store.lock(key, timeout=0)
        try:
            held.__enter__()
            return held
        except CredentialStoreLocked:
            if time.monotonic() >= deadline:
                raise _locked_past(key, repr(store), wait) from None
        # Wait through the driver, never blocking: the holder may be another flow of
        # this very process (AsyncClient), which must be able to finish.
        yield Wait(delay)
        delay = min(delay * 2, _POLL_MAX)


def _keep_flow(store: CredentialStore, key: str, record: Record) -> Flow[BrandkitError | None]:
    """Store refreshed ``record``, trying again for up to `STORE_WAIT` seconds while the
    store fails (as `refresh_locked` does), waiting through the driver; the error of the
    last attempt when it never took it, else ``None``.

    Raises:
        ConfigurationError: the store refuses the record itself (no attempt can help).
    """
    from brandkit.auth import store as store_module

    deadline = time.monotonic() + store_module.STORE_WAIT
    delay = 0.05
    while True:
        try:
            store.put(key, record)
            return None
        except ConfigurationError:
            raise
        except BrandkitError as exc:
            if time.monotonic() + delay > deadline:
                return exc
        yield Wait(delay)
        delay = min(delay * 2, 2.0)


def _not_kept(key: str, exc: BaseException) -> None:
    """Log, at ERROR (no token: the error's type and message only), that ``key``'s live
    session is still only in this process's memory."""
    logger.error(
        "credential store: the refreshed tokens of %s could not be stored (%s: %s); the "
        "stored refresh token is spent, so this process keeps the new tokens, uses them, and "
        "tries to store them again at the account's next request. If it stops first, the "
        "account must be connected again",
        key,
        type(exc).__name__,
        exc,
    )


LIVE_MARGIN = 60.0
"""How long before their expiry the live tokens a store could not take are refreshed in
memory (seconds): the adapters' own margin ahead of expiry."""


def _refresh_unsaved(
    link: _StoreLink,
    account: Account,
    now: Callable[[], float],
    refresh: Callable[[], Flow[None]],
    renewed: Callable[[Record, object], Record | None],
    due_now: Callable[[], None],
) -> Flow[None]:
    """Refresh the live session of ``link.unsaved`` (the one the store could not take) in
    memory when its access token is due, and keep the result as the record still to store
    (in place of the one it replaces, against the same stored session). The store is not
    touched: it failed just now, and each next request tries it again (``due_now``).

    Without this, a store down past the live token's expiry left every request sending
    that expired token (a 401 each) until the store came back. No other holder has the
    live refresh token (the store holds the spent one), so spending it without the store's
    lock cannot replay it; flows of this process take turns (`refresh_alone`)."""
    from brandkit.platforms._oauth import refresh_alone

    def once() -> Flow[None]:
        if link.unsaved is None:
            return
        replaced, unsaved = link.unsaved
        ends = stored_time(unsaved.get("expires_at"))
        # Checked in turn: a flow before this one may have refreshed it already.
        if ends is None or now() < ends - LIVE_MARGIN:
            return
        was, link.holding = link.holding, True  # the saver must not try the store
        try:
            yield from refresh()
        finally:
            link.holding = was
        fresh = renewed(unsaved, unsaved.get("access_token"))
        if fresh is not None:
            link.unsaved = (replaced, fresh)
            logger.warning(
                "credential store: the live tokens of %s were due while the store could "
                "still not take them; refreshed in memory, they are stored at the account's "
                "next request the store answers",
                account.key,
            )
        due_now()

    yield from refresh_alone(account, once)


def _locked_refresh(
    store: CredentialStore,
    key: str,
    link: _StoreLink,
    wait: float,
    token_used: str | None,
    *,
    adopt: Callable[[Record], None],
    refresh: Callable[[], Flow[None]],
    renewed: Callable[[Record, object], Record | None],
    due_now: Callable[[], None],
    account: Account,
    now: Callable[[], float],
) -> Flow[None]:
    """Refresh under the store's lock of ``key``, after reading the record again: when
    another holder already refreshed (the stored access token is not ``token_used``, the
    one found stale), ``adopt`` its record and spend nothing; otherwise ``refresh`` and
    store what ``renewed`` makes of the record and the token stored before (``None``:
    nothing new), before the lock is let go, so that the next holder reads it. A store
    that fails to take it is tried again for up to `STORE_WAIT` seconds.

    A refresh whose record could not be stored even so is kept in ``link``, logged at
    ERROR, and used by the request that made it; ``due_now`` makes the account's token
    look expired, so that its next request comes back here: the record is stored then
    (and ``adopt`` gives the account its real expiry back), without a refresh, while the
    store still holds the session it replaced: that session's refresh token is spent, so
    it must never be adopted over the live one. Until it is stored, each request tries
    once, and uses the live tokens; when they are due (their expiry, by ``now``, within
    `LIVE_MARGIN`) while the store still fails, they are refreshed in memory with the live
    refresh token, which no other holder has (`_refresh_unsaved`), rather than sent
    expired.

    Raises:
        CredentialStoreLocked: another holder kept the lock past ``wait`` seconds.
        BrandkitError: the store could not be read or written before the refresh.
        ConfigurationError: the store refuses the refreshed record itself (e.g. too large).
    """
    # Called for the pending record's sake (``due_now``), not for a stale token: the token
    # in use is the live one, and a store still failing must not fail the request.
    pending = link.unsaved is not None and token_used == link.unsaved[1].get("access_token")
    try:
        held = yield from _take_lock(store, key, wait)
    except BrandkitError as exc:
        if not pending:
            raise
        _not_kept(key, exc)
        yield from _refresh_unsaved(link, account, now, refresh, renewed, due_now)
        return
    link.holding = True
    try:
        try:
            record = store.get(key)
            stored = record.get("access_token") if record is not None else None
            if link.unsaved is not None:
                replaced, unsaved = link.unsaved
                if record is not None and stored == replaced:
                    store.put(key, unsaved)
                    record, stored = unsaved, unsaved.get("access_token")
                # Stored now, or the store holds another holder's newer session since.
                link.unsaved = None
        except BrandkitError as exc:
            if not pending:
                raise
            _not_kept(key, exc)
            yield from _refresh_unsaved(link, account, now, refresh, renewed, due_now)
            return
        if record is not None and isinstance(stored, str) and (stored != token_used or pending):
            adopt(record)
            return
        yield from refresh()
        fresh = renewed(record, stored) if record is not None else None
        if fresh is not None:
            error: BaseException | None
            try:
                error = yield from _keep_flow(store, key, fresh)
            except BaseException as exc:
                error = exc
            if error is not None:
                # The refresh token was spent: the live session is only in memory now.
                link.unsaved = (stored, fresh)
                due_now()
                _not_kept(key, error)
                # The account holds a good session: the request goes on with it (failing
                # it left an outbox delivery "sending", for a post never sent). Only a
                # record the store refuses outright, or an interruption, ends it.
                if not isinstance(error, BrandkitError) or isinstance(error, ConfigurationError):
                    raise error
    finally:
        link.holding = False
        held.__exit__(None, None, None)


def _store_refresher(
    store: CredentialStore, key: str, link: _StoreLink, *, wait: float = LOCK_WAIT
) -> RefreshHook:
    """The refresh hook of an account loaded from ``store`` (X, LinkedIn): refresh under
    the store's lock, so that processes sharing the store spend a rotating refresh token
    once (see `RefreshingAdapter` and `_locked_refresh`)."""

    def hook(adapter: RefreshingAdapter, token_used: str | None) -> Flow[None]:
        account = adapter.account

        def adopt(record: Record) -> None:
            refresh = record.get("refresh_token")
            account.update_secrets(
                **{
                    adapter.token_name: record["access_token"],
                    "refresh_token": refresh if isinstance(refresh, str) else None,
                }
            )
            expires = record.get("expires_at")
            adapter.token_expires_at = stored_time(expires)

        def renewed(record: Record, stored: object) -> Record | None:
            new = account.secret(adapter.token_name)
            if not new or new == stored:
                return None
            return {
                **record,
                "access_token": new,
                "refresh_token": account.secret("refresh_token") or record.get("refresh_token"),
                "expires_at": adapter.token_expires_at,
                "issued_at": time.time(),
            }

        def due_now() -> None:
            # Expired in memory only: the next request comes to this hook, which stores
            # the pending record and gives the real expiry back (`adopt`).
            adapter.token_expires_at = 0.0

        return _locked_refresh(
            store,
            key,
            link,
            wait,
            token_used,
            adopt=adopt,
            refresh=lambda: adapter.refresh_now(token_used),
            renewed=renewed,
            due_now=due_now,
            account=account,
            now=adapter.clock,
        )

    return hook


def _rotates(record: Mapping[str, Any]) -> bool:
    """Whether ``record``'s refresh spends its refresh token for a new one (X OAuth 2,
    Bluesky OAuth): then a refresh the store could not take is the only live session."""
    platform = record.get("platform")
    if platform == "x":
        return record.get("oauth") != "1.0a"
    return _bluesky_oauth(record)


def _due_now(account: Account) -> None:
    """Make ``account``'s access token look expired in memory only (where its adapter
    reads the expiry), so that its next request goes through its refresh hook, which
    stores the session the store could not take (`_locked_refresh`)."""
    oauth = account.settings.get("oauth")
    if account.platform == "bluesky" and isinstance(oauth, Mapping):
        account.settings["oauth"] = {**oauth, "expires_at": 0.0}
    else:
        account.settings["token_expires_at"] = 0.0


def _bluesky_oauth(record: Mapping[str, Any]) -> bool:
    """Whether ``record`` is a Bluesky OAuth session (not an app password)."""
    return record.get("platform") == "bluesky" and not record.get("app_password")


def _bluesky_session(account: Account) -> Record:
    """The record fields of the OAuth session ``account`` holds now: tokens, DPoP key (the
    tokens are bound to it), expiry, scopes and the authorization server's nonce."""
    oauth = account.settings.get("oauth")
    oauth = oauth if isinstance(oauth, Mapping) else {}
    out: Record = {}
    for field, secret in (
        ("access_token", "oauth_access_token"),
        ("refresh_token", "oauth_refresh_token"),
        ("dpop_key", "dpop_key"),
    ):
        value = account.secret(secret)
        if value:
            out[field] = value
    expires = oauth.get("expires_at")
    out["expires_at"] = stored_time(expires)
    out["dpop_nonce"] = oauth.get("dpop_nonce")
    ends = stored_time(oauth.get("refresh_expires_at"))
    if ends is not None:  # unknown in memory: the record's own stays
        out["refresh_expires_at"] = ends
    if oauth.get("scopes"):
        out["scopes"] = list(oauth["scopes"])
    return out


def _adopt_bluesky(account: Account, record: Mapping[str, Any]) -> None:
    """Give ``account`` the OAuth session stored in ``record`` (another holder refreshed
    it): tokens, the DPoP key they are bound to, expiry, scopes and nonce, where the
    adapter reads them.

    Raises:
        ConfigurationError: the record is not a Bluesky OAuth session, or holds another
            account's (connected again under the same key: load it again).
    """
    creds = _bluesky().BlueskyCredentials.from_dict(record)
    did = account.settings.get("did")
    if did and creds.did != did:
        raise ConfigurationError(
            f"the stored Bluesky session of {account.name!r} is now another account's "
            f"({creds.did}, not {did}): load the account again"
        )
    account.settings["oauth"] = {
        **dict(account.settings.get("oauth") or {}),
        "expires_at": creds.expires_at,
        "dpop_nonce": creds.dpop_nonce,
        "scopes": list(creds.scopes),
        "refresh_expires_at": creds.refresh_expires_at,
    }
    account.update_secrets(
        oauth_access_token=creds.access_token.get_secret_value(),
        oauth_refresh_token=(
            creds.refresh_token.get_secret_value() if creds.refresh_token else None
        ),
        dpop_key=creds.dpop_key.get_secret_value(),
    )


def _bluesky_store_refresher(
    store: CredentialStore, key: str, link: _StoreLink, *, wait: float = LOCK_WAIT
) -> OAuthRefreshHook:
    """The OAuth refresh hook of a Bluesky account loaded from ``store``: refresh under the
    store's lock (see `_locked_refresh`), taking another holder's session (tokens, the DPoP
    key, expiry, nonce) or storing the new one. Its refresh tokens are single use, and a
    spent one sent again ends the session."""

    def hook(adapter: BlueskyAdapter, token_used: str | None) -> Flow[None]:
        account = adapter.account

        def renewed(record: Record, stored: object) -> Record | None:
            new = account.secret("oauth_access_token")
            if not _bluesky_oauth(record) or not new or new == stored:
                return None
            return {**record, **_bluesky_session(account)}

        def due_now() -> None:
            # As the X hook's: the next request stores the pending session through here.
            oauth = account.settings.get("oauth")
            account.settings["oauth"] = {
                **(dict(oauth) if isinstance(oauth, Mapping) else {}),
                "expires_at": 0.0,
            }

        return _locked_refresh(
            store,
            key,
            link,
            wait,
            token_used,
            adopt=lambda record: _adopt_bluesky(account, record),
            refresh=adapter.refresh_oauth_now,
            renewed=renewed,
            due_now=due_now,
            account=account,
            now=adapter._now,
        )

    return hook


def load_account(
    store: CredentialStore,
    key: str,
    *,
    name: str | None = None,
    refresh: bool = True,
    media_host: MediaHost | Mapping[str, Any] | None = None,
    http: httpx.Client | None = None,
    clock: Callable[[], float] = time.time,
) -> Account:
    """The account stored under ``key``: its token refreshed first when it expires within
    its platform's margin (under the store's lock), and refreshed tokens written back. A
    refresh ahead that fails (the platform down or limiting, the lock held, the grant
    refused) while the stored token has not expired yet is logged as a warning, and the
    account uses that token meanwhile. A refresh ahead whose new tokens the store could not
    take (`STORE_WAIT`) spent the stored refresh token: for X and Bluesky OAuth, whose
    refresh tokens rotate, the account keeps the new session (logged at ERROR) and stores
    it at its next request the store answers, as its adapter's refreshes do.

    Later refreshes by the account's adapter (X, LinkedIn, Bluesky OAuth: after a 401, or
    a minute before expiry) also happen under the store's lock: the stored record is read
    again first, and when another process already refreshed, its tokens are taken and no
    refresh token is spent; otherwise the new tokens are stored before the lock is let go.

    Args:
        store: the credential store.
        key: the account's key in it.
        name: the account's name (default: ``key``).
        refresh: refresh a token that is due (``False``: use it as it is).
        media_host: Instagram, Threads: overrides the stored ``media_host``.
        http: the httpx client for a refresh.
        clock: now, in epoch seconds.

    Raises:
        ConfigurationError: nothing is stored under ``key``, or the record is incomplete.
        GrantRefused: the refresh of a token that has expired was refused (connect the
            account again).
        RateLimited, PlatformUnavailable: the endpoint answered 429 or a 5xx to the
            refresh of a token that has expired (try again later).
        TransportError: the platform could not be reached to refresh a token that has
            expired.
        CredentialsNotStored: the store could not keep the refreshed tokens of another
            platform (connect the account again).
    """
    record = store.get(key)
    if record is None:
        raise ConfigurationError(
            f"no account {key!r} in {store!r}: connect it (brandkit connect ...) or check "
            "the key with brandkit accounts list --store"
        )
    unsaved: tuple[object, Record] | None = None
    if refresh and _due(record, clock(), None):
        fresh: list[Record] = []

        def refreshed(stored: Record) -> Record:
            new = refresh_record(stored, http=http, clock=clock)
            fresh.append(new)
            return new

        try:
            record = refresh_locked(
                store,
                key,
                refreshed,
                had=record,
                clock=clock,
                margin=MARGINS.get(_platform(record), 300.0),
            )
        except CredentialsNotStored as exc:
            if not fresh or not _rotates(record):
                raise
            # The stored refresh token is spent and the new session exists only here: the
            # account keeps it, as its refresh hook does (stored at its next request),
            # rather than the caller losing it with the error (connect again).
            unsaved = (record.get("access_token"), fresh[-1])
            record = fresh[-1]
            _not_kept(key, exc)
        except (PlatformError, CredentialStoreLocked) as exc:
            expires_at = expiry_of(record).expires_at
            if expires_at is None or clock() >= expires_at:
                raise
            # Refreshing ahead is a courtesy: the token still works (for days, on the 60-day
            # platforms), and a platform that is down or limits refreshes must not stop the
            # account, nor every account of `brandkit run`, from posting meanwhile. The
            # worker's refresh_accounts tries again.
            logger.warning(
                "credential store: %s was not refreshed ahead of its expiry (%s: %s); its "
                "token is used until it expires at %s",
                key,
                type(exc).__name__,
                exc,
                time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(expires_at)),
            )
    link = _StoreLink()
    account = account_of(
        record,
        name=name or key,
        on_credentials_changed=_saver(store, key, link),
        media_host=media_host,
    )
    _links[account] = link
    if unsaved is not None:
        link.unsaved = unsaved
        _due_now(account)
    if _bluesky_oauth(record):
        # Bluesky OAuth refreshes ahead of expiry or after a 401 under the store's lock.
        from brandkit.platforms.bluesky import set_oauth_refresh_hook

        set_oauth_refresh_hook(account, _bluesky_store_refresher(store, key, link))
    else:
        # X and LinkedIn refresh after a 401 (or just before expiry) under the store's lock.
        set_refresh_hook(account, _store_refresher(store, key, link))
    return account


_ACCESS_SECRET = {
    "x": "user_token",
    "linkedin": "token",
    "threads": "token",
    "instagram": "token",
    "facebook": "page_token",
}


def refresh_accounts(
    store: CredentialStore,
    accounts: list[Account],
    *,
    clock: Callable[[], float] = time.time,
) -> dict[str, str]:
    """Refresh, ahead of expiry, the tokens of those ``accounts`` that are kept in
    ``store`` (under their name, as `load_account` makes them), and give each account
    its new tokens. What the worker runs before it publishes.

    An account of `load_account` whose adapter refreshed when the store could not take
    the result has its live session stored first: the stored refresh token is spent, and
    refreshing from it would be refused (X) or, on Bluesky, taken as a replay that ends
    the whole session, the live one too. While the store still cannot take it, the
    account is not refreshed here (``"failed: …"``).

    Returns:
        what `refresh_due` returns, for the accounts found in the store.
    """
    known = set(store.keys())
    mine = {a.name: a for a in accounts if a.name in known}
    if not mine:
        return {}
    held: dict[str, str] = {}
    flushed: set[str] = set()
    for key, account in mine.items():
        link = _links.get(account)
        if link is None or link.unsaved is None:
            continue
        try:
            if _flush_unsaved(store, key, link):
                flushed.add(key)
        except BrandkitError as exc:
            held[key] = (
                f"failed: {type(exc).__name__}: {exc} (its live session, in memory only, "
                "could not be stored first; not refreshed from the spent stored one)"
            )
    outcomes = refresh_due(store, keys=sorted(set(mine) - set(held)), clock=clock)
    outcomes.update(held)
    for key, outcome in outcomes.items():
        if outcome != "refreshed" and key not in flushed:
            continue
        record = store.get(key) or {}
        account = mine[key]
        if account.platform == "bluesky" and _bluesky_oauth(record):
            # Where the adapter reads them: the expiry and nonce in settings["oauth"].
            hook, account.on_credentials_changed = account.on_credentials_changed, None
            try:
                _adopt_bluesky(account, record)
            except ConfigurationError as exc:
                outcomes[key] = f"failed: ConfigurationError: {exc}"
            finally:
                account.on_credentials_changed = hook
            continue
        secret = _ACCESS_SECRET.get(account.platform)
        token = record.get("access_token")
        if secret is None or not isinstance(token, str):
            continue
        expires = record.get("expires_at")
        if "token_expires_at" in account.settings and stored_time(expires) is not None:
            account.settings["token_expires_at"] = stored_time(expires)
        refresh = record.get("refresh_token")
        values = {secret: token, "refresh_token": refresh}
        # No hook call here: the store already holds these tokens.
        hook, account.on_credentials_changed = account.on_credentials_changed, None
        try:
            account.update_secrets(
                **{k: v if isinstance(v, str) else None for k, v in values.items()}
            )
        finally:
            account.on_credentials_changed = hook
    return outcomes
