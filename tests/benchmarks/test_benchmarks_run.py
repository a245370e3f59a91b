"""Every benchmark still runs and prints its figures, at a size that takes seconds.

The benchmarks are how brandkit's speed and memory targets are checked; nothing else runs
them, and one (``listening_bench.py``) crashed for a session after a private signature it
uses changed. Here each runs small, in a fresh interpreter, offline: the figures are not
judged (a busy CI machine says nothing about them), only that the benchmark completes and
reports what it measures. ``ratelimit_bench.py`` runs its CPU part only, and
``scale_bench.py`` (throwaway PostgreSQL and Redis servers, minutes) is left to its own run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"

# script, small arguments, a line its report must print
RUNS = [
    ("html_bench.py", ["--runs", "1"], "deep tree of distinct tags"),
    ("http_backend_bench.py", ["--requests", "50", "--rounds", "1"], "CPU per request"),
    ("import_bench.py", ["--runs", "1"], "goal (issue 18)"),
    (
        "inbox_bench.py",
        ["--answers", "45", "--mentions", "5", "--latency", "0.005", "--ingest", "1000"],
        "only their bytes read",
    ),
    ("listening_bench.py", ["--posts", "40", "--store", "500"], "found posts/s"),
    (
        "metrics_bench.py",
        ["--posts", "100", "--latency", "0.005", "--no-store"],
        "samples collected:",
    ),
    (
        "metrics_store_bench.py",
        ["--samples", "100000", "--no-analytics"],
        "the report's 19 queries",
    ),
    ("outbox_bench.py", ["--posts", "40", "--runs", "1"], "SQL per post"),
    ("ratelimit_bench.py", ["--quick", "--only", "cpu"], "brandkit Client + NullGovernor"),
    ("text_bench.py", ["--posts", "100", "--rounds", "1"], "of count"),
]


def test_every_benchmark_is_run_here() -> None:
    """A new benchmark joins `RUNS` (or says here why it cannot)."""
    known = {script for script, _, _ in RUNS} | {"scale_bench.py"}
    assert {p.name for p in BENCHMARKS.glob("*_bench.py")} == known


@pytest.mark.parametrize(("script", "args", "line"), RUNS, ids=[r[0] for r in RUNS])
def test_benchmark_runs(script: str, args: list[str], line: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-3000:]
    assert line in report, report[-3000:]
    assert "Traceback" not in report, report[-3000:]
