"""Every code block of the README and the docs works as shown (issue 10, item 8).

Python blocks run page by page, in order, in one namespace (a later block may use what an
earlier one made), offline: a subprocess refuses every connection but loopback. A block that
needs a real account is marked on the page with ``<!-- docs: live -->`` right before its
fence and is skipped here; ``<!-- docs: fragment -->`` marks a block that is not meant to run
alone (a signature, an excerpt). A page may hold hidden set-up code that runs first, in an
HTML comment that readers do not see: ``<!-- docs: setup`` ... ``-->`` (e.g. the emulators
and deliveries that a page's examples start from). TOML blocks must parse; JSON blocks must
load.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
RUNNER = Path(__file__).with_name("_run_page.py")
FENCE = re.compile(
    r"(?P<marker><!-- docs: (?P<kind>live|fragment) -->\s*\n)?"
    r"^(?P<indent>[ \t]*)```(?P<lang>[A-Za-z0-9_+-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```",
    re.DOTALL | re.MULTILINE,
)


def blocks(page: Path, language: str) -> list[tuple[int, str, str | None]]:
    """``(line, code, marker)`` of each fenced block of ``language`` on ``page``."""
    text = page.read_text(encoding="utf-8")
    out = []
    for match in FENCE.finditer(text):
        if match["lang"] != language:
            continue
        indent = match["indent"]
        body = "".join(
            line[len(indent) :] if line.startswith(indent) else line
            for line in match["body"].splitlines(keepends=True)
        )
        line = text.count("\n", 0, match.start("lang")) + 1
        out.append((line, body, match["kind"]))
    return out


SETUP = re.compile(r"<!-- docs: setup\n(?P<code>.*?)^-->", re.DOTALL | re.MULTILINE)


def setups(page: Path) -> list[tuple[int, str]]:
    """The page's hidden set-up code, with its line."""
    text = page.read_text(encoding="utf-8")
    return [(text.count("\n", 0, m.start()) + 2, m["code"]) for m in SETUP.finditer(text)]


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_python_blocks_run(page: Path, tmp_path: Path) -> None:
    """The page's Python blocks run in order without an error and without the network."""
    runnable = [(line, code) for line, code, kind in blocks(page, "python") if kind is None]
    if not runnable:
        pytest.skip("no runnable Python block")
    runnable = setups(page) + runnable
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
    assert done.returncode == 0, f"{page_id(page)} {done.stderr[-4000:]}"


@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_toml_and_json_blocks_parse(page: Path) -> None:
    """Configuration shown on the page is valid TOML or JSON."""
    for line, code, _kind in blocks(page, "toml"):
        try:
            tomllib.loads(code)
        except tomllib.TOMLDecodeError as exc:
            pytest.fail(f"{page_id(page)} line {line}: {exc}")
    for line, code, _kind in blocks(page, "json"):
        try:
            json.loads(code)
        except json.JSONDecodeError as exc:
            pytest.fail(f"{page_id(page)} line {line}: {exc}")


def test_the_marker_finder_sees_every_python_block() -> None:
    """No Python fence escapes the runner (the regex matches as many as a plain count)."""
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        plain = len(re.findall(r"^[ \t]*```python\b", text, re.MULTILINE))
        assert len(blocks(page, "python")) == plain, page_id(page)
