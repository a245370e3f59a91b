"""A report that cannot be written whole (the disk fills up half-way) leaves the report
already there as it was: `write_report` wrote the file in place, so a failed hourly
``brandkit report --force`` left a truncated page where the last good one had been (and a
page being rewritten was served half-written meanwhile)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from brandkit.metrics import MetricsStore, write_report
from tests.metrics._data import demo_samples

# Run in a child whose files may not grow past LIMIT bytes (RLIMIT_FSIZE, a real EFBIG
# from the kernel, as a full disk gives ENOSPC): the report is larger, the old page smaller.
LIMIT = 64 * 1024
CHILD = """
import resource, signal, sys
from brandkit.metrics import MetricsStore, write_report
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
store = MetricsStore(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
try:
    write_report(store, sys.argv[2])
except OSError as exc:
    print("OSError", exc.errno)
"""


def test_a_report_cut_short_leaves_the_old_one(tmp_path: Path) -> None:
    db = tmp_path / "brandkit.db"
    with MetricsStore(db) as store:
        store.add(demo_samples())
    out = tmp_path / "report.html"
    out.write_text("<!DOCTYPE html><p>last hour's report</p>", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), str(out), str(LIMIT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.startswith("OSError"), (done.stdout, done.stderr)
    assert out.read_text(encoding="utf-8") == "<!DOCTYPE html><p>last hour's report</p>"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("report")] == ["report.html"]


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_a_place_that_cannot_be_written_is_named_as_given(store: MetricsStore) -> None:
    """The error names the report's path, not the file written beside it first."""
    with pytest.raises(OSError) as info:
        write_report(store, "/proc/brandkit-report.html")
    assert info.value.filename == "/proc/brandkit-report.html"


def test_the_page_keeps_its_mode_and_a_link_is_written_through(
    small: MetricsStore, tmp_path: Path
) -> None:
    page = tmp_path / "pages" / "report.html"
    page.parent.mkdir()
    page.write_text("old", encoding="utf-8")
    page.chmod(0o640)
    link = tmp_path / "latest.html"
    link.symlink_to(page)
    write_report(small, link)
    assert link.is_symlink()
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert page.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in page.parent.iterdir()) == ["report.html"]
