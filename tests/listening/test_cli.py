"""``brandkit listen add|sync|top`` against the X emulator over a socket."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from brandkit.cli import main
from brandkit.testing.x import XEmulator
from tests.servers._servers import postgres_url  # noqa: F401 - fixture


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[XEmulator, Path]]:
    emu = XEmulator()
    with emu.serve() as url:
        account = emu.account(name="acme")
        monkeypatch.setenv("ACME_X_TOKEN", account.secret("user_token") or "")
        config = tmp_path / "brandkit.toml"
        config.write_text(
            f'[accounts.acme]\nplatform = "x"\nbase_url = "{url}"\n'
            'user_token_env = "ACME_X_TOKEN"\n'
        )
        for i in range(12):
            emu.audience(f"walker{i % 4}").post(f"acme boots are great {i}", lang="en")
        emu.audience("recruiter").post("acme job offer in Oslo", lang="en")
        emu.audience("other").post("rivalco boots", lang="en")
        yield emu, config


def run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out=out), out.getvalue()


def test_add_sync_top(served: tuple[XEmulator, Path], tmp_path: Path) -> None:
    _, config = served
    db = str(tmp_path / "brandkit.db")
    common = ("--accounts", str(config), "--db", db)
    status, text = run(
        "listen", "add", "acme", "acme", "--exclude", "job", "--budget", "100", *common
    )
    assert status == 0, text
    assert "watching 'acme' with x:acme" in text
    assert run("listen", "add", "rival", "rivalco", *common)[0] == 0
    status, text = run("listen", "sync", *common, "--json")
    assert status == 0, text
    runs = {r["name"]: r for r in json.loads(text)}
    assert runs["acme"]["found"] == 12 and runs["rival"]["found"] == 1
    status, text = run("listen", "sync", *common)
    assert status == 0 and "no query is due" in text
    status, text = run("listen", "sync", *common, "--force")
    assert "ok     acme" in text and "0 new" in text
    status, text = run("listen", "top", "acme", "--db", db, "--json")
    top = json.loads(text)
    assert top["posts"] == 12
    assert top["share_of_voice"] == {"acme": 12 / 13, "rival": 1 / 13}
    assert {a["handle"] for a in top["authors"]} == {"walker0", "walker1", "walker2", "walker3"}
    assert top["terms"][0]["term"] in {"boots", "great"}


def test_errors_say_what_to_fix(
    served: tuple[XEmulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, config = served
    db = str(tmp_path / "b.db")
    common = ("--accounts", str(config), "--db", db)
    assert run("listen", "add", "empty", *common)[0] == 1
    assert "needs something to find" in capsys.readouterr().err
    assert run("listen", "add", "x", "acme", "--account", "nobody", *common)[0] == 1
    assert "no account nobody" in capsys.readouterr().err
    # A malformed option is a usage error (exit status 2), before the database is opened.
    assert run("listen", "add", "x", "acme", "--every", "often", *common)[0] == 2
    assert "argument --every: every='often' is not a duration" in capsys.readouterr().err
    assert (
        run("listen", "add", "bad", "acme", "--lang", "xx-notalang", "--hashtag", "🍕", *common)[0]
        == 0
    )
    status, text = run("listen", "sync", *common)
    assert status == 0  # a query X cannot express is reported, not a failure of the run
    assert "FAILED bad" in text and "UnsupportedQuery" in text
    capsys.readouterr()
    assert run("listen", "top", "bad", "--db", db, "--since", "last week")[0] == 2
    assert "argument --since: since must be an ISO 8601 date" in capsys.readouterr().err
    assert run("listen", "top", "bad", "--db", db, "--until", "2026-13-01")[0] == 2
    assert "argument --until: until must be an ISO 8601 date" in capsys.readouterr().err
    # An empty period counted nothing, as if the query had found nothing.
    period = ("--since", "2026-02-01", "--until", "2026-01-01")
    assert run("listen", "top", "bad", "--db", db, *period)[0] == 2
    assert "--since 2026-02-01T00:00:00+00:00 is not before --until" in capsys.readouterr().err
    assert run("listen", "top", "bad", "--db", db, "--since", "2026-01-01")[0] == 0


def test_a_rate_limited_search_is_reported_not_a_failure(
    served: tuple[XEmulator, Path], tmp_path: Path
) -> None:
    """X's own rate limit stops a query as a quota does (``stopped="quota"``): reported,
    and the sync's exit status stays 0, as its help says, so a cron job does not alarm."""
    emu, config = served
    common = ("--accounts", str(config), "--db", str(tmp_path / "brandkit.db"))
    assert run("listen", "add", "acme", "acme", *common)[0] == 0
    emu.fault(path=".*search.*", status=429, headers={"retry-after": "3600"}, times=100)
    status, text = run("listen", "sync", *common, "--json")
    (only,) = json.loads(text)
    assert only["stopped"] == "quota" and only["error"].startswith("RateLimited")
    assert status == 0


