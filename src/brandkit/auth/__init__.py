"""Connect accounts: each platform's authorization flow, sans-IO like the adapters (a flow
yields the token requests; `run` and `run_async` send them over httpx).

- `brandkit.auth.x`: OAuth 2.0 with PKCE, rotating refresh tokens; OAuth 1.0a 3-legged.
- `brandkit.auth.mastodon`: app registration per instance, code flow with PKCE (4.3+).
- `brandkit.auth.facebook`: Facebook Login, long-lived user token, Page tokens.
- `brandkit.auth.instagram`: Instagram Login, short-lived then 60-day tokens, refresh.
- `brandkit.auth.linkedin`: 3-legged OAuth, 60-day tokens (refresh for approved partners).
- `brandkit.auth.threads`: Meta's login, short-lived then 60-day tokens, refresh after 24 h.

`account_from` turns the credentials a flow returns into an [`Account`][brandkit.Account];
`brandkit.auth.store` keeps them (an encrypted SQLite file, or the environment) and
`refresh_locked` refreshes one account at a time across processes. `record_of` makes a
store record of credentials, `load_account` (or
[`Account.from_store`][brandkit.Account.from_store]) the account of one, refreshed ahead of
expiry, and `refresh_due` refreshes every stored token that is about to expire.
`revoke_record` (and `revoke_record_async`) revokes a record's tokens at the platform (X,
Mastodon, Bluesky OAuth), and
`revocation_by_hand` says where a person does it on the platforms that have no API for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from brandkit.accounts import Account, CredentialsHook, MediaHost
from brandkit.auth import bluesky, linkedin, mastodon, store, x
from brandkit.auth._core import (
    AuthorizationFinished,
    CallbackError,
    ConsentDenied,
    FinishLedger,
    GrantRefused,
    PermissionsDeclined,
    Start,
    run,
    run_async,
)
from brandkit.auth._records import (
    Expiry,
    expiry_of,
    load_account,
    record_of,
    refresh_accounts,
    refresh_due,
    revocation_by_hand,
    revoke_record,
    revoke_record_async,
)
from brandkit.auth.bluesky import BlueskyCredentials
from brandkit.auth.linkedin import LinkedInCredentials
from brandkit.auth.mastodon import MastodonApp, MastodonCredentials
from brandkit.auth.meta import (
    FacebookLogin,
    FacebookPageCredentials,
    FacebookUserCredentials,
    InstagramCredentials,
    MetaLogin,
    ThreadsCredentials,
    facebook,
    instagram,
    threads,
)
from brandkit.auth.store import (
    CredentialsNotStored,
    CredentialStore,
    CredentialStoreLocked,
    EncryptedStore,
    EnvironmentStore,
    ReadOnlyStore,
    WrongStoreKey,
    refresh_locked,
)

if TYPE_CHECKING:
    from brandkit.auth._pgstore import PostgresStore
from brandkit.auth.x import OAuth1Start, XCredentials, XOAuth1Credentials
from brandkit.errors import ConfigurationError

__all__ = [
    "AuthorizationFinished",
    "BlueskyCredentials",
    "CallbackError",
    "ConsentDenied",
    "CredentialStore",
    "CredentialStoreLocked",
    "Credentials",
    "CredentialsNotStored",
    "EncryptedStore",
    "EnvironmentStore",
    "Expiry",
    "FacebookLogin",
    "FacebookPageCredentials",
    "FacebookUserCredentials",
    "FinishLedger",
    "GrantRefused",
    "InstagramCredentials",
    "LinkedInCredentials",
    "MastodonApp",
    "MastodonCredentials",
    "MetaLogin",
    "OAuth1Start",
    "PermissionsDeclined",
    "PostgresStore",
    "ReadOnlyStore",
    "Start",
    "ThreadsCredentials",
    "WrongStoreKey",
    "XCredentials",
    "XOAuth1Credentials",
    "account_from",
    "bluesky",
    "expiry_of",
    "facebook",
    "instagram",
    "linkedin",
    "load_account",
    "mastodon",
    "record_of",
    "refresh_accounts",
    "refresh_due",
    "refresh_locked",
    "revocation_by_hand",
    "revoke_record",
    "revoke_record_async",
    "run",
    "run_async",
    "store",
    "threads",
    "x",
]

Credentials = (
    XCredentials
    | XOAuth1Credentials
    | MastodonCredentials
    | ThreadsCredentials
    | LinkedInCredentials
    | FacebookPageCredentials
    | InstagramCredentials
    | BlueskyCredentials
)
"""The credentials any flow returns."""


def account_from(
    creds: Credentials,
    *,
    name: str | None = None,
    client_secret: str | None = None,
    on_credentials_changed: CredentialsHook | None = None,
    media_host: MediaHost | Mapping[str, Any] | None = None,
    author: str | None = None,
) -> Account:
    """An [`Account`][brandkit.Account] that posts with ``creds``.

    Args:
        creds: what a flow's ``finish`` (or ``refresh``) returned. Its ``expires_at`` goes
            to the account (``settings["token_expires_at"]``), so that X and LinkedIn
            refresh a minute before expiry; ``x.credentials_of(account)`` and
            ``linkedin.credentials_of(account)`` give the current credentials back (from
            ``on_credentials_changed``, to store those of a refresh whole).
        name: the account's name.
        client_secret: X and LinkedIn: the app's secret, so the adapter can refresh a confidential
            client's token by itself (it then hands new tokens to
            ``on_credentials_changed``); X OAuth 1.0a: the consumer secret (required).
        on_credentials_changed: called with the new tokens after a refresh.
        media_host: Instagram and Threads: what turns local media into public URLs (see
            [`Account.threads`][brandkit.Account.threads]).
        author: LinkedIn: the URN to post as, a page (see `linkedin.organizations`) or
            the member (``urn:li:person:…``).

    Raises:
        ConfigurationError: ``creds`` are not credentials of a known platform,
            LinkedIn credentials come without an ``author``, or X OAuth 1.0a credentials
            without the consumer secret.
    """
    if isinstance(creds, BlueskyCredentials):
        return bluesky.account_from(creds, name=name, on_credentials_changed=on_credentials_changed)
    if isinstance(creds, XOAuth1Credentials):
        if not client_secret:
            raise ConfigurationError(
                "account_from needs client_secret= (the app's consumer secret) for X OAuth "
                "1.0a credentials: every request is signed with it"
            )
        return Account.x(
            consumer_key=creds.consumer_key,
            consumer_secret=client_secret,
            access_token=creds.access_token.get_secret_value(),
            access_token_secret=creds.access_token_secret.get_secret_value(),
            user_id=creds.user_id or None,
            username=creds.screen_name or None,
            base_url=creds.base_url,
            name=name,
            on_credentials_changed=on_credentials_changed,
        )
    if isinstance(creds, XCredentials):
        account = Account.x(
            user_token=creds.access_token.get_secret_value(),
            refresh_token=creds.refresh_token.get_secret_value() if creds.refresh_token else None,
            client_id=creds.client_id,
            client_secret=client_secret,
            # The adapter refreshes a minute ahead only when it knows the expiry.
            token_expires_at=creds.expires_at,
            base_url=creds.base_url,
            name=name,
            on_credentials_changed=on_credentials_changed,
        )
        # What x.credentials_of needs to give the credentials back whole.
        account.settings["scopes"] = list(creds.scopes)
        return account
    if isinstance(creds, MastodonCredentials):
        return Account.mastodon(
            creds.instance_url,
            token=creds.access_token.get_secret_value(),
            name=name,
            on_credentials_changed=on_credentials_changed,
        )
    if isinstance(creds, InstagramCredentials):  # before Threads: it is a subclass
        return Account.instagram(
            ig_user_id=creds.user_id,
            token=creds.access_token.get_secret_value(),
            media_host=media_host,
            token_expires_at=creds.expires_at if creds.long_lived else None,
            # Instagram Login tokens work on graph.instagram.com, not graph.facebook.com.
            base_url=creds.base_url or "https://graph.instagram.com",
            name=name,
            on_credentials_changed=on_credentials_changed,
        )
    if isinstance(creds, ThreadsCredentials):
        return Account.threads(
            user_id=creds.user_id,
            token=creds.access_token.get_secret_value(),
            media_host=media_host,
            token_expires_at=creds.expires_at if creds.long_lived else None,
            base_url=creds.base_url,
            name=name,
            on_credentials_changed=on_credentials_changed,
        )
    if isinstance(creds, FacebookPageCredentials):
        return Account.facebook(
            page_id=creds.page_id,
            page_token=creds.access_token.get_secret_value(),
            api_version=creds.api_version,
            base_url=creds.base_url,
            name=name,
            on_credentials_changed=on_credentials_changed,
        )
    if isinstance(creds, LinkedInCredentials):
        if not author:
            raise ConfigurationError(
                "account_from needs author= for LinkedIn: a page's URN from "
                "auth.linkedin.organizations(creds), or the member's urn:li:person:…"
            )
        account = Account.linkedin(
            author=author,
            token=creds.access_token.get_secret_value(),
            refresh_token=creds.refresh_token.get_secret_value() if creds.refresh_token else None,
            client_id=creds.client_id if creds.refresh_token else None,
            client_secret=client_secret if creds.refresh_token else None,
            # The adapter refreshes a minute ahead only when it knows the expiry.
            token_expires_at=creds.expires_at,
            base_url=creds.base_url,
            name=name,
            on_credentials_changed=on_credentials_changed,
        )
        # What linkedin.credentials_of needs to give the credentials back whole.
        account.settings["scopes"] = list(creds.scopes)
        account.settings["oauth_client_id"] = creds.client_id
        account.settings["refresh_expires_at"] = creds.refresh_expires_at
        return account
    raise ConfigurationError(
        f"account_from needs credentials from brandkit.auth, got {type(creds).__name__}"
    )


def __getattr__(name: str) -> Any:
    # The store imports it on first use, so that importing brandkit.auth never imports
    # psycopg.
    if name == "PostgresStore":
        return store.PostgresStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
