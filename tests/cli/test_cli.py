"""The command line as a user meets it (issue 10 item 4, issue 17's CLI items): version, log
levels, exit statuses, refusals in one line, ``outbox add|resolve``, ``accounts list|check``,
``run``'s messages, ``report --force``, JSON listings, progress on terminals only."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from brandkit import DeliveryStatus, MetricsStore, Outbox, Post
from brandkit.cli import main
from brandkit.metrics import MetricSample, read_csv
from brandkit.testing._images import png
from tests.cli.conftest import TOKEN_ENV, Served, cli

# -- the basics ----------------------------------------------------------------------------


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the package version and exits 0."""
    from brandkit import __version__

    assert cli("--version")[0] == 0
    assert capsys.readouterr().out.strip() == f"brandkit {__version__}"


@pytest.mark.parametrize(
    ("flags", "level"),
    [(["-v"], logging.INFO), (["-vv"], logging.DEBUG), (["--log-level", "error"], logging.ERROR)],
)
def test_log_level_before_or_after_the_command(
    tmp_path: Path, mastodon: Served, flags: list[str], level: int
) -> None:
    """-v / -vv / --log-level set the brandkit logger's level, before or after the command."""
    for argv in ([*flags, "accounts", "list"], ["accounts", "list", *flags]):
        logging.getLogger("brandkit").setLevel(logging.NOTSET)
        status, _ = cli(*argv, "--accounts", str(mastodon.toml))
        assert status == 0
        assert logging.getLogger("brandkit").level == level


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown option is a usage error: status 2, the usage on stderr."""
    assert cli("outbox", "list", "--nope")[0] == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("brandkit: ")
    return lines[0]


# -- missing databases ---------------------------------------------------------------------


def test_run_refuses_a_missing_database(
    tmp_path: Path, mastodon: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run --db typo.db` fails with a clear message and creates nothing; --create makes it."""
    typo = tmp_path / "typo.db"
    status, _ = cli("run", "--db", str(typo), "--accounts", str(mastodon.toml), "--once")
    assert status == 1
    line = _one_line_error(capsys)
    assert "no outbox at" in line and "--create" in line
    assert not typo.exists()
    status, _ = cli(
        "run", "--db", str(typo), "--accounts", str(mastodon.toml), "--once", "--create"
    )
    assert status == 0 and typo.exists()


# -- run -------------------------------------------------------------------------------------


