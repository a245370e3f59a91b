"""The Instagram docs page shows only code that works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from brandkit import Media
from brandkit.testing import TINY_JPEG
from tests.facebook.test_docs import blocks

PAGE = Path(__file__).resolve().parents[2] / "docs" / "platforms" / "instagram.md"


def test_emulator_examples_run() -> None:
    """Every Python example of the testing section runs as written."""
    examples = blocks("python", "## Testing with the emulator", PAGE)
    assert len(examples) == 2
    for code in examples:
        exec(compile(code, str(PAGE), "exec"), {"__name__": "docs_example"})


def test_setup_example_builds_the_account(monkeypatch: pytest.MonkeyPatch) -> None:
    """The setup example's account and media host work (without sending anything)."""
    monkeypatch.setenv("IG_USER_ID", "1784")
    monkeypatch.setenv("IG_TOKEN", "ig-token-docs")
    setup = blocks("python", "## Setup", PAGE)[0]
    env: dict[str, Any] = {"__name__": "docs_setup"}
    exec(compile(setup, str(PAGE), "exec"), env)
    insta = env["insta"]
    url = insta.settings["media_host"](Media.from_bytes(TINY_JPEG, filename="shoe.jpg"))
    assert url == "https://cdn.example.com/social/shoe.jpg"
    assert insta.secret("token") == "ig-token-docs"


def test_conversations_example_runs() -> None:
    """The Conversations section's example runs as written."""
    (example,) = blocks("python", "## Conversations", PAGE)
    exec(compile(example, str(PAGE), "exec"), {"__name__": "docs_conversations"})


def test_listening_example_runs_with_the_requests_it_names() -> None:
    """The Listening section's example runs as written, with the request counts its
    comments give (2, then 1)."""
    from brandkit import Client

    (example,) = blocks("python", "## Listening", PAGE)
    counts: list[int] = []
    search = Client.search

    def counting(self: Client, *args: Any, **kwargs: Any) -> Any:
        page = search(self, *args, **kwargs)
        counts.append(page.requests)
        return page

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Client, "search", counting)
        exec(compile(example, str(PAGE), "exec"), {"__name__": "docs_listening"})
    assert counts == [2, 1]