def test_sync_refuses_a_database_that_is_not_there(
    served: tuple[XEmulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``listen sync --db`` with a mistyped path made a new, empty database there and said
    "no query is due", exit status 0, as if the saved queries had all run. It is refused,
    as ``listen top`` refuses it; a database without any saved query says so."""
    _, config = served
    typo = tmp_path / "brandkti.db"
    assert run("listen", "sync", "--accounts", str(config), "--db", str(typo))[0] == 1
    assert "no listening data at" in capsys.readouterr().err
    assert not typo.exists()
    from brandkit import Inbox

    empty = tmp_path / "inbox.db"
    Inbox(empty).close()  # an inbox's file, no saved query in it
    status, text = run("listen", "sync", "--accounts", str(config), "--db", str(empty))
    assert status == 0 and "no saved query" in text and "brandkit listen add" in text


def test_listen_commands_take_the_table_prefix_brandkit_report_reads(
    served: tuple[XEmulator, Path],
    request: pytest.FixtureRequest,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An agency keeps each client's inbox and saved queries under a table prefix on one
    server, which `brandkit report --prefix` and `brandkit inbox --prefix` read; `brandkit
    listen` had no --prefix, so its queries and posts went to brandkit_ tables, where the
    client's report never found them."""
    from brandkit.inbox import Inbox
    from brandkit.listening import Listener
    from tests.servers._servers import unique_prefix

    _, config = served
    url = request.getfixturevalue("postgres_url")
    prefix = unique_prefix()
    on = ("--db", url, "--prefix", prefix)
    assert run("listen", "add", "acme", "acme", "--accounts", str(config), *on)[0] == 0
    status, text = run("listen", "sync", "--accounts", str(config), *on, "--json")
    assert status == 0 and json.loads(text)[0]["found"] == 13
    with Inbox(url, prefix=prefix) as inbox, Listener(inbox) as listener:
        assert [w.name for w in listener.queries()] == ["acme"]
        assert listener.count("acme") == 13
    status, text = run("listen", "top", "acme", *on, "--json")
    assert status == 0 and json.loads(text)["posts"] == 13
    sqlite = ("--db", str(tmp_path / "b.db"), "--prefix", prefix)
    assert run("listen", "add", "acme", "acme", "--accounts", str(config), *sqlite)[0] == 1
    assert "leave --prefix out" in capsys.readouterr().err


def test_a_query_whose_saved_cursor_is_refused_is_searched_again_from_the_start(
    served: tuple[XEmulator, Path], tmp_path: Path
) -> None:
    """A saved cursor X's adapter refuses (one another brandkit wrote, naming the query as
    it compiled it; a damaged one) failed every run of the query for good, told to pass
    since=None, which no sync can. The run says to sync --from-start, which does."""
    import sqlite3

    from brandkit.listening import Listener

    emu, config = served
    db = tmp_path / "brandkit.db"
    common = ("--accounts", str(config), "--db", str(db))
    assert run("listen", "add", "acme", "acme", "--exclude", "job", *common)[0] == 0
    status, text = run("listen", "sync", *common, "--json")
    assert status == 0 and json.loads(text)[0]["found"] == 12
    with sqlite3.connect(db) as conn:
        (saved,) = conn.execute("SELECT cursor FROM listening_cursors").fetchone()
        other = json.dumps({**json.loads(saved), "q": "0123456789abcdef"})
        conn.execute("UPDATE listening_cursors SET cursor = ?", (other,))
    conn.close()
    emu.audience("walker9").post("acme boots after the upgrade", lang="en")
    for _ in range(2):
        status, text = run("listen", "sync", *common, "--force")
        assert status == 1 and "FAILED acme" in text
        assert "brandkit listen sync --from-start acme" in text
    status, text = run("listen", "sync", *common, "--force", "--json")
    assert "ConfigurationError" in json.loads(text)[0]["error"]
    assert "listener.forget_cursors('acme')" in json.loads(text)[0]["error"]
    status, text = run("listen", "sync", *common, "--from-start", "acme", "--json")
    (again,) = json.loads(text)
    assert status == 0 and (again["error"], again["found"]) == (None, 1)
    assert run("listen", "sync", *common, "--force")[0] == 0
    with Listener(db) as listener:
        assert listener.count("acme") == 13
    assert run("listen", "sync", *common, "--from-start", "nope")[0] == 1


def test_sync_of_a_query_on_an_account_the_file_lacks_says_to_add_it(
    served: tuple[XEmulator, Path], tmp_path: Path
) -> None:
    """A saved query searches with an account the accounts file no longer has: the run
    said "pass it to sync(client, accounts=[...])", which a shell cannot."""
    _, config = served
    db = ("--db", str(tmp_path / "brandkit.db"))
    assert run("listen", "add", "acme", "acme", "--accounts", str(config), *db)[0] == 0
    renamed = tmp_path / "other.toml"
    renamed.write_text(config.read_text().replace("[accounts.acme]", "[accounts.shop]"))
    status, text = run("listen", "sync", "--accounts", str(renamed), *db)
    assert status == 1 and "FAILED acme" in text and "x:acme" in text
    assert "add it to the accounts file" in text


def test_a_saved_query_can_be_removed_from_the_shell(
    served: tuple[XEmulator, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A query added by mistake ran at every sync (on X, read and billed every day) with no
    command to stop it: only the library's `unwatch` could. One this version cannot read
    (a newer brandkit's) is removable too."""
    import sqlite3

    emu, config = served
    db = tmp_path / "brandkit.db"
    common = ("--accounts", str(config), "--db", str(db))
    assert run("listen", "add", "acme", "acme", *common)[0] == 0
    assert run("listen", "add", "rival", "rivalco", *common)[0] == 0
    assert run("listen", "sync", *common)[0] == 0
    status, text = run("listen", "remove", "acme", "--db", str(db))
    assert status == 0 and text == "removed 'acme': it runs no more (what it found stays)\n"
    searches = len(emu.requests)
    status, text = run("listen", "sync", *common, "--force", "--json")
    assert status == 0 and [r["name"] for r in json.loads(text)] == ["rival"]
    assert len(emu.requests) == searches + 1
    with sqlite3.connect(db) as conn:
        conn.execute('UPDATE listening_queries SET query = \'{"any": ["x"], "near": 1}\'')
    conn.close()
    assert run("listen", "remove", "rival", "--db", str(db))[0] == 0
    status, text = run("listen", "sync", *common)
    assert status == 0 and "no saved query in" in text
    assert run("listen", "remove", "acme", "--db", str(db))[0] == 1
    assert "no saved query 'acme'" in capsys.readouterr().err
    assert run("listen", "remove", "acme", "--db", str(tmp_path / "none.db"))[0] == 1


@pytest.mark.parametrize(
    ("words", "advice"),
    [
        ("acme -job", "--exclude job"),
        ("acme OR trailco", "any of them already"),
        ('"trail boots"', "--phrase"),
        ("acme 'trail boots'", "--phrase"),
    ],
)
def test_search_syntax_in_the_words_is_a_usage_error_not_words_that_match_more(
    served: tuple[XEmulator, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    words: str,
    advice: str,
) -> None:
    """QUERY is words, any of which is found: "acme OR trailco" searched for the word "or"
    too (every post saying "or else" was found, and on X billed), '"trail boots"' for any
    post saying "boots", and "acme -job" for posts saying "job" rather than without it.
    Such words are refused (exit status 2) with the option that says it, and nothing is
    saved."""
    _, config = served
    db = tmp_path / "b.db"
    common = ("--accounts", str(config), "--db", str(db))
    assert run("listen", "add", "brand", words, *common)[0] == 2
    assert advice in capsys.readouterr().err
    assert not db.exists()
    status, text = run("listen", "add", "brand", "acme", "--exclude", "job", *common)
    assert status == 0, text
    status, text = run("listen", "sync", *common, "--json")
    assert status == 0, text
    assert [r["found"] for r in json.loads(text)] == [12]
