"""``brandkit outbox list|show|retry|cancel`` and ``brandkit run``."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from brandkit import DeliveryStatus, Post, Rejected
from brandkit.cli import main
from brandkit.errors import OutboxConflict
from brandkit.outbox import Outbox
from brandkit.testing.mastodon import MastodonEmulator
from tests.outbox._fakenet import OutboxNetEmulator


def cli(*argv: str) -> tuple[int, str]:
    """Run the command line; return its status and what it printed."""
    out = io.StringIO()
    status = main(list(argv), out)
    return status, out.getvalue()


@pytest.fixture
def filled(db: Path, emu: OutboxNetEmulator) -> dict[str, str]:
    """An outbox with one pending, one failed and one unknown delivery."""
    box = Outbox(db)
    pending, failed, unknown = box.add(
        Post(text="hello | world", campaign="launch"),
        [emu.account(name="a"), emu.account(name="b"), emu.account(name="c")],
    )
    failed.status = DeliveryStatus.FAILED
    failed.keys = ["k1", "k2"]
    failed.attempts = 1
    failed.error = Rejected(
        "outboxnet answered 422: text too long", platform="outboxnet", status_code=422
    )
    box.save(failed)
    unknown.status = DeliveryStatus.UNKNOWN
    box.save(unknown)
    box.close()
    return {"pending": pending.id, "failed": failed.id, "unknown": unknown.id}


def test_list_prints_a_table_and_a_summary(db: Path, filled: dict[str, str]) -> None:
    """list shows every delivery with its short id, status and error, then the counts."""
    status, text = cli("outbox", "list", "--db", str(db))
    assert status == 0
    assert filled["failed"][:12] in text
    assert "422: text too long" in text
    assert "0/2" in text
    assert "3 deliveries (pending 1, failed 1, unknown 1)" in text


def test_a_filtered_list_says_how_many_it_shows_of_the_whole(
    db: Path, filled: dict[str, str]
) -> None:
    """The summary counts the whole outbox: under --status (or a --limit that cuts) it said
    "3 deliveries" below one row, as though the filter had matched three."""
    status, text = cli("outbox", "list", "--db", str(db), "--status", "failed")
    assert status == 0 and filled["failed"][:12] in text
    assert "\n1 shown of 3 deliveries (pending 1, failed 1, unknown 1)" in text
    status, text = cli("outbox", "list", "--db", str(db), "--limit", "2")
    assert "\n2 shown of 3 deliveries (" in text


def test_one_delivery_is_one_delivery(db: Path, emu: OutboxNetEmulator) -> None:
    """The summary of an outbox holding one said "1 deliveries"."""
    with Outbox(db) as box:
        box.add(Post(text="hello"), emu.account(name="a"))
    status, text = cli("outbox", "list", "--db", str(db))
    assert status == 0
    assert text.endswith("\n1 delivery (pending 1)\n")


def test_list_filters_and_prints_json(db: Path, filled: dict[str, str]) -> None:
    """--status filters, --json prints the stored deliveries as data."""
    status, text = cli("outbox", "list", "--db", str(db), "--status", "failed", "--json")
    assert status == 0
    (row,) = json.loads(text)
    assert row["id"] == filled["failed"]
    assert row["error"]["type"] == "Rejected"
    assert row["error"]["status_code"] == 422


def test_list_by_an_account_name_says_to_give_its_key(
    db: Path, filled: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """--account a (a name) matched nothing and listed nothing, silently; it is refused
    with the key's shape. The key lists that account's deliveries."""
    status, text = cli("outbox", "list", "--db", str(db), "--account", "a")
    said = text + capsys.readouterr().err
    assert status != 0 and "platform:name" in said and "'a'" in said
    status, text = cli("outbox", "list", "--db", str(db), "--account", "outboxnet:a", "--json")
    assert status == 0
    assert [row["id"] for row in json.loads(text)] == [filled["pending"]]


def test_show_prints_the_history(db: Path, filled: dict[str, str]) -> None:
    """show prints one delivery (found by a short prefix) with its error and history."""
    status, text = cli("outbox", "show", "--db", str(db), filled["failed"][:8])
    assert status == 0
    assert f"id:         {filled['failed']}" in text
    assert "Rejected: outboxnet answered 422" in text
    assert "campaign:   launch" in text
    assert text.count("pending") >= 1
    assert "failed" in text.split("history:")[1]


def test_show_json(db: Path, filled: dict[str, str]) -> None:
    """show --json gives the delivery and its history."""
    status, text = cli("outbox", "show", "--db", str(db), "--json", filled["unknown"])
    assert status == 0
    data = json.loads(text)
    assert data["delivery"]["status"] == "unknown"
    assert [e["status"] for e in data["history"]] == ["pending", "unknown"]


def test_retry_and_cancel(db: Path, filled: dict[str, str]) -> None:
    """retry makes a failed delivery pending and keeps an unknown one unknown; cancel stops."""
    assert cli("outbox", "retry", "--db", str(db), filled["failed"]) == (
        0,
        f"{filled['failed']}: pending\n",
    )
    status, text = cli("outbox", "retry", "--db", str(db), filled["unknown"])
    assert status == 0
    assert "unknown" in text
    assert "look it up" in text
    assert cli("outbox", "cancel", "--db", str(db), filled["pending"])[0] == 0
    box = Outbox(db)
    assert box.get(filled["pending"]).status is DeliveryStatus.CANCELLED  # type: ignore[union-attr]
    assert box.get(filled["unknown"]).status is DeliveryStatus.UNKNOWN  # type: ignore[union-attr]
    box.close()


def test_refusals_exit_1_with_the_reason(
    db: Path, filled: dict[str, str], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Cancelling twice, an unknown id, an ambiguous prefix or a missing file exit 1."""
    assert cli("outbox", "cancel", "--db", str(db), filled["pending"])[0] == 0
    assert cli("outbox", "cancel", "--db", str(db), filled["pending"])[0] == 1
    assert "cannot be cancelled" in capsys.readouterr().err
    assert cli("outbox", "show", "--db", str(db), "zzzz")[0] == 1
    assert "no delivery 'zzzz'" in capsys.readouterr().err
    assert cli("outbox", "show", "--db", str(db), "")[0] == 1
    assert "give a delivery's id" in capsys.readouterr().err
    assert cli("outbox", "list", "--db", str(tmp_path / "missing.db"))[0] == 1
    assert "no outbox" in capsys.readouterr().err
    assert not (tmp_path / "missing.db").exists()


