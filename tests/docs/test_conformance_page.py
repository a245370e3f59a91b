"""docs/testing.md says how a network's adapter joins the conformance suite: the one statement
alone for every built-in network (the default search query is derived from what the adapter's
query compiler takes), and its example of an own search query (a Mastodon class) on Mastodon
and Instagram, pass under pytest. The page once promised one statement for every adapter,
which failed Mastodon's and Instagram's search test and most of the blogs' tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.docs.test_code_blocks import blocks

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "testing.md"
ONE_STATEMENT = (
    "x",
    "bluesky",
    "linkedin",
    "telegram",
    "facebook",
    "threads",
    "mastodon",
    "instagram",
)


def test_the_page_s_conformance_classes_pass(tmp_path: Path) -> None:
    shown = [code for _, code, _ in blocks(PAGE, "python") if "class TestMastodon(" in code]
    assert len(shown) == 1, "docs/testing.md no longer shows the Mastodon conformance class"
    module = [
        "from brandkit.testing.conformance import AdapterConformance",
        shown[0],
        *(
            f"class TestOne{name.title()}(AdapterConformance):\n    platform = {name!r}\n"
            for name in ONE_STATEMENT
        ),
    ]
    # The page's own query works on Instagram too (hashtags are all it searches).
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
