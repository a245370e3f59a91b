"""The Mastodon docs page shows only code that works."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from brandkit import Account
from tests.docs_blocks import code_blocks

PAGE = Path(__file__).resolve().parents[2] / "docs" / "platforms" / "mastodon.md"


def blocks(language: str, after: str = "") -> list[str]:
    """The page's fenced code blocks of one language (after a heading, if given)."""
    return code_blocks(PAGE, language, after)


def test_emulator_examples_run() -> None:
    """Every Python example of the testing section runs as written."""
    examples = blocks("python", "## Testing with the emulator")
    assert len(examples) == 2
    for code in examples:
        exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_example"})


def test_conversations_example_runs() -> None:
    """The conversations example runs as written against the emulator."""
    (code,) = code_blocks(PAGE, "python", "## Conversations", section_only=True)
    exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_example"})


def test_listening_example_runs() -> None:
    """The listening example runs as written against the emulator."""
    (code,) = code_blocks(PAGE, "python", "## Listening", section_only=True)
    exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_example"})


def test_accounts_file_example_loads(tmp_path: Path) -> None:
    """The TOML example is a valid accounts file; the token comes from the environment."""
    (toml,) = blocks("toml")
    path = tmp_path / "accounts.toml"
    path.write_text(toml)
    accounts = Account.load(path, environ={"MASTODON_TOKEN": "tok-from-env"})
    acct = accounts["brand_masto"]
    assert (acct.platform, acct.base_url) == ("mastodon", "https://mastodon.social")
    assert acct.secret("token") == "tok-from-env"


def test_setup_example_builds_the_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """The setup example's account line works (without sending anything)."""
    monkeypatch.setenv("MASTODON_TOKEN", "tok-docs-test")
    (setup,) = [b for b in blocks("python") if "MASTODON_TOKEN" in b]
    line = next(x for x in setup.splitlines() if x.startswith("masto = "))
    env: dict[str, Any] = {"os": os, "Account": Account}
    exec(line, env)
    assert env["masto"].secret("token") == "tok-docs-test"


def test_testing_page_mastodon_audience_example_runs() -> None:
    """docs/testing.md shows the Mastodon audience's favourite, reblog and follow (and
    their undo) next to the other platforms' audience methods, in an example that runs."""
    from brandkit import Client, Post
    from brandkit.testing import emulator

    testing = PAGE.parents[1] / "testing.md"
    (code,) = [b for b in code_blocks(testing, "python") if ".favourite(" in b]
    for method in ("favourite", "reblog", "follow", "unfavourite", "unreblog", "unfollow"):
        assert f"fan.{method}(" in testing.read_text()
    scope = {"__name__": "docs_example", "Client": Client, "Post": Post, "emulator": emulator}
    exec(compile(code, str(testing), "exec"), scope)
