"""The Telegram docs page shows only code that works."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from brandkit import Account
from brandkit.errors import RateLimited
from brandkit.platforms.telegram import TelegramAdapter
from tests.docs_blocks import code_blocks

PAGE = Path(__file__).resolve().parents[2] / "docs" / "platforms" / "telegram.md"


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
    acct = Account.load(path, environ={"TELEGRAM_BOT_TOKEN": "1:tok-from-env"})["brand_telegram"]
    assert (acct.platform, acct.settings["chat_id"]) == ("telegram", "@brandnews")
    assert acct.secret("bot_token") == "1:tok-from-env"


def test_setup_example_builds_the_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """The setup example's account line works (without sending anything)."""
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:docs-test-token")
    (setup,) = [b for b in blocks("python") if "TELEGRAM_BOT_TOKEN" in b]
    line = next(x for x in setup.splitlines() if x.startswith("tg = "))
    env: dict[str, Any] = {"os": os, "Account": Account}
    exec(line, env)
    assert env["tg"].secret("bot_token") == "123:docs-test-token"


def test_json_example_is_what_the_adapter_reads() -> None:
    """The 429 body shown on the page maps to RateLimited with its retry_after."""
    (body,) = blocks("json")
    adapter = TelegramAdapter(Account.telegram(bot_token="1:x", chat_id="@c"))
    err = adapter.error_for(httpx.Response(429, json=json.loads(body)))
    assert isinstance(err, RateLimited) and err.retry_after == 5
