"""``brandkit metrics collect --db FILE`` reads the deliveries from the outbox in FILE and,
as documented, refuses a database without one. On an SQLite file that held only metrics it
created empty outbox tables in it, read "0 deliveries" and went on as if all was well (the
outbox was in another file); a PostgreSQL schema without an outbox was already refused."""

from __future__ import annotations

import io
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from brandkit.cli import main
from brandkit.metrics import MetricSample, MetricsStore
from brandkit.outbox import Outbox


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    return {name for (name,) in rows}


@pytest.fixture
def accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # Nothing listens on port 9 of loopback: no request can leave the machine.
    monkeypatch.setenv("BRANDKIT_TEST_TOKEN", "t")
    path = tmp_path / "accounts.toml"
    path.write_text(
        '[accounts.brand]\nplatform = "mastodon"\ninstance_url = "https://127.0.0.1:9"\n'
        'token_env = "BRANDKIT_TEST_TOKEN"\n',
        encoding="utf-8",
    )
    return path


def test_a_file_without_an_outbox_is_refused_and_left_as_it_was(
    tmp_path: Path, accounts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "metrics.db"
    with MetricsStore(db) as store:
        store.add([MetricSample("x", "x:a", "likes", 1, datetime(2026, 3, 1, tzinfo=UTC), "1")])
    before = _tables(db)
    out = io.StringIO()
    status = main(["metrics", "collect", "--db", str(db), "--accounts", str(accounts)], out=out)
    err = capsys.readouterr().err
    assert status == 1
    assert "no outbox in" in err and str(db) in err and "--metrics-db" in err
    assert out.getvalue() == ""
    assert _tables(db) == before


def test_a_file_with_an_outbox_is_read(tmp_path: Path, accounts: Path) -> None:
    db = tmp_path / "brandkit.db"
    Outbox(str(db)).close()
    out = io.StringIO()
    status = main(
        ["metrics", "collect", "--db", str(db), "--accounts", str(accounts), "--no-followers"],
        out=out,
    )
    assert status == 0, out.getvalue()
    assert "from 0 deliveries" in out.getvalue()
