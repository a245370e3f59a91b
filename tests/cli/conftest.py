"""Fixtures for the command-line tests: a Mastodon emulator with its accounts file."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from brandkit import Account
from brandkit.cli import main
from brandkit.testing.mastodon import MastodonEmulator

TOKEN_ENV = "BK_CLI_TEST_TOKEN"


def cli(*argv: str) -> tuple[int, str]:
    """Run the command line in-process; return its status and what it printed."""
    out = io.StringIO()
    status = main(list(argv), out)
    return status, out.getvalue()


@dataclass
class Served:
    """A served Mastodon emulator, its URL, its account and an accounts file for it."""

    emu: MastodonEmulator
    url: str
    account: Account
    toml: Path


@pytest.fixture
def mastodon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """A Mastodon emulator on 127.0.0.1 and ``brandkit.toml`` naming its account ``brand``,
    the token in the environment."""
    emu = MastodonEmulator()
    with emu.serve() as url:
        account = emu.account(name="brand")
        monkeypatch.setenv(TOKEN_ENV, account.secret("token") or "")
        toml = tmp_path / "brandkit.toml"
        toml.write_text(
            f'[accounts.brand]\nplatform = "mastodon"\ninstance_url = "{url}"\n'
            f'token_env = "{TOKEN_ENV}"\n'
        )
        yield Served(emu, url, account, toml)


@pytest.fixture(autouse=True)
def _restore_log_levels() -> Iterator[None]:
    """-v changes the brandkit logger's level: put it back after each test."""
    names = ("brandkit", "brandkit.outbox", "httpx")
    levels = {n: logging.getLogger(n).level for n in names}
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
