"""Bad input on the command line: a clear one-line refusal, never a traceback, a leaked
secret or a silently wrong action."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Served, cli


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("brandkit: ")
    return lines[0]


@pytest.mark.parametrize("verb", ["add", "list", "run"])
def test_outbox_refuses_a_redis_url_without_its_password(
    tmp_path: Path,
    mastodon: Served,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    verb: str,
) -> None:
    """The outbox lives in SQLite or PostgreSQL: a redis:// --db is refused, its password
    is not echoed, and no local file named after the URL is created."""
    monkeypatch.chdir(tmp_path)
    url = "redis://user:s3cretpw@127.0.0.1:1/0"
    argv = {
        "add": ["outbox", "add", "hi", "--account", "brand", "--create"],
        "list": ["outbox", "list"],
        "run": ["run", "--once", "--create"],
    }[verb]
    if verb != "list":
        argv += ["--accounts", str(mastodon.toml)]
    status, _ = cli(*argv, "--db", url)
    assert status == 1
    line = _error(capsys)
    assert "s3cretpw" not in line
    assert "PostgreSQL" in line
    assert not (tmp_path / "redis:").exists()
