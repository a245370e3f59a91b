"""Bad input on the command line: a clear one-line refusal, never a traceback, a leaked
secret or a silently wrong action."""

from __future__ import annotations

import io
import json
import sys
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


@pytest.mark.parametrize(
    "argv",
    [
        ["preview", "-"],
        ["outbox", "add", "-", "--account", "brand", "--create"],
    ],
)
def test_standard_input_that_is_not_utf8_is_refused_in_one_line(
    tmp_path: Path,
    mastodon: Served,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
) -> None:
    """A file in Latin-1 (or a binary) piped in is refused with a message, not a
    UnicodeDecodeError traceback, and nothing is stored."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(
        sys,
        "stdin",
        io.TextIOWrapper(io.BytesIO("Caf\xe9 ouvert".encode("latin-1")), encoding="utf-8"),
    )
    if argv[0] == "outbox":
        argv = [*argv, "--accounts", str(mastodon.toml), "--db", str(tmp_path / "o.db")]
    status, out = cli(*argv)
    assert status == 1
    assert "UTF-8" in _error(capsys)
    assert out == ""
    assert not (tmp_path / "o.db").exists()


@pytest.mark.parametrize("verb", ["cancel", "retry", "show"])
def test_an_empty_delivery_id_names_no_delivery(
    tmp_path: Path, mastodon: Served, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    """`brandkit outbox cancel "$ID"` with ID unset is refused: an empty prefix would
    otherwise match the outbox's only delivery and cancel it."""
    db = str(tmp_path / "o.db")
    status, _ = cli(
        "outbox",
        "add",
        "hi",
        "--account",
        "brand",
        "--accounts",
        str(mastodon.toml),
        "--db",
        db,
        "--create",
        "--json",
    )
    assert status == 0
    capsys.readouterr()
    status, out = cli("outbox", verb, "", "--db", db)
    assert status == 1
    assert "id" in _error(capsys)
    assert out == ""
    status, out = cli("outbox", "list", "--db", db, "--json")
    assert [d["status"] for d in json.loads(out)] == ["pending"]


def test_an_ambiguous_delivery_id_prefix_is_refused(
    tmp_path: Path, mastodon: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """A prefix two ids share acts on neither (17 hex ids: two start with the same digit)."""
    db = str(tmp_path / "o.db")
    ids: list[str] = []
    for i in range(17):
        status, out = cli(
            *("outbox", "add", f"post {i}", "--account", "brand"),
            *("--accounts", str(mastodon.toml), "--db", db, "--create", "--json"),
        )
        assert status == 0
        ids.append(json.loads(out)[0]["id"])
    shared = next(a[0] for a in ids if sum(b[0] == a[0] for b in ids) > 1)
    capsys.readouterr()
    assert cli("outbox", "cancel", shared, "--db", db)[0] == 1
    assert "more than one" in _error(capsys)
    status, out = cli("outbox", "list", "--db", db, "--json")
    assert {d["status"] for d in json.loads(out)} == {"pending"}


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "1e300"])
@pytest.mark.parametrize(
    "argv",
    [
        ["accounts", "check"],
        ["inbox", "sync"],
        ["inbox", "reply", "mastodon:brand:1", "thanks"],
    ],
)
def test_a_timeout_that_is_no_number_of_seconds_is_a_usage_error(
    tmp_path: Path,
    mastodon: Served,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    value: str,
) -> None:
    """--timeout nan, -1 or 0 is refused before any request: nan and -1 ended `accounts
    check` in a ValueError traceback, and made `inbox sync` run without a timeout or
    fail every account as timed out."""
    db = tmp_path / "i.db"
    extra = [] if argv[0] == "accounts" else ["--db", str(db)]
    status, out = cli(*argv, "--accounts", str(mastodon.toml), *extra, f"--timeout={value}")
    assert status == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "--timeout" in err and value in err
    assert out == ""
    assert mastodon.emu.requests == []
    assert not db.exists()


@pytest.mark.parametrize("at", ["0001-01-01T00:00+01:00", "9999-12-31T23:30-01:00"])
def test_a_time_that_has_no_utc_equivalent_is_a_usage_error(
    tmp_path: Path, mastodon: Served, capsys: pytest.CaptureFixture[str], at: str
) -> None:
    """--at a time whose UTC falls outside the calendar (year 0 or 10000) is refused in the
    usage message; it ended in an OverflowError traceback, after the outbox was created."""
    db = tmp_path / "o.db"
    status, out = cli(
        *("outbox", "add", "hi", "--account", "brand", "--accounts", str(mastodon.toml)),
        *("--db", str(db), "--create", "--at", at),
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "--at" in err and at in err
    assert out == ""
    assert not db.exists()


@pytest.mark.parametrize("verb", ["list", "sync"])
def test_prefix_with_a_redis_url_does_not_echo_its_password(
    tmp_path: Path, mastodon: Served, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    """`inbox --prefix` with a redis:// --db is refused without the URL's password (the
    refusal quoted the whole URL, and called it an SQLite file)."""
    extra = ["--accounts", str(mastodon.toml)] if verb == "sync" else []
    url = "redis://user:s3cretpw@127.0.0.1:1/0"
    status, _ = cli("inbox", verb, "--db", url, "--prefix", "x_", *extra)
    assert status == 1
    line = _error(capsys)
    assert "s3cretpw" not in line
    assert "is an SQLite file" not in line


def test_metrics_prefix_with_a_redis_url_does_not_echo_its_password() -> None:
    """`metrics collect --metrics-db redis://… --prefix` is refused without the password."""
    from argparse import Namespace

    from brandkit.errors import ConfigurationError
    from brandkit.metrics._cli import _prefixed

    with pytest.raises(ConfigurationError) as caught:
        _prefixed(Namespace(prefix="x_"), "redis://user:s3cretpw@127.0.0.1:1/0")
    assert "s3cretpw" not in str(caught.value)
    assert "is an SQLite file" not in str(caught.value)


@pytest.mark.parametrize("poll", ["nan", "-1", "0", "1e300"])
def test_run_refuses_a_poll_that_is_no_wait_before_starting(
    tmp_path: Path, mastodon: Served, capsys: pytest.CaptureFixture[str], poll: str
) -> None:
    """--poll is a usage error unless it is a wait a clock can hold: 1e300 ended the
    worker in an OverflowError traceback at its first idle wait, and nan, -1 or 0 were
    refused only after the start line said "polling every nan s"."""
    status, out = cli(
        *("run", "--accounts", str(mastodon.toml), "--db", str(tmp_path / "o.db")),
        *("--create", f"--poll={poll}"),
    )
    assert status == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "--poll" in err and poll in err
    assert out == ""


@pytest.mark.parametrize("margin", ["nan", "inf", "-60"])
def test_refresh_margin_that_is_no_number_of_seconds_is_a_usage_error(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    margin: str,
) -> None:
    """`accounts refresh --margin nan` found every token "not due" and exited 0: a cron
    job with a mistyped margin would never refresh anything. It is refused instead."""
    from brandkit.auth.store import EncryptedStore, new_key

    monkeypatch.setenv("BRANDKIT_STORE_KEY", new_key())
    store = tmp_path / "credentials.db"
    EncryptedStore(store).close()
    status, out = cli("accounts", "refresh", "--store", str(store), f"--margin={margin}")
    assert status == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "--margin" in err and margin in err
    assert out == ""
