"""OAuth helpers: the adapters whose access token expires and is refreshed (X's OAuth 2,
LinkedIn), the OAuth 2 token answer, and reading answers that carry new credentials."""

from __future__ import annotations

import logging
import threading
import time
import weakref
from abc import abstractmethod
from collections.abc import Callable
from typing import Annotated, Any, ClassVar, TypeAlias, TypeVar

import httpx
import pydantic

from brandkit._durations import expiry_after, stored_time
from brandkit._flow import Flow, Send, Wait
from brandkit.errors import MalformedResponse
from brandkit.platforms._base import Adapter, Answer

__all__ = [
    "RefreshHook",
    "RefreshingAdapter",
    "TokenAnswer",
    "expiry_after",
    "parse_credentials",
    "refresh_alone",
    "refresh_hook_of",
    "set_refresh_hook",
]

M = TypeVar("M", bound=pydantic.BaseModel)
logger = logging.getLogger(__name__)

WITHHELD = "(not kept: the answer carries credentials)"
"""What a `MalformedResponse` of a credential answer keeps instead of the body."""


def parse_credentials(adapter: Adapter, response: httpx.Response, model: type[M]) -> M:
    """`Adapter.parse` for an answer that carries new credentials (a token refresh, a
    login, a Page token).

    The account does not know those tokens yet, so redaction could not hide them: the
    `MalformedResponse` of such an answer keeps no body, and its message names the
    fields only (never their values).
    """
    try:
        return adapter.parse(response, model)
    except MalformedResponse as exc:
        raise MalformedResponse(
            str(exc), platform=exc.platform, status_code=exc.status_code, body=WITHHELD
        ) from None


class TokenAnswer(Answer):
    """An OAuth 2 token answer (RFC 6749 §5.1) as brandkit reads it: the new access token,
    the rotated refresh token if one is sent, and the lifetime in seconds (X, LinkedIn, and
    Meta's long-lived token refresh)."""

    access_token: Annotated[str, pydantic.StringConstraints(min_length=1)]
    refresh_token: str | None = None
    expires_in: (
        Annotated[int, pydantic.Strict()]
        | Annotated[float, pydantic.Strict(), pydantic.AllowInfNan(False)]
        | None
    ) = None


RefreshHook: TypeAlias = Callable[["RefreshingAdapter", "str | None"], Flow[None]]
"""Called as ``hook(adapter, token_used)`` instead of the adapter's own refresh: a flow that
ends with the account holding a good token, e.g. by running ``adapter.refresh_now`` under a
credential store's lock, or by adopting what another process stored
(`brandkit.auth.load_account` sets one)."""

# Keyed by the account, weakly: the hook lives as long as the account does, and the
# adapters the clients make of the account find it.
_hooks: weakref.WeakKeyDictionary[Any, RefreshHook] = weakref.WeakKeyDictionary()


def set_refresh_hook(account: Any, hook: RefreshHook | None) -> None:
    """Make ``hook`` refresh ``account``'s token in place of its adapter (``None``: the
    adapter refreshes by itself again)."""
    if hook is None:
        _hooks.pop(account, None)
    else:
        _hooks[account] = hook


def refresh_hook_of(account: Any) -> RefreshHook | None:
    """The hook `set_refresh_hook` gave ``account``, if any."""
    return _hooks.get(account)


REFRESH_WAIT = 60.0
"""How long a refresh waits for another flow of this process refreshing the same account
(seconds): longer than a token request may take (30 s)."""

_POLL_FIRST = 0.005
_POLL_MAX = 0.1

# One gate per account, weakly keyed like the hooks: held by the flow that refreshes it.
_gates: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_gates_guard = threading.Lock()


