"""examples/weekly_report.py fills a database with demo data: a file it did not make (a real
outbox or metrics store named by ``--db``) is refused and left as it was."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
