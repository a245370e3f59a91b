"""A record that no longer decrypts (changed on disk) can still be got rid of: ``brandkit
accounts remove`` forgets it, ``brandkit connect --replace`` writes a new one over it, and
``remove --revoke`` says to remove it without revoking. Before, each ended on WrongStoreKey
and the account stayed stuck in the store."""

from __future__ import annotations

import io
import socket
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from brandkit.auth import EncryptedStore
from brandkit.auth.store import new_key
from brandkit.cli import main
from brandkit.testing.x import XEmulator

RECORD = {
    "platform": "mastodon",
    "instance_url": "https://social.example",
    "access_token": "tok-secret",
    "scopes": ["read"],
}


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key = new_key()
    monkeypatch.setenv("BRANDKIT_STORE_KEY", key)
    monkeypatch.delenv("BRANDKIT_STORE", raising=False)
    where = tmp_path / "credentials.db"
    with EncryptedStore(where, key=key) as store:
        store.put("damaged", RECORD)
        store.put("fine", RECORD)
    db = sqlite3.connect(where)
    db.execute("UPDATE credentials SET data = x'00' WHERE key = 'damaged'")
    db.commit()
    db.close()
    return where


def keys(path: Path) -> list[str]:
    with EncryptedStore(path) as store:
        return store.keys()


def test_remove_forgets_a_damaged_record(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    status = main(["accounts", "remove", "damaged", "--store", str(path)], out)
    assert status == 0, capsys.readouterr().err
    assert "removed damaged" in out.getvalue()
    assert keys(path) == ["fine"]


def test_remove_with_revoke_says_what_to_do(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["accounts", "remove", "damaged", "fine", "--revoke", "--store", str(path)])
    err = capsys.readouterr().err
    assert status == 1
    assert "damaged" in err and "without --revoke" in err and "Nothing was removed" in err
    assert keys(path) == ["damaged", "fine"]


def test_connect_replace_writes_over_a_damaged_record(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = XEmulator()
    port = free_port()
    with emu.serve():
        app = emu.oauth_app(redirect_uri=f"http://127.0.0.1:{port}/callback")
        assert app.client_secret is not None
        monkeypatch.setenv("BRANDKIT_X_CLIENT_SECRET", app.client_secret)
        out = io.StringIO()
        result: list[int] = []
        argv = [
            "connect", "x", "--client-id", app.client_id, "--base-url", emu.base_url,
            "--port", str(port), "--store", str(path), "--key", "damaged", "--replace",
            "--no-browser", "--timeout", "20",
        ]  # fmt: skip
        thread = threading.Thread(target=lambda: result.append(main(argv, out)), daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        # The second line printed is the URL to open.
        while len(out.getvalue().splitlines()) < 2 and thread.is_alive():
            assert time.monotonic() < deadline, out.getvalue()
            time.sleep(0.02)
        lines = out.getvalue().splitlines()
        assert len(lines) >= 2, out.getvalue()
        with httpx.Client(timeout=10) as http:
            answer = http.get(lines[1])
            assert answer.status_code == 302, answer.text
            assert http.get(answer.headers["location"]).status_code == 200
        thread.join(30)
    assert result == [0], out.getvalue()
    with EncryptedStore(path) as store:
        record = store.get("damaged")
    assert record is not None and record["platform"] == "x"


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (closed again before use)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
