"""examples/task_queue.py says what its six triggers did in words a reader can check: it
printed "6 triggers sent [0, 0, 0, 6, 0, 0] posts", which reads as six triggers each
sending a list of posts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "task_queue.py"


def test_the_summary_says_how_many_posts_the_triggers_published(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    found = re.fullmatch(
        r"6 triggers \(4 at once, then 2\) published 6 posts between them "
        r"\((\d+(?:, \d+){5})\); the emulator holds 6:",
        first,
    )
    assert found, first
    assert sum(int(n) for n in found[1].split(", ")) == 6
    assert done.stdout.rstrip().endswith("every post exactly once, each account's in order")
