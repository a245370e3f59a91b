"""The commands that open stores by ``--db`` take a ``postgresql://`` URL as well as an SQLite
path, against a real PostgreSQL server (tests/servers): metrics collected from an emulator
into PostgreSQL and read back by ``metrics latest|export`` and ``report``; ``inbox list``,
``listen top`` and ``run`` on the server. The URL's password never reaches the output.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from brandkit import Client, MetricsStore, Outbox, Post
from brandkit.cli import main
from brandkit.outbox import PostgresOutbox
from tests.cli.conftest import Served
from tests.servers._servers import postgres_url, schema_url  # noqa: F401 - fixture


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the command line in-process: status, its output stream, and standard error."""
    capsys.readouterr()
    out = io.StringIO()
    status = main(list(argv), out)
    return status, out.getvalue(), capsys.readouterr().err


@pytest.fixture
def url(postgres_url: str) -> str:  # noqa: F811 - the fixture imported above
    """A PostgreSQL URL (with its password) of a new, empty schema."""
    return schema_url(postgres_url)


def _secret(url: str) -> str:
    password = urlsplit(url).password
    assert password and len(password) > 8  # the check below proves something
    return password


def _publish(url: str, served: Served, n: int) -> None:
    """Publish ``n`` posts of campaign c1 through an outbox on the server."""
    with Outbox(url) as outbox, Client(outbox=outbox) as client:
        for i in range(n):
            (d,) = client.publish(Post(text=f"launch post {i}", campaign="c1"), served.account)
            assert d.ok, d.error


