"""The Facebook docs page shows only code that works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brandkit import Account
from tests.docs_blocks import code_blocks

PAGE = Path(__file__).resolve().parents[2] / "docs" / "platforms" / "facebook.md"


def blocks(language: str, after: str = "", page: Path = PAGE) -> list[str]:
    """The page's fenced code blocks of one language (that section only, if given)."""
    return code_blocks(page, language, after, section_only=True)


def test_emulator_examples_run() -> None:
    """Every Python example of the testing section runs as written."""
    examples = blocks("python", "## Testing with the emulator")
    assert len(examples) == 2
    for code in examples:
        exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_example"})


def test_accounts_file_example_loads(tmp_path: Path) -> None:
    """The TOML example is a valid accounts file; the tokens come from the environment."""
    (toml,) = blocks("toml")
    path = tmp_path / "accounts.toml"
    path.write_text(toml)
    env = {"FB_PAGE_TOKEN": "page-from-env", "FB_USER_TOKEN": "user-from-env"}
    acct = Account.load(path, environ=env)["brand_page"]
    assert (acct.platform, acct.settings["page_id"]) == ("facebook", "1234567890")
    assert acct.secret("page_token") == "page-from-env"


def test_setup_example_builds_the_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """The setup example's account builds (without sending anything)."""
    monkeypatch.setenv("FB_PAGE_ID", "42")
    monkeypatch.setenv("FB_USER_TOKEN", "user-token-docs")
    (setup,) = [b for b in blocks("python", "## Setup") if "Account.facebook" in b]
    code = setup.split("with Client()")[0]
    env: dict[str, Any] = {"__name__": "docs_setup"}
    exec(compile(code, str(PAGE), "exec"), env)
    page = env["page"]
    assert page.settings["page_id"] == "42" and page.secret("user_token") == "user-token-docs"
    assert not page.has_secret("page_token")


def test_conversations_example_runs() -> None:
    """The Conversations section's example runs as written."""
    (example,) = blocks("python", "## Conversations")
    exec(compile(example, str(PAGE), "exec"), {"__name__": "docs_conversations"})
