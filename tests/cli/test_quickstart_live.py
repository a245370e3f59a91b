"""examples/quickstart.py with BRANDKIT_LIVE=1: a credential set only in part, or one a
factory refuses, stops it before anything is sent, with exit status 2 and one line saying
which variable to fix; never a traceback, never a platform silently left out. Only
127.0.0.1 addresses are given, so nothing can leave the machine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart.py"
# A closed port on loopback: were anything sent, it would fail here and nowhere else.
CLOSED = "http://127.0.0.1:9"


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "PYTHONPATH")}
    return subprocess.run(
        [sys.executable, str(QUICKSTART)],
        env={**base, "BRANDKIT_LIVE": "1", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        # The handle without its password: Bluesky was skipped without a word.
        (
            {"BLUESKY_HANDLE": "brand.bsky.social", "MASTODON_URL": CLOSED, "MASTODON_TOKEN": "t"},
            "BLUESKY_APP_PASSWORD",
        ),
        ({"BLUESKY_HANDLE": "brand.bsky.social"}, "BLUESKY_APP_PASSWORD"),
        ({"TELEGRAM_BOT_TOKEN": "1:abc"}, "TELEGRAM_CHAT_ID"),
        ({"FB_PAGE_TOKEN": "page-token"}, "FB_PAGE_ID"),
        # Refused by Account.mastodon: it ended in a traceback.
        ({"MASTODON_URL": "mastodon.social", "MASTODON_TOKEN": "t"}, "MASTODON_URL"),
    ],
)
def test_a_live_credential_to_fix_stops_before_sending(env: dict[str, str], named: str) -> None:
    done = run(env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert named in done.stderr
    assert done.stdout == ""


def test_no_credentials_names_the_variables() -> None:
    done = run({})
    assert done.returncode == 2
    assert "BLUESKY_HANDLE" in done.stderr and "MASTODON_TOKEN" in done.stderr
