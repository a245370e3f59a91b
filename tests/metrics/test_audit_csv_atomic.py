"""An export that cannot be written whole (the disk fills up half-way) leaves the file
already there as it was: `to_csv` wrote in place, so a failed nightly
``brandkit metrics export --csv metrics.csv`` left a cut CSV where yesterday's whole one
had been (which `read_csv`, or a spreadsheet, then read without a word about the rest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from brandkit.metrics import MetricsStore
from tests.metrics._data import demo_samples

LIMIT = 64 * 1024
CHILD = """
import resource, signal, sys
from brandkit.metrics import MetricsStore
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
store = MetricsStore(sys.argv[1])
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), int(sys.argv[3])))
try:
    store.to_csv(sys.argv[2])
except OSError as exc:
    print("OSError", exc.errno)
"""


def test_an_export_cut_short_leaves_the_old_file(tmp_path: Path) -> None:
    db = tmp_path / "brandkit.db"
    with MetricsStore(db) as store:
        store.add(demo_samples())
    out = tmp_path / "metrics.csv"
    out.write_text("yesterday's export\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(db), str(out), str(LIMIT)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.startswith("OSError"), (done.stdout, done.stderr)
    assert out.read_text(encoding="utf-8") == "yesterday's export\n"
    assert [p.name for p in tmp_path.iterdir() if "metrics.csv" in p.name] == ["metrics.csv"]


def test_a_whole_export_replaces_it(small: MetricsStore, tmp_path: Path) -> None:
    out = tmp_path / "metrics.csv"
    out.write_text("yesterday's export\n", encoding="utf-8")
    out.chmod(0o640)
    assert small.to_csv(out) == small.count()
    assert out.read_text(encoding="utf-8").startswith("platform,account,")
    assert out.stat().st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir() if "metrics.csv" in p.name] == ["metrics.csv"]
