"""Four processes share one Redis governor against a Mastodon emulator whose window is
strict: 20 statuses per 5 s per account, epoch-aligned as Rack::Attack counts. Not one 429.
The same four processes each on their own budget are refused, so the test can fail."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from brandkit.testing.mastodon import MastodonEmulator
from tests.servers._servers import unique_prefix

WORKER = Path(__file__).with_name("_mastodon_worker.py")
ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
POSTS = 15  # each: 60 posts at 20 per 5 s take at least 3 windows
LIMIT, WINDOW = 20, 5.0


def run(state: str) -> list[dict[str, Any]]:
    """Four workers publish POSTS posts each to one account; their counts."""
    emu = MastodonEmulator(rate_limits={"statuses": (LIMIT, WINDOW)})
    with emu.serve():
        account = emu.account(name="shared")
        token = account.secret("token")
        assert token
        prefix = unique_prefix()
        start_at = time.time() + 3.0
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    str(WORKER),
                    emu.base_url,
                    token,
                    state,
                    prefix,
                    str(POSTS),
                    str(start_at),
                ],
                stdout=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            for _ in range(WORKERS)
        ]
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=180)
            assert proc.returncode == 0
            results.append(json.loads(out))
        assert len(emu.post_texts()) == WORKERS * POSTS
    return results


@pytest.mark.slow
def test_four_processes_one_redis_budget_no_429(redis_clean_url: str) -> None:
    results = run(redis_clean_url)
    assert sum(r["sent"] for r in results) == WORKERS * POSTS
    assert [r["refused"] for r in results] == [0] * WORKERS


@pytest.mark.slow
def test_four_processes_on_their_own_budgets_are_refused() -> None:
    """The control: each process on its own (memory) budget overspends the shared window
    before the headers catch up, and takes 429s."""
    results = run("memory")
    assert sum(r["sent"] for r in results) == WORKERS * POSTS
    assert sum(r["refused"] for r in results) >= 1
