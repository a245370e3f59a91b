"""docs/listening.md tells the truth: what its code prints is what its comments say."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.docs.test_code_blocks import ROOT, RUNNER, blocks, setups

PAGE = ROOT / "docs" / "listening.md"


def test_the_share_of_voice_shown_is_what_the_page_computes(tmp_path: Path) -> None:
    text = PAGE.read_text(encoding="utf-8")
    shown = re.search(r"print\(listener\.share_of_voice\(\)\)\s+#\s*(\{.*\})", text)
    assert shown is not None, "the page no longer shows the share of voice"
    runnable = setups(PAGE) + [
        (line, code) for line, code, kind in blocks(PAGE, "python") if not kind
    ]
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps(runnable), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(RUNNER), str(spec)],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert shown[1] in done.stdout.splitlines()
