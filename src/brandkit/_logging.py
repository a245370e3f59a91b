"""Keeping secrets out of every log line that brandkit's requests cause.

brandkit's own messages are built from redacted text. httpx and httpcore log requests
themselves (httpx at INFO: ``HTTP Request: POST https://api.telegram.org/bot<token>/...``),
and a Telegram bot token is part of the URL, so brandkit installs a filter on their loggers
that replaces the secrets of every account it has seen with ``**********``.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from brandkit.accounts import Account

__all__ = ["THIRD_PARTY_LOGGERS", "hiding", "install", "watch"]

# A filter on a logger applies to the records made on that very logger only, not to those
# of its children: each logger that httpx and httpcore write to is named.
THIRD_PARTY_LOGGERS = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
)

_accounts: weakref.WeakSet[Account] = weakref.WeakSet()
# Loose secrets of requests in flight that belong to no account yet (an authorization
# code, an app secret in a token exchange's query), with how many requests hold each.
_loose: dict[str, int] = {}
_lock = threading.Lock()
_installed = False


class RedactSecrets(logging.Filter):
    """Rewrites a record whose message holds a secret of a watched account."""

    def filter(self, record: logging.LogRecord) -> bool:
        with _lock:
            accounts = list(_accounts)
            loose = sorted(_loose, key=len, reverse=True)
        if not accounts and not loose:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is the logging module's to report
            return True
        redacted = message
        for account in accounts:
            redacted = account.redact(redacted)
        for secret in loose:
            redacted = redacted.replace(secret, "**********")
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


_FILTER = RedactSecrets()


def watch(account: Account) -> None:
    """Redact ``account``'s secrets (as they are at each log line) in httpx's and
    httpcore's log records, for as long as the account lives."""
    with _lock:
        _accounts.add(account)
    install()


@contextmanager
def hiding(secrets: Iterable[str]) -> Iterator[None]:
    """Redact ``secrets`` in httpx's and httpcore's log records while the block runs (the
    token requests of a connect flow, before any account exists)."""
    values = [v for v in secrets if len(v) >= 4]
    with _lock:
        for v in values:
            _loose[v] = _loose.get(v, 0) + 1
    install()
    try:
        yield
    finally:
        with _lock:
            for v in values:
                left = _loose.get(v, 1) - 1
                if left:
                    _loose[v] = left
                else:
                    _loose.pop(v, None)


def install() -> None:
    """Put the redacting filter on httpx's and httpcore's loggers (once)."""
    global _installed
    if _installed:
        return
    with _lock:
        if _installed:
            return
        for name in THIRD_PARTY_LOGGERS:
            logging.getLogger(name).addFilter(_FILTER)
        _installed = True
