"""examples/weekly_report.py fills a database with demo data: a file it did not make (a real
outbox or metrics store named by ``--db``) is refused and left as it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "weekly_report.py"


def test_an_existing_db_is_refused_and_kept(tmp_path: Path) -> None:
    mine = tmp_path / "brandkit.db"
    mine.write_bytes(b"the agency's real outbox")
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--db", str(mine), "--out", str(tmp_path / "r.html")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "exists" in done.stderr
    assert mine.read_bytes() == b"the agency's real outbox"
    assert not (tmp_path / "r.html").exists()


@pytest.mark.parametrize("days", ["0", "-3", "367"])
def test_days_out_of_range_are_refused(tmp_path: Path, days: str) -> None:
    """No day collected made an empty report that looked like a failed collection."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--days", days, "--out", "r.html", "--db", "w.db"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stdout
    assert f"--days {days}: give 1 to 366" in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_long_simulated_collection_runs_to_its_end(tmp_path: Path) -> None:
    """The client's default governor ran on real time: X's resets, on the emulator's clock
    months ahead, read as a day's wait and the run ended in RateLimited on day 75."""
    done = subprocess.run(
        [sys.executable, str(EXAMPLE), "--days", "100", "--out", "r.html", "--db", "w.db"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "day 100: stored 103 samples" in done.stdout
    assert (tmp_path / "r.html").exists()
