"""The Threads docs page shows only code that works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.docs_blocks import code_blocks
from tests.facebook.test_docs import blocks

PAGE = Path(__file__).resolve().parents[2] / "docs" / "platforms" / "threads.md"


def test_emulator_examples_run() -> None:
    """Every Python example of the testing section runs as written."""
    examples = blocks("python", "## Testing with the emulator", PAGE)
    assert len(examples) == 2
    for code in examples:
        exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_example"})


def test_conversations_example_runs() -> None:
    """The Conversations example runs as written against the emulator."""
    (code,) = code_blocks(PAGE, "python", "## Conversations", section_only=True)
    exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_example"})


def test_listening_example_runs() -> None:
    """The Listening example runs as written against the emulator."""
    (code,) = code_blocks(PAGE, "python", "## Listening", section_only=True)
    exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_example"})


def test_setup_example_builds_the_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """The setup example's account builds, with an expiry brandkit can refresh ahead of."""
    monkeypatch.setenv("THREADS_USER_ID", "1800")
    monkeypatch.setenv("THREADS_TOKEN", "th-token-docs")
    setup = blocks("python", "## Setup", PAGE)[0]
    code = setup.split("with Client()")[0]
    env: dict[str, Any] = {"__name__": "docs_setup"}
    exec(compile(code, str(PAGE), "exec"), env)
    account = env["threads"]
    assert account.settings["user_id"] == "1800" and account.settings["token_expires_at"] > 0
