"""Reading the fenced code blocks of a docs page, for the tests that run them."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def code_blocks(
    page: Path, language: str, after: str = "", *, section_only: bool = False
) -> list[str]:
    """The page's fenced code blocks of one language; from heading ``after`` on if given
    (only up to the next ``##`` heading with ``section_only``)."""
    text = page.read_text(encoding="utf-8")
    if after:
        text = text[text.index(after) :]
        if section_only:
            end = text.find("\n## ", 3)
            text = text if end < 0 else text[:end]
    return re.findall(rf"```{language}\n(.*?)```", text, re.DOTALL)
