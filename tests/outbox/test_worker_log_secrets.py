"""An attempt that breaks off with an unexpected error is logged with its traceback, and
with its account's secrets redacted from it (an error may carry a request's URL or headers,
and a Telegram bot token is part of every URL)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import AsyncClient, Client, Post
from brandkit.outbox import Outbox, Worker
from tests.outbox._fakenet import TOKEN, OutboxNetEmulator

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LEAK = f"unexpected: GET https://api.example/bot{TOKEN}/sendMessage"


class _Broken(Client):
    """A client whose attempts fail with an error that quotes the account's token."""

    def _deliver(self, delivery: Any, account: Any = None) -> Any:
        raise RuntimeError(LEAK)


class _BrokenAsync(AsyncClient):
    """The same, asynchronous (the worker's default kind of client)."""

    async def _deliver(self, delivery: Any, account: Any = None) -> Any:
        raise RuntimeError(LEAK)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_broken_off_attempt_is_logged_without_secrets(
    db: Path | str, emu: OutboxNetEmulator, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    acct = emu.account()
    with Outbox(db, clock=lambda: T0) as box:
        box.add(Post(text="x"), acct)
        client: Client | AsyncClient
        if kind == "sync":
            client = _Broken(outbox=box, http=httpx.Client(transport=emu.transport()))
        else:
            client = _BrokenAsync(outbox=box, http=httpx.AsyncClient(transport=emu.transport()))
        worker = Worker(box, [acct], client=client, clock=lambda: T0)
        with caplog.at_level(logging.ERROR, logger="brandkit.outbox"), worker:
            worker.run_once()
        if isinstance(client, Client):
            client.close()
    assert "the attempt broke off" in caplog.text
    assert "RuntimeError" in caplog.text  # the traceback is kept
    assert "bot**********/sendMessage" in caplog.text
    assert TOKEN not in caplog.text


def test_a_failed_refresh_is_logged_without_secrets(
    db: Path | str,
    emu: OutboxNetEmulator,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The credential store's refresh before an attempt failed with an error quoting a
    token: its traceback was logged as it was. The post is still sent with the token
    held."""
    import brandkit.auth

    def broken(store: Any, accounts: Any, **_: Any) -> None:
        raise RuntimeError(LEAK)

    monkeypatch.setattr(brandkit.auth, "refresh_accounts", broken)
    acct = emu.account()
    with Outbox(db, clock=lambda: T0) as box:
        box.add(Post(text="x"), acct)
        client = Client(outbox=box, http=httpx.Client(transport=emu.transport()))
        worker = Worker(box, [acct], client=client, clock=lambda: T0, credentials=object())
        with caplog.at_level(logging.ERROR, logger="brandkit.outbox"), worker:
            worker.run_once()
        client.close()
    assert "could not be refreshed" in caplog.text and "RuntimeError" in caplog.text
    assert "bot**********/sendMessage" in caplog.text
    assert TOKEN not in caplog.text
