"""docs/testing.md says how a network's adapter joins the conformance suite: its Mastodon class
(the one statement plus a hashtag query) and the one statement alone for the other built-in
networks pass under pytest. The page promised one statement for every adapter, which failed
Mastodon's and Instagram's search test and most of the blogs' tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.docs.test_code_blocks import blocks

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "testing.md"
ONE_STATEMENT = ("x", "bluesky", "linkedin", "telegram", "facebook", "threads")


def test_the_page_s_conformance_classes_pass(tmp_path: Path) -> None:
    shown = [code for _, code, _ in blocks(PAGE, "python") if "class TestMastodon(" in code]
    assert len(shown) == 1, "docs/testing.md no longer shows the Mastodon conformance class"
    module = [
        "from brandkit.testing.conformance import AdapterConformance",
        shown[0],
        *(
            f"class Test{name.title()}(AdapterConformance):\n    platform = {name!r}\n"
            for name in ONE_STATEMENT
        ),
    ]
    # The page says Instagram's class is Mastodon's, on Instagram.
    module.append(
        shown[0].replace("TestMastodon", "TestInstagram").replace('"mastodon"', '"instagram"')
    )
    (tmp_path / "test_conformance_as_documented.py").write_text(
        "\n\n".join(module), encoding="utf-8"
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:]
    assert " passed" in done.stdout