def test_metrics_collected_into_postgresql_and_read_back(
    url: str, mastodon: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`metrics collect --db URL` reads the outbox on the server and stores the samples there;
    `latest`, `export` and `report` read them back, with the outbox's texts in the report."""
    secret = _secret(url)
    _publish(url, mastodon, 3)
    toml = str(mastodon.toml)
    printed: list[str] = []

    status, out, err = _run(capsys, "metrics", "collect", "--db", url, "--accounts", toml)
    printed += [out, err]
    assert status == 0, err
    assert "3 deliveries" in out
    mastodon.emu.clock.advance(3600)
    status, out, err = _run(capsys, "metrics", "collect", "--db", url, "--accounts", toml)
    printed += [out, err]
    assert status == 0, err

    # What the commands print is what the store holds.
    with MetricsStore(url) as store:
        likes = store.latest(metric="likes")
        assert len(likes) == 3 and {s.campaign for s in likes} == {"c1"}
        assert store.count(metric="likes") == 6  # two snapshots of three posts
        stored = store.count()
        followers = store.latest(metric="followers")
    assert [s.account for s in followers] == ["mastodon:brand"]

    status, out, err = _run(capsys, "metrics", "latest", "--db", url, "--json", "--limit", "0")
    printed += [out, err]
    assert status == 0, err
    rows = json.loads(out)
    assert {r["post_id"] for r in rows if r["metric"] == "likes"} == {s.post_id for s in likes}
    status, out, err = _run(capsys, "metrics", "latest", "--db", url, "--accounts")
    printed += [out, err]
    assert status == 0 and "followers" in out and "mastodon:brand" in out

    status, out, err = _run(capsys, "metrics", "export", "--db", url, "--csv", "-")
    printed += [out, err]
    assert status == 0, err
    assert len(list(csv.DictReader(io.StringIO(out)))) == stored

    report = tmp_path / "report.html"
    status, out, err = _run(capsys, "report", "--db", url, "--out", str(report))
    printed += [out, err]
    assert status == 0, err
    html = report.read_text(encoding="utf-8")
    # The outbox beside the metrics (same schema) gives each post's text.
    assert "launch post 0" in html and "launch post 2" in html
    for text in [*printed, html]:
        assert secret not in text


def test_collect_into_a_postgresql_metrics_db_from_an_sqlite_outbox(
    url: str, mastodon: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--metrics-db takes a URL while --db stays the outbox's file."""
    outbox = tmp_path / "brandkit.db"
    _publish(str(outbox), mastodon, 2)
    status, _, err = _run(
        capsys,
        "metrics",
        "collect",
        "--db",
        str(outbox),
        "--metrics-db",
        url,
        "--accounts",
        str(mastodon.toml),
    )
    assert status == 0, err
    with MetricsStore(url) as store:
        assert len(store.latest(metric="likes")) == 2
    with MetricsStore(outbox) as local:
        assert local.count() == 0  # nothing went to the outbox's file


def test_prefix_names_the_tables_of_every_store(
    url: str, mastodon: Served, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--prefix reaches the outbox collect reads, the metrics store, and the outbox the
    report finds beside it; without it the default tables (here: none) are read."""
    with PostgresOutbox(url, prefix="acme_") as outbox, Client(outbox=outbox) as client:
        (d,) = client.publish(Post(text="the acme post", campaign="c1"), mastodon.account)
        assert d.ok
    toml = str(mastodon.toml)
    status, out, err = _run(
        capsys, "metrics", "collect", "--db", url, "--prefix", "acme_", "--accounts", toml
    )
    assert status == 0 and "from 1 delivery" in out, err
    with MetricsStore(url, prefix="acme_") as store:
        assert len(store.latest(metric="likes")) == 1
    status, out, _ = _run(capsys, "metrics", "latest", "--db", url, "--prefix", "acme_")
    assert status == 0 and "likes" in out
    status, out, _ = _run(capsys, "metrics", "latest", "--db", url)
    assert status == 0 and "no samples match" in out  # brandkit_ tables: created empty
    report = tmp_path / "r.html"
    status, _, err = _run(capsys, "report", "--db", url, "--prefix", "acme_", "--out", str(report))
    assert status == 0, err
    assert "the acme post" in report.read_text(encoding="utf-8")


def test_prefix_is_refused_for_an_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "m.db"
    MetricsStore(db).close()
    status, _, err = _run(capsys, "metrics", "latest", "--db", str(db), "--prefix", "acme_")
    assert status == 1 and "--prefix names PostgreSQL tables" in err


def test_collect_refuses_a_schema_without_an_outbox(
    url: str, mastodon: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """A URL is passed through, but collect never creates an outbox to read from: an empty
    schema is refused, in a message without the password."""
    status, _, err = _run(
        capsys, "metrics", "collect", "--db", url, "--accounts", str(mastodon.toml)
    )
    assert status == 1
    assert "outbox" in err and _secret(url) not in err


def test_a_report_of_an_empty_schema(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A schema with neither outbox nor inbox gives a report of the metrics alone; no outbox
    or inbox tables are created by looking for them."""
    import psycopg

    with MetricsStore(url):
        pass
    status, _, err = _run(capsys, "report", "--db", url, "--out", str(tmp_path / "r.html"))
    assert status == 0, err
    with psycopg.connect(url) as conn:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema()"
            )
        }
    assert not any("outbox" in t or "inbox" in t for t in tables), tables


def test_a_report_finds_the_inbox_and_saved_queries_on_the_server(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An inbox in the same schema gives the report its conversation section, and saved
    queries there its listening section, both read from the server."""
    from brandkit import Account, Query
    from brandkit.inbox import Inbox
    from brandkit.listening import Listener

    with MetricsStore(url), Inbox(url) as inbox:
        listener = Listener(inbox)
        listener.watch("acme", Query(any=["acme"]), accounts=[Account("x", name="acme")])
        listener.close()
    report = tmp_path / "r.html"
    status, _, err = _run(capsys, "report", "--db", url, "--out", str(report))
    assert status == 0, err
    html = report.read_text(encoding="utf-8")
    assert "No messages synced yet." in html
    # Found posts on the server are drawn as on SQLite: tests/listening runs on both.
    section = html.split('id="listening"', 1)[1].split("</section>", 1)[0]
    assert "No saved query has found posts yet." in section


def test_a_wrong_password_is_a_one_line_error_without_it(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    parts = urlsplit(url)
    wrong = "Wr0ngPassw0rdXYZ"
    bad = parts._replace(netloc=f"{parts.username}:{wrong}@{parts.hostname}:{parts.port}")
    for argv in (
        ("metrics", "latest", "--db", bad.geturl()),
        ("metrics", "export", "--db", bad.geturl(), "--csv", "-"),
    ):
        status, out, err = _run(capsys, *argv)
        assert status == 1
        assert err.startswith("brandkit: ") and err.count("\n") == 1, err
        assert wrong not in err + out and "***" in err


def test_a_missing_sqlite_file_keeps_its_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "none.db"
    for argv in (
        ("metrics", "latest", "--db", str(missing)),
        ("metrics", "export", "--db", str(missing), "--csv", "-"),
        ("metrics", "collect", "--db", str(missing), "--accounts", str(tmp_path / "a.toml")),
    ):
        status, _, err = _run(capsys, *argv)
        assert status == 1
        assert f"no {'outbox' if 'collect' in argv else 'metrics database'} at" in err
        assert not missing.exists()


def test_a_url_of_another_kind_is_refused_without_its_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _, err = _run(capsys, "metrics", "latest", "--db", "redis://:s3cretpw@127.0.0.1:1/0")
    assert status == 1
    assert "postgresql://" in err and "s3cretpw" not in err


def test_inbox_list_and_listen_top_take_a_url(url: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Both used to refuse any --db that was not an existing file."""
    status, out, err = _run(capsys, "inbox", "list", "--db", url, "--json")
    assert status == 0, err
    assert json.loads(out) == []
    status, out, err = _run(capsys, "listen", "top", "nothing", "--db", url)
    # Opened on the server: the saved query is what is missing, not the database.
    assert status == 1
    assert "no saved query 'nothing'" in err
    assert _secret(url) not in out + err


def test_inbox_sync_into_postgresql_and_list(
    url: str, mastodon: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    """`inbox sync --db URL` stores what the account's audience said on the server (the
    concurrent sync hands each store call to a thread there); `inbox list` reads it back,
    and a second sync adds nothing."""
    with Client() as client:
        (d,) = client.publish(Post(text="Ask us anything"), mastodon.account)
    mastodon.emu.audience("ana").reply(d.ids[0], "Open on Sunday?")
    mastodon.emu.audience("ben").mention("nice shop")
    toml = str(mastodon.toml)
    status, out, err = _run(capsys, "inbox", "sync", "--accounts", toml, "--db", url, "--json")
    assert status == 0, err
    assert [(r["account"], r["added"], r["error"]) for r in json.loads(out)] == [
        ("mastodon:brand", 2, None)
    ]
    status, out, err = _run(capsys, "inbox", "list", "--db", url, "--json")
    assert status == 0, err
    assert sorted(r["text"].split(" ", 1)[1] for r in json.loads(out)) == [
        "Open on Sunday?",
        "nice shop",
    ]
    status, out, err = _run(capsys, "inbox", "sync", "--accounts", toml, "--db", url)
    assert status == 0 and " 0 new " in out, out + err
    assert _secret(url) not in out + err


def test_run_once_names_the_outbox_without_its_password(
    url: str, mastodon: Served, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = _secret(url)
    _publish(url, mastodon, 1)
    with Outbox(url) as outbox:
        outbox.add(Post(text="for the worker", campaign="c1"), mastodon.account)
    status, out, err = _run(capsys, "run", "--once", "--db", url, "--accounts", str(mastodon.toml))
    assert status == 0, err
    assert "brandkit run --once: postgresql://" in out and "***" in out
    assert secret not in out + err
    assert mastodon.emu.count("POST", "/api/v1/statuses") == 2