def test_run_needs_an_accounts_file(
    db: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """run refuses a missing accounts file with a message, before touching anything."""
    assert cli("run", "--db", str(db), "--accounts", str(tmp_path / "nope.toml"), "--once")[0] == 1
    assert "cannot read" in capsys.readouterr().err


def mastodon_toml(path: Path, url: str) -> Path:
    """An accounts file naming one Mastodon account whose token is in the environment."""
    path.write_text(
        f'[accounts.brand]\nplatform = "mastodon"\ninstance_url = "{url}"\n'
        'token_env = "BK_OUTBOX_TEST_TOKEN"\n'
    )
    return path


def test_run_once_publishes_what_is_due(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run --once publishes due deliveries for the accounts of the file, then exits."""
    emu = MastodonEmulator()
    with emu.serve() as url:
        acct = emu.account(name="brand")
        monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", acct.secret("token") or "")
        box = Outbox(db)
        (d,) = box.add(Post(text="from the command line"), acct)
        box.close()
        toml = mastodon_toml(tmp_path / "brandkit.toml", url)
        status, text = cli("run", "--db", str(db), "--accounts", str(toml), "--once")
        assert status == 0
        lines = text.splitlines()
        assert lines[0].endswith("1 account(s), 1 delivery(ies) due")
        assert lines[1].startswith(f"sent     mastodon:brand  {d.id}  {url}/@")
        assert lines[2] == "done: sent 1"
        assert emu.post_texts() == ["from the command line"]
        status, text = cli("run", "--db", str(db), "--accounts", str(toml), "--once")
        assert status == 0
        assert text.splitlines()[-1] == "done: nothing was due"


def test_run_once_shows_a_posts_url_escaped(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URL on a `sent` line is the platform's word (a Mastodon instance's ``url``): an
    escape sequence in it reached the terminal, which obeyed it (a window title set, the
    screen cleared). It is shown escaped, as errors and `outbox show` are."""
    emu = MastodonEmulator()
    with emu.serve() as url:
        hostile = f"{url}/@brand/109\x1b]0;pwned\x07\x1b[2J"
        emu.fault(
            method="POST",
            path="/api/v1/statuses",
            status=200,
            body={
                "id": "109",
                "url": hostile,
                "uri": f"{url}/users/brand/statuses/109",
                "created_at": "2026-12-01T00:00:00Z",
                "content": "<p>hi</p>",
            },
        )
        acct = emu.account(name="brand")
        monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", acct.secret("token") or "")
        box = Outbox(db)
        (d,) = box.add(Post(text="hi"), acct)
        box.close()
        toml = mastodon_toml(tmp_path / "brandkit.toml", url)
        status, text = cli("run", "--db", str(db), "--accounts", str(toml), "--once")
    assert status == 0
    assert "\x1b" not in text and "\x07" not in text
    assert f"sent     mastodon:brand  {d.id}  {url}/@brand/109\\x1b]0;pwned" in text


def test_run_once_shows_a_rate_limited_delivery_as_retry(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery the worker will try again later is printed as `retry`, with the reason."""
    emu = MastodonEmulator()
    emu.fault(method="POST", path="/api/v1/statuses", status=429, headers={"retry-after": "3600"})
    with emu.serve() as url:
        acct = emu.account(name="brand")
        monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", acct.secret("token") or "")
        box = Outbox(db)
        (d,) = box.add(Post(text="not now"), acct)
        box.close()
        toml = mastodon_toml(tmp_path / "brandkit.toml", url)
        status, text = cli("run", "--db", str(db), "--accounts", str(toml), "--once")
    assert status == 0  # not a failure yet: the worker tries again after the reset
    assert text.splitlines()[1].startswith(f"retry    mastodon:brand  {d.id}  mastodon")
    assert "429" in text
    assert emu.post_texts() == []


def test_run_once_json_prints_what_the_outbox_holds(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`run --json` printed the worker's copy of each delivery: a rate-limited one said
    "failed" while the outbox held it "pending" (to be tried again), so a script took a
    post that would still go out for a lost one. Each line is the stored delivery, with the
    outcome the table prints (`retry`)."""
    emu = MastodonEmulator()
    emu.fault(method="POST", path="/api/v1/statuses", status=429, headers={"retry-after": "3600"})
    with emu.serve() as url:
        acct = emu.account(name="brand")
        monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", acct.secret("token") or "")
        box = Outbox(db)
        (d,) = box.add(Post(text="not now"), acct)
        box.close()
        toml = mastodon_toml(tmp_path / "brandkit.toml", url)
        status, text = cli("run", "--db", str(db), "--accounts", str(toml), "--once", "--json")
    assert status == 0
    (line,) = [json.loads(t) for t in text.splitlines() if t.startswith("{")]
    with Outbox(db) as box:
        stored = box.get(d.id)
    assert stored is not None and stored.status is DeliveryStatus.PENDING
    assert line["id"] == d.id
    assert line["status"] == "pending" and line["outcome"] == "retry"
    assert "429" in json.dumps(line["error"])


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_run_stops_cleanly_on_sigterm(db: Path, tmp_path: Path) -> None:
    """`brandkit run` publishes as posts become due and exits 0 on SIGTERM."""
    emu = MastodonEmulator()
    with emu.serve() as url:
        acct = emu.account(name="brand")
        env = {**os.environ, "BK_OUTBOX_TEST_TOKEN": acct.secret("token") or ""}
        toml = mastodon_toml(tmp_path / "brandkit.toml", url)
        command = ["run", "--db", str(db), "--accounts", str(toml), "--poll", "0.05", "--json"]
        command.append("--create")
        proc = subprocess.Popen(
            [sys.executable, "-m", "brandkit.cli", *command],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        try:
            box = Outbox(db)
            (d,) = box.add(Post(text="picked up while running"), acct)
            box.close()
            assert proc.stdout is not None
            # Bounded: a worker that never reports fails here, with what it said.
            ready, _, _ = select.select([proc.stdout], [], [], 60)
            if not ready:
                proc.kill()
                _, err = proc.communicate()
                pytest.fail(f"brandkit run reported nothing in 60 s; it said: {err}")
            line = json.loads(proc.stdout.readline())
            assert line["id"] == d.id
            assert line["status"] == "sent"
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=20)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, err
    assert emu.post_texts() == ["picked up while running"]


def test_add_at_prints_and_lists_the_time_in_utc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--at 09:30+01:00` is due at 08:30 UTC: `add` says so where it writes "UTC", and `list`
    and `show` print that time too, beside their other (UTC) times."""
    monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", "token-not-used-1234")
    toml = mastodon_toml(tmp_path / "brandkit.toml", "https://mastodon.example")
    db = str(tmp_path / "brandkit.db")
    status, text = cli(
        "outbox", "add", "later", "--account", "brand", "--accounts", str(toml),
        "--db", db, "--create", "--at", "2030-01-05T09:30+01:00",
    )  # fmt: skip
    assert status == 0
    assert text.rstrip().endswith("pending, due 2030-01-05 08:30:00 UTC")
    status, text = cli("outbox", "list", "--db", db)
    assert status == 0
    assert "2030-01-05 08:30:00" in text
    assert "09:30" not in text
    delivery_id = text.splitlines()[1].split()[0]
    status, text = cli("outbox", "show", delivery_id, "--db", db)
    assert status == 0
    assert "scheduled:  2030-01-05 08:30:00" in text


def test_add_at_a_past_time_says_it_is_due_now(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A time already past (a mistyped year) is due at once; `add` says so rather than print
    it as if it were a schedule."""
    monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", "token-not-used-1234")
    toml = mastodon_toml(tmp_path / "brandkit.toml", "https://mastodon.example")
    status, text = cli(
        "outbox", "add", "soon", "--account", "brand", "--accounts", str(toml),
        "--db", str(tmp_path / "brandkit.db"), "--create", "--at", "2020-01-05T09:30+01:00",
    )  # fmt: skip
    assert status == 0
    assert text.rstrip().endswith("pending, due now (2020-01-05 08:30:00 UTC has passed)")


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_run_puts_the_signal_handlers_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`main(["run", ...])` called in-process (a tool, a test) leaves SIGINT and SIGTERM as
    it found them: else the caller's Ctrl-C and its supervisor's SIGTERM would only set an
    event nobody looks at any more, and the process could not be stopped."""
    monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", "token-not-used-1234")
    toml = mastodon_toml(tmp_path / "brandkit.toml", "https://mastodon.example")
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    # Python's own Ctrl-C handler, whatever this process inherited (a shell that starts a
    # job in the background gives it SIGINT ignored, and nothing would be raised below).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        status, _ = cli(
            "run", "--db", str(tmp_path / "brandkit.db"), "--accounts", str(toml),
            "--once", "--create",
        )  # fmt: skip
        assert status == 0
        assert {sig: signal.getsignal(sig) for sig in before} == before
        with pytest.raises(KeyboardInterrupt):
            signal.raise_signal(signal.SIGINT)
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_run_once_cut_short_by_sigterm_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM during `run --once` (a cron job's timeout) while a create is under way: it
    says it was interrupted and exits 1, never "done: nothing was due" with status 0, for
    the post it cut off is in doubt until the next run looks it up."""
    import threading
    import time

    emu = MastodonEmulator()
    emu.fault(method="POST", path="/api/v1/statuses", delay=3)
    db = tmp_path / "brandkit.db"
    with emu.serve() as url:
        acct = emu.account(name="brand")
        monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", acct.secret("token") or "")
        box = Outbox(db)
        box.add(Post(text="cut off"), acct)
        box.close()
        toml = mastodon_toml(tmp_path / "brandkit.toml", url)

        def terminate_once_sending() -> None:
            # The create reaching the emulator means `run` has its handlers installed.
            deadline = time.monotonic() + 30
            while not emu.count("POST", "/api/v1/statuses") and time.monotonic() < deadline:
                time.sleep(0.01)
            if emu.count("POST", "/api/v1/statuses"):  # else the assertions below say so
                os.kill(os.getpid(), signal.SIGTERM)

        killer = threading.Thread(target=terminate_once_sending)
        killer.start()
        try:
            status, text = cli("run", "--db", str(db), "--accounts", str(toml), "--once")
        finally:
            killer.join()
    assert status == 1, text
    assert text.splitlines()[-1].startswith("interrupted: settled none;")
    assert "done:" not in text


@pytest.mark.parametrize("given", ["2026-12-05", "2026-12-05Z", "2026-12-05+01:00"])
def test_add_at_a_date_alone_asks_for_a_time(
    tmp_path: Path, given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--at` with a date alone is a usage error that asks for a time and a zone; following
    the hint works (the old hint, "add one, e.g. 2026-12-05Z", was refused in turn, as
    2026-12-05ZZ)."""
    toml = mastodon_toml(tmp_path / "brandkit.toml", "https://mastodon.example")
    argv = ["outbox", "add", "later", "--account", "brand", "--accounts", str(toml)]
    argv += ["--db", str(tmp_path / "brandkit.db"), "--create", "--at", given]
    assert cli(*argv)[0] == 2
    err = capsys.readouterr().err
    assert "is a date without a time" in err and "ZZ" not in err
    assert "e.g. 2026-12-05T09:30Z (UTC)" in err


def test_run_says_when_due_posts_belong_to_accounts_it_does_not_serve(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emu: OutboxNetEmulator
) -> None:
    """A post whose account was removed from the accounts file is never sent by this
    worker: `run --once` names that account instead of saying nothing was due."""
    monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", "token-not-used-1234")
    toml = mastodon_toml(tmp_path / "brandkit.toml", "https://mastodon.example")
    box = Outbox(db)
    box.add(Post(text="stranded"), emu.account(name="gone"))
    box.close()
    status, text = cli("run", "--db", str(db), "--accounts", str(toml), "--once")
    assert status == 0
    assert "outboxnet:gone" in text
    assert "not served" in text
    assert text.splitlines()[-1] == "done: nothing to send for the accounts served"


def test_run_names_every_account_it_does_not_serve_behind_a_long_queue(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emu: OutboxNetEmulator
) -> None:
    """600 stranded posts of one account ahead of another's one: both accounts are named
    (the list came from the first 500 due deliveries, which named only the first)."""
    monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", "token-not-used-1234")
    toml = mastodon_toml(tmp_path / "brandkit.toml", "https://mastodon.example")
    box = Outbox(db)
    first, second = emu.account(name="gone1"), emu.account(name="gone2")
    for i in range(600):
        box.add(Post(text=f"stranded {i}"), first)
    box.add(Post(text="stranded too"), second)
    box.close()
    status, text = cli("run", "--db", str(db), "--accounts", str(toml), "--once")
    assert status == 0
    (line,) = [line for line in text.splitlines() if "not served" in line]
    assert "outboxnet:gone1, outboxnet:gone2" in line


@pytest.mark.skipif(os.name != "posix", reason="SIGTERM")
def test_run_forever_says_when_due_posts_belong_to_accounts_it_does_not_serve(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emu: OutboxNetEmulator
) -> None:
    """`run` (without --once) names such accounts once when it goes idle, rather than
    saying only that nothing is waiting."""
    monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", "token-not-used-1234")
    toml = mastodon_toml(tmp_path / "brandkit.toml", "https://mastodon.example")
    box = Outbox(db)
    box.add(Post(text="stranded"), emu.account(name="gone"))
    box.close()
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        status, text = cli("run", "--db", str(db), "--accounts", str(toml), "--poll", "0.05")
    finally:
        timer.cancel()
    assert status == 0
    lines = text.splitlines()
    assert sum("not served" in line and "outboxnet:gone" in line for line in lines) == 1
    assert "idle: nothing is waiting to be sent here" in lines
    assert lines[-1] == "stopped: every lease released"


def test_run_once_reports_the_stored_status_not_the_workers_copy(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The save that records a post as sent is refused (another process changed the row):
    the outbox still holds the delivery as in doubt, so `run --once` must not print `sent`
    and exit 0; it prints `unknown` (the next run looks the post up) and exits 1."""
    emu = MastodonEmulator()
    real_save_many = Outbox.save_many

    def refuse_sent(self: Outbox, deliveries: Any) -> None:
        deliveries = list(deliveries)
        if any(d.status is DeliveryStatus.SENT for d in deliveries):
            raise OutboxConflict("delivery changed by another process")
        real_save_many(self, deliveries)

    with emu.serve() as url:
        acct = emu.account(name="brand")
        monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", acct.secret("token") or "")
        box = Outbox(db)
        (d,) = box.add(Post(text="in doubt"), acct)
        box.close()
        toml = mastodon_toml(tmp_path / "brandkit.toml", url)
        monkeypatch.setattr(Outbox, "save_many", refuse_sent)
        status, text = cli("run", "--db", str(db), "--accounts", str(toml), "--once")
    assert emu.post_texts() == ["in doubt"]
    with Outbox(db) as box:  # opening it recovers what was left sending
        stored = box.get(d.id)
    assert stored is not None and stored.status is DeliveryStatus.UNKNOWN
    line = text.splitlines()[1]
    assert line.startswith(f"unknown  mastodon:brand  {d.id}"), line
    assert status == 1


def test_run_once_reports_a_damaged_row_it_failed(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row the claim fails for its damage (a JSON cut short) was counted among the due
    ones and then never mentioned: ``run --once`` said ``done: sent 1`` and exited 0 while a
    post had just failed. It gets its ``failed`` line with the reason, and the exit status
    says a person is needed."""
    from tests.outbox.test_damaged_rows import _damage

    emu = MastodonEmulator()
    with emu.serve() as url:
        acct = emu.account(name="brand")
        monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", acct.secret("token") or "")
        with Outbox(db) as box:
            (bad,) = box.add(Post(text="damaged"), acct)
            (good,) = box.add(Post(text="fine"), acct)
        _damage(db, bad.id, "{cut")
        toml = mastodon_toml(tmp_path / "brandkit.toml", url)
        status, text = cli("run", "--db", str(db), "--accounts", str(toml), "--once")
    assert status == 1
    lines = text.splitlines()
    assert any(
        line.startswith(f"failed   mastodon:brand  {bad.id}  ") and "cannot be read" in line
        for line in lines
    )
    assert any(line.startswith(f"sent     mastodon:brand  {good.id}  ") for line in lines)
    assert lines[-1] == "done: failed 1, sent 1"
    assert emu.post_texts() == ["fine"]


def test_show_prints_a_parts_url_escaped(
    db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``run`` escapes the URL a platform answered (an instance's ``url``), but ``outbox
    show`` printed it as stored: the terminal obeyed its escape sequence (a window title
    set, the screen cleared) when a person looked at the delivery."""
    emu = MastodonEmulator()
    with emu.serve() as url:
        hostile = f"{url}/@brand/109\x1b]0;pwned\x07\x1b[2J"
        emu.fault(
            method="POST",
            path="/api/v1/statuses",
            status=200,
            body={
                "id": "109",
                "url": hostile,
                "uri": f"{url}/users/brand/statuses/109",
                "created_at": "2026-12-01T00:00:00Z",
                "content": "<p>hi</p>",
            },
        )
        acct = emu.account(name="brand")
        monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", acct.secret("token") or "")
        with Outbox(db) as box:
            (d,) = box.add(Post(text="hi"), acct)
        toml = mastodon_toml(tmp_path / "brandkit.toml", url)
        assert cli("run", "--db", str(db), "--accounts", str(toml), "--once")[0] == 0
    status, text = cli("outbox", "show", d.id, "--db", str(db))
    assert status == 0
    assert "\x1b" not in text and "\x07" not in text
    assert "part 1: 109 " in text and "/@brand/109\\x1b]0;pwned" in text


def test_add_for_an_unknown_account_names_each_account_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The refusal of an unknown ``--account`` listed every account twice (``it defines:
    brand, brand``: once by its table name, once by its key, both read as names); it names
    each account once, with its key."""
    monkeypatch.setenv("BK_OUTBOX_TEST_TOKEN", "t")
    toml = mastodon_toml(tmp_path / "brandkit.toml", "https://mastodon.example")
    db = tmp_path / "brandkit.db"
    argv = ["outbox", "add", "x", "--db", str(db), "--create", "--accounts", str(toml)]
    assert cli(*argv, "--account", "nobody")[0] == 1
    err = capsys.readouterr().err
    assert "(it defines: brand (mastodon:brand));" in err


@pytest.mark.parametrize("flags", [[], ["--not-sent", "--sent-id", "5"]])
def test_resolve_without_one_answer_is_a_usage_error(
    db: Path, filled: dict[str, str], capsys: pytest.CaptureFixture[str], flags: list[str]
) -> None:
    """``outbox resolve ID`` with neither answer (or both) was refused with exit 1 in the
    API's words (``sent_url/sent_id``, ``not_sent=True``), which no flag is called; it is a
    usage error (2) naming the flags, and nothing is changed."""
    status, _ = cli("outbox", "resolve", filled["unknown"], "--db", str(db), *flags)
    assert status == 2
    err = capsys.readouterr().err
    assert "--sent URL" in err and "--not-sent" in err and "not_sent=True" not in err
    with Outbox(db) as box:
        got = box.get(filled["unknown"])
        assert got is not None and got.status is DeliveryStatus.UNKNOWN
