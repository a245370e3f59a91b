"""``brandkit inbox sync|list|reply`` against the Mastodon emulator over a socket."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from brandkit import Client, Inbox, Post
from brandkit.cli import main
from brandkit.testing.bluesky import BlueskyEmulator
from brandkit.testing.mastodon import MastodonEmulator
from tests.servers._servers import postgres_db  # noqa: F401 - fixture


@pytest.fixture
def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[MastodonEmulator, Path]]:
    emu = MastodonEmulator()
    with emu.serve() as url:
        account = emu.account(name="acme")
        monkeypatch.setenv("ACME_TOKEN", account.secret("token") or "")
        config = tmp_path / "brandkit.toml"
        config.write_text(
            f'[accounts.acme]\nplatform = "mastodon"\ninstance_url = "{url}"\n'
            'token_env = "ACME_TOKEN"\n'
        )
        with Client() as client:
            (d,) = client.publish(Post(text="Ask us anything"), account)
        emu.audience("ana").reply(d.ids[0], "Are you open on Sunday?")
        emu.audience("ben").mention("what a nice shop")
        yield emu, config


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_sync_list_and_reply(served: tuple[MastodonEmulator, Path], tmp_path: Path) -> None:
    emu, config = served
    db = str(tmp_path / "brandkit.db")
    status, text = run("inbox", "sync", "--accounts", str(config), "--db", db)
    assert status == 0, text
    assert "mastodon:acme" in text and "2 new" in text
    status, text = run("inbox", "sync", "--accounts", str(config), "--db", db, "--json")
    assert status == 0 and json.loads(text)[0]["added"] == 0

    status, text = run("inbox", "list", "--db", db, "--json")
    rows = json.loads(text)
    assert {r["kind"] for r in rows} == {"reply", "mention"}
    assert all(r["status"] == "new" and "raw" not in r for r in rows)
    question = next(r for r in rows if r["kind"] == "reply")

    status, text = run("inbox", "list", "--db", db, "--unanswered")
    assert status == 0 and "Are you open on Sunday?" in text and question["key"] in text

    for _ in range(2):  # the second run finds the answer already sent
        status, text = run(
            "inbox",
            "reply",
            question["key"],
            "Yes, ten to four.",
            "--accounts",
            str(config),
            "--db",
            db,
        )
        assert status == 0, text
        assert text.startswith("sent")
    (answer,) = emu.answers(question["id"])
    assert answer.endswith("Yes, ten to four.")

    status, text = run("inbox", "list", "--db", db, "--unanswered", "--json")
    assert [r["kind"] for r in json.loads(text)] == ["mention"]
    status, text = run("inbox", "list", "--db", db, "--status", "replied", "--json")
    assert [r["id"] for r in json.loads(text)] == [question["id"]]


def test_errors_say_what_to_fix(
    served: tuple[MastodonEmulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = served
    missing = str(tmp_path / "none.db")
    assert run("inbox", "list", "--db", missing)[0] == 1
    assert "run brandkit inbox sync first" in capsys.readouterr().err
    db = str(tmp_path / "b.db")
    assert run("inbox", "sync", "--accounts", str(config), "--db", db)[0] == 0
    assert run("inbox", "reply", "nope", "hi", "--accounts", str(config), "--db", db)[0] == 1
    assert "no message match 'nope'" in capsys.readouterr().err
    # A malformed --older-than is a usage error (exit status 2), said with the option.
    assert run("inbox", "list", "--db", db, "--unanswered", "--older-than", "soon")[0] == 2
    assert "argument --older-than: 'soon' is not a duration" in capsys.readouterr().err
    for huge in ("99999999999d", "2999999d"):  # past timedelta, then past year 1
        assert run("inbox", "list", "--db", db, "--unanswered", "--older-than", huge)[0] == 2
        assert "shorter" in capsys.readouterr().err
    assert run("inbox", "sync", "--accounts", str(config), "--db", db, "--account", "zz")[0] == 1
    assert "no account zz" in capsys.readouterr().err
    # A typo beside a right name was skipped silently: the sync read one account, exit 0.
    both = ("--account", "acme", "--account", "acmee")
    assert run("inbox", "sync", "--accounts", str(config), "--db", db, *both)[0] == 1
    assert "no account acmee in" in capsys.readouterr().err
    status, text = run("inbox", "sync", "--accounts", str(config), "--db", db, "--account", "acme")
    assert status == 0 and "mastodon:acme" in text


def test_a_failed_read_is_exit_status_one(
    served: tuple[MastodonEmulator, Path], tmp_path: Path
) -> None:
    emu, config = served
    emu.fault(method="GET", path="/api/v1/notifications", status=403)
    status, text = run("inbox", "sync", "--accounts", str(config), "--db", str(tmp_path / "c.db"))
    assert status == 1
    assert text.startswith("FAILED mastodon:acme")


def test_sync_reads_accounts_at_the_same_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three accounts on two platforms, over sockets: ``--concurrency`` reaches the
    concurrent sync (the default is the library's), every account is read whole, and a
    bound below 1 is refused with what to give."""
    masto, sky = MastodonEmulator(), BlueskyEmulator()
    asked: list[int | None] = []
    real = Inbox.async_sync

    async def recording(self: Inbox, client: Any, accounts: Any, **kw: Any) -> Any:
        asked.append(kw.get("concurrency"))
        return await real(self, client, accounts, **kw)

    monkeypatch.setattr(Inbox, "async_sync", recording)
    with masto.serve() as masto_url, sky.serve() as sky_url:
        lines = []
        for name, emu, url in (("ana", masto, masto_url), ("bo", masto, masto_url)):
            account = emu.account(name=name)
            for i in range(3):  # each mentions the account made last
                emu.audience(f"fan{i}").mention(f"hello {name} {i}")
            monkeypatch.setenv(f"{name.upper()}_TOKEN", account.secret("token") or "")
            lines.append(
                f'[accounts.{name}]\nplatform = "mastodon"\ninstance_url = "{url}"\n'
                f'token_env = "{name.upper()}_TOKEN"\n'
            )
        sky_account = sky.account(name="cy")
        for i in range(3):
            sky.audience(f"fan{i}").mention(f"hello {i}")
        monkeypatch.setenv("CY_PASSWORD", sky_account.secret("app_password") or "")
        lines.append(
            f'[accounts.cy]\nplatform = "bluesky"\nhandle = "{sky_account.settings["handle"]}"\n'
            f'base_url = "{sky_url}"\napp_password_env = "CY_PASSWORD"\n'
        )
        config = tmp_path / "brandkit.toml"
        config.write_text("\n".join(lines))
        db = str(tmp_path / "brandkit.db")
        status, text = run("inbox", "sync", "--accounts", str(config), "--db", db, "--json")
        assert status == 0, text
        assert {r["account"]: r["added"] for r in json.loads(text)} == {
            "mastodon:ana": 3,
            "mastodon:bo": 3,
            "bluesky:cy": 3,
        }
        status, text = run(
            "inbox", "sync", "--accounts", str(config), "--db", db, "--concurrency", "2"
        )
        assert status == 0 and text.count(" 0 new ") == 3, text
        # A usage error, refused before any account is read (tests/cli/test_count_options.py).
        assert (
            run("inbox", "sync", "--accounts", str(config), "--db", db, "--concurrency", "0")[0]
            == 2
        )
    assert asked == [None, 2]
    assert "argument --concurrency: 0 is out of range" in capsys.readouterr().err


