"""Accounts as plain data, for the worker processes a test or benchmark starts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from brandkit.accounts import Account
from brandkit.errors import ConfigurationError

__all__ = ["account_from_spec", "account_spec"]


def account_spec(account: Account) -> dict[str, Any]:
    """``account`` as JSON-able data (platform, name, base URL, its settings of text, numbers
    and flags, its secrets **in clear**) that `account_from_spec` makes the account again
    from in another process. For test kits and benchmarks against emulators: settings that
    are objects of this process (a media host) are left out."""
    return {
        "platform": account.platform,
        "name": account.name,
        "base_url": account.base_url,
        "secrets": {k: account.secret(k) for k in account.secret_names},
        "settings": {
            k: v
            for k, v in account.settings.items()
            if v is None or isinstance(v, str | int | float | bool)
        },
    }


def account_from_spec(spec: Mapping[str, Any]) -> Account:
    """The account `account_spec` described.

    Raises:
        ConfigurationError: ``spec`` is not such data (a key is missing), or what `Account`
            refuses.
    """
    try:
        return Account(
            spec["platform"],
            name=spec["name"],
            base_url=spec["base_url"],
            secrets=spec["secrets"],
            settings=spec["settings"],
        )
    except (KeyError, TypeError) as exc:
        raise ConfigurationError(
            f"not an account spec (account_spec makes one): {type(exc).__name__}: {exc}"
        ) from None
