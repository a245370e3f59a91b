"""The LinkedIn docs page shows only code that works."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from brandkit import Account
from brandkit.platforms.linkedin import little_text
from tests.docs_blocks import code_blocks

PAGE = Path(__file__).resolve().parents[2] / "docs" / "platforms" / "linkedin.md"


def blocks(language: str, after: str = "") -> list[str]:
    """The page's fenced code blocks of one language (after a heading, if given)."""
    return code_blocks(PAGE, language, after)


def test_emulator_examples_run() -> None:
    """Every Python example of the testing section runs as written."""
    examples = blocks("python", "## Testing with the emulator")
    assert len(examples) == 2
    for code in examples:
        exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_example"})


def test_accounts_file_example_loads(tmp_path: Path) -> None:
    """The TOML example is a valid accounts file; the token comes from the environment."""
    (toml,) = blocks("toml")
    path = tmp_path / "accounts.toml"
    path.write_text(toml)
    acct = Account.load(path, environ={"LINKEDIN_TOKEN": "tok-from-env"})["brand_linkedin"]
    assert (acct.platform, acct.settings["author"], acct.settings["version"]) == (
        "linkedin",
        "urn:li:organization:2414183",
        "202608",
    )
    assert acct.secret("token") == "tok-from-env"


def test_setup_example_builds_the_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """The setup example (without its publish) builds an account with the hook."""
    monkeypatch.setenv("LINKEDIN_TOKEN", "tok-docs-test")
    (setup,) = [b for b in blocks("python") if "LINKEDIN_TOKEN" in b]
    code = setup.split("with Client()")[0]
    env: dict[str, Any] = {"os": os}
    exec(compile(code, str(PAGE), "exec"), env)
    acct = env["linkedin"]
    assert acct.secret("token") == "tok-docs-test" and acct.on_credentials_changed is not None


def test_the_escaping_shown_is_what_is_sent() -> None:
    """The page's hashtag template and reserved set match little_text()."""
    text = PAGE.read_text()
    assert "`{hashtag|\\#|tag}`" in text and little_text("#tag") == "{hashtag|\\#|tag}"
    assert "`\\ | { } @ [ ] ( ) < > # * _ ~`" in text
