"""The general docs pages show code that works (the offline parts are run here)."""

from __future__ import annotations

from pathlib import Path

from brandkit import Account
from tests.docs_blocks import DOCS, code_blocks


def blocks(page: str, language: str) -> list[str]:
    """The fenced code blocks of one language on a docs page."""
    return code_blocks(DOCS / page, language)


def run(code: str, namespace: dict[str, object] | None = None) -> dict[str, object]:
    scope: dict[str, object] = {"__name__": "docs_example", **(namespace or {})}
    exec(compile(code, "docs", "exec"), scope)
    return scope


def test_testing_page_examples_run() -> None:
    """The emulator example publishes; the fault lines work on that emulator; the account
    handed to a child as JSON comes back."""
    python = blocks("testing.md", "python")
    first = python[0]
    faults = next(b for b in python if ".fault(" in b)
    scope = run(first)
    emu = scope["emu"]
    run(faults, {"emu": emu})
    assert emu.post_texts() == ["hello"]  # type: ignore[attr-defined]
    spec = next(b for b in python if "account_from_spec" in b)
    assert run(spec)["account"].key == "mastodon:mastodon"  # type: ignore[attr-defined]


def test_getting_started_render_example_runs() -> None:
    """The check-before-you-post example renders a thread whose parts fit."""
    python = blocks("getting-started.md", "python")
    render_example = next(b for b in python if "render(" in b)
    scope = run(render_example)
    rendered = scope["rendered"]
    assert rendered.is_thread  # type: ignore[attr-defined]
    assert all(p.length <= p.limit for p in rendered.parts)  # type: ignore[attr-defined]


def test_getting_started_accounts_file_loads(tmp_path: Path) -> None:
    """The TOML example loads; the secret comes from the named environment variable."""
    (toml,) = blocks("getting-started.md", "toml")
    path = tmp_path / "brandkit.toml"
    path.write_text(toml)
    accounts = Account.load(path, environ={"ACME_BLUESKY_PASSWORD": "pw-123"})
    assert accounts["acme_sky"].secret("app_password") == "pw-123"


def test_getting_started_publish_example_builds_accounts() -> None:
    """The publishing example's account lines are valid calls (nothing is sent)."""
    first = next(b for b in blocks("getting-started.md", "python") if "Account." in b)
    setup = "\n".join(line for line in first.splitlines() if "Account." in line)
    scope = run("from brandkit import Account\n" + setup)
    assert isinstance(scope["sky"], Account)
    assert isinstance(scope["masto"], Account)
