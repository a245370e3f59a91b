"""``brandkit report`` / ``brandkit metrics export|latest`` and the progress bar."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from brandkit.cli import main
from brandkit.metrics import MetricSample, MetricsStore, read_csv
from brandkit.metrics._cli import progress
from tests.metrics._data import small_samples


@pytest.fixture
def filled(db: Path) -> Path:
    """A database file holding the small data set."""
    with MetricsStore(db) as store:
        store.add(small_samples())
    return db


def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    status = main(list(argv), out=out)
    return status, out.getvalue()


def test_report_command(filled: Path, tmp_path: Path) -> None:
    """`brandkit report` writes the HTML file with the filters applied."""
    target = tmp_path / "r" / "report.html"
    status, out = _run(
        "report",
        "--db",
        str(filled),
        "--out",
        str(target),
        "--campaign",
        "launch",
        "--since",
        "2026-03-02",
        "--title",
        "Launch",
        "--tz",
        "Europe/Berlin",
    )
    assert status == 0 and str(target) in out
    text = target.read_text(encoding="utf-8")
    assert "<title>Launch</title>" in text and "campaign: launch" in text
    assert "Europe/Berlin" in text


def test_report_without_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A missing database is refused (exit 1) and not created."""
    missing = tmp_path / "none.db"
    status, _ = _run("report", "--db", str(missing), "--out", str(tmp_path / "r.html"))
    assert status == 1
    assert "no metrics database" in capsys.readouterr().err
    assert not missing.exists()


