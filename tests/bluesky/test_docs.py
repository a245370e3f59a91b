"""The emulator examples in docs/platforms/bluesky.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.bluesky._support import png

DOC = Path(__file__).resolve().parents[2] / "docs" / "platforms" / "bluesky.md"
BLOCKS = re.findall(r"<!-- test -->\n```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_page_has_tested_examples() -> None:
    """The page marks its runnable examples (so this file cannot silently test nothing)."""
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"example{i}" for i in range(len(BLOCKS))])
def test_example_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each marked example runs without error (in a folder holding the chart.png it reads)."""
    (tmp_path / "chart.png").write_bytes(png(40, 30))
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(DOC), "exec"), {"__name__": "__doc_example__"})
