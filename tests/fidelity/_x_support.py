"""Putting tweepy in front of the X emulator: tweepy only speaks https to api.twitter.com
and upload.twitter.com, so a requests adapter plays the TLS-terminating proxy."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import requests.adapters

from brandkit.accounts import Account
from brandkit.testing.x import XEmulator

TIMEOUT = 5.0
"""Seconds any request may take (tweepy sets no timeout of its own)."""


class ToEmulator(requests.adapters.HTTPAdapter):
    """Sends every request to the emulator's socket instead of the host in its URL, keeping
    that host in ``Host`` and its scheme in ``X-Forwarded-Proto``, as a TLS-terminating
    proxy does; the client's OAuth 1.0a signature (made over the https URL) stays valid."""

    def __init__(self, base_url: str) -> None:
        super().__init__(max_retries=0)
        self.target = urlsplit(base_url)

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        original = urlsplit(request.url or "")
        forwarded = request.copy()
        forwarded.url = urlunsplit(
            (self.target.scheme, self.target.netloc, original.path, original.query, "")
        )
        forwarded.headers["Host"] = original.netloc
        forwarded.headers["X-Forwarded-Proto"] = original.scheme
        kwargs["timeout"] = kwargs.get("timeout") or TIMEOUT
        kwargs["proxies"] = {}  # never an environment proxy: the emulator is on loopback
        return super().send(forwarded, **kwargs)


def route_to(session: requests.Session, base_url: str) -> None:
    """Make ``session`` send everything to the emulator at ``base_url`` (nothing leaves
    the machine, whatever URL the client builds)."""
    session.trust_env = False
    adapter = ToEmulator(base_url)
    session.mount("https://", adapter)
    session.mount("http://", adapter)


def oauth1_keys(emu: XEmulator, account: Account) -> dict[str, str]:
    """tweepy's four OAuth 1.0a arguments for an ``auth="oauth1"`` emulator account."""
    keys = {
        "consumer_key": emu.consumer_key,
        "consumer_secret": account.secret("consumer_secret"),
        "access_token": account.secret("access_token"),
        "access_token_secret": account.secret("access_token_secret"),
    }
    missing = [k for k, v in keys.items() if not v]
    if missing:
        raise ValueError(f"not an OAuth 1.0a account (missing {', '.join(missing)})")
    return {k: str(v) for k, v in keys.items()}
