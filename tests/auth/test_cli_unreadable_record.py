"""``brandkit accounts list|refresh --store`` with one record brandkit cannot read (stored by
hand without a platform, or changed on disk): that account is shown as unreadable, and the
others are still listed and refreshed, instead of the whole command ending on that one."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from brandkit.auth import EncryptedStore
from brandkit.auth.store import new_key
from brandkit.cli import main

MASTODON = {
    "platform": "mastodon",
    "instance_url": "https://social.example",
    "access_token": "tok-secret",
    "scopes": ["read", "write"],
}


@pytest.fixture
def path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    key = new_key()
    monkeypatch.setenv("BRANDKIT_STORE_KEY", key)
    monkeypatch.delenv("BRANDKIT_STORE", raising=False)
    where = tmp_path / "credentials.db"
    store = EncryptedStore(where, key=key)
    store.put("acme-masto", MASTODON)
    store.put("by-hand", {"token": "typed-in"})  # no platform
    store.put("damaged", MASTODON)
    store.close()
    db = sqlite3.connect(where)
    db.execute("UPDATE credentials SET data = x'00' WHERE key = 'damaged'")
    db.commit()
    db.close()
    return where


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


def test_list_shows_every_account(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, text = run("accounts", "list", "--store", str(path), "--json")
    assert status == 0, capsys.readouterr().err
    rows = {r["key"]: r for r in json.loads(text)}
    assert set(rows) == {"acme-masto", "by-hand", "damaged"}
    assert rows["acme-masto"]["platform"] == "mastodon"
    assert rows["acme-masto"]["expires"] == "never"
    assert "no platform" in rows["by-hand"]["note"]
    assert rows["by-hand"]["refreshable"] is False
    assert "WrongStoreKey" in rows["damaged"]["note"]
    assert "tok-secret" not in text and "typed-in" not in text

    status, text = run("accounts", "list", "--store", str(path))
    assert status == 0
    assert "acme-masto" in text and "by-hand" in text and "damaged" in text


def test_refresh_reports_every_account(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, text = run("accounts", "refresh", "--store", str(path), "--json")
    err = capsys.readouterr().err
    assert status == 1, err  # two accounts failed
    assert err == ""
    rows = {r["key"]: r for r in json.loads(text)}
    assert rows["acme-masto"]["outcome"] == "not refreshable"
    assert rows["by-hand"]["outcome"].startswith("failed: ConfigurationError")
    assert rows["damaged"]["outcome"].startswith("failed: WrongStoreKey")
    assert "tok-secret" not in text and "typed-in" not in text


def test_check_reports_each_unreadable_account(
    path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Only the unreadable two: the readable one would make a request to its instance.
    status, text = run(
        "accounts", "check", "--store", str(path), "--account", "by-hand", "--account", "damaged"
    )
    err = capsys.readouterr().err
    assert status == 1
    assert err == ""
    lines = text.splitlines()
    assert len(lines) == 2 and all(line.startswith("FAILED") for line in lines)
    assert "by-hand" in lines[0] and "no platform" in lines[0]
    assert "damaged" in lines[1] and "WrongStoreKey" in lines[1]