def test_run_once_exits_1_when_a_delivery_failed(
    tmp_path: Path, mastodon: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """A refused post makes `run --once` exit 1 and say so; the other one is sent."""
    db = tmp_path / "brandkit.db"
    mastodon.emu.fault(method="POST", path="/api/v1/statuses", status=422, times=1)
    with Outbox(db) as box:
        box.add(Post(text="refused"), mastodon.account)
        box.add(Post(text="fine"), mastodon.account)
    status, text = cli("run", "--db", str(db), "--accounts", str(mastodon.toml), "--once")
    assert status == 1
    assert "failed   mastodon:brand" in text
    assert text.splitlines()[-1] == "done: failed 1, sent 1"
    assert mastodon.emu.post_texts() == ["fine"]


def test_run_once_progress_only_on_a_terminal(
    tmp_path: Path, mastodon: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A counter is drawn on standard error when it is a terminal, never otherwise."""

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    db = tmp_path / "brandkit.db"
    for tty in (False, True):
        err = Tty() if tty else io.StringIO()
        monkeypatch.setattr(sys, "stderr", err)
        with Outbox(db) as box:
            for i in range(3):
                box.add(Post(text=f"post {i} {tty}"), mastodon.account)
        status, _ = cli("run", "--db", str(db), "--accounts", str(mastodon.toml), "--once")
        assert status == 0
        assert ("sending 3/3" in err.getvalue()) is tty


def test_run_says_when_it_starts_idles_and_stops(
    tmp_path: Path, mastodon: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run` prints its start (outbox, accounts, poll), that it is idle, and that it
    stopped with its leases released."""
    import threading

    import brandkit.outbox._cli as outbox_cli

    db = tmp_path / "brandkit.db"
    Outbox(db).close()
    stops: list[threading.Event] = []

    @contextlib.contextmanager
    def record(stop: threading.Event) -> Iterator[None]:
        stops.append(stop)
        yield

    monkeypatch.setattr(outbox_cli, "_stop_on_signals", record)
    idle = threading.Event()

    class Out(io.StringIO):
        def write(self, text: str) -> int:
            if text.startswith("idle:"):
                idle.set()
            return super().write(text)

    out = Out()
    result: list[int] = []
    argv = ["run", "--db", str(db), "--accounts", str(mastodon.toml), "--poll", "0.02"]
    thread = threading.Thread(target=lambda: result.append(main(argv, out)))
    thread.start()
    # Stop once it has said it is idle (a busy machine may take a while to get there), then
    # let a few more polls pass: the idle line must not be repeated.
    assert idle.wait(30), out.getvalue()
    threading.Event().wait(0.2)
    stops[0].set()
    thread.join(10)
    status, text = result[0], out.getvalue()
    assert status == 0
    lines = text.splitlines()
    assert lines[0].startswith(f"brandkit run: {db}, 1 account(s) (mastodon:brand)")
    assert "idle: nothing is waiting to be sent" in lines
    assert lines.count("idle: nothing is waiting to be sent") == 1  # said once, not per poll
    assert lines[-1] == "stopped: every lease released"


# -- outbox add and resolve --------------------------------------------------------------------


def test_outbox_add_with_media_alt_and_time(tmp_path: Path, mastodon: Served) -> None:
    """`outbox add` writes the post with its media and alt text, for the account, at --at."""
    db = tmp_path / "brandkit.db"
    image = tmp_path / "a.png"
    image.write_bytes(png(8, 8))
    status, text = cli(
        "outbox", "add", "launch day", "--db", str(db), "--create",
        "--accounts", str(mastodon.toml), "--account", "brand",
        "--media", str(image), "--alt", "a gradient",
        "--at", "2030-01-02T09:30:00+01:00", "--campaign", "launch",
    )  # fmt: skip
    assert status == 0, text
    assert text.startswith("added ") and "mastodon:brand" in text
    with Outbox(db) as box:
        (d,) = box.list()
    assert d.post.text == "launch day"
    assert d.post.media[0].alt == "a gradient"
    assert d.post.scheduled_at == datetime(2030, 1, 2, 8, 30, tzinfo=UTC)
    assert d.post.campaign == "launch"


def test_outbox_add_json(tmp_path: Path, mastodon: Served) -> None:
    """--json prints the added deliveries as data."""
    db = tmp_path / "brandkit.db"
    status, text = cli(
        "outbox", "add", "hi", "--db", str(db), "--create", "--json",
        "--accounts", str(mastodon.toml), "--account", "mastodon:brand",
    )  # fmt: skip
    assert status == 0
    (row,) = json.loads(text)
    assert row["status"] == "pending" and row["account"] == "mastodon:brand"


@pytest.mark.parametrize(
    ("extra", "status", "message"),
    [
        (["--account", "nobody"], 1, "no account 'nobody'"),
        (["--account", "brand", "--at", "2030-01-02T09:30"], 2, "no time zone"),
        (["--account", "brand", "--alt", "x"], 2, "give --media PATH first"),
        (["--account", "brand", "--media", "/nonexistent.png"], 1, "nonexistent.png"),
    ],
)
def test_outbox_add_refusals(
    tmp_path: Path,
    mastodon: Served,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    status: int,
    message: str,
) -> None:
    """An unknown account, a time without zone, an alt without media, a missing file."""
    db = tmp_path / "brandkit.db"
    argv = ["outbox", "add", "x", "--db", str(db), "--create", "--accounts", str(mastodon.toml)]
    assert cli(*argv, *extra)[0] == status
    assert message in capsys.readouterr().err


def test_outbox_add_refuses_what_can_never_go_out(
    tmp_path: Path, mastodon: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """Five images for Mastodon (four at most): refused at add, nothing written."""
    db = tmp_path / "brandkit.db"
    Outbox(db).close()
    argv = ["outbox", "add", "x", "--db", str(db), "--accounts", str(mastodon.toml)]
    argv += ["--account", "brand"]
    for i in range(5):
        path = tmp_path / f"{i}.png"
        path.write_bytes(png(4, 4))
        argv += ["--media", str(path), "--alt", f"image {i}"]
    assert cli(*argv)[0] == 1
    assert "mastodon" in _one_line_error(capsys)
    with Outbox(db) as box:
        assert box.list() == []


def test_outbox_resolve(tmp_path: Path, mastodon: Served) -> None:
    """`resolve --sent URL` marks an unknown sent; `--not-sent` makes one pending again."""
    db = tmp_path / "brandkit.db"
    with Outbox(db) as box:
        ids = []
        for text in ("a", "b"):
            (d,) = box.add(Post(text=text), mastodon.account)
            d.status, d.keys, d.attempts = DeliveryStatus.UNKNOWN, ["k"], 1
            box.save(d)
            box.release(d.id)
            ids.append(d.id)
    url = f"{mastodon.url}/@brand/1234"
    status, text = cli("outbox", "resolve", "--db", str(db), ids[0][:10], "--sent", url)
    assert (status, text) == (0, f"{ids[0]}: sent\n")
    status, text = cli("outbox", "resolve", "--db", str(db), ids[1], "--not-sent")
    assert (status, text) == (0, f"{ids[1]}: pending; the worker will send it\n")
    with Outbox(db) as box:
        sent, again = box.get(ids[0]), box.get(ids[1])
    assert sent is not None and sent.ids == ["1234"] and sent.url == url
    assert again is not None and again.status is DeliveryStatus.PENDING


def test_outbox_resolve_by_id_alone(
    tmp_path: Path, mastodon: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """`resolve --sent-id ID` records the post with that id (the library took an id alone,
    the command line asked for a URL); neither option, or --sent-id with --not-sent, is
    refused and nothing changes."""
    db = tmp_path / "brandkit.db"
    with Outbox(db) as box:
        (d,) = box.add(Post(text="a"), mastodon.account)
        d.status, d.keys, d.attempts = DeliveryStatus.UNKNOWN, ["k"], 1
        box.save(d)
        box.release(d.id)
    assert cli("outbox", "resolve", "--db", str(db), d.id)[0] != 0
    assert cli("outbox", "resolve", "--db", str(db), d.id, "--sent-id", "9", "--not-sent")[0] != 0
    capsys.readouterr()
    with Outbox(db) as box:
        still = box.get(d.id)
    assert still is not None and still.status is DeliveryStatus.UNKNOWN
    status, text = cli("outbox", "resolve", "--db", str(db), d.id, "--sent-id", "5678")
    assert (status, text) == (0, f"{d.id}: sent\n")
    with Outbox(db) as box:
        sent = box.get(d.id)
    assert sent is not None and sent.ids == ["5678"]


def test_resolve_help_says_not_sent_sends_again(capsys: pytest.CaptureFixture[str]) -> None:
    """The help of --not-sent warns that the post is sent again."""
    assert cli("outbox", "resolve", "--help")[0] == 0
    assert "SENDS IT" in capsys.readouterr().out


def test_top_level_help_is_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    """brandkit --help describes the command in plain words, not the docstring's markup."""
    assert cli("--help")[0] == 0
    out = capsys.readouterr().out
    assert "brandkit: a thin command line over the library." in out
    assert "``" not in out


def test_outbox_show_redacts_with_the_accounts_file(tmp_path: Path, mastodon: Served) -> None:
    """A secret echoed into a stored error is not shown when the accounts are given."""
    from brandkit import Rejected

    token = mastodon.account.secret("token") or ""
    db = tmp_path / "brandkit.db"
    with Outbox(db) as box:
        (d,) = box.add(Post(text="x"), mastodon.account)
        d.status = DeliveryStatus.FAILED
        d.error = Rejected(f"404: no route /bot{token}/x", platform="mastodon")
        box.save(d)
    argv = ("outbox", "show", "--db", str(db), d.id, "--accounts", str(mastodon.toml))
    for extra in ((), ("--json",)):
        status, text = cli(*argv, *extra)
        assert status == 0
        assert token not in text and "**********" in text


def test_outbox_list_redacts_with_the_accounts_file(tmp_path: Path, mastodon: Served) -> None:
    """`outbox list` shows errors too (its table and its JSON): with --accounts, as `outbox
    show`, a secret echoed into an error stored before the outbox knew the account is not
    shown (list had no --accounts: the token was printed)."""
    from brandkit import Rejected

    token = mastodon.account.secret("token") or ""
    db = tmp_path / "brandkit.db"
    with Outbox(db) as box:
        (d,) = box.add(Post(text="x"), mastodon.account)
        d.status = DeliveryStatus.FAILED
        d.error = Rejected(f"no route /bot{token}", platform="mastodon")
        box.save(d)
    argv = ("outbox", "list", "--db", str(db), "--accounts", str(mastodon.toml))
    for extra in ((), ("--json",)):
        status, text = cli(*argv, *extra)
        assert status == 0
        assert token not in text and "**********" in text
    status, text = cli(*argv, "--json")
    (row,) = json.loads(text)
    assert row["id"] == d.id and row["status"] == "failed"


# -- accounts ---------------------------------------------------------------------------------


def test_accounts_list_names_missing_variables(
    tmp_path: Path, mastodon: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """list shows every account, the names of secrets set, the variables missing, and never
    a secret's value."""
    toml = tmp_path / "two.toml"
    toml.write_text(
        mastodon.toml.read_text() + '[accounts.news]\nplatform = "telegram"\nchat_id = "@news"\n'
        'bot_token_env = "BK_CLI_UNSET_VARIABLE"\n'
    )
    monkeypatch.delenv("BK_CLI_UNSET_VARIABLE", raising=False)
    status, text = cli("accounts", "list", "--accounts", str(toml))
    assert status == 0
    assert "mastodon:brand" in text and "telegram:news" in text
    assert "not set: $BK_CLI_UNSET_VARIABLE" in text
    assert (mastodon.account.secret("token") or "?") not in text
    status, text = cli("accounts", "list", "--accounts", str(toml), "--json")
    rows = {r["key"]: r for r in json.loads(text)}
    assert rows["mastodon:brand"]["secrets"] == ["token"]
    assert rows["telegram:news"]["missing_env"] == ["BK_CLI_UNSET_VARIABLE"]


def test_accounts_list_and_check_each_account_alone(
    tmp_path: Path, mastodon: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An account's unset variables are its own: the others are listed as complete and
    checked, and an unset Ghost key is said to be unset (not refused as malformed, which
    made the whole file unlistable)."""
    toml = tmp_path / "three.toml"
    toml.write_text(
        mastodon.toml.read_text() + '[accounts.news]\nplatform = "telegram"\nchat_id = "@news"\n'
        'bot_token_env = "BK_CLI_UNSET_TELEGRAM"\n'
        '[accounts.blog]\nplatform = "ghost"\nurl = "https://blog.example"\n'
        'admin_key_env = "BK_CLI_UNSET_GHOST"\n'
    )
    monkeypatch.delenv("BK_CLI_UNSET_TELEGRAM", raising=False)
    monkeypatch.delenv("BK_CLI_UNSET_GHOST", raising=False)
    status, text = cli("accounts", "list", "--accounts", str(toml), "--json")
    assert status == 0, text
    rows = {r["key"]: r["missing_env"] for r in json.loads(text)}
    assert rows == {
        "mastodon:brand": [],
        "telegram:news": ["BK_CLI_UNSET_TELEGRAM"],
        "ghost:blog": ["BK_CLI_UNSET_GHOST"],
    }
    status, text = cli("accounts", "check", "--accounts", str(toml), "--account", "brand")
    assert status == 0, text
    assert text.startswith("ok ") and "accepted" in text
    status, text = cli("accounts", "check", "--accounts", str(toml), "--json")
    assert status == 1
    checked = {r["key"]: (r["ok"], r["checked"]) for r in json.loads(text)}
    assert checked == {
        "mastodon:brand": (True, "credentials"),
        "telegram:news": (False, "environment"),
        "ghost:blog": (False, "environment"),
    }


def test_accounts_check(tmp_path: Path, mastodon: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """check makes one authenticated read: ok with the right token (exit 0), FAILED with
    the platform's refusal otherwise (exit 1)."""
    status, text = cli("accounts", "check", "--accounts", str(mastodon.toml))
    assert status == 0, text
    assert text.startswith("ok ") and "accepted" in text
    monkeypatch.setenv(TOKEN_ENV, "wrong-token-0000")
    status, text = cli("accounts", "check", "--accounts", str(mastodon.toml), "--json")
    assert status == 1
    (row,) = json.loads(text)
    assert row["ok"] is False and row["checked"] == "credentials"
    assert "AuthError" in row["detail"]
    monkeypatch.delenv(TOKEN_ENV)
    status, text = cli("accounts", "check", "--accounts", str(mastodon.toml))
    assert status == 1 and f"${TOKEN_ENV}" in text


# -- report, metrics ----------------------------------------------------------------------------


def _store(path: Path, campaign: str = "launch") -> Path:
    with MetricsStore(path) as store:
        store.add(
            [
                MetricSample(
                    platform="x",
                    account="x:brand",
                    metric="likes",
                    value=3.0,
                    fetched_at=datetime(2026, 3, 1, tzinfo=UTC),
                    post_id="1",
                    campaign=campaign,
                )
            ]
        )
    return path


def test_report_refuses_to_overwrite_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An existing --out is kept unless --force is given."""
    db = _store(tmp_path / "m.db")
    out = tmp_path / "report.html"
    out.write_text("mine")
    assert cli("report", "--db", str(db), "--out", str(out))[0] == 1
    assert "--force" in _one_line_error(capsys)
    assert out.read_text() == "mine"
    assert cli("report", "--db", str(db), "--out", str(out), "--force")[0] == 0
    assert out.read_text() != "mine"


def test_unwritable_paths_are_one_line_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--out under a file and --csv naming a directory print one line, no traceback."""
    db = _store(tmp_path / "m.db")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert cli("report", "--db", str(db), "--out", str(blocker / "r.html"))[0] == 1
    _one_line_error(capsys)
    assert cli("metrics", "export", "--db", str(db), "--csv", str(tmp_path))[0] == 1
    _one_line_error(capsys)


def test_emulate_bad_or_busy_port(capsys: pytest.CaptureFixture[str]) -> None:
    """A port out of range is a usage error; one in use prints one line, no traceback."""
    assert cli("emulate", "mastodon", "--port", "99999")[0] == 2
    assert "argument --port: 99999 is not a TCP port" in capsys.readouterr().err
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli("emulate", "mastodon", "--port", str(port))[0] == 1
        assert f"127.0.0.1:{port}" in _one_line_error(capsys)


def test_metrics_latest_json(tmp_path: Path) -> None:
    """`metrics latest --json` prints the samples as data."""
    db = _store(tmp_path / "m.db")
    status, text = cli("metrics", "latest", "--db", str(db), "--json")
    assert status == 0
    (row,) = json.loads(text)
    assert row["metric"] == "likes" and row["value"] == 3.0


def test_csv_export_neutralises_formulas(tmp_path: Path) -> None:
    """A campaign named like a formula is written with a leading ' (numbers untouched) and
    read back unchanged; --no-formula-guard writes it as it is."""
    formula = '=HYPERLINK("http://evil.example","x")'
    db = _store(tmp_path / "m.db", campaign=formula)
    guarded, raw = tmp_path / "g.csv", tmp_path / "r.csv"
    assert cli("metrics", "export", "--db", str(db), "--csv", str(guarded))[0] == 0
    assert (
        cli("metrics", "export", "--db", str(db), "--csv", str(raw), "--no-formula-guard")[0] == 0
    )
    text = guarded.read_text()
    assert "'=HYPERLINK" in text and ",3," in text
    assert ",=HYPERLINK" not in text
    assert ",=HYPERLINK" in raw.read_text().replace('"=HYPERLINK', "=HYPERLINK")
    (sample,) = read_csv(guarded)
    assert sample.campaign == formula and sample.value == 3.0


@pytest.mark.parametrize(
    "cell", ["=1+1", "+1", "-x", "@SUM(A1)", "\tx", "\rx", "plain", "'=x", "'quoted", "a=b"]
)
def test_formula_guard_round_trips(cell: str) -> None:
    """Every OWASP formula start is guarded (and a leading apostrophe, so that reading back
    is exact); other text is left alone."""
    from brandkit.metrics._export import _text, _untext

    guarded = _text(cell)
    assert guarded.startswith("'") is cell.startswith(("=", "+", "-", "@", "\t", "\r", "'"))
    assert not guarded.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert _untext(guarded) == cell


def test_metrics_database_is_private(tmp_path: Path) -> None:
    """A new metrics file and its -wal/-shm are 0600."""
    import os
    import stat

    old = os.umask(0o022)
    try:
        with MetricsStore(tmp_path / "m.db") as store:
            store.add([MetricSample("x", "x:a", "likes", 1.0, datetime(2026, 1, 1, tzinfo=UTC))])
            modes = {
                p.name: stat.S_IMODE(p.stat().st_mode)
                for p in tmp_path.iterdir()
                if p.name.startswith("m.db")
            }
    finally:
        os.umask(old)
    assert "m.db" in modes and set(modes.values()) == {0o600}


# -- one real process ---------------------------------------------------------------------------


def test_subprocess_exit_statuses(tmp_path: Path) -> None:
    """As a real process: --version exits 0; a missing outbox exits 1 with one line on
    standard error and no traceback."""
    run = [sys.executable, "-m", "brandkit.cli"]
    done = subprocess.run([*run, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.startswith("brandkit ")
    missing = tmp_path / "typo.db"
    done = subprocess.run(
        [*run, "outbox", "list", "--db", str(missing)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "no outbox" in done.stderr
    assert "Traceback" not in done.stderr
    assert not missing.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM")
def test_sigterm_during_a_slow_request_stops_run_promptly(tmp_path: Path, mastodon: Served) -> None:
    """`brandkit run` stuck in a slow create ends within seconds of SIGTERM, exit 0, with no
    lease left in the outbox (issue 17, Medium 4)."""
    import os
    import signal
    import sqlite3
    import time

    db = tmp_path / "brandkit.db"
    with Outbox(db) as box:
        box.add(Post(text="slow"), mastodon.account)
    mastodon.emu.fault(method="POST", path="/api/v1/statuses", delay=6.0)
    command = ["run", "--db", str(db), "--accounts", str(mastodon.toml), "--poll", "0.05"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "brandkit.cli", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("brandkit run:")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with sqlite3.connect(db) as conn:
                (status,) = conn.execute("SELECT status FROM outbox_deliveries").fetchone()
            if status == "sending":
                break
            time.sleep(0.05)
        time.sleep(0.3)  # the create is on its way to the slow server
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        took = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert took < 3.0
    assert out.strip().endswith("stopped: every lease released")
    with sqlite3.connect(db) as conn:
        leases = conn.execute("SELECT lease_owner FROM outbox_deliveries").fetchall()
    assert leases == [(None,)]
