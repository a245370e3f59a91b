"""The governor's own test suites, run unchanged with Redis and PostgreSQL as the store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Suites that use the default store (those that name SQLiteState keep it). What a store must
# get right is the one atomic update every suite goes through; the suites differ in the
# decisions they check. Redis answers in well under a millisecond and runs more of them;
# PostgreSQL (a few milliseconds a transaction) runs the two that cover every kind of
# entry, so that CI stays within its time.
SUITES = {
    "redis": [
        "tests/governor/test_governor.py",
        "tests/governor/test_edges.py",
        "tests/governor/test_hostile.py",
        "tests/governor/test_skew.py",
    ],
    "postgres": [
        "tests/governor/test_governor.py",
        "tests/governor/test_edges.py",
    ],
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["redis", "postgres"])
def test_governor_suites_pass_on_a_server_store(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = request.getfixturevalue("redis_clean_url" if kind == "redis" else "postgres_db")
    if kind == "postgres":
        # These suites check the governor's decisions, not durability: commits that do not
        # wait for the disk keep ~300 governors' thousands of updates within minutes.
        url += "?options=-c%20synchronous_commit%3Doff"
    count = tmp_path / "stores"
    env = {
        **os.environ,
        "BRANDKIT_TEST_GOVSTORE": kind,
        "BRANDKIT_TEST_GOVSTORE_URL": url,
        "BRANDKIT_TEST_GOVSTORE_COUNT": str(count),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.servers._govstore",
            *SUITES[kind],
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout.splitlines()[-1]
    # Dozens of governors ran on the server, not in memory.
    assert int(count.read_text()) > 30
