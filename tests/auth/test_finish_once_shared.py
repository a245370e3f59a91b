"""An authorization finished by one process is not finished again by another that shares
its store (``once_in=``): a callback page reloaded onto another worker, or two workers that
get the same callback at once, send its code once. The first claims the authorization in
the store (SQLite file or PostgreSQL) atomically; any other finish is refused with
`AuthorizationFinished` before anything is sent. A finish that failed (a refused secret, an
unreachable server) lets its claim go, so it can be tried again. X emulator over a socket,
real processes, a real SQLite file and a real PostgreSQL server."""

from __future__ import annotations

import multiprocessing
import socket
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from brandkit import auth
from brandkit.auth import AuthorizationFinished, CallbackError, EncryptedStore, GrantRefused
from brandkit.auth.store import new_key
from brandkit.errors import TransportError
from brandkit.testing.x import XEmulator
from tests.servers._servers import (  # noqa: F401 - fixtures
    postgres_db,
    postgres_server,
    postgres_url,
    unique_prefix,
)

from ._finish_worker import finisher
from .conftest import REDIRECT, X_SCOPES, consent, forget_finished

TOKEN = r"/2/oauth2/token"


def _race(emu: XEmulator, target: str, store_key: str) -> list[str]:
    """Two processes finishing one authorization at the same moment through ``target``."""
    app = emu.oauth_app(redirect_uri=REDIRECT)
    assert app.client_secret is not None
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=emu.base_url)
    callback = consent(start.url)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(2)
        with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
            futures = [
                pool.submit(
                    finisher,
                    target,
                    store_key,
                    start.to_dict(),
                    callback,
                    app.client_secret,
                    barrier,
                )
                for _ in range(2)
            ]
            return sorted(f.result(timeout=120) for f in futures)


def test_two_processes_on_one_file_exchange_the_code_once(x_emu: XEmulator, tmp_path: Path) -> None:
    target = str(tmp_path / "credentials.db")
    outcomes = _race(x_emu, target, new_key())
    assert outcomes == ["AuthorizationFinished", "connected"]
    assert x_emu.count("POST", TOKEN) == 1


def test_a_reload_on_another_worker_is_refused_before_sending(
    x_emu: XEmulator, tmp_path: Path
) -> None:
    """Two store objects on one file, as two workers hold them; the second worker knows
    nothing of the first's finish but what the file says."""
    key = new_key()
    app = x_emu.oauth_app(redirect_uri=REDIRECT)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    callback = consent(start.url)
    saved = start.to_dict()
    with (
        EncryptedStore(tmp_path / "c.db", key=key) as one,
        EncryptedStore(tmp_path / "c.db", key=key) as two,
    ):
        creds = auth.x.finish(start, callback, client_secret=app.client_secret, once_in=one)
        assert creds.access_token.get_secret_value()
        forget_finished()  # another process
        with pytest.raises(AuthorizationFinished) as info:
            auth.x.finish(
                auth.Start.from_dict(saved), callback, client_secret=app.client_secret, once_in=two
            )
    assert isinstance(info.value, CallbackError)
    assert "start the authorization again" in str(info.value)
    assert saved["state"] not in str(info.value)
    assert x_emu.count("POST", TOKEN) == 1


def test_a_refused_finish_lets_its_claim_go(x_emu: XEmulator, tmp_path: Path) -> None:
    key = new_key()
    app = x_emu.oauth_app(redirect_uri=REDIRECT)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    callback = consent(start.url)
    with (
        EncryptedStore(tmp_path / "c.db", key=key) as one,
        EncryptedStore(tmp_path / "c.db", key=key) as two,
    ):
        with pytest.raises(GrantRefused):
            auth.x.finish(start, callback, client_secret="wrong", once_in=one)
        creds = auth.x.finish(start, callback, client_secret=app.client_secret, once_in=two)
    assert creds.access_token.get_secret_value()


def test_an_unreachable_server_lets_its_claim_go(x_emu: XEmulator, tmp_path: Path) -> None:
    """The request failed before reaching the server: its flow is closed by the driver at
    once, which lets the claim go (not whenever the error's traceback is freed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    app = x_emu.oauth_app(redirect_uri=REDIRECT)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    callback = consent(start.url)
    moved = auth.Start.from_dict({**start.to_dict(), "token_url": f"{dead}/2/oauth2/token"})
    with EncryptedStore(tmp_path / "c.db", key=new_key()) as store:
        with pytest.raises(TransportError) as info:
            auth.x.finish(moved, callback, client_secret=app.client_secret, once_in=store)
        assert not info.value.maybe_delivered
        creds = auth.x.finish(start, callback, client_secret=app.client_secret, once_in=store)
    assert creds.access_token.get_secret_value()
    assert x_emu.count("POST", TOKEN) == 1


def test_two_processes_on_one_postgres_table_exchange_the_code_once(
    x_emu: XEmulator,
    postgres_db: str,  # noqa: F811
) -> None:
    outcomes = _race(x_emu, postgres_db, new_key())
    assert outcomes == ["AuthorizationFinished", "connected"]
    assert x_emu.count("POST", TOKEN) == 1


def test_postgres_reload_and_refused_finish(x_emu: XEmulator, postgres_url: str) -> None:  # noqa: F811
    key, prefix = new_key(), unique_prefix()
    app = x_emu.oauth_app(redirect_uri=REDIRECT)
    start = auth.x.start(app.client_id, REDIRECT, X_SCOPES, base_url=x_emu.base_url)
    callback = consent(start.url)
    with (
        auth.PostgresStore(postgres_url, key=key, prefix=prefix) as one,
        auth.PostgresStore(postgres_url, key=key, prefix=prefix) as two,
    ):
        with pytest.raises(GrantRefused):
            auth.x.finish(start, callback, client_secret="wrong", once_in=one)
        auth.x.finish(start, callback, client_secret=app.client_secret, once_in=two)
        forget_finished()
        with pytest.raises(AuthorizationFinished):
            auth.x.finish(start, callback, client_secret=app.client_secret, once_in=one)
    assert x_emu.count("POST", TOKEN) == 2