def test_list_options_are_applied_or_refused_never_dropped(
    served: tuple[MastodonEmulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--older-than without --unanswered listed every message; --kind with --unanswered
    listed every kind; --status with --unanswered was ignored; a negative --limit listed
    nothing. Each is applied, or refused with what to change."""
    _, config = served
    db = str(tmp_path / "brandkit.db")
    assert run("inbox", "sync", "--accounts", str(config), "--db", db)[0] == 0
    status, text = run("inbox", "list", "--db", db, "--unanswered", "--kind", "mention", "--json")
    assert status == 0 and [r["kind"] for r in json.loads(text)] == ["mention"]
    # Each a usage error (exit status 2, as argparse's own), not a refusal of the inbox (1).
    status, text = run("inbox", "list", "--db", db, "--unanswered", "--kind", "dm")
    assert status == 2 and "argument --kind: invalid choice: 'dm'" in capsys.readouterr().err
    status, text = run("inbox", "list", "--db", db, "--status", "answered")
    assert status == 2 and "argument --status: invalid choice" in capsys.readouterr().err
    status, text = run("inbox", "list", "--db", db, "--unanswered", "--older-than", "2x")
    assert status == 2 and "argument --older-than: '2x' is not a duration" in (
        capsys.readouterr().err
    )
    status, text = run("inbox", "list", "--db", db, "--older-than", "2h")
    assert status == 2 and text == ""
    assert "add --unanswered" in capsys.readouterr().err
    status, text = run("inbox", "list", "--db", db, "--unanswered", "--status", "replied")
    assert status == 2 and "leave out --status" in capsys.readouterr().err
    status, text = run("inbox", "list", "--db", db, "--unanswered", "--older-than", "0s", "--json")
    assert status == 0 and len(json.loads(text)) == 2
    status, text = run("inbox", "list", "--db", db, "--limit", "-1")
    assert status == 2 and "argument --limit: -1 is out of range" in capsys.readouterr().err
    status, text = run("inbox", "list", "--db", db, "--limit", "1", "--json")
    assert status == 0 and len(json.loads(text)) == 1


def test_list_prints_the_audiences_text_without_letting_the_terminal_obey_it(
    tmp_path: Path,
) -> None:
    """A message or a handle holding an escape sequence (set the window title, write the
    clipboard through OSC 52, clear the screen) or a right-to-left override went to the
    terminal as it was; it is printed as visible escapes now. JSON escapes it already."""
    from datetime import UTC, datetime

    from brandkit import Author, Message

    db = tmp_path / "brandkit.db"
    hostile = Message(
        platform="mastodon",
        account="mastodon:acme",
        id="1",
        kind="mention",
        author=Author(id="9", handle="troll\u202eevil"),
        text="hi\x1b]52;c;cm0gLXJmIH4=\x07 there\x1b[2J\x9b31m 👩\u200d💻 ok",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    with Inbox(db) as inbox:
        inbox.add([hostile])
    status, text = run("inbox", "list", "--db", str(db))
    assert status == 0
    assert not any(c in text for c in "\x1b\x07\x9b\u202e"), repr(text)
    assert "@troll\\u202eevil: hi\\x1b]52;c;cm0gLXJmIH4=\\x07 there\\x1b[2J\\x9b31m" in text
    assert "👩\u200d💻 ok" in text  # an emoji sequence stays whole
    status, text = run("inbox", "list", "--db", str(db), "--json")
    assert json.loads(text)[0]["text"] == hostile.text


def test_inbox_commands_take_the_table_prefix_brandkit_report_reads(
    postgres_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An agency keeps each client's inbox under a table prefix on one server, which
    `brandkit report --prefix` reads; the inbox commands had no --prefix, so they could only
    reach brandkit_ tables."""
    from datetime import UTC, datetime

    from brandkit import Author, Message
    from tests.servers._servers import unique_prefix

    prefix = unique_prefix()
    message = Message(
        platform="mastodon",
        account="mastodon:acme",
        id="7",
        kind="mention",
        author=Author(id="1", handle="ana"),
        text="hello",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
    )
    with Inbox(postgres_url, prefix=prefix) as inbox:
        inbox.add([message])
    status, text = run("inbox", "list", "--db", postgres_url, "--prefix", prefix, "--json")
    assert status == 0 and [r["key"] for r in json.loads(text)] == [message.key]
    Inbox(tmp_path / "b.db").close()
    status, text = run("inbox", "list", "--db", str(tmp_path / "b.db"), "--prefix", prefix)
    assert status == 1 and "leave --prefix out" in capsys.readouterr().err


def test_list_refuses_an_account_name_where_a_key_is_needed(
    served: tuple[MastodonEmulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``inbox sync --account acme`` takes the name; ``inbox list --account acme`` took it
    too and listed nothing, as if the account had no message."""
    _, config = served
    db = str(tmp_path / "brandkit.db")
    assert run("inbox", "sync", "--accounts", str(config), "--db", db)[0] == 0
    for flags in ((), ("--unanswered",)):
        status, text = run("inbox", "list", "--db", db, "--account", "acme", *flags)
        assert status == 2 and text == ""
        assert "--account acme: give the account's key" in capsys.readouterr().err
    status, text = run("inbox", "list", "--db", db, "--account", "mastodon:acme", "--json")
    assert status == 0 and len(json.loads(text)) == 2


def test_sync_prints_a_platforms_refusal_without_letting_the_terminal_obey_it(
    served: tuple[MastodonEmulator, Path], tmp_path: Path
) -> None:
    """The reason a platform gives for refusing a read is its own text: printed as it was,
    an escape sequence in it set the terminal's title (or worse)."""
    emu, config = served
    emu.fault(
        method="GET",
        path="/api/v1/notifications",
        status=403,
        body={"error": "denied\x1b]0;pwned\x07 \u202eevil"},
    )
    status, text = run("inbox", "sync", "--accounts", str(config), "--db", str(tmp_path / "c.db"))
    assert status == 1 and text.startswith("FAILED mastodon:acme")
    assert "\x1b" not in text and "\u202e" not in text
    assert "denied\\x1b]0;pwned\\x07" in text


def test_list_limit_reads_only_the_latest_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``inbox list --limit 2`` read and decoded every stored message (a year of an
    agency's inbox) to print the last two. It reads those two, and prints them oldest
    first, with the filters applied before the limit."""
    from datetime import UTC, datetime, timedelta

    from brandkit import Author, Message
    from brandkit.inbox import _store

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    db = tmp_path / "brandkit.db"
    with Inbox(db, clock=lambda: t0 + timedelta(days=2)) as inbox:
        inbox.add(
            Message(
                platform="mastodon",
                account="mastodon:acme",
                id=f"m{n}",
                kind="found" if n == 49 else "mention" if n % 2 else "reply",
                author=Author(id=f"u{n}"),
                text=f"hello {n}",
                created_at=t0 + timedelta(minutes=n),
            )
            for n in range(50)
        )
        inbox.mark("mastodon:acme|m48", "archived")
    decoded: list[str | None] = []
    real = _store._message

    def counted(data: str, key: str | None = None) -> Message:
        decoded.append(key)
        return real(data, key)

    monkeypatch.setattr(_store, "_message", counted)
    cases: list[tuple[tuple[str, ...], list[str]]] = [
        # The post listening found (m49) only when asked for.
        ((), ["m47", "m48"]),
        (("--kind", "found"), ["m49"]),
        (("--kind", "reply"), ["m46", "m48"]),
        (("--unanswered",), ["m46", "m47"]),
        (("--unanswered", "--older-than", "1d", "--kind", "mention"), ["m45", "m47"]),
        (("--status", "new", "--account", "mastodon:acme"), ["m46", "m47"]),
    ]
    for flags, ids in cases:
        decoded.clear()
        status, text = run("inbox", "list", "--db", str(db), "--limit", "2", "--json", *flags)
        assert status == 0, text
        assert [r["id"] for r in json.loads(text)] == ids, flags
        assert len(decoded) == len(ids), flags
    status, text = run("inbox", "list", "--db", str(db), "--limit", "0", "--json")
    assert status == 0 and json.loads(text) == []


def test_list_reads_the_statuses_in_one_query_not_one_per_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``inbox list`` looked each message's status up on its own: on PostgreSQL, a round
    trip per message printed (thousands for a whole inbox)."""
    from contextlib import contextmanager
    from datetime import UTC, datetime, timedelta

    from brandkit import Author, Message

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    db = tmp_path / "brandkit.db"
    with Inbox(db) as inbox:
        inbox.add(
            Message(
                platform="mastodon",
                account="mastodon:acme",
                id=f"m{n}",
                kind="reply",
                author=Author(id=f"u{n}"),
                text=f"hello {n}",
                created_at=t0 + timedelta(minutes=n),
            )
            for n in range(1200)
        )
        inbox.mark("mastodon:acme|m7", "seen")
    reads = [0]
    real = Inbox._reading

    @contextmanager
    def counted(self: Inbox) -> Any:
        reads[0] += 1
        with real(self) as db:
            yield db

    monkeypatch.setattr(Inbox, "_reading", counted)
    status, text = run("inbox", "list", "--db", str(db), "--json")
    rows = json.loads(text)
    assert status == 0 and len(rows) == 1200
    assert {r["id"]: r["status"] for r in rows if r["status"] != "new"} == {"m7": "seen"}
    assert reads[0] <= 5


def test_an_empty_db_is_refused_by_every_command(
    served: tuple[MastodonEmulator, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """``brandkit inbox sync --db "$DB"`` with DB unset synced into a temporary database
    and reported the messages stored; they were lost at once."""
    _, config = served
    for argv in (
        ("inbox", "sync", "--accounts", str(config), "--db", ""),
        ("inbox", "list", "--db", ""),
        ("inbox", "reply", "x", "hi", "--accounts", str(config), "--db", ""),
    ):
        status, text = run(*argv)
        assert status == 1 and text == "", argv
        assert "give a file" in capsys.readouterr().err


def test_an_answer_the_platform_refuses_is_exit_status_one_and_the_message_still_waits(
    served: tuple[MastodonEmulator, Path], tmp_path: Path
) -> None:
    """``brandkit inbox reply`` with the platform refusing the answer: exit status 1, the
    refusal printed (escaped), and the message still listed as waiting, not replied."""
    emu, config = served
    db = str(tmp_path / "brandkit.db")
    assert run("inbox", "sync", "--accounts", str(config), "--db", db)[0] == 0
    rows = json.loads(run("inbox", "list", "--db", db, "--json")[1])
    question = next(r for r in rows if r["kind"] == "reply")
    emu.fault(
        method="POST",
        path="/api/v1/statuses",
        status=422,
        body={"error": "Validation failed\x1b[2J: blocked"},
    )
    status, text = run(
        "inbox", "reply", question["key"], "Yes!", "--accounts", str(config), "--db", db
    )
    assert status == 1
    assert text.startswith("failed ") and "Validation failed\\x1b[2J: blocked" in text
    assert "\x1b" not in text
    assert emu.answers(question["id"]) == []
    status, text = run("inbox", "list", "--db", db, "--unanswered", "--json")
    waiting = {r["key"]: r["status"] for r in json.loads(text)}
    assert waiting[question["key"]] == "new"


def test_an_answer_posted_but_not_recorded_says_so_and_the_same_command_lands_it_once(
    served: tuple[MastodonEmulator, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The inbox could not record a posted answer (its file stayed locked): the command
    said only the lock error, as though nothing was sent. It says the answer is posted and
    that the same command finishes it; run again, it records the answer, not a second."""
    from brandkit.errors import OutboxConflict

    emu, config = served
    db = str(tmp_path / "brandkit.db")
    assert run("inbox", "sync", "--accounts", str(config), "--db", db)[0] == 0
    rows = json.loads(run("inbox", "list", "--db", db, "--json")[1])
    question = next(r for r in rows if r["kind"] == "reply")
    real = Inbox.replied

    def locked(self: Inbox, message: Any, delivery: Any) -> None:
        raise OutboxConflict("the inbox 'brandkit.db' stayed locked by another process")

    monkeypatch.setattr(Inbox, "replied", locked)
    reply = ("inbox", "reply", question["key"], "Yes.", "--accounts", str(config), "--db", db)
    assert run(*reply)[0] == 1
    err = capsys.readouterr().err
    assert "the answer is sent (delivery " in err and "stayed locked" in err
    assert "run the same command again" in err
    assert len(emu.answers(question["id"])) == 1
    monkeypatch.setattr(Inbox, "replied", real)
    status, text = run(*reply)
    assert status == 0 and text.startswith("sent"), text
    assert len(emu.answers(question["id"])) == 1
    replied = json.loads(run("inbox", "list", "--db", db, "--status", "replied", "--json")[1])
    assert [r["id"] for r in replied] == [question["id"]]


def test_sync_from_start_reads_an_account_whose_saved_cursor_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``acme`` of the accounts file reconnected to another X user: every sync failed on
    the saved cursor, which X's adapter refuses, and said to pass since=None, which the
    command line could not. It says to sync --from-start, which reads the account anew."""
    from brandkit.testing.x import XEmulator

    emu = XEmulator()
    with emu.serve() as url:
        old, new = emu.account(name="acme"), emu.account(name="newacme")
        with Client(accounts=[old, new]) as client:
            (first,) = client.publish(Post(text="hello"), old)
            (second,) = client.publish(Post(text="hello again"), new)
        emu.audience("ana").reply(first.ids[0], "to the old account")
        emu.audience("ben").reply(second.ids[0], "to the new one")
        config = tmp_path / "brandkit.toml"
        config.write_text(
            f'[accounts.acme]\nplatform = "x"\nbase_url = "{url}"\n'
            'user_token_env = "ACME_X_TOKEN"\n'
        )
        db = ("--accounts", str(config), "--db", str(tmp_path / "brandkit.db"))
        monkeypatch.setenv("ACME_X_TOKEN", old.secret("user_token") or "")
        assert run("inbox", "sync", *db)[0] == 0
        monkeypatch.setenv("ACME_X_TOKEN", new.secret("user_token") or "")
        status, text = run("inbox", "sync", *db)
        assert status == 1 and "FAILED x:acme" in text
        assert "brandkit inbox sync --from-start --account acme" in text
        status, text = run("inbox", "sync", *db, "--from-start", "--account", "acme")
        assert status == 0 and "ok     x:acme" in text and "1 new" in text
        assert run("inbox", "sync", *db)[0] == 0
        status, text = run("inbox", "list", "--db", str(tmp_path / "brandkit.db"), "--json")
        assert sorted(m["text"] for m in json.loads(text)) == [
            "to the new one",
            "to the old account",
        ]


def test_list_leaves_out_the_posts_listening_found_unless_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A saved search stores the posts it finds beside the inbox by the thousand: `inbox
    list` showed them (status new) among, and above, the audience's messages to the brand,
    which the unanswered list, the counts and the report leave them out of."""
    from brandkit import Query
    from brandkit.listening import Listener
    from brandkit.testing.x import XEmulator

    emu = XEmulator()
    with emu.serve() as url:
        acme = emu.account(name="acme")
        with Client(accounts=[acme]) as client:
            (ours,) = client.publish(Post(text="Our boots are out"), acme)
        emu.audience("ana").reply(ours.ids[0], "Do they come in green?")
        for i in range(3):
            emu.audience(f"walker{i}").post(f"boots for the hills {i}", lang="en")
        monkeypatch.setenv("ACME_X_TOKEN", acme.secret("user_token") or "")
        config = tmp_path / "brandkit.toml"
        config.write_text(
            f'[accounts.acme]\nplatform = "x"\nbase_url = "{url}"\n'
            'user_token_env = "ACME_X_TOKEN"\n'
        )
        db = str(tmp_path / "brandkit.db")
        with Listener(db) as listener, Client(accounts=[acme]) as client:
            listener.watch("boots", Query(any=["boots"]), accounts=[acme])
            assert listener.sync(client)[0].found == 4  # ours too
        assert run("inbox", "sync", "--accounts", str(config), "--db", db)[0] == 0
    for flags in ((), ("--status", "new"), ("--limit", "2")):
        status, text = run("inbox", "list", "--db", db, "--json", *flags)
        assert status == 0
        assert [(m["kind"], m["text"]) for m in json.loads(text)] == [
            ("reply", "Do they come in green?")
        ], flags
    status, text = run("inbox", "list", "--db", db, "--json", "--kind", "found")
    assert status == 0 and len(json.loads(text)) == 4
    assert {m["kind"] for m in json.loads(text)} == {"found"}


def test_reply_to_a_message_of_an_account_the_file_lacks_says_to_add_it(
    served: tuple[MastodonEmulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The inbox holds a message to an account the accounts file no longer has (or another
    file was given): the command answered with the library's advice, "pass account= or
    build the client with accounts=[...]", which a shell cannot."""
    emu, config = served
    db = str(tmp_path / "brandkit.db")
    assert run("inbox", "sync", "--accounts", str(config), "--db", db)[0] == 0
    status, text = run("inbox", "list", "--db", db, "--json", "--kind", "reply")
    (question,) = json.loads(text)
    empty = tmp_path / "other.toml"
    empty.write_text(config.read_text().replace("[accounts.acme]", "[accounts.shop]"))
    status, text = run(
        "inbox", "reply", question["key"], "Yes!", "--accounts", str(empty), "--db", db
    )
    assert status == 1 and text == ""
    err = capsys.readouterr().err
    assert f"{question['key']} came to the account mastodon:acme, which is not in" in err
    assert "pass account=" not in err
    assert [t for t in emu.post_texts() if "Yes!" in t] == []


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sync_marks_replied_what_the_worker_answered_from_the_same_database(
    served: tuple[MastodonEmulator, Path],
    tmp_path: Path,
    backend: str,
    request: pytest.FixtureRequest,
) -> None:
    """An answer queued for the worker (`queue_reply`) and sent by `brandkit run`: a sync
    through a client with an outbox marks its message replied, but `brandkit inbox sync`
    reads with none, so the message stayed in `list --unanswered` for good, inviting a
    second answer."""
    from brandkit import Account, Outbox

    emu, config = served
    db = str(tmp_path / "brandkit.db")
    if backend == "postgresql":
        db = request.getfixturevalue("postgres_db")
    common = ("--accounts", str(config), "--db", db)
    assert run("inbox", "sync", *common)[0] == 0
    acme = Account.load(config)["acme"]
    with Inbox(db) as inbox, Outbox(db, accounts=[acme]) as outbox:
        (question,) = inbox.messages(kind="reply")
        inbox.queue_reply(outbox, question, Post(text="Yes, 10 to 4."), acme)
    assert run("run", "--once", *common)[0] == 0
    assert "@ana Yes, 10 to 4." in emu.post_texts()
    status, text = run("inbox", "list", "--db", db, "--unanswered", "--json")
    assert question.key in [m["key"] for m in json.loads(text)]  # sent, not settled yet
    assert run("inbox", "sync", *common)[0] == 0
    status, text = run("inbox", "list", "--db", db, "--unanswered", "--json")
    assert status == 0 and question.key not in [m["key"] for m in json.loads(text)]
    with Inbox(db) as inbox:
        assert inbox.status(question) == "replied"
        (times,) = inbox.response_times()
        assert times.answered == 1 and times.median is not None


def test_a_message_that_can_never_be_answered_can_be_archived_from_the_shell(
    served: tuple[MastodonEmulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its author deleted it: the answer fails ("there is nothing to answer") and the
    message stayed in `list --unanswered` and the report's unanswered count for good, with
    no command to take it off (the library's `inbox.mark` alone could)."""
    emu, config = served
    db = str(tmp_path / "brandkit.db")
    common = ("--accounts", str(config), "--db", db)
    assert run("inbox", "sync", *common)[0] == 0
    status, text = run("inbox", "list", "--db", db, "--json", "--kind", "reply")
    (question,) = json.loads(text)
    emu.delete(question["id"])
    status, text = run("inbox", "reply", question["key"], "Yes!", *common)
    assert status == 1 and "nothing to answer" in text
    status, text = run("inbox", "mark", question["id"], "archived", "--db", db)
    assert status == 0 and text == f"archived {question['key']}\n"
    status, text = run("inbox", "list", "--db", db, "--unanswered", "--json")
    assert question["key"] not in [m["key"] for m in json.loads(text)]
    with Inbox(db) as inbox:
        assert inbox.status(question["key"]) == "archived"
        assert inbox.response_times()[0].unanswered == 1  # the mention alone
    assert run("inbox", "mark", question["key"], "gone", "--db", db)[0] == 2
    assert "argument status: invalid choice: 'gone'" in capsys.readouterr().err
    assert run("inbox", "mark", "nope", "seen", "--db", db)[0] == 1
    assert "no message match 'nope'" in capsys.readouterr().err
    assert run("inbox", "mark", "x", "seen", "--db", str(tmp_path / "none.db"))[0] == 1
    assert "no inbox at" in capsys.readouterr().err


def test_list_json_says_who_each_message_is_assigned_to(
    served: tuple[MastodonEmulator, Path], tmp_path: Path
) -> None:
    """A team shares the inbox out with `Inbox.assign`; ``inbox list --json`` (what a
    dashboard or a script reads) gave each message's status but not who has it, so the
    team's split of the work could not be read from the shell."""
    _, config = served
    db = str(tmp_path / "brandkit.db")
    assert run("inbox", "sync", "--accounts", str(config), "--db", db)[0] == 0
    with Inbox(db) as inbox:
        question = inbox.messages(kind="reply")[0]
        inbox.assign(question, to="ana@agency.example")
    status, text = run("inbox", "list", "--db", db, "--json")
    assert status == 0
    assert {r["kind"]: r["assignee"] for r in json.loads(text)} == {
        "reply": "ana@agency.example",
        "mention": None,
    }


def test_json_output_does_not_let_the_terminal_obey_the_audiences_text(
    served: tuple[MastodonEmulator, Path], tmp_path: Path
) -> None:
    """JSON escapes C0 controls but not C1 ones (U+009B is CSI to a terminal that reads
    8-bit controls) nor the bidirectional overrides, which reorder the line: ``inbox list
    --json`` printed to a terminal passed them on as the text list does not. They are
    written as JSON escapes; read back, the text is the same."""
    emu, config = served
    hostile = "see \x9b2J\x9b31m me \u202eevil\u202c ok 👩\u200d💻"
    emu.audience("zed").mention(hostile)
    db = str(tmp_path / "brandkit.db")
    assert run("inbox", "sync", "--accounts", str(config), "--db", db)[0] == 0
    status, text = run("inbox", "list", "--db", db, "--json")
    assert status == 0
    assert not any(c in text for c in "\x9b\u202e\u202c"), repr(text)
    assert "\\u009b2J" in text and "👩\u200d💻" in text
    assert any(hostile in r["text"] for r in json.loads(text))


def test_a_key_holding_control_characters_is_shown_not_obeyed(tmp_path: Path) -> None:
    """The listing escaped the audience's text and handle but printed the message key as
    it came, and the key holds the platform's id: an escape sequence in it reached the
    terminal."""
    from datetime import UTC, datetime

    from brandkit import Author, Message

    db = str(tmp_path / "inbox.db")
    with Inbox(db) as inbox:
        inbox.add(
            [
                Message(
                    platform="x",
                    account="x:brand",
                    id="1\x1b]0;owned\x07",
                    kind="mention",
                    author=Author(id="9", handle="fan"),
                    text="hello",
                    created_at=datetime(2026, 12, 1, tzinfo=UTC),
                )
            ]
        )
    status, text = run("inbox", "list", "--db", db)
    assert status == 0
    assert "\x1b" not in text and "\x07" not in text
    assert "\\x1b]0;owned\\x07" in text


def test_sync_says_how_many_stored_messages_were_edited(
    served: tuple[MastodonEmulator, Path], tmp_path: Path
) -> None:
    """A mention the brand boosted, edited by its author, comes again at the next sync:
    the output (and ``--json``) says it was edited, not new, so the team reads it again."""
    emu, config = served
    db = str(tmp_path / "brandkit.db")
    status, text = run("inbox", "sync", "--accounts", str(config), "--db", db)
    assert status == 0 and "2 new (" in text, text
    praise = emu.audience("cid").mention("the boots are great")
    # The brand boosts it (the fixture's account is the instance's first user).
    emu.audience("user1").reblog(praise)
    status, text = run("inbox", "sync", "--accounts", str(config), "--db", db)
    assert status == 0 and "1 new (" in text, text
    # The edit keeps the mention (an edit that drops it is no longer to the brand).
    emu.audience("cid").edit(praise, "@user1 the boots are great, but run small")
    status, text = run("inbox", "sync", "--accounts", str(config), "--db", db)
    assert status == 0 and "0 new, 1 edited (" in text, text
    emu.audience("cid").edit(praise, "@user1 the boots are great, but run small; size up")
    status, text = run("inbox", "sync", "--accounts", str(config), "--db", db, "--json")
    assert status == 0, text
    assert [(r["added"], r["updated"]) for r in json.loads(text)] == [(0, 1)]
    with Inbox(db) as inbox:
        (stored,) = [m for m in inbox.messages() if m.id == praise]
    assert stored.text.endswith("size up")


def test_list_says_when_no_message_matches(tmp_path: Path) -> None:
    """An empty inbox (or a filter nothing matches) printed nothing at all: a command that
    seemed to do nothing. It says so; ``--json`` stays an empty list."""
    db = str(tmp_path / "brandkit.db")
    Inbox(db).close()
    status, text = run("inbox", "list", "--db", db)
    assert status == 0 and text.startswith("no messages match")
    status, text = run("inbox", "list", "--db", db, "--json")
    assert status == 0 and json.loads(text) == []
