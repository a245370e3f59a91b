"""An Admin API key with a space or a line break around it (an ``.env`` line, a paste) was
refused as "must be the Admin API key as Ghost shows it ... Not the Content API key": the key
was the right one, and the message pointed away from the fix. It now says to remove the
whitespace, and never shows the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from brandkit import Account, Client
from brandkit.content import Article
from brandkit.errors import ConfigurationError
from brandkit.testing.ghost import GhostEmulator


@pytest.mark.parametrize("around", [("", "\n"), ("", " "), (" ", ""), ("\t", "\r\n")])
def test_whitespace_around_the_key_is_named(around: tuple[str, str]) -> None:
    emu = GhostEmulator()
    key = around[0] + emu.admin_key + around[1]
    with pytest.raises(ConfigurationError) as caught:
        Account.ghost(emu.base_url, admin_key=key)
    said = str(caught.value)
    assert "whitespace" in said and "Content API" not in said
    assert emu.admin_key.split(":")[1] not in said


def test_in_an_accounts_file_too(tmp_path: Path) -> None:
    emu = GhostEmulator()
    path = tmp_path / "brandkit.toml"
    path.write_text(
        '[accounts.news]\nplatform = "ghost"\nurl = "https://news.example.com"\n'
        'admin_key_env = "GHOST_KEY"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigurationError, match=r"\[accounts.news\].*whitespace"):
        Account.load(path, environ={"GHOST_KEY": emu.admin_key + "\n"})


def test_the_key_without_it_publishes(emu: GhostEmulator, client: Client) -> None:
    (d,) = client.publish(Article(title="Hello", body="Hi"), emu.account())
    assert d.ok, d.error