def refresh_alone(
    account: Any, refresh: Callable[[], Flow[None]], *, wait: float = REFRESH_WAIT
) -> Flow[None]:
    """Run ``refresh`` (a flow that renews ``account``'s tokens) while no other flow of this
    process refreshes the same account, waiting its turn for at most ``wait`` seconds.

    Flows of one account run side by side (an ``AsyncClient`` publishing several posts,
    threads sharing a ``Client``) and find its token stale at the same moment; each would
    spend the same refresh token, which rotates: the second is refused (X), or ends the
    whole session (Bluesky: "Refresh token replayed"). In turn, the later ones find the
    token already replaced, and ``refresh`` is expected to check that first. The wait goes
    through the driver (``Wait``), never blocking: the holder may be another task of the
    same event loop.

    Raises:
        CredentialStoreLocked: another flow kept refreshing past ``wait`` seconds.
    """
    with _gates_guard:
        gate = _gates.get(account)
        if gate is None:
            gate = _gates[account] = threading.Lock()
    deadline = time.monotonic() + wait
    delay = _POLL_FIRST
    while not gate.acquire(blocking=False):
        if time.monotonic() >= deadline:
            from brandkit.auth.store import CredentialStoreLocked

            raise CredentialStoreLocked(
                f"{account.key}: another refresh of its tokens in this process has run for "
                f"more than {wait:g} s: try again, or look for a request stuck in a refresh"
            )
        yield Wait(delay)
        delay = min(delay * 2, _POLL_MAX)
    try:
        yield from refresh()
    finally:
        gate.release()


class RefreshingAdapter(Adapter):
    """An adapter that refreshes its access token a minute before it expires, and once
    more on a 401, then repeats the request.

    Subclasses set ``token_name`` (the account secret holding the access token), keep
    `token_expires_at` up to date and implement `_can_refresh` and `_refresh`.

    The expiry lives in the account's settings (``token_expires_at``, epoch seconds by
    ``clock``), not in the adapter: every client makes its own adapter of an account, and
    each must know the expiry the connect flow (or the last refresh) gave.

    When the account has a refresh hook (`set_refresh_hook`), the hook refreshes instead,
    so that a credential store can serialize refreshes across processes.
    """

    token_name: ClassVar[str]
    clock: Callable[[], float]

    @abstractmethod
    def _can_refresh(self) -> bool:
        """Whether the account holds what a refresh needs."""

    @abstractmethod
    def _refresh(self, token_used: str | None) -> Flow[None]:
        """Trade the refresh token for a new access token, unless another flow of this
        account already replaced ``token_used``."""

    @property
    def token_expires_at(self) -> float | None:
        """When the access token expires (epoch seconds by ``clock``), if known: the
        account's ``token_expires_at`` setting."""
        return stored_time(self.account.settings.get("token_expires_at"))

    @token_expires_at.setter
    def token_expires_at(self, value: float | None) -> None:
        self.account.settings["token_expires_at"] = value

    def refresh_now(self, token_used: str | None) -> Flow[None]:
        """The adapter's own refresh (what a refresh hook runs under its lock): trade the
        refresh token for a new access token unless ``token_used`` was already replaced.

        Raises:
            PlatformError: the platform refused the refresh (`error_for`'s type).
            MalformedResponse: the token answer cannot be read.
        """
        return self._refresh(token_used)

    def _renew(self, token_used: str | None) -> Flow[None]:
        hook = refresh_hook_of(self.account)
        if hook is None:
            # `_refresh` returns at once when another flow replaced ``token_used`` meanwhile.
            yield from refresh_alone(self.account, lambda: self._refresh(token_used))
        else:
            # The hook serializes refreshes itself, under its credential store's lock.
            yield from hook(self, token_used)

    def _send(
        self,
        build: Callable[[], httpx.Request],
        *,
        bucket: str,
        idempotent: bool = False,
        creates: bool = False,
    ) -> Flow[httpx.Response]:
        """Send one request; on a 401 refresh the token once and send it again."""
        expires_at = self.token_expires_at
        if expires_at is not None and self.clock() >= expires_at - 60 and self._can_refresh():
            # Refresh a minute early rather than spend a request on a 401.
            logger.info(
                "%s: refreshing the access token (it expires in %.0f s)",
                self.account.key,
                expires_at - self.clock(),
            )
            yield from self._renew(self.account.secret(self.token_name))
        used = self.account.secret(self.token_name)
        response = yield Send(build(), idempotent=idempotent, bucket=bucket, creates=creates)
        if response.status_code == 401 and self._can_refresh():
            logger.info("%s: the access token was refused (401); refreshing it", self.account.key)
            yield from self._renew(used)
            # A 401 means nothing was done, so even a create may be sent again.
            response = yield Send(build(), idempotent=idempotent, bucket=bucket, creates=creates)
        return response
