"""The examples in docs/text-counting.md run and their assertions hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

_DOC = Path(__file__).resolve().parents[2] / "docs" / "text-counting.md"
_BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def _blocks() -> list[str]:
    blocks = _BLOCK.findall(_DOC.read_text(encoding="utf-8"))
    # The first block is an overview with placeholders (long_text), not a runnable example.
    return blocks[1:]


def test_doc_has_runnable_examples() -> None:
    """Every platform section has its example."""
    assert len(_blocks()) >= 8


@pytest.mark.parametrize("block", _blocks(), ids=lambda b: b.strip().splitlines()[-1][:40])
def test_doc_example(block: str) -> None:
    """A documentation example runs without error (its asserts pass)."""
    exec(compile(block, str(_DOC), "exec"), {})
