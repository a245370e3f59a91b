"""Accounts: which platform, where, and with which credentials.

Credentials are :class:`pydantic.SecretStr` and never appear in reprs, logs, errors or stored
files. Tokens that an adapter refreshes are handed to ``on_credentials_changed`` so the caller
can persist them.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from brandkit.content._model import PLATFORM_NAMES
from brandkit.errors import ConfigurationError

__all__ = ["Account", "CredentialsHook"]

CredentialsHook = Callable[["Account", Mapping[str, str]], None]
"""Called as ``hook(account, changed)`` after a refresh; ``changed`` maps names to new values."""

# Which keyword of each factory is a secret: these may only come from the environment when
# accounts are loaded from a file.
_SECRET_KEYS: dict[str, frozenset[str]] = {
    "x": frozenset(
        {
            "user_token",
            "refresh_token",
            "client_secret",
            "consumer_secret",
            "access_token",
            "access_token_secret",
        }
    ),
    "mastodon": frozenset({"token"}),
    "bluesky": frozenset({"app_password", "access_jwt", "refresh_jwt"}),
    "facebook": frozenset({"page_token", "user_token", "app_secret"}),
    "instagram": frozenset({"token"}),
    "threads": frozenset({"token"}),
    "linkedin": frozenset({"token", "refresh_token", "client_secret"}),
    "telegram": frozenset({"bot_token"}),
}

_DEFAULT_BASE = {
    "x": "https://api.x.com",
    "bluesky": "https://bsky.social",
    "facebook": "https://graph.facebook.com",
    "instagram": "https://graph.facebook.com",
    "threads": "https://graph.threads.net",
    "linkedin": "https://api.linkedin.com",
    "telegram": "https://api.telegram.org",
}


class Account:
    """One account on one platform.

    Build it with the platform's factory (``Account.x(...)``, ``Account.mastodon(...)``, ...)
    or load named accounts from a TOML file with :meth:`load`.

    Attributes:
        platform: the platform's name.
        name: a name for this account, unique within a project (defaults to the platform).
        base_url: where the platform's API is; defaults to the real platform.
        settings: non-secret settings (handle, user id, chat id, ...).
        on_credentials_changed: called after the adapter refreshed a token.
    """

    def __init__(
        self,
        platform: str,
        *,
        name: str | None = None,
        base_url: str | None = None,
        secrets: Mapping[str, str | SecretStr | None] | None = None,
        settings: Mapping[str, Any] | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> None:
        if not platform:
            raise ConfigurationError("an account needs a platform name")
        self.platform = platform
        self.name = name or platform
        url = base_url or _DEFAULT_BASE.get(platform)
        if not url:
            raise ConfigurationError(f"{platform} account {self.name!r} needs a base_url")
        self.base_url = url.rstrip("/")
        self._secrets: dict[str, SecretStr] = {}
        for key, value in (secrets or {}).items():
            if value is None or value == "":
                continue
            self._secrets[key] = value if isinstance(value, SecretStr) else SecretStr(value)
        self.settings: dict[str, Any] = dict(settings or {})
        self.on_credentials_changed = on_credentials_changed

    # -- credentials ---------------------------------------------------------------------

    def secret(self, key: str) -> str | None:
        """The value of secret ``key``, or ``None`` when it is not set."""
        value = self._secrets.get(key)
        return value.get_secret_value() if value is not None else None

    def has_secret(self, key: str) -> bool:
        """Whether secret ``key`` is set."""
        return key in self._secrets

    @property
    def secret_names(self) -> tuple[str, ...]:
        """The names of the secrets that are set (never their values)."""
        return tuple(sorted(self._secrets))

    def update_secrets(self, **values: str | None) -> None:
        """Store refreshed credentials and tell ``on_credentials_changed``.

        An empty value never overwrites a stored one: a platform that answers a refresh
        without a new refresh token keeps the old one.
        """
        changed = {k: v for k, v in values.items() if v}
        for key, value in changed.items():
            self._secrets[key] = SecretStr(value)
        if changed and self.on_credentials_changed is not None:
            self.on_credentials_changed(self, changed)

    def redact(self, text: str) -> str:
        """``text`` with every secret of this account replaced by ``**********``."""
        for value in self._secrets.values():
            raw = value.get_secret_value()
            if raw and len(raw) >= 4:
                text = text.replace(raw, "**********")
        return text

    @property
    def key(self) -> str:
        """``platform:name``, the account's identity in the outbox and the metrics store."""
        return f"{self.platform}:{self.name}"

    def __repr__(self) -> str:
        secrets = ", ".join(f"{k}='**********'" for k in sorted(self._secrets))
        # redact() also covers a secret that ended up inside the URL itself.
        return self.redact(
            f"Account({self.platform!r}, name={self.name!r}, base_url={self.base_url!r}, "
            f"secrets=[{secrets}])"
        )

    __str__ = __repr__

    # -- factories -----------------------------------------------------------------------

    @classmethod
    def x(
        cls,
        *,
        user_token: str | None = None,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        access_token: str | None = None,
        access_token_secret: str | None = None,
        username: str | None = None,
        user_id: str | None = None,
        base_url: str | None = None,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """An X account: an OAuth 2 user token (refreshed with ``refresh_token`` and
        ``client_id``), or OAuth 1.0a user keys (``consumer_key``, ``consumer_secret``,
        ``access_token``, ``access_token_secret``).

        Raises:
            ConfigurationError: neither complete set of credentials is given.
        """
        oauth1 = (consumer_key, consumer_secret, access_token, access_token_secret)
        if not user_token and not all(oauth1):
            raise ConfigurationError(
                "Account.x needs user_token (OAuth 2) or all four of consumer_key, "
                "consumer_secret, access_token, access_token_secret (OAuth 1.0a)"
            )
        return cls(
            "x",
            name=name,
            base_url=base_url,
            secrets={
                "user_token": user_token,
                "refresh_token": refresh_token,
                "client_secret": client_secret,
                "consumer_secret": consumer_secret,
                "access_token": access_token,
                "access_token_secret": access_token_secret,
            },
            settings={
                "client_id": client_id,
                "consumer_key": consumer_key,
                "username": username,
                "user_id": user_id,
            },
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def mastodon(
        cls,
        instance_url: str,
        *,
        token: str,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """A Mastodon account on ``instance_url`` with an access token (tokens never expire).

        Raises:
            ConfigurationError: the token or the instance URL is missing.
        """
        if not token:
            raise ConfigurationError("Account.mastodon needs token=")
        if not instance_url or not instance_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"Account.mastodon needs the instance URL such as https://mastodon.social, "
                f"got {instance_url!r}"
            )
        return cls(
            "mastodon",
            name=name,
            base_url=instance_url,
            secrets={"token": token},
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def bluesky(
        cls,
        *,
        handle: str,
        app_password: str | None = None,
        access_jwt: str | None = None,
        refresh_jwt: str | None = None,
        did: str | None = None,
        base_url: str | None = None,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """A Bluesky account: its handle and an app password, at its PDS ``base_url``.

        Pass a saved session (``access_jwt``, ``refresh_jwt``, ``did``) to reuse it instead
        of logging in again; new sessions reach ``on_credentials_changed``.

        Raises:
            ConfigurationError: neither an app password nor a session is given.
        """
        if not app_password and not refresh_jwt:
            raise ConfigurationError(
                "Account.bluesky needs app_password= (or a saved session's refresh_jwt=)"
            )
        return cls(
            "bluesky",
            name=name,
            base_url=base_url,
            secrets={
                "app_password": app_password,
                "access_jwt": access_jwt,
                "refresh_jwt": refresh_jwt,
            },
            settings={"handle": handle.lstrip("@"), "did": did},
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def facebook(
        cls,
        *,
        page_id: str,
        page_token: str | None = None,
        user_token: str | None = None,
        api_version: str = "v25.0",
        base_url: str | None = None,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """A Facebook Page: its id and a Page access token (or a user token to get one).

        Raises:
            ConfigurationError: no token is given.
        """
        if not page_token and not user_token:
            raise ConfigurationError("Account.facebook needs page_token= (or user_token=)")
        return cls(
            "facebook",
            name=name,
            base_url=base_url,
            secrets={"page_token": page_token, "user_token": user_token},
            settings={"page_id": page_id, "api_version": api_version},
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def instagram(
        cls,
        *,
        ig_user_id: str,
        token: str,
        media_host: Any = None,
        api_version: str = "v25.0",
        token_expires_at: float | None = None,
        base_url: str | None = None,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """An Instagram professional account. ``media_host`` turns local media into the
        public URLs Instagram fetches media from; ``token_expires_at`` (epoch seconds) lets
        the adapter refresh the long-lived token before it expires.

        Raises:
            ConfigurationError: the token is missing.
        """
        if not token:
            raise ConfigurationError("Account.instagram needs token=")
        return cls(
            "instagram",
            name=name,
            base_url=base_url,
            secrets={"token": token},
            settings={
                "ig_user_id": ig_user_id,
                "media_host": media_host,
                "api_version": api_version,
                "token_expires_at": token_expires_at,
            },
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def threads(
        cls,
        *,
        user_id: str,
        token: str,
        media_host: Any = None,
        token_expires_at: float | None = None,
        base_url: str | None = None,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """A Threads account. ``media_host`` turns local media into public URLs;
        ``token_expires_at`` (epoch seconds) lets the adapter refresh the token in time.

        Raises:
            ConfigurationError: the token is missing.
        """
        if not token:
            raise ConfigurationError("Account.threads needs token=")
        return cls(
            "threads",
            name=name,
            base_url=base_url,
            secrets={"token": token},
            settings={
                "user_id": user_id,
                "media_host": media_host,
                "token_expires_at": token_expires_at,
            },
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def linkedin(
        cls,
        *,
        author: str,
        token: str,
        refresh_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        version: str = "202608",
        base_url: str | None = None,
        name: str | None = None,
        on_credentials_changed: CredentialsHook | None = None,
    ) -> Account:
        """A LinkedIn member or organization (``author`` is its URN).

        Raises:
            ConfigurationError: the token is missing or the author is not a URN.
        """
        if not token:
            raise ConfigurationError("Account.linkedin needs token=")
        if not author.startswith(("urn:li:person:", "urn:li:organization:")):
            raise ConfigurationError(
                "Account.linkedin author must be a URN such as urn:li:organization:123 "
                f"or urn:li:person:abc, got {author!r}"
            )
        return cls(
            "linkedin",
            name=name,
            base_url=base_url,
            secrets={
                "token": token,
                "refresh_token": refresh_token,
                "client_secret": client_secret,
            },
            settings={"author": author, "client_id": client_id, "version": version},
            on_credentials_changed=on_credentials_changed,
        )

    @classmethod
    def telegram(
        cls,
        *,
        bot_token: str,
        chat_id: str | int,
        base_url: str | None = None,
        name: str | None = None,
    ) -> Account:
        """A Telegram channel or group, posted to by a bot that is an admin there.

        Raises:
            ConfigurationError: the bot token or chat id is missing.
        """
        if not bot_token:
            raise ConfigurationError("Account.telegram needs bot_token=")
        if chat_id in ("", None):
            raise ConfigurationError("Account.telegram needs chat_id= (e.g. '@channel')")
        return cls(
            "telegram",
            name=name,
            base_url=base_url,
            secrets={"bot_token": bot_token},
            settings={"chat_id": chat_id},
        )

    # -- files ---------------------------------------------------------------------------

    @classmethod
    def load(
        cls, path: str | Path, *, environ: Mapping[str, str] | None = None
    ) -> dict[str, Account]:
        """Named accounts from a TOML file; secrets come from environment variables only.

        ```toml
        [accounts.acme_x]
        platform = "x"
        user_token_env = "ACME_X_TOKEN"     # the secret is read from $ACME_X_TOKEN

        [accounts.acme_masto]
        platform = "mastodon"
        instance_url = "https://mastodon.social"
        token_env = "ACME_MASTODON_TOKEN"
        ```

        Raises:
            ConfigurationError: the file is unreadable, a platform is unknown, a secret is
                written in the file itself, or a named environment variable is not set.
        """
        env = os.environ if environ is None else environ
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigurationError(f"cannot read {str(p)!r}: {exc.strerror}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigurationError(f"{str(p)!r} is not valid TOML: {exc}") from None
        table = data.get("accounts")
        if not isinstance(table, dict) or not table:
            raise ConfigurationError(f"{str(p)!r} has no [accounts.<name>] tables")
        accounts: dict[str, Account] = {}
        for acct_name, raw in table.items():
            where = f"{p.name}: accounts.{acct_name}"
            if not isinstance(raw, dict):
                raise ConfigurationError(f"{where} must be a table")
            fields = dict(raw)
            platform = fields.pop("platform", None)
            if platform not in PLATFORM_NAMES:
                raise ConfigurationError(
                    f"{where}: platform must be one of {', '.join(PLATFORM_NAMES)}, "
                    f"got {platform!r}"
                )
            secret_keys = _SECRET_KEYS[platform]
            kwargs: dict[str, Any] = {"name": acct_name}
            for key, value in fields.items():
                if key in secret_keys:
                    raise ConfigurationError(
                        f"{where}: {key} is a secret and must not be written in the file; "
                        f'write {key}_env = "VARIABLE" and set that environment variable'
                    )
                if key.endswith("_env") and key[:-4] in secret_keys:
                    if value not in env or not env[value]:
                        raise ConfigurationError(
                            f"{where}: environment variable {value!r} (for {key[:-4]}) is not set"
                        )
                    kwargs[key[:-4]] = env[value]
                else:
                    kwargs[key] = value
            factory = getattr(cls, platform)
            try:
                accounts[acct_name] = factory(**kwargs)
            except TypeError as exc:
                raise ConfigurationError(f"{where}: {exc}") from None
        return accounts
