"""``brandkit run`` names the accounts of due deliveries it does not serve as read from the
outbox's rows: such a key (a hand edit, another tool) was printed as stored, and the
terminal obeyed the escape sequences in it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from brandkit import Post
from brandkit.outbox import Outbox
from tests.outbox._fakenet import OutboxNetEmulator
from tests.outbox.test_cli import cli, mastodon_toml

HOSTILE = "outboxnet:gone\x1b]0;owned\x07\x1b[2J\nforged line"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "brandkit.db"


def test_run_escapes_the_accounts_it_does_not_serve(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emu: OutboxNetEmulator
) -> None:
    monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", "token-not-used-1234")
    toml = mastodon_toml(tmp_path / "brandkit.toml", "https://mastodon.example")
    with Outbox(db) as box:
        (d,) = box.add(Post(text="stranded"), emu.account(name="gone"))
    con = sqlite3.connect(db)
    con.execute("UPDATE outbox_deliveries SET account = ? WHERE id = ?", (HOSTILE, d.id))
    con.commit()
    con.close()
    status, text = cli("run", "--db", str(db), "--accounts", str(toml), "--once")
    assert status == 0
    assert "\x1b" not in text and "\x07" not in text
    (line,) = [line for line in text.splitlines() if "not served" in line]
    assert "outboxnet:gone\\x1b]0;owned\\x07\\x1b[2J forged line" in line
    assert not any(line.startswith("forged line") for line in text.splitlines())