def test_bad_since(filled: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A since that is not ISO 8601 is refused with exit 1."""
    status, _ = _run(
        "report", "--db", str(filled), "--out", str(tmp_path / "r.html"), "--since", "soon"
    )
    assert status == 1 and "ISO 8601" in capsys.readouterr().err


def test_export_csv_file(filled: Path, tmp_path: Path) -> None:
    """`brandkit metrics export` writes every matching sample as CSV."""
    target = tmp_path / "out.csv"
    status, out = _run("metrics", "export", "--db", str(filled), "--csv", str(target))
    assert status == 0 and f"wrote {len(small_samples())} samples" in out
    assert len(read_csv(target)) == len(small_samples())


def test_export_with_filters_to_stdout(filled: Path) -> None:
    """Filters narrow the export; '-' writes to the output stream."""
    status, out = _run(
        "metrics",
        "export",
        "--db",
        str(filled),
        "--csv",
        "-",
        "--platform",
        "x",
        "--metric",
        "likes",
        "--metric",
        "reposts",
        "--until",
        "2026-03-03T12:00:00Z",
    )
    assert status == 0
    rows = read_csv(io.StringIO(out))
    assert {(s.post_id, s.metric, s.value) for s in rows} == {
        ("1", "likes", 10),
        ("1", "reposts", 2),
        ("1", "likes", 30),
        ("1", "reposts", 5),
    }


def test_latest_table(filled: Path) -> None:
    """`brandkit metrics latest` prints a table of latest values, unavailable ones marked."""
    status, out = _run("metrics", "latest", "--db", str(filled), "--platform", "x")
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "PLATFORM",
        "ACCOUNT",
        "POST",
        "METRIC",
        "VALUE",
        "FETCHED",
        "(UTC)",
        "NOTE",
    ]
    assert len(lines) == 1 + 7
    likes = next(line for line in lines if " 1 " in line and "likes" in line)
    assert likes.split()[4] == "30"
    gone = next(line for line in lines if "impressions" in line and " 2 " in line)
    assert "n/a" in gone and "unavailable: needs elevated access" in gone


def test_latest_accounts_and_limit(filled: Path) -> None:
    """--accounts shows follower counts; --limit cuts the table and says so."""
    status, out = _run("metrics", "latest", "--db", str(filled), "--accounts")
    assert status == 0
    rows = {line.split()[1]: line.split()[4] for line in out.splitlines()[1:]}
    assert rows == {"x:brand": "1030", "bluesky:b": "220"}
    status, out = _run("metrics", "latest", "--db", str(filled), "--limit", "2")
    assert status == 0
    assert len(out.splitlines()) == 1 + 2 + 1 and "9 more" in out


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_latest_refuses_a_negative_limit(
    filled: Path, json_flag: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Only 0 means every row: -5 showed them all, silently."""
    status, out = _run("metrics", "latest", "--db", str(filled), "--limit", "-5", *json_flag)
    assert status == 2 and out == ""  # a usage error (tests/cli/test_count_options.py)
    assert "argument --limit: -5 is out of range" in capsys.readouterr().err


def test_latest_nothing_matches(filled: Path) -> None:
    """No matching samples is said plainly."""
    status, out = _run("metrics", "latest", "--db", str(filled), "--platform", "nowhere")
    assert (status, out.strip()) == (0, "no samples match")


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_on_a_terminal() -> None:
    """On a terminal the bar is drawn and finished with a newline; items pass through."""
    stream = _Terminal()
    assert list(progress(range(5), 5, "collecting", stream=stream)) == [0, 1, 2, 3, 4]
    text = stream.getvalue()
    assert text.startswith("\rcollecting ") and text.endswith("5/5\n")
    assert "█" * 30 in text


def test_progress_unknown_total() -> None:
    """Without a total, a counter is shown."""
    stream = _Terminal()
    assert list(progress(iter("abc"), None, "reading", stream=stream)) == ["a", "b", "c"]
    assert stream.getvalue().rstrip("\n").endswith("reading 3")


def test_progress_not_a_terminal() -> None:
    """Off a terminal nothing is written."""
    stream = io.StringIO()
    assert list(progress([1, 2], 2, "x", stream=stream)) == [1, 2]
    assert stream.getvalue() == ""


def test_latest_json_gives_every_row_unless_limited(db: Path) -> None:
    """--json cut its rows at the table's 100 without a word (JSON has no "more" line), so
    a script read 100 of 150 posts as all of them. It gives every row unless --limit is
    given; the table still stops at 100 and says how many more."""
    when = datetime(2026, 3, 1, tzinfo=UTC)
    with MetricsStore(db) as store:
        store.add(
            MetricSample(
                platform="x",
                account="x:a",
                post_id=str(n),
                metric="likes",
                value=n,
                fetched_at=when,
            )
            for n in range(150)
        )
    status, out = _run("metrics", "latest", "--db", str(db), "--json")
    assert status == 0 and len(json.loads(out)) == 150
    status, out = _run("metrics", "latest", "--db", str(db), "--json", "--limit", "7")
    assert status == 0 and len(json.loads(out)) == 7
    status, out = _run("metrics", "latest", "--db", str(db))
    assert status == 0 and len(out.splitlines()) == 1 + 100 + 1 and "50 more" in out


def test_report_finds_the_inbox_in_a_folder_whose_name_has_uri_characters(
    tmp_path: Path,
) -> None:
    """The report looked for the inbox (and the outbox) through an SQLite URI built from
    the path unquoted: in a folder "team #1" the '#' ended the path, so the conversation
    section was silently left out and an empty file "team " was created beside it."""
    from brandkit import Inbox

    folder = tmp_path / "team #1?%41"
    folder.mkdir()
    db = folder / "brandkit.db"
    Inbox(db).close()
    with MetricsStore(db) as store:
        store.add(small_samples())
    out = folder / "report.html"
    status, _ = _run("report", "--db", str(db), "--out", str(out))
    assert status == 0
    assert 'id="conversations"' in out.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == [folder.name]


def test_latest_table_shows_control_characters_escaped(db: Path) -> None:
    """A reason (the platform's text) or a post id holding terminal escapes or a newline was
    printed raw: it could clear the screen or retitle the terminal, and a newline forged a
    row of the table. Control characters are shown escaped, one row per sample."""

    when = datetime(2026, 3, 1, tzinfo=UTC)
    with MetricsStore(db) as store:
        store.add(
            [
                MetricSample.unavailable(
                    platform="x",
                    account="x:a",
                    post_id="1\x1b]0;owned\x07",
                    metric="impressions",
                    reason="gone\x1b[2J\nx  x:a  2  likes  999999",
                    fetched_at=when,
                )
            ]
        )
    status, out = _run("metrics", "latest", "--db", str(db))
    assert status == 0
    lines = out.splitlines()
    assert len(lines) == 2
    assert not any(ch in out for ch in "\x1b\x07\r")
    assert "1\\x1b]0;owned\\x07" in lines[1]
    assert "gone\\x1b[2J\\nx  x:a" in lines[1]


def test_latest_json_holds_every_field_of_the_sample(db: Path) -> None:
    """`metrics latest --json` is the samples' plain data (`MetricSample.to_dict`): the
    platform's own name for the metric and when the post was published were left out."""
    sample = MetricSample(
        platform="mastodon",
        account="mastodon:a",
        post_id="1",
        metric="shares",
        value=3,
        fetched_at=datetime(2026, 3, 2, 9, tzinfo=UTC),
        raw_name="reblogs_count",
        posted_at=datetime(2026, 3, 1, 8, tzinfo=UTC),
        campaign="launch",
    )
    with MetricsStore(db) as store:
        store.add([sample])
        (stored,) = store.latest()
    status, out = _run("metrics", "latest", "--db", str(db), "--json")
    assert status == 0
    (row,) = json.loads(out)
    assert row == stored.to_dict()
    assert row["raw_name"] == "reblogs_count"
    assert row["posted_at"] == "2026-03-01T08:00:00+00:00"
